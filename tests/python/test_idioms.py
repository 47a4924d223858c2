"""The idioms Python users expect: ``async with`` on handles, cancellation
that leaves nothing behind, fork safety, ``pathlib.Path`` everywhere, watches
and subscriptions as context managers, and a GeoReader that watches its files."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer
from hotpath import blobs, errors, events, geo, limits, maxminddb, recipes

CITY = Path(__file__).resolve().parent.parent / "fixtures" / "maxmind" / "test-data" / "GeoIP2-City-Test.mmdb"


def _wait(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


# async with ----------------------------------------------------------------


def test_async_with_closes_every_handle(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps([{"id": 1}]))

    async def main() -> None:
        async with limits.open_limiter("memory:") as lim:
            assert (await lim.hit_async("k", rate=1))["allowed"]
        assert lim.closed
        async with blobs.Blobs.open(tmp_path / "b.db") as store:
            await store.put_async("f", b"data")
            assert await store.get_async("f") == b"data"
        assert store.closed
        async with events.EventLog(tmp_path / "e.log") as log:
            log.push("one")
        assert log.closed
        assert (tmp_path / "e.log").read_text() == "one\n"
        async with recipes.Recipes() as rs:
            table = rs.define("t", key="id")
            assert (await table.load_async(tmp_path / "t.json"))["items"] == 1
        with pytest.raises(errors.ClosedError):
            table.get(1)
        async with geo.GeoReader(CITY) as reader:
            assert reader.lookup("81.2.69.160")["country_code"] == "GB"  # type: ignore[index]
        with pytest.raises(errors.ClosedError):
            reader.lookup("81.2.69.160")

    asyncio.run(main())


# cancellation ----------------------------------------------------------------


def test_a_cancelled_call_holds_neither_its_future_nor_its_loop(silent_server: int) -> None:
    # The server never answers: the native call runs to its 3 s timeout
    # long after the await was cancelled and the loop closed.
    lim = limits.open_limiter(f"redis://127.0.0.1:{silent_server}", timeout_ms=3000)
    loop = asyncio.new_event_loop()
    unraisable: list[object] = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append

    async def main() -> None:
        task = asyncio.ensure_future(lim.hit_async("k", rate=1))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        started = time.monotonic()
        loop.run_until_complete(main())
        assert time.monotonic() - started < 2.5, "the cancel did not wait for the backend"
        loop.close()
        ref = weakref.ref(loop)
        del loop
        gc.collect()
        assert ref() is None, "the pending native call still holds the loop"
        time.sleep(3.5)  # the native timeout fires into a closed, collected loop: nothing happens
        assert unraisable == []
    finally:
        sys.unraisablehook = old_hook
        lim.close()


def test_cancelling_put_async_aborts_the_upload(tmp_path: Path) -> None:
    store = blobs.Blobs.open(tmp_path / "b.db", chunk_size=64 * 1024)
    data = bytes(256 << 20)

    async def main() -> None:
        task = asyncio.ensure_future(store.put_async("big", data))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    # asyncio.run returns once the worker thread is done: it stopped at its
    # next piece and aborted, so the file never committed.
    asyncio.run(main())
    assert not store.exists("big")
    store.put("small", b"x")
    assert store.exists("small")
    store.close()


# fork ------------------------------------------------------------------------

_FORK_CHILD = """
import asyncio, multiprocessing, os, sys
from hotpath import host, limits

def work(i):
    lim = limits.open_limiter("sqlite:" + sys.argv[1] + str(i))
    try:
        return asyncio.run(lim.hit_async("k", rate=10))["remaining"]
    finally:
        lim.close()

# The parent's engine thread is running before the fork.
parent = limits.open_limiter("sqlite:" + sys.argv[1] + "p")
assert asyncio.run(parent.hit_async("k", rate=10, period_ms=3600000))["remaining"] == 9

pid = os.fork()
if pid == 0:
    ok = work(0) == 9 and host.sample(10)["cpu_load"] is not None
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status

with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(work, [1, 2, 3]) == [9, 9, 9]

