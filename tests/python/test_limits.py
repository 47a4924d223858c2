"""Limits from Python: memory, SQLite (threads and processes) and a real redis-server."""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import threading
import time
from pathlib import Path

import hotpath
import pytest
from conftest import RedisCluster, RedisServer
from hotpath import errors
from hotpath.limits import Limiter, RateResult, open_limiter


def semantics(lim: Limiter) -> None:
    a = lim.acquire("u1", "s1", limit=3)
    assert a["status"] == "granted" and a["ok"] and a["count"] == 1 and a["lease_id"] > 0
    again = lim.acquire("u1", "s1", limit=3)
    assert again["status"] == "already_held"
    assert again["lease_id"] == a["lease_id"]
    assert lim.acquire("u1", "s2", limit=3)["status"] == "granted"
    assert lim.acquire("u1", "s3", limit=3)["count"] == 3
    assert lim.acquire("u1", "s2", limit=3)["status"] == "already_held"
    d = lim.acquire("u1", "s4", limit=3)
    assert d["status"] == "denied" and not d["ok"] and d["lease_id"] == 0
    assert [h["resource"] for h in d["holders"]] == ["s1", "s2", "s3"]
    assert [h["resource"] for h in lim.holders("u1")] == ["s1", "s2", "s3"]
    assert lim.release("u1", "s2") is True
    assert lim.release("u1", "s2") is False
    assert lim.acquire("u1", "s4", limit=3)["status"] == "granted"

    assert lim.acquire("ttl", "a", limit=1, ttl_ms=150)["status"] == "granted"
    assert lim.acquire("ttl", "b", limit=1, ttl_ms=150)["status"] == "denied"
    time.sleep(0.1)
    assert lim.renew("ttl", "a", ttl_ms=300) is True
    time.sleep(0.1)
    assert lim.acquire("ttl", "b", limit=1, ttl_ms=150)["status"] == "denied"
    time.sleep(0.3)
    assert lim.renew("ttl", "a", ttl_ms=300) is False
    assert lim.acquire("ttl", "b", limit=1, ttl_ms=150)["status"] == "granted"

    spec = {"rate": 10, "period_ms": 1000, "burst": 3}
    assert [lim.hit("k", **spec)["remaining"] for _ in range(3)] == [2, 1, 0]
    denied = lim.hit("k", **spec)
    assert denied["allowed"] is False
    assert 0 < denied["retry_after_ms"] <= 100
    assert lim.hit("k", cost=0, **spec)["allowed"] is True

    assert lim.set_add("users", "alice") is True
    assert lim.set_add("users", "alice") is False
    assert lim.set_has("users", "alice") is True
    assert lim.set_has("users", "bob") is False
    lim.ping()

    # An acquire that requires memberships: one atomic step.
    assert lim.set_add("streams", "cs1") is True
    known = [("users", "alice"), ("streams", "cs1")]
    g = lim.acquire("alice", "cs1", limit=1, require=known)
    assert g["status"] == "granted" and g["ok"] and g["missing"] is None
    n = lim.acquire("bob", "cs1", limit=1, require=[("users", "bob"), ("streams", "cs1")])
    assert n["status"] == "not_member" and not n["ok"] and n["missing"] == 0
    n = lim.acquire("alice", "cs9", limit=3, require=[("users", "alice"), ("streams", "cs9")])
    assert n["status"] == "not_member" and n["missing"] == 1
    assert lim.holders("bob") == []
    assert lim.acquire("alice", "cs2", limit=1, require=[("users", "alice")])["status"] == "denied"
    with pytest.raises(ValueError):
        lim.acquire("alice", "cs1", limit=1, require=[("users", "alice")] * 9)
    with pytest.raises(TypeError):
        lim.acquire("alice", "cs1", limit=1, require=["users"])  # type: ignore[list-item]


async def semantics_async(lim: Limiter) -> None:
    a = await lim.acquire_async("au", "s1", limit=2)
    assert a["status"] == "granted"
    assert (await lim.acquire_async("au", "s1", limit=2))["status"] == "already_held"
    assert (await lim.acquire_async("au", "s2", limit=2))["status"] == "granted"
    assert (await lim.acquire_async("au", "s3", limit=2))["status"] == "denied"
    assert len(await lim.holders_async("au")) == 2
    assert await lim.renew_async("au", "s1", ttl_ms=1000) is True
    assert await lim.release_async("au", "s1") is True
    assert (await lim.hit_async("ak", rate=1, period_ms=60000))["allowed"] is True
    assert (await lim.hit_async("ak", rate=1, period_ms=60000))["allowed"] is False
    assert await lim.set_add_async("s", "m") is True
    assert await lim.set_has_async("s", "m") is True
    r = await lim.acquire_async("au9", "x", limit=1, require=[("s", "au9")])
    assert r["status"] == "not_member" and r["missing"] == 0
    assert (await lim.acquire_async("au9", "x", limit=1, require=[("s", "m")]))["status"] == "granted"
    await lim.ping_async()
    # Many concurrent acquires from one event loop: exactly 3 grants.
    results = await asyncio.gather(*(lim.acquire_async("race", f"r{i}", limit=3) for i in range(100)))
    assert sum(r["status"] == "granted" for r in results) == 3


def hammer_threads(lim: Limiter) -> None:
    granted: list[int] = []
    allowed: list[int] = []

    def work(t: int) -> None:
        for i in range(40):
            if lim.acquire("hammer", f"t{t}-{i}", limit=3)["status"] == "granted":
                granted.append(1)
            if lim.hit("hammer-rate", rate=50, period_ms=3600000)["allowed"]:
                allowed.append(1)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(granted) == 3
    assert len(allowed) == 50


