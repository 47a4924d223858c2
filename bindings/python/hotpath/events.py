"""Tracker events: the client address, the Pushtech consumer message, and
:class:`EventLog`, a batcher that appends messages to a local log file.

The message is ``eventType meta rawQuery`` exactly as the seed documents it::

    app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=192.168.64.2
      &ts=1510826008003&ip=ffffac110001&klag=266&country=XX&city=XX deviceid=abcdf&ts=123456

(one line; wrapped here).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Literal, TypedDict

from . import _aio, _hotpath
from ._aio import AsyncClosing
from ._engine import engine
from ._paths import StrPath, fspath
from .stats import RedisStats

Fsync = Literal["none", "batch", "interval"]
_FSYNC = {
    "none": _hotpath.EVENTS_FSYNC_NONE,
    "batch": _hotpath.EVENTS_FSYNC_BATCH,
    "interval": _hotpath.EVENTS_FSYNC_INTERVAL,
}


class EventLogStats(TypedDict):
    """Counters of an EventLog since it was opened: events appended, written, dropped
    (past max_pending) and pending; batches written, failed writes, rotations."""
    appended: int
    written: int
    dropped: int
    pending: int
    batches: int
    errors: int
    rotations: int
    redis: RedisStats | None
    """The Redis client's figures for a Redis list; None for a file."""


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        for key, v in headers.items():
            if key.lower() == name:
                value = v
                break
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"events: header {name} must be a str")
    return value


def client_ip(headers: Mapping[str, str], remote_addr: str | None = None) -> str | None:
    """The client address as the seed's tracker chooses it: ``x-push-ip``,
    else the first entry of ``x-forwarded-for``, else ``x-real-ip``, else
    the socket address. Header names match case-insensitively."""
    if not isinstance(headers, Mapping):
        raise TypeError("events.client_ip: headers must be a mapping")
    if remote_addr is not None and not isinstance(remote_addr, str):
        raise TypeError("events.client_ip: remote_addr must be a str")
    return _hotpath.events_client_ip(
        _header(headers, "x-push-ip"),
        _header(headers, "x-forwarded-for"),
        _header(headers, "x-real-ip"),
        remote_addr or "",
    )


def ip_hex(ip: str) -> str:
    """The seed's ``ip=`` value: lower-case hex of the address bytes without
    leading zero bytes (``"::ffff:172.17.0.1"`` -> ``"ffffac110001"``).
    Raises :class:`hotpath.errors.InvalidArgumentError` for a non-address."""
    if not isinstance(ip, str):
        raise TypeError("events.ip_hex: ip must be a str")
    return _hotpath.events_ip_hex(ip)


def _str(name: str, value: str | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"events: {name} must be a str")
    return value


def _event_args(
    event_type: str,
    query: str | None,
    host: str | None,
    ip: str | None,
    user_agent: str | None,
    country: str | None,
    city: str | None,
    received_ms: int | None,
    processed_ms: int | None,
) -> tuple[str, str, str, str, str, str, str, int, int]:
    if not isinstance(event_type, str) or not event_type:
        raise TypeError("events: event_type must be a non-empty str")
    received = int(time.time() * 1000) if received_ms is None else received_ms
    processed = 0 if processed_ms is None else processed_ms
    for name, v in (("received_ms", received), ("processed_ms", processed)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"events: {name} must be an int (epoch ms)")
    return (
        event_type,
        _str("query", query),
        _str("host", host),
        _str("ip", ip),
        _str("user_agent", user_agent),
        _str("country", country),
        _str("city", city),
        received,
        processed,
    )


def format_message(
    event_type: str,
    query: str | None = None,
    host: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    city: str | None = None,
    received_ms: int | None = None,
    processed_ms: int | None = None,
) -> str:
    """The consumer message of one tracking call. ``received_ms`` (``ts=``)
    defaults to now; ``klag`` is ``processed_ms - received_ms`` with
    ``processed_ms`` defaulting to the time of the call. Missing country or
    city are written ``XX``, an empty query ``e``."""
    return _hotpath.events_format(
        *_event_args(event_type, query, host, ip, user_agent, country, city, received_ms, processed_ms)
    )


