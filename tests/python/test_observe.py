"""Observability through the public API: stats() of every handle kind, and
the engine's background events on the ``hotpath`` logger (a watched file
replaced, a broken file, a real redis-server killed and started again)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable

import hotpath
import pytest
from conftest import RedisServer, wait_port
from hotpath import errors
from hotpath.blobs import Blobs
from hotpath.events import EventLog
from hotpath.geo import GeoReader
from hotpath.limits import Limiter


def once(redis_server: RedisServer, n: int) -> bool:
    """Once on a server; on a cluster the client holds a connection per node
    (and loses and regains each), so at least once."""
    return n == 1 or (redis_server.cluster and n >= 1)


def node_addresses(redis_server: RedisServer) -> set[str]:
    return {f"127.0.0.1:{p}" for p in getattr(redis_server, "ports", [redis_server.port])}

def until(cond: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def replace_file(to: Path, data: bytes) -> None:
    """Replaces ``to`` in one rename, as a database update does."""
    tmp = to.with_name(to.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, to)


def watched_reader(fixtures: Path, db: Path) -> GeoReader:
    """A reader of a copy of GeoIP2-City-Test at ``db``, polled every 20 ms."""
    replace_file(db, (fixtures / "maxmind/test-data/GeoIP2-City-Test.mmdb").read_bytes())
    return GeoReader(db, watch_interval_ms=20)


def records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


def test_geo_stats_and_reloads_on_the_logger(fixtures: Path, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotpath")
    db = tmp_path / "city.mmdb"
    with watched_reader(fixtures, db) as reader:
        s = reader.stats()
        assert s["lookups"] == 0
        assert s["generation"] == 1
        assert s["last_reload_at"] is None
        assert s["last_reload_error"] is None
        for _ in range(3):
            assert reader.lookup("81.2.69.160")["country_code"] == "GB"  # type: ignore[index]
        assert reader.lookup("10.0.0.1") is None
        s = reader.stats()
        assert s["lookups"] == 4
        assert s["cache_misses"] == 1  # the record was decoded once
        assert s["cache_hits"] == 2
        # get() searches once, and once more to build the object it reuses.
        assert reader.get("81.2.69.160")["country"]["iso_code"] == "GB"
        s = reader.stats()
        assert s["lookups"] == 6
        assert s["cache_hits"] == 3

        time.sleep(0.1)  # the watch has read the first file
        replace_file(db, (fixtures / "maxmind/test-data/GeoIP2-Country-Test.mmdb").read_bytes())
        until(lambda: bool(records(caplog, "hotpath.geo")), "the reload on the logger")
        ok = records(caplog, "hotpath.geo")[0]
        assert ok.levelno == logging.INFO
        assert ok.hotpath_event == "reload"  # type: ignore[attr-defined]
        assert ok.hotpath_source == str(db)  # type: ignore[attr-defined]
        assert "generation 2" in ok.getMessage()
        s = reader.stats()
        assert s["reloads"] == 1
        assert s["generation"] == 2
        assert isinstance(s["last_reload_at"], int)

        replace_file(db, b"not a MaxMind DB")
        until(lambda: len(records(caplog, "hotpath.geo")) == 2, "the failed reload on the logger")
        failed = records(caplog, "hotpath.geo")[1]
        assert failed.levelno == logging.ERROR
        assert failed.hotpath_event == "reload_failed"  # type: ignore[attr-defined]
        assert failed.hotpath_code == "HP_ECORRUPT"  # type: ignore[attr-defined]
        s = reader.stats()
        assert s["reload_failures"] == 1
        assert s["last_reload_error"] is not None
        assert s["last_reload_error"]["code"] == "HP_ECORRUPT"
        assert s["last_reload_error"]["message"] in failed.getMessage()
        assert reader.lookup("81.2.69.160")["country_code"] == "GB"  # type: ignore[index]  # old data stays


def test_limiter_stats_and_a_restarted_redis_server_on_the_logger(redis_server: RedisServer,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    with Limiter("memory:") as memory:
        for _ in range(3):
            memory.hit("k", rate=2, period_ms=60000)
        assert memory.stats() == {"checks": 3, "granted": 2, "denied": 1, "store_errors": 0, "redis": None}

    caplog.set_level(logging.INFO, logger="hotpath")
    with Limiter(redis_server.url) as limiter:
        assert limiter.acquire("u", "a", limit=1)["status"] == "granted"
        s = limiter.stats()
        assert s["checks"] == 1 and s["granted"] == 1
        assert s["redis"] is not None
        assert once(redis_server, s["redis"]["connected"])
        assert s["redis"]["commands"] >= 1
        # Nothing of ours in flight; a cluster client may be refreshing its slot map.
        assert s["redis"]["in_flight"] == 0 or redis_server.cluster

        redis_server.stop()
        until(lambda: bool(records(caplog, "hotpath.redis")), "the disconnect on the logger")
        lost = records(caplog, "hotpath.redis")[0]
        assert lost.levelno == logging.WARNING
        assert lost.hotpath_event == "redis_disconnect"  # type: ignore[attr-defined]
        assert lost.hotpath_handle == "limiter"  # type: ignore[attr-defined]
        assert lost.hotpath_source in node_addresses(redis_server)  # type: ignore[attr-defined]
        with pytest.raises(errors.UnavailableError):
            limiter.acquire("u", "b", limit=1)

        redis_server.start()
        def reconnects() -> list[logging.LogRecord]:
            return [r for r in records(caplog, "hotpath.redis") if r.hotpath_event == "redis_reconnect"]  # type: ignore[attr-defined]

        until(lambda: bool(reconnects()), "the reconnect on the logger")
        back = reconnects()[0]
        assert back.levelno == logging.INFO
        assert back.hotpath_event == "redis_reconnect"  # type: ignore[attr-defined]
        s = limiter.stats()
        assert s["redis"] is not None
        assert once(redis_server, s["redis"]["disconnects"])
        assert once(redis_server, s["redis"]["reconnects"])
        assert s["store_errors"] >= 1


def test_blob_store_stats(tmp_path: Path) -> None:
    with Blobs(f"sqlite:{tmp_path / 'b.db'}") as store:
        store.put("a.txt", b"hello world")
        assert store.get("a.txt") == b"hello world"
        assert store.stats() == {"bytes_in": 11, "bytes_out": 11, "commits": 1, "corrupt_reads": 0, "redis": None}


def test_event_log_stats_have_redis_figures(tmp_path: Path, redis_server: RedisServer) -> None:
    with EventLog(tmp_path / "events.log") as log:
        assert log.stats()["redis"] is None
    with EventLog.redis(redis_server.url) as remote:
        remote.push("click x y")
        remote.flush()
        s = remote.stats()
        assert s["written"] == 1
        assert s["redis"] is not None
        assert once(redis_server, s["redis"]["connected"])


def test_a_disabled_logger_costs_no_record(fixtures: Path, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="hotpath")
    db = tmp_path / "city.mmdb"
    with watched_reader(fixtures, db) as reader:
        time.sleep(0.1)
        replace_file(db, (fixtures / "maxmind/test-data/GeoIP2-Country-Test.mmdb").read_bytes())
        until(lambda: reader.stats()["reloads"] == 1, "the reload")
        time.sleep(0.1)
    assert not records(caplog, "hotpath.geo")


def test_a_logging_handler_that_calls_hotpath_does_not_deadlock(fixtures: Path, tmp_path: Path) -> None:
    """The handler runs on the engine's thread and calls back into a handle
    (taking the GIL there while a Python thread waits in a blocking call)."""
    seen: list[int] = []
    reader = watched_reader(fixtures, tmp_path / "city.mmdb")
    db = tmp_path / "city.mmdb"

    class Calls(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(reader.stats()["generation"])

    handler = Calls(logging.INFO)
    log = logging.getLogger("hotpath.geo")
    log.addHandler(handler)
    old = log.level
    log.setLevel(logging.INFO)
    try:
        time.sleep(0.1)
        replace_file(db, (fixtures / "maxmind/test-data/GeoIP2-Country-Test.mmdb").read_bytes())
        with Limiter("memory:") as lim:  # busy Python threads meanwhile
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                lim.hit("k", rate=1000000)
        assert seen == [2]
    finally:
        log.removeHandler(handler)
        log.setLevel(old)
        reader.close()


def test_an_event_during_interpreter_shutdown_is_dropped_quietly(fixtures: Path, tmp_path: Path,
                                                                 redis_server: RedisServer) -> None:
    """A process that exits while a Redis connection drops and a watched
    file changes exits cleanly, without a traceback."""
    script = textwrap.dedent(f"""
        import logging, os, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout)
        from hotpath.limits import Limiter
        lim = Limiter({redis_server.url!r})
        lim.acquire("u", "a", limit=1)
        print("ready", flush=True)
        sys.stdin.readline()
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready"
    redis_server.stop()
    proc.stdin.write("\n")
    proc.stdin.flush()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    redis_server.start()
    wait_port(redis_server.port)


def test_stats_types_are_exported() -> None:
    assert set(hotpath.stats.__all__) == {"BlobStoreStats", "GeoStats", "LimiterStats", "RedisStats", "ReloadError"}