def test_memory() -> None:
    with open_limiter("memory:") as lim:
        assert lim.backend == "memory"
        semantics(lim)
        asyncio.run(semantics_async(lim))
        hammer_threads(lim)
    assert lim.closed
    with pytest.raises(errors.ClosedError):
        lim.acquire("u", "a", limit=1)


def test_sqlite(tmp_path: Path) -> None:
    spec = f"sqlite:{tmp_path / 'limits.db'}"
    with open_limiter(spec) as lim, open_limiter(spec, sqlite_inline=True, prefix="inline") as pool:
        assert lim.backend == "sqlite"
        semantics(lim)
        asyncio.run(semantics_async(lim))
        semantics(pool)
        asyncio.run(semantics_async(pool))
        hammer_threads(lim)
    # State lives in the file.
    with open_limiter(spec) as again:
        assert again.set_has("users", "alice")
        assert len(again.holders("hammer")) == 3


def _child(spec: str, tag: str, out: multiprocessing.Queue[int]) -> None:
    lim = open_limiter(spec, timeout_ms=10000)
    out.put(sum(lim.acquire("hammer", f"{tag}-{i}", limit=3)["status"] == "granted" for i in range(50)))
    lim.close()


def test_sqlite_processes(tmp_path: Path) -> None:
    spec = f"sqlite:{tmp_path / 'limits.db'}"
    open_limiter(spec).close()
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(spec, f"p{p}", out)) for p in range(4)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert total == 3


def test_redis(redis_server: RedisServer) -> None:
    with open_limiter(redis_server.url, timeout_ms=100) as lim:
        assert lim.backend == "redis"
        semantics(lim)
        asyncio.run(semantics_async(lim))
        before = redis_server.command_calls("evalsha")
        for i in range(50):
            lim.acquire("rt", f"s{i}", limit=3)
            lim.hit("rt", rate=10)
        assert redis_server.command_calls("evalsha") - before == 100

        # Hits in flight together share EVALSHAs (on a cluster each is its
        # own: a batch would span slots) and are each decided exactly.
        async def gathered() -> list[RateResult]:
            return await asyncio.gather(*(lim.hit_async(f"g{i % 3}", rate=50, period_ms=3600000)
                                          for i in range(300)))
        before = redis_server.command_calls("evalsha")
        results = asyncio.run(gathered())
        sent = redis_server.command_calls("evalsha") - before
        assert sent == 300 if redis_server.cluster else 3 <= sent < 300
        for k in range(3):
            assert sum(1 for i, r in enumerate(results) if i % 3 == k and r["allowed"]) == 50
        hammer_threads(lim)

        redis_server.stop()
        t0 = time.monotonic()
        with pytest.raises(errors.UnavailableError):
            lim.acquire("down", "a", limit=3)
        with pytest.raises(ConnectionError):
            lim.ping()
        assert time.monotonic() - t0 < 2
        redis_server.start()
        for _ in range(100):
            try:
                lim.ping()
                break
            except errors.UnavailableError:
                time.sleep(0.05)
        assert lim.acquire("down", "a", limit=3)["status"] == "granted"


def test_redis_blocking_calls_from_threads_and_the_loop(redis_server: RedisServer) -> None:
    with open_limiter(redis_server.url, timeout_ms=500) as lim:
        # The blocking calls are the C library's: they work from any thread
        # but the engine's own (a loop callback), where they refuse.
        assert lim.set_add("users", "alice") is True
        assert lim.set_has("users", "alice") is True
        assert lim.acquire("u", "a", limit=1)["status"] == "granted"
        denied = lim.acquire("u", "b", limit=1)
        assert denied["status"] == "denied"
        assert [h["resource"] for h in denied["holders"]] == ["a"]
        assert [h["resource"] for h in lim.holders("u")] == ["a"]
        seen: list[BaseException] = []
        done = threading.Event()

        def on_loop(err: object, value: object) -> None:
            try:
                lim.acquire("u", "c", limit=1)
            except BaseException as e:  # noqa: BLE001 - recorded for the assertion below
                seen.append(e)
            done.set()

        lim._native.ping_cb(on_loop)
        assert done.wait(5)
        assert len(seen) == 1
        assert isinstance(seen[0], errors.InvalidArgumentError)
        assert "would block the engine loop" in str(seen[0])


def test_bad_arguments() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="unknown spec"):
        open_limiter("mysql://x")
    with pytest.raises(TypeError):
        open_limiter(1)  # type: ignore[arg-type]
    lim = open_limiter("memory:")
    with pytest.raises(ValueError):
        lim.acquire("", "a", limit=1)
    with pytest.raises(ValueError):
        lim.acquire("u", "a", limit=0)
    with pytest.raises(ValueError):
        lim.acquire("u", "x" * 513, limit=1)
    with pytest.raises(TypeError):
        lim.acquire(1, "a", limit=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lim.hit("k", rate=2, burst=2, cost=3)
    lim.close()
    lim.close()
    assert hotpath.limits.Limiter is Limiter


def test_redis_cluster(redis_cluster: RedisCluster) -> None:
    with open_limiter(redis_cluster.url, timeout_ms=1000, prefix="hp:lim:py") as lim:
        assert lim.backend == "redis"
        semantics(lim)
        asyncio.run(semantics_async(lim))
        for i in range(30):
            lim.acquire(f"spread{i}", "a", limit=1)
        for port in redis_cluster.ports:
            out = subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], check=True, capture_output=True, text=True)
            assert int(out.stdout) > 0
