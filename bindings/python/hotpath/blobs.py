"""Chunked file storage on SQLite or Redis, written and read as streams.

``Blobs.open("sqlite:/path/store.db")`` (every process of this host) or
``Blobs.open("redis://host:port/db")`` (many hosts). Files are split into
chunks (255 KiB unless told otherwise), each stored with a CRC32C that is
checked on every read: a damaged chunk raises :class:`hotpath.errors.CorruptError`
naming the file and chunk, never returns wrong bytes. A file becomes visible
at once when its writer commits; an aborted or crashed upload never does.
Several files may share a name: each commit adds a revision (``0`` the
first, ``-1`` the latest).

Blocking methods release the GIL while they wait; ``*_async`` variants run
on asyncio.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from types import TracebackType
from typing import Any, Callable, TypedDict, TypeVar, Union

from . import _aio, _hotpath
from ._aio import AsyncClosing
from ._engine import engine
from ._paths import StrPath, store_spec
from .errors import LimitError
from .stats import BlobStoreStats

T = TypeVar("T")

Buffer = Union[bytes, bytearray, memoryview]
"""What ``write`` and ``put`` take: any bytes-like object."""

_NAME_MAX = 1024
_GET_WHOLE_MAX = 8 << 20  # get() reads a larger range through a reader
_PIECE = 1 << 20  # put() hands the writer 1 MiB at a time: bounded memory


class BlobStat(TypedDict):
    id: str
    filename: str
    length: int
    chunk_size: int
    upload_date_ms: int
    content_type: str
    sha256: str | None
    """64 lowercase hex digits; ``None`` when written with ``sha256=False``."""
    metadata_json: str
    revision: int


FileList = list[BlobStat]
"""One page of :meth:`Blobs.list`."""


def _name(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError("blobs: filename must be a str")
    n = len(value.encode())
    if n == 0 or n > _NAME_MAX or "\0" in value:
        raise ValueError(f"blobs: filename must be 1..{_NAME_MAX} bytes without NUL")
    return value


def _int(what: str, value: int, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"blobs: {what} must be an integer in {lo}..{hi}")
    return value


def _select(name: str | None, id: str | None, revision: int) -> tuple[str | None, str | None, int]:
    """(id, filename, revision) for the native calls: exactly one of the two."""
    if (name is None) == (id is None):
        raise ValueError("blobs: give either a filename or id=")
    if id is not None and not isinstance(id, str):
        raise TypeError("blobs: id must be a str")
    return id, None if name is None else _name(name), _int("revision", revision, -(2**62), 2**62)


def _range(start: int, end: int | None) -> tuple[int, int]:
    """(start, end) for the native calls; end exclusive, 2**64 - 1 for the end of file."""
    return _int("start", start, 0, 2**64 - 1), 2**64 - 1 if end is None else _int("end", end, 0, 2**64 - 1)


def _metadata(metadata: Any) -> str | None:
    if metadata is None:
        return None
    if isinstance(metadata, str):
        return metadata
    return json.dumps(metadata, separators=(",", ":"))


def _bytes_view(data: Buffer) -> memoryview:
    mv = memoryview(data)
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    return mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv


class BlobWriter(io.RawIOBase):
    """A file being written. ``write`` blocks until the store takes more,
    so memory stays bounded whatever the size. As a context manager it
    commits when the block ends normally and aborts when it raises."""

    def __init__(self, native: _hotpath.BlobWriter) -> None:
        super().__init__()
        self._native = native
        self._done = False
        self.stat: BlobStat | None = None
        """The committed file's metadata, once :meth:`commit` returned."""

    @property
    def id(self) -> str:
        """The id the file has once committed."""
        return self._native.id()

    def writable(self) -> bool:
        return True

    def write(self, b: Buffer) -> int:  # type: ignore[override]
        if self.closed or self._done:
            raise ValueError("blobs: write to a committed, aborted or closed writer")
        mv = _bytes_view(b)
        self._native.write(mv)
        return mv.nbytes

    def commit(self) -> BlobStat:
        """Store what is buffered and publish the file atomically."""
        self._done = True
        self.stat = self._native.commit()  # type: ignore[assignment]
        assert self.stat is not None
        return self.stat

    def abort(self) -> None:
        """Give up: nothing of the file is ever visible; its chunks go."""
        if not self._done:
            self._done = True
            self._native.abort()

    def close(self) -> None:
        """Closing a writer that was neither committed nor aborted aborts it."""
        if not self.closed:
            self._native.close()
        super().close()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if t is None and not self._done:
                self.commit()
            elif not self._done:
                self.abort()
        finally:
            self.close()