# A child that exits through the interpreter's own shutdown, with the
# parent's limiter still alive in it.
pid = os.fork()
if pid == 0:
    assert work(4) == 9
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert asyncio.run(parent.hit_async("k", rate=10, period_ms=3600000))["remaining"] == 8
print("ok")
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork()")
def test_forked_children_get_a_working_engine(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FORK_CHILD), str(tmp_path / "lim")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


# pathlib -------------------------------------------------------------------


def test_paths_are_accepted_everywhere(tmp_path: Path) -> None:
    db = tmp_path / "w.mmdb"
    geo.write_database(db, [("1.0.0.0/8", {"city": "x"})], ip_version=4)
    with geo.GeoReader(db, extra_paths=[CITY]) as reader:
        assert reader.get("1.2.3.4") == {"city": "x"}
    with maxminddb.open_database(db) as mm:
        assert mm.get("1.2.3.4") == {"city": "x"}
    with limits.open_limiter(tmp_path / "lim.db") as lim:
        assert lim.backend == "sqlite" and lim.spec == f"sqlite:{tmp_path / 'lim.db'}"
    with blobs.Blobs.open(tmp_path / "b.db") as store:
        assert store.backend == "sqlite"
    with events.EventLog(tmp_path / "e.log") as log:
        assert log.path == str(tmp_path / "e.log")
    with recipes.Recipes() as rs:
        (tmp_path / "t.json").write_text(json.dumps([{"id": 1}]))
        assert rs.define("t", key="id").load(tmp_path / "t.json")["items"] == 1
    with pytest.raises(TypeError):
        geo.GeoReader(b"/not/a/str/path")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        limits.open_limiter(7)  # type: ignore[arg-type]


# watches and subscriptions ---------------------------------------------------


def test_watch_is_a_context_manager(tmp_path: Path) -> None:
    file = tmp_path / "t.json"
    file.write_text(json.dumps([{"id": 1}]))
    reloads: list[object] = []
    with recipes.Recipes() as rs:
        table = rs.define("t", key="id")
        with table.watch(file, lambda e, s: reloads.append(e or s), interval_ms=20, debounce_ms=1) as w:
            assert isinstance(w, recipes.Watch)
            _wait(lambda: len(reloads) == 1, "the first load")
        file.write_text(json.dumps([{"id": 1}, {"id": 2}]))
        time.sleep(0.3)
        assert len(reloads) == 1, "a reload after the with block"
        assert 2 not in table


def test_subscription_is_a_context_manager(redis_server: RedisServer) -> None:
    def numsub() -> str:
        return str(redis_server.subscribers("ch"))

    with recipes.Recipes() as rs:
        rs.define("offers", key="offerId", update_type="offer")
        with rs.subscribe(redis_server.url, "ch") as sub:
            assert isinstance(sub, recipes.Subscription)
            _wait(lambda: numsub() == "1", "the subscription")
        _wait(lambda: numsub() == "0", "the unsubscribe")


# GeoReader watch -------------------------------------------------------------


def test_geo_reader_watches_its_files(tmp_path: Path) -> None:
    file = tmp_path / "w.mmdb"
    # Options left out are the C library's defaults: IPv6, database type "hotpath".
    geo.write_database(file, [("1.0.0.0/8", {"city": "defaults"})])
    with geo.GeoReader(file) as plain:
        assert plain.metadata()["ip_version"] == 6 and plain.metadata()["database_type"] == "hotpath"
    geo.write_database(file, [("1.0.0.0/8", {"city": "before"})], ip_version=4)
    with geo.GeoReader(file, watch_interval_ms=20) as reader:
        assert reader.get("1.2.3.4") == {"city": "before"}
        assert reader.generation == 1
        time.sleep(0.05)
        geo.write_database(file, [("1.0.0.0/8", {"city": "after"})], ip_version=4, build_epoch=12345)
        _wait(lambda: reader.generation == 2, "the reload")
        assert reader.get("1.2.3.4") == {"city": "after"}
        # A broken file leaves the data in service.
        time.sleep(0.05)
        file.write_bytes(b"not a database")
        time.sleep(0.3)
        assert reader.generation == 2
        assert reader.get("1.2.3.4") == {"city": "after"}
    with pytest.raises(ValueError):
        geo.GeoReader(CITY, watch_interval_ms=-1)