def _u32(name: str, value: int | None, minimum: int) -> int:
    """An option as the C library takes it: None (left out) is 0, which asks
    for the library's default."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 0xFFFFFFFF:
        raise ValueError(f"EventLog: {name} must be an integer >= {minimum}")
    return value


class EventLog(AsyncClosing):
    """Appends consumer messages to a log file, one a line, in batches of
    ``batch_events`` or every ``batch_ms`` milliseconds, written and fsynced
    on a writer thread. Appends never wait; :meth:`close` (or leaving a
    ``with`` block) writes everything buffered."""

    def __init__(
        self,
        path: StrPath,
        *,
        batch_events: int | None = None,
        batch_ms: int | None = None,
        max_pending: int | None = None,
        fsync: Fsync = "batch",
        fsync_ms: int | None = None,
        rotate_bytes: int = 0,
        keep_files: int = 5,
    ) -> None:
        path = fspath(path, "EventLog: path")
        if fsync not in _FSYNC:
            raise ValueError("EventLog: fsync must be 'none', 'batch' or 'interval'")
        if isinstance(rotate_bytes, bool) or not isinstance(rotate_bytes, int) or rotate_bytes < 0:
            raise ValueError("EventLog: rotate_bytes must be a non-negative integer")
        self.path = path
        self._log = _hotpath.EventLog(
            engine(),
            path,
            _u32("batch_events", batch_events, 1),
            _u32("batch_ms", batch_ms, 1),
            _u32("max_pending", max_pending, 1),
            _FSYNC[fsync],
            _u32("fsync_ms", fsync_ms, 1),
            rotate_bytes,
            _u32("keep_files", keep_files, 0),
        )

    @classmethod
    def redis(
        cls,
        url: str,
        *,
        key: str = "hotpath:events",
        batch_events: int | None = None,
        batch_ms: int | None = None,
        max_pending: int | None = None,
        max_inflight: int | None = None,
        connect_timeout_ms: int | None = None,
        command_timeout_ms: int | None = None,
    ) -> EventLog:
        """A batcher that RPUSHes each batch to the Redis list ``key`` (the
        shared Redis client on the engine's loop, pipelined). During an outage
        batches wait and are retried; past ``max_pending`` appends raise
        :class:`hotpath.errors.UnavailableError` and count as dropped."""
        if not isinstance(url, str) or not url:
            raise TypeError("EventLog.redis: url must be a non-empty str")
        if not isinstance(key, str) or not key:
            raise TypeError("EventLog.redis: key must be a non-empty str")
        self = cls.__new__(cls)
        self.path = url
        self._log = _hotpath.EventLog.redis(
            engine(),
            url,
            _u32("batch_events", batch_events, 1),
            _u32("batch_ms", batch_ms, 1),
            _u32("max_pending", max_pending, 1),
            key,
            _u32("max_inflight", max_inflight, 1),
            _u32("connect_timeout_ms", connect_timeout_ms, 1),
            _u32("command_timeout_ms", command_timeout_ms, 1),
        )
        return self

    def push(self, message: str) -> None:
        """Append a ready-made message (one line). Raises
        :class:`hotpath.errors.UnavailableError` when ``max_pending`` events
        already wait for a failing file (the message is dropped and counted)."""
        if not isinstance(message, str) or not message:
            raise TypeError("EventLog.push: message must be a non-empty str")
        self._log.push(message)

    def append(
        self,
        event_type: str,
        query: str | None = None,
        host: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        country: str | None = None,
        city: str | None = None,
        received_ms: int | None = None,
        processed_ms: int | None = None,
    ) -> int:
        """Format one tracking call (as :func:`format_message`) and append
        it; returns the message length."""
        return self._log.append(
            *_event_args(event_type, query, host, ip, user_agent, country, city, received_ms, processed_ms)
        )

    def flush(self) -> None:
        """Block (without the GIL) until everything appended is written."""
        self._log.flush()

    async def flush_async(self) -> None:
        """:meth:`flush` for asyncio."""
        await _aio.run(self._log.flush_cb)

    def stats(self) -> EventLogStats:
        """Counters: appended, written, dropped, pending, batches, errors,
        rotations, and the Redis client's figures (docs/observability.md)."""
        return self._log.stats()  # type: ignore[return-value]

    def close(self) -> None:
        """Write what is buffered and close the file; a second close does nothing."""
        self._log.close()

    async def close_async(self) -> None:
        """:meth:`close` for asyncio."""
        await _aio.run(self._log.close_cb)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._log.closed

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
