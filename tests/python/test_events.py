from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from conftest import RedisServer
from hotpath import errors, events

FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:56.0) Gecko/20100101 Firefox/56.0"
SEED = (
    "app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=192.168.64.2"
    "&ts=1510826008003&ip=ffffac110001&klag=266&country=XX&city=XX"
    " deviceid=abcdf&ts=123456&referrer=website"
)


def test_client_ip_precedence() -> None:
    h = {"X-Push-Ip": "1.1.1.1", "x-forwarded-for": "2.2.2.2, 10.0.0.1", "x-real-ip": "3.3.3.3"}
    assert events.client_ip(h, "4.4.4.4") == "1.1.1.1"
    assert events.client_ip({**h, "X-Push-Ip": ""}, "4.4.4.4") == "2.2.2.2"
    assert events.client_ip({"x-real-ip": "3.3.3.3"}, "4.4.4.4") == "3.3.3.3"
    assert events.client_ip({}, "::1") == "::1"
    assert events.client_ip({}) is None


def test_ip_hex() -> None:
    assert events.ip_hex("::ffff:172.17.0.1") == "ffffac110001"
    assert events.ip_hex("::1") == "01"
    with pytest.raises(errors.InvalidArgumentError, match="not an IP"):
        events.ip_hex("example.com")


def test_format_matches_the_seed() -> None:
    msg = events.format_message("app_open", "deviceid=abcdf&ts=123456&referrer=website", "192.168.64.2",
                                "::ffff:172.17.0.1", FIREFOX_MAC, received_ms=1510826008003,
                                processed_ms=1510826008269)
    assert msg == SEED
    assert events.format_message("a").endswith("&country=XX&city=XX e")
    assert "&city=S%C3%A3o%20Paulo " in events.format_message("a", city="São Paulo")
    with pytest.raises(TypeError):
        events.format_message("")
    with pytest.raises(errors.InvalidArgumentError):
        events.format_message("x", query="q" * 9000)


def test_event_log_writes_everything_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.log"
    with events.EventLog(str(path), batch_events=16) as log:
        for i in range(200):
            log.append(f"e{i}", f"i={i}", ip="10.0.0.1", user_agent=FIREFOX_MAC)
        log.push("raw")
        log.flush()
        st = log.stats()
        assert st["written"] == 201 and st["pending"] == 0 and st["dropped"] == 0
        for i in range(5):
            log.push(f"late {i}")
    assert log.closed
    lines = path.read_text().splitlines()
    assert len(lines) == 206
    assert lines[0].startswith("e0 type=Desktop&browser=Firefox&") and lines[0].endswith(" i=0")
    assert lines[-1] == "late 4"
    with pytest.raises(errors.ClosedError):
        log.push("x")
    log.close()  # a second close does nothing


def test_event_log_threads(tmp_path: Path) -> None:
    path = tmp_path / "events.log"
    log = events.EventLog(str(path), batch_events=50, fsync="interval", fsync_ms=5)

    def work(t: int) -> None:
        for i in range(2000):
            log.push(f"{t}:{i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 8000
    for t in range(4):
        mine = [int(line.split(":")[1]) for line in lines if line.startswith(f"{t}:")]
        assert mine == list(range(2000))


def test_event_log_failing_file_refuses_and_counts() -> None:
    log = events.EventLog("/dev/full", batch_events=5, batch_ms=5, max_pending=20)
    refused = 0
    for _ in range(30):
        try:
            log.push("x")
        except errors.UnavailableError:
            refused += 1
    assert refused == 10
    with pytest.raises(errors.HotpathIOError):
        log.flush()
    assert log.stats()["dropped"] == 10
    with pytest.raises(errors.HotpathIOError):
        log.close()


def test_event_log_asyncio(tmp_path: Path) -> None:
    path = tmp_path / "events.log"

    async def main() -> None:
        log = events.EventLog(str(path))
        log.push("one")
        await log.flush_async()
        assert path.read_text() == "one\n"
        log.push("two")
        await log.close_async()

    asyncio.run(main())
    assert path.read_text() == "one\ntwo\n"


def test_event_log_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        events.EventLog(str(tmp_path / "x"), batch_events=0)
    with pytest.raises(ValueError):
        events.EventLog(str(tmp_path / "x"), fsync="always")  # type: ignore[arg-type]
    with pytest.raises(errors.HotpathIOError):
        events.EventLog(str(tmp_path / "missing" / "x.log"))


def test_event_log_redis(redis_server: RedisServer) -> None:
    log = events.EventLog.redis(redis_server.url, key="tracker:events", batch_events=10)
    for i in range(95):
        log.append("open", f"i={i}", user_agent=FIREFOX_MAC)
    log.flush()
    log.push("last")
    log.close()
    assert redis_server.cli("LLEN", "tracker:events") == "96"


def test_event_log_redis_outage_is_bounded() -> None:
    from conftest import free_port

    log = events.EventLog.redis(f"redis://127.0.0.1:{free_port()}", batch_events=5, batch_ms=5,
                                max_pending=20, connect_timeout_ms=100)
    refused = 0
    for _ in range(30):
        try:
            log.push("x")
        except errors.UnavailableError:
            refused += 1
    assert refused == 10
    with pytest.raises(errors.UnavailableError):
        log.flush()
    assert log.stats()["dropped"] == 10
    with pytest.raises(errors.UnavailableError):
        log.close()
