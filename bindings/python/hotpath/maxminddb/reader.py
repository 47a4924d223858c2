"""The drop-in Reader: maxminddb's ``Reader`` and ``Metadata`` on hotpath's
native geo reader."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any, Union

from .. import _hotpath
from ..errors import CorruptError, HotpathIOError, LimitError, io_error
from . import errors as _errors
from .const import MODE_AUTO, MODE_FD, MODE_FILE, MODE_MEMORY, MODE_MMAP, MODE_MMAP_EXT

Database = Union[str, bytes, "os.PathLike[str]", int, IO[bytes]]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_MODES = (MODE_AUTO, MODE_MMAP_EXT, MODE_MMAP, MODE_FILE, MODE_MEMORY, MODE_FD)


class Metadata:
    """The database's metadata, with maxminddb's attribute names."""

    def __init__(self, **kwargs: Any) -> None:
        self.binary_format_major_version: int = kwargs["binary_format_major_version"]
        self.binary_format_minor_version: int = kwargs["binary_format_minor_version"]
        self.build_epoch: int = kwargs["build_epoch"]
        self.database_type: str = kwargs["database_type"]
        self.description: dict[str, str] = kwargs["description"]
        self.ip_version: int = kwargs["ip_version"]
        self.languages: list[str] = kwargs["languages"]
        self.node_count: int = kwargs["node_count"]
        self.record_size: int = kwargs["record_size"]

    @property
    def node_byte_size(self) -> int:
        """Bytes per search-tree node."""
        return self.record_size // 4

    @property
    def search_tree_size(self) -> int:
        """Bytes of the search tree."""
        return self.node_count * self.node_byte_size

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{self.__module__}.{self.__class__.__qualname__}({args})"


def _read_all(source: Any) -> bytes:
    """The bytes of a file object or a file descriptor (MODE_FD)."""
    if isinstance(source, int):
        with os.fdopen(os.dup(source), "rb") as f:
            return f.read()
    data = source.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("MODE_FD needs a binary file object (read() must return bytes)")
    return bytes(data)


# maxminddb's own resource limits on one decoded record: the bytes it may
# span and the values it may hold.
_MAX_RECORD_BYTES = 2 * 1024 * 1024
_MAX_RECORD_NODES = 65536


class Reader(_hotpath.GeoReader):
    """A MaxMind DB reader; ``get`` and ``get_with_prefix_len`` are native.

    ``database`` is a path (``str``, ``bytes`` or ``os.PathLike``), or with
    MODE_FD a binary file object (``open(path, "rb")``, ``io.BytesIO``) or a
    file descriptor. A path is memory-mapped, except with MODE_MEMORY, which
    reads the file into memory (an in-place overwrite of the file then cannot
    reach the reader).
    """

    def __init__(self, database: Database, mode: int = MODE_AUTO) -> None:
        if mode not in _MODES:
            raise ValueError(
                f"Unsupported open mode ({mode}). Only MODE_AUTO, MODE_MMAP_EXT, MODE_MMAP, MODE_FILE, "
                "MODE_MEMORY and MODE_FD are supported"
            )
        self._metadata: Metadata | None = None
        if mode == MODE_FD:
            name: object = getattr(database, "name", f"<{type(database)}>")
            self._open_bytes(_read_all(database), name)
        elif mode == MODE_MEMORY:
            path = os.fsdecode(os.fspath(database))  # type: ignore[arg-type]
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                if exc.errno is None:
                    raise
                raise io_error(exc.errno, path, str(exc), "open") from None
            self._open_bytes(data, path)
        else:
            path = os.fsdecode(os.fspath(database))  # type: ignore[arg-type]
            try:
                super().__init__(path, [], 0, max_record_bytes=_MAX_RECORD_BYTES, max_record_nodes=_MAX_RECORD_NODES)
            except (CorruptError, LimitError) as exc:
                raise _errors.open_error(exc, path) from None
        self.set_error_factory(_errors.lookup_error)
        # maxminddb keeps the metadata after close().
        self._metadata = Metadata(**super().metadata(0))
        # The native get functions, bound to this reader's state: no
        # argument-parsing layer on the hot path.
        fast_get, fast_prefix = self.fast_methods()
        setattr(self, "get", fast_get)
        setattr(self, "get_with_prefix_len", fast_prefix)

    def _open_bytes(self, data: bytes, name: object) -> None:
        try:
            super().__init__(
                data=data,
                name=str(name),
                cache_records=0,
                max_record_bytes=_MAX_RECORD_BYTES,
                max_record_nodes=_MAX_RECORD_NODES,
            )
        except (CorruptError, LimitError) as exc:
            raise _errors.open_error(exc, name) from None

    def metadata(self) -> Metadata:  # type: ignore[override]
        """The metadata of the database (also after close())."""
        assert self._metadata is not None
        return self._metadata

    def __iter__(self) -> Iterator[tuple[Network, Any]]:
        """``(network, record)`` for every network with a record, in address
        order, as ``ipaddress`` networks (IPv4 ones for the IPv4 part of an
        IPv6 database)."""
        ipv6 = self.metadata().ip_version == 6
        for packed, prefix, record in self.networks(0):
            value = int.from_bytes(packed, "big")
            if ipv6 and value <= 2**32 and prefix >= 96:
                # maxminddb lists the IPv4 subtree of an IPv6 database as IPv4.
                yield ipaddress.ip_network((value, prefix - 96)), record
            else:
                yield ipaddress.ip_network((value, prefix)), record

    def __enter__(self) -> Reader:
        if self.closed:
            raise ValueError("Attempt to reopen a closed MaxMind DB")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["HotpathIOError", "Metadata", "Reader"]