class BlobReader(io.RawIOBase):
    """A byte range of a committed file, read in order, chunk by chunk."""

    def __init__(self, native: _hotpath.BlobReader) -> None:
        super().__init__()
        self._native = native
        self._rest = b""
        self._pos = 0
        self.stat: BlobStat = native.stat()  # type: ignore[assignment]

    def readable(self) -> bool:
        return True

    def readinto(self, b: Buffer) -> int:  # type: ignore[override]
        out = memoryview(b).cast("B")
        if not self._rest and len(out) >= self.stat["chunk_size"]:
            # Whole chunks straight into the caller's buffer, checked there.
            return self._native.read_into(out)
        if not self._rest:
            self._rest = self._native.read_next()
            self._pos = 0
        n = min(len(out), len(self._rest) - self._pos)
        out[:n] = self._rest[self._pos : self._pos + n]
        self._pos += n
        if self._pos == len(self._rest):
            self._rest = b""
        return n

    def readall(self) -> bytes:
        parts = [self._rest[self._pos :]]
        self._rest = b""
        while piece := self._native.read_next():
            parts.append(piece)
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._native.close()
        super().close()

    def __enter__(self) -> BlobReader:
        return self


class _Stopped(Exception):
    """A cancelled put_async or get_async stopping its worker thread."""


