"""Closing a handle while other threads use it without the GIL: calls in
flight finish (or raise ClosedError), later ones raise ClosedError, and the
handle is never freed under a call (the ASan build turns that into a crash)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hotpath import errors
from hotpath.geo import GeoReader
from hotpath.limits import open_limiter

TEST_DATA = Path(__file__).resolve().parent.parent / "fixtures" / "maxmind" / "test-data"
CITY = str(TEST_DATA / "GeoIP2-City-Test.mmdb")


def _race(call: Callable[[], object], close: Callable[[], object], threads: int = 4) -> list[BaseException]:
    """Runs `call` in a loop on several threads until it raises ClosedError,
    closes from this thread meanwhile, and returns unexpected errors."""
    unexpected: list[BaseException] = []
    started = threading.Barrier(threads + 1)
    calls = threading.Semaphore(0)

    def worker() -> None:
        started.wait()
        try:
            for _ in range(100000):
                call()
                calls.release()
        except errors.ClosedError:
            return
        except BaseException as e:  # noqa: BLE001 - reported by the test
            unexpected.append(e)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    started.wait()
    # Close while the workers are busy: after a few calls each.
    for _ in range(threads * 3):
        calls.acquire(timeout=10)
    close()
    for t in pool:
        t.join()
    return unexpected


@pytest.mark.parametrize("attempt", range(5))
def test_geo_close_while_lookup_many_and_reload_run(attempt: int) -> None:
    reader = GeoReader(CITY)
    ips = [f"2.125.160.{i % 256}" for i in range(20000)] + ["81.2.69.160"] * 20000
    turn = [0]

    def call() -> None:
        turn[0] += 1
        if turn[0] % 7 == 0:
            reader.reload()
        else:
            reader.lookup_many(ips)

    assert _race(call, reader.close) == []
    with pytest.raises(errors.ClosedError):
        reader.lookup_many(ips)
    with pytest.raises(errors.ClosedError):
        reader.reload()


@pytest.mark.parametrize("attempt", range(3))
def test_sqlite_limiter_close_while_hits_run(tmp_path: Path, attempt: int) -> None:
    lim = open_limiter(f"sqlite:{tmp_path / 'limits.db'}")
    n = [0]

    def call() -> None:
        n[0] += 1
        lim.hit(f"k{n[0] % 50}", rate=1000000)

    assert _race(call, lim.close) == []
    assert lim.closed
    with pytest.raises(errors.ClosedError):
        lim.hit("k", rate=10)
