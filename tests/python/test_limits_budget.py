"""Local budgets for Redis rate limits from Python: hits decided in the
process from leased blocks, 0 over-grants per window from threads and two
limiters, unused hits given back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import RedisCluster, RedisServer
from hotpath import errors
from hotpath.limits import open_limiter


def hammer(lim, key: str, rate: int, period_ms: int, seconds: float, grants: dict[int, int],
           lock: threading.Lock) -> None:
    mine: dict[int, int] = {}
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        r = lim.hit(key, rate=rate, period_ms=period_ms)
        if r["allowed"]:
            # The window the grant counted in, by when it ends (redis-server
            # runs on this host, on this clock).
            w = round((time.time() * 1000 + r["reset_after_ms"]) / period_ms)
            mine[w] = mine.get(w, 0) + 1
    with lock:
        for w, n in mine.items():
            grants[w] = grants.get(w, 0) + n


def test_budget_threads_and_two_limiters_never_over_grant(redis_server: RedisServer | RedisCluster) -> None:
    rate, period_ms = 1500, 250
    grants: dict[int, int] = {}
    lock = threading.Lock()
    a = open_limiter(redis_server.url, local_budget=32, local_hold_ms=20, timeout_ms=1000)
    b = open_limiter(redis_server.url, local_budget=32, local_hold_ms=20, timeout_ms=1000)
    threads = [threading.Thread(target=hammer, args=(lim, "hot", rate, period_ms, 1.2, grants, lock))
               for lim in (a, a, b, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(grants) >= 4
    for w, n in grants.items():
        assert n <= rate, f"window {w}: {n} grants, limit {rate}"
    stats = a.stats()
    assert stats["checks"] > 10 * stats["redis"]["commands"]
    a.close()
    b.close()


def test_budget_hit_local_denial_and_give_back(redis_server: RedisServer | RedisCluster) -> None:
    spec = {"rate": 10, "period_ms": 3_600_000}
    a = open_limiter(redis_server.url, local_budget=4, local_hold_ms=60_000)
    b = open_limiter(redis_server.url, local_budget=4, local_hold_ms=60_000)
    assert a.hit_local("k", **spec) is None  # nothing leased yet
    assert a.hit("k", **spec)["allowed"]
    r = a.hit_local("k", **spec)
    assert r is not None and r["allowed"] and 0 < r["reset_after_ms"] <= 3_600_000
    for _ in range(4):
        assert a.hit("k", **spec)["allowed"]
    # a used 6 and holds 2 (two blocks of 4): b gets the last 2, then local denials.
    assert sum(b.hit("k", **spec)["allowed"] for _ in range(5)) == 2
    d = b.hit_local("k", **spec)
    assert d is not None and not d["allowed"] and d["retry_after_ms"] > 0
    assert redis_server.cli("HGET", "hp:lim:{k}:window", "n") == "10"
    a.close()
    for _ in range(100):
        if redis_server.cli("HGET", "hp:lim:{k}:window", "n") == "8":
            break
        time.sleep(0.01)
    assert redis_server.cli("HGET", "hp:lim:{k}:window", "n") == "8"
    # asyncio: settled from the hits in hand, or after a lease.
    got = asyncio.run(b.hit_async("other", **spec))
    assert got["allowed"]
    with pytest.raises(errors.InvalidArgumentError):
        b.hit("k", rate=10, period_ms=1000, burst=3)
    with pytest.raises(ValueError):
        open_limiter(redis_server.url, local_budget=-1)
    b.close()
