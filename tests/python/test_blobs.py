"""Blobs from Python: SQLite files and a real redis-server."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import RedisCluster, RedisServer
from hotpath import errors
from hotpath.blobs import Blobs

CHUNK = 261120


def roundtrips(b: Blobs) -> None:
    for n in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * 1024 * 1024 + 5):
        data = os.urandom(n)
        st = b.put(f"rt/{n}", data)
        assert st["length"] == n
        assert st["sha256"] == hashlib.sha256(data).hexdigest()
        assert st["revision"] == 0 and len(st["id"]) == 24
        assert b.get(f"rt/{n}") == data
        assert b.get(id=st["id"]) == data
        assert b.stat(f"rt/{n}") == st


def streams(b: Blobs) -> None:
    data = os.urandom(700_000)
    with b.open_write("stream.bin", content_type="application/x-test", metadata={"k": [1, 2]},
                      chunk_size=10_000) as w:
        for off in range(0, len(data), 33_333):
            assert w.write(data[off : off + 33_333]) == len(data[off : off + 33_333])
    assert w.stat is not None
    assert w.stat["chunk_size"] == 10_000
    assert w.stat["content_type"] == "application/x-test"
    assert w.stat["metadata_json"] == '{"k":[1,2]}'
    with b.open_read("stream.bin") as r:
        assert r.stat["length"] == len(data)
        got = bytearray()
        while piece := r.read(4096):
            got += piece
    assert bytes(got) == data
    for start, end in ((0, 1), (9_999, 10_001), (123_456, 654_321), (699_999, None), (800_000, None), (5, 2)):
        want = data[start:end]
        assert b.get("stream.bin", start=start, end=end) == want
    # io.BufferedReader on top of the raw reader works as for a file.
    import io

    with io.BufferedReader(b.open_read("stream.bin", start=100)) as buffered:
        assert buffered.read(10) == data[100:110]
        assert buffered.read() == data[110:]


def write_options(b: Blobs) -> None:
    data = os.urandom(3 * CHUNK + 11)
    st = b.put("no-hash", data, sha256=False)
    assert st["sha256"] is None
    assert b.stat(id=st["id"])["sha256"] is None
    assert b.get(id=st["id"]) == data
    # The smallest buffer (two chunks) and a deep one store the same bytes.
    for buffer_bytes in (1, 64 * CHUNK):
        st = b.put("buffered", data, buffer_bytes=buffer_bytes)
        assert st["sha256"] == hashlib.sha256(data).hexdigest()
        assert b.get(id=st["id"]) == data
    # A bytearray changed after write() returns: write() is done with it.
    piece = bytearray(data[:1000])
    with b.open_write("reused") as w:
        w.write(piece)
        piece[:] = b"\xee" * len(piece)
    assert b.get("reused") == data[:1000]
    with pytest.raises(TypeError):
        b.open_write("x", sha256="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        b.open_write("x", buffer_bytes=-1)


def aborts(b: Blobs) -> None:
    with pytest.raises(RuntimeError), b.open_write("aborted") as w:
        w.write(b"x" * 600_000)
        raise RuntimeError("upload cut off")
    assert not b.exists("aborted")
    w2 = b.open_write("explicit")
    w2.write(b"y" * 10)
    w2.abort()
    with pytest.raises(ValueError):
        w2.write(b"more")
    w2.close()
    assert not b.exists("explicit")


def revisions_and_listing(b: Blobs) -> None:
    ids = [b.put("rev", f"v{i}".encode())["id"] for i in range(3)]
    assert b.get("rev") == b"v2"
    assert b.get("rev", revision=0) == b"v0"
    assert b.get("rev", revision=-2) == b"v1"
    assert b.stat(id=ids[1])["revision"] == 1
    with pytest.raises(errors.NotFoundError):
        b.get("rev", revision=5)
    with pytest.raises(LookupError):
        b.stat("nothing-here")
    for i in range(12):
        b.put(f"list/{i:02d}", b"x")
    seen: list[str] = []
    cursor = None
    while True:
        files, cursor = b.list("list/", cursor=cursor, limit=5)
        seen += [f["filename"] for f in files]
        if cursor is None:
            break
    assert seen == [f"list/{i:02d}" for i in range(12)]
    latest, _ = b.list("rev", latest_only=True)
    assert [f["id"] for f in latest] == [ids[2]]
    assert b.delete(id=ids[0]) == 1
    assert b.get("rev", revision=0) == b"v1"
    assert b.delete("rev") == 2
    assert not b.exists("rev")
    assert b.delete("rev") == 0


def bad_input(b: Blobs) -> None:
    with pytest.raises(ValueError):
        b.get()
    with pytest.raises(ValueError):
        b.get("a", id="b")
    with pytest.raises(errors.InvalidArgumentError):
        b.get(id="not-an-id")
    with pytest.raises(ValueError):
        b.put("", b"x")
    with pytest.raises(TypeError):
        b.put(3, b"x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        b.list(cursor="bogus")
    with pytest.raises(errors.InvalidArgumentError):
        Blobs.open("ftp://nowhere")


def concurrent(b: Blobs) -> None:
    results: list[bool] = []

    def work(i: int) -> None:
        data = os.urandom(300_000 + i)
        st = b.put(f"conc/{i % 3}", data)
        results.append(b.get(id=st["id"]) == data)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 6
    files, _ = b.list("conc/")
    assert len(files) == 6


def asyncio_calls(b: Blobs) -> None:
    async def main() -> None:
        st = await b.put_async("aio", b"async bytes", metadata='{"a":1}')
        assert (await b.stat_async("aio"))["id"] == st["id"]
        assert await b.exists_async("aio")
        assert await b.get_async(id=st["id"]) == b"async bytes"
        files, cursor = await b.list_async("aio")
        assert len(files) == 1 and cursor is None
        with pytest.raises(errors.NotFoundError):
            await b.stat_async("not-there")
        assert await b.delete_async("aio") == 1
        assert not await b.exists_async(id=st["id"])

    asyncio.run(main())


def reads_in_place(b: Blobs) -> None:
    # readinto() with room for whole chunks reads them straight into the
    # caller's buffer, stopping at a chunk boundary.
    data = os.urandom(10_500)
    b.put("in-place", data, chunk_size=1000)
    with b.open_read("in-place", start=250) as r:
        buf = bytearray(3_600)
        sizes = []
        got = bytearray()
        while n := r.readinto(buf):
            sizes.append(n)
            got += buf[:n]
    assert bytes(got) == data[250:]
    assert sizes == [2_750, 3_000, 3_000, 1_500]
    # Less room than a chunk: the bytes that fit, then the chunk's rest.
    with b.open_read("in-place") as r:
        small = bytearray(600)
        assert r.readinto(small) == 600 and bytes(small) == data[:600]
        assert r.readinto(memoryview(small)[:500]) == 400 and bytes(small[:400]) == data[600:1000]
        assert r.read() == data[1000:]
    # get(): one call up to 8 MiB, a reader past it; the same bytes.
    big = os.urandom(8 * 1024 * 1024 + 3)
    b.put("in-place/big", big)
    assert b.get("in-place/big") == big
    assert b.get("in-place/big", start=5, end=8 * 1024 * 1024 + 1) == big[5 : 8 * 1024 * 1024 + 1]
    assert b.get("in-place/big", end=100) == big[:100]
    assert asyncio.run(b.get_async("in-place/big")) == big
    assert asyncio.run(b.get_async("in-place", start=9_000)) == data[9_000:]
    with pytest.raises(errors.NotFoundError):
        asyncio.run(b.get_async("in-place/none"))


SUITES = [roundtrips, streams, write_options, aborts, revisions_and_listing, bad_input, concurrent, asyncio_calls,
          reads_in_place]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__)
def test_sqlite(tmp_path: Path, suite) -> None:  # type: ignore[no-untyped-def]
    with Blobs.open(f"sqlite:{tmp_path / 'store.db'}") as b:
        assert b.backend == "sqlite" and b.chunk_size == CHUNK
        suite(b)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__)
def test_redis(redis_server: RedisServer, suite) -> None:  # type: ignore[no-untyped-def]
    with Blobs.open(redis_server.url) as b:
        assert b.backend == "redis"
        suite(b)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__)
def test_redis_cluster(redis_cluster: RedisCluster, suite) -> None:  # type: ignore[no-untyped-def]
    # One cluster for the session: a store (prefix) per suite.
    with Blobs.open(redis_cluster.url, timeout_ms=2000, prefix=f"hp:blobs:{suite.__name__}") as b:
        assert b.backend == "redis"
        suite(b)


def test_sqlite_damaged_chunk_raises_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Blobs.open(f"sqlite:{path}") as b:
        data = os.urandom(5000)
        st = b.put("damaged", data, chunk_size=1000)
        db = sqlite3.connect(path)
        (ukey,) = db.execute("SELECT ukey FROM hp_blob_files WHERE id = ?", (st["id"],)).fetchone()
        key = (ukey << 32) | 3
        (blob,) = db.execute("SELECT data FROM hp_blob_chunks WHERE key = ?", (key,)).fetchone()
        bad = bytearray(blob)
        bad[7] ^= 1
        db.execute("UPDATE hp_blob_chunks SET data = ? WHERE key = ?", (bytes(bad), key))
        db.commit()
        db.close()
        with pytest.raises(errors.CorruptError) as e:
            b.get("damaged")
        assert f"file {st['id']} chunk 3" in str(e.value)
        assert b.get("damaged", end=3000) == data[:3000]
        # Read in place: the good chunks, then the damage.
        with b.open_read("damaged") as r:
            buf = bytearray(10_000)
            assert r.readinto(buf) == 3000 and bytes(buf[:3000]) == data[:3000]
            with pytest.raises(errors.CorruptError, match=f"file {st['id']} chunk 3"):
                r.readinto(buf)


def test_redis_damaged_chunk_and_server_down(redis_server: RedisServer) -> None:
    # 1 s: room for the put and get on a loaded machine; the outage below
    # is a refused connection, answered at once.
    with Blobs.open(redis_server.url, timeout_ms=1000) as b:
        st = b.put("damaged", os.urandom(3000), chunk_size=1000)
        redis_server.cli("SETRANGE", f"{{hp:blobs}}:c:{st['id']}:0", "5", "Z")
        with pytest.raises(errors.CorruptError, match=f"file {st['id']} chunk 0"):
            b.get(id=st["id"])
        redis_server.stop()
        with pytest.raises(errors.UnavailableError):
            b.stat("damaged")
        with pytest.raises(ConnectionError):
            b.put("down", b"x" * 300_000)


def test_durable_sqlite_store(tmp_path: Path) -> None:
    data = os.urandom(40500)
    with Blobs.open(f"sqlite:{tmp_path / 'store.db'}", chunk_size=1000, durable=True) as b:
        st = b.put("durable.bin", data)
        assert b.get(id=st["id"]) == data
    # (tests/c/blobs_test.cc checks the syncs themselves.)
    with Blobs.open(f"sqlite:{tmp_path / 'store.db'}", durable=True) as again:
        assert again.stat(id=st["id"])["sha256"] == st["sha256"]
    with pytest.raises(errors.InvalidArgumentError, match="appendfsync"):
        Blobs.open("redis://127.0.0.1:1", durable=True)
    with pytest.raises(TypeError):
        Blobs.open(f"sqlite:{tmp_path / 'x.db'}", durable=1)  # type: ignore[arg-type]


def test_closed_store(tmp_path: Path) -> None:
    b = Blobs.open(f"sqlite:{tmp_path / 's.db'}")
    w = b.open_write("after-close")
    b.close()
    assert b.closed
    with pytest.raises(errors.ClosedError):
        b.get("x")
    # A writer opened before the close still works.
    w.write(b"still here")
    st = w.commit()
    w.close()
    with Blobs.open(f"sqlite:{tmp_path / 's.db'}") as again:
        assert again.get(id=st["id"]) == b"still here"