async def _stoppable(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(stop, *args, **kwargs)`` on a worker thread; cancelling the
    await sets ``stop``, which the work checks between pieces."""
    stop = threading.Event()
    try:
        return await asyncio.to_thread(work, stop, *args, **kwargs)
    except asyncio.CancelledError:
        stop.set()
        raise


class Blobs(AsyncClosing):
    """A blob store; see the module docstring. Use :meth:`Blobs.open`."""

    def __init__(self, spec: StrPath, *, chunk_size: int = 0, timeout_ms: int = 2000, prefix: str = "hp:blobs",
                 lease_ms: int = 600000, durable: bool = False) -> None:
        spec = store_spec(spec, "blobs: spec")
        if not isinstance(durable, bool):
            raise TypeError("blobs: durable must be a bool")
        _int("chunk_size", chunk_size, 0, 16 * 1024 * 1024)
        _int("timeout_ms", timeout_ms, 1, 600000)
        _int("lease_ms", lease_ms, 1, 2**32 - 1)
        if not isinstance(prefix, str) or not 1 <= len(prefix.encode()) <= 128:
            raise ValueError("blobs: prefix must be a str of 1..128 bytes")
        self.spec = spec
        self._native = _hotpath.Blobs(engine(), spec, chunk_size, timeout_ms, prefix, lease_ms, durable)

    @classmethod
    def open(cls, spec: StrPath, *, chunk_size: int = 0, timeout_ms: int = 2000, prefix: str = "hp:blobs",
             lease_ms: int = 600000, durable: bool = False) -> Blobs:
        """Open ``"sqlite:/path/store.db"`` (created when missing) or
        ``"redis://host:port/db"``. ``chunk_size`` 0 means 261120 bytes.
        ``durable=True`` (SQLite): a commit survives a power loss, not only
        a crash (docs/blobs.md gives the cost); a Redis store raises."""
        return cls(spec, chunk_size=chunk_size, timeout_ms=timeout_ms, prefix=prefix, lease_ms=lease_ms,
                   durable=durable)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"redis"``."""
        return self._native.backend()

    @property
    def chunk_size(self) -> int:
        return self._native.chunk_size()

    def stats(self) -> BlobStoreStats:
        """Counters: bytes in and out, commits, corrupt reads and the Redis
        client's figures (docs/observability.md)."""
        return self._native.stats()  # type: ignore[return-value]

    @property
    def closed(self) -> bool:
        return self._native.closed

    def close(self) -> None:
        """Close the store; open writers and readers keep working."""
        self._native.close()

    def __enter__(self) -> Blobs:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # Streams -------------------------------------------------------------

    def open_write(self, name: str, *, content_type: str | None = None, metadata: Any = None,
                   chunk_size: int = 0, sha256: bool = True, buffer_bytes: int = 0) -> BlobWriter:
        """A writer for a new file (or a new revision of ``name``).
        ``metadata`` is any JSON value (or a JSON text). ``sha256=False``
        skips the file's SHA-256 (one stream on one core, about 1.8 GB/s):
        the fastest large writes; chunks keep their CRC32C either way.
        ``buffer_bytes`` is the memory for chunks on their way to the store
        (0: 4 MiB; at least two chunks)."""
        if not isinstance(sha256, bool):
            raise TypeError("blobs: sha256 must be a bool")
        native = self._native.open_write(_name(name), content_type, _metadata(metadata),
                                         _int("chunk_size", chunk_size, 0, 16 * 1024 * 1024), sha256,
                                         _int("buffer_bytes", buffer_bytes, 0, 2**32 - 1))
        return BlobWriter(native)

    def open_read(self, name: str | None = None, *, id: str | None = None, revision: int = -1, start: int = 0,
                  end: int | None = None) -> BlobReader:
        """A reader of bytes ``start`` to ``end`` (exclusive; ``None``: to the
        end) of the file named by ``name`` and ``revision``, or by ``id``."""
        sel = _select(name, id, revision)
        return BlobReader(self._native.open_read(*sel, *_range(start, end)))

    # Whole files ---------------------------------------------------------

    def put(self, name: str, data: Buffer, *, content_type: str | None = None, metadata: Any = None,
            chunk_size: int = 0, sha256: bool = True, buffer_bytes: int = 0) -> BlobStat:
        """Store ``data`` as a new file (revision) and return its metadata."""
        return self._put(None, name, data, content_type=content_type, metadata=metadata, chunk_size=chunk_size,
                         sha256=sha256, buffer_bytes=buffer_bytes)

    def _put(self, stop: threading.Event | None, name: str, data: Buffer, **options: Any) -> BlobStat:
        # `stop` (set when a put_async is cancelled) aborts the upload
        # between pieces: nothing is committed.
        mv = _bytes_view(data)
        with self.open_write(name, **options) as w:
            for off in range(0, len(mv), _PIECE):
                if stop is not None and stop.is_set():
                    raise _Stopped
                w.write(mv[off : off + _PIECE])
        assert w.stat is not None
        return w.stat

    def _get(self, stop: threading.Event | None, name: str | None, **options: Any) -> bytes:
        # As get() past _GET_WHOLE_MAX, checking `stop` between reads.
        parts: list[bytes] = []
        with self.open_read(name, **options) as r:
            while True:
                if stop is not None and stop.is_set():
                    raise _Stopped
                part = r.read(_PIECE)
                if not part:
                    return b"".join(parts)
                parts.append(part)

    def get(self, name: str | None = None, *, id: str | None = None, revision: int = -1, start: int = 0,
            end: int | None = None) -> bytes:
        """The file's bytes (or a range of them). Up to 8 MiB they are found
        and read by one call; a larger range through a reader."""
        sel = _select(name, id, revision)
        s, e = _range(start, end)
        try:
            return self._native.get(*sel, s, e, _GET_WHOLE_MAX)
        except LimitError:
            pass
        with self.open_read(name, id=id, revision=revision, start=start, end=end) as r:
            return r.readall()

    # Metadata ------------------------------------------------------------

    def stat(self, name: str | None = None, *, id: str | None = None, revision: int = -1) -> BlobStat:
        """Raises :class:`hotpath.errors.NotFoundError` when there is no such file."""
        return self._native.stat(*_select(name, id, revision))  # type: ignore[return-value]

    def exists(self, name: str | None = None, *, id: str | None = None, revision: int = -1) -> bool:
        return self._native.exists(*_select(name, id, revision))

    def list(self, prefix: str = "", *, cursor: str | None = None, limit: int = 100,
             latest_only: bool = False) -> tuple[FileList, str | None]:
        """One page of files ordered by name then revision, and the cursor of
        the next page (``None`` on the last)."""
        files, nxt = self._native.list(prefix, cursor, _int("limit", limit, 1, 10000), bool(latest_only))
        return files, nxt

    def delete(self, name: str | None = None, *, id: str | None = None) -> int:
        """Delete one file by ``id``, or every revision of ``name``; returns
        how many files went."""
        if (name is None) == (id is None):
            raise ValueError("blobs: give either a filename or id=")
        if id is not None:
            return self._native.delete_id(id)
        return self._native.delete_name(_name(name))  # type: ignore[arg-type]

    def gc(self) -> int:
        """Reclaim the chunks of uploads that will never commit; returns how many."""
        return self._native.gc()

    # asyncio -------------------------------------------------------------

    async def put_async(self, name: str, data: Buffer, *, content_type: str | None = None,
                        metadata: Any = None, chunk_size: int = 0, sha256: bool = True,
                        buffer_bytes: int = 0) -> BlobStat:
        """:meth:`put` on a worker thread; cancelling it aborts the upload."""
        return await _stoppable(self._put, name, data, content_type=content_type, metadata=metadata,
                                chunk_size=chunk_size, sha256=sha256, buffer_bytes=buffer_bytes)

    async def get_async(self, name: str | None = None, *, id: str | None = None, revision: int = -1,
                        start: int = 0, end: int | None = None) -> bytes:
        """:meth:`get` on the engine's loop (up to 8 MiB), or on a worker
        thread; cancelling it stops reading."""
        sel = _select(name, id, revision)
        s, e = _range(start, end)
        try:
            return await _aio.run(  # type: ignore[no-any-return]
                lambda cb: self._native.get_cb(*sel, s, e, _GET_WHOLE_MAX, cb))
        except LimitError:
            pass
        return await _stoppable(self._get, name, id=id, revision=revision, start=start, end=end)

    async def stat_async(self, name: str | None = None, *, id: str | None = None,
                         revision: int = -1) -> BlobStat:
        sel = _select(name, id, revision)
        return await _aio.run(lambda cb: self._native.stat_cb(*sel, cb))  # type: ignore[no-any-return]

    async def exists_async(self, name: str | None = None, *, id: str | None = None,
                           revision: int = -1) -> bool:
        sel = _select(name, id, revision)
        return await _aio.run(lambda cb: self._native.exists_cb(*sel, cb))  # type: ignore[no-any-return]

    async def list_async(self, prefix: str = "", *, cursor: str | None = None, limit: int = 100,
                         latest_only: bool = False) -> tuple[FileList, str | None]:
        lim = _int("limit", limit, 1, 10000)
        return await _aio.run(  # type: ignore[no-any-return]
            lambda cb: self._native.list_cb(prefix, cursor, lim, bool(latest_only), cb))

    async def delete_async(self, name: str | None = None, *, id: str | None = None) -> int:
        if (name is None) == (id is None):
            raise ValueError("blobs: give either a filename or id=")
        if id is not None:
            i = id
            return await _aio.run(lambda cb: self._native.delete_id_cb(i, cb))  # type: ignore[no-any-return]
        n = _name(name)  # type: ignore[arg-type]
        return await _aio.run(lambda cb: self._native.delete_name_cb(n, cb))  # type: ignore[no-any-return]
