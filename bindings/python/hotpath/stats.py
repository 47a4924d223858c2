"""Shapes of the ``stats()`` dicts of every handle kind (docs/observability.md)."""

from __future__ import annotations

from typing import TypedDict


class RedisStats(TypedDict):
    """The figures of a handle's Redis client."""

    commands: int
    """Commands written to the server."""
    in_flight: int
    """Commands waiting for their reply now."""
    timeouts: int
    """Connects, replies and keepalive PINGs that did not come in time."""
    disconnects: int
    """Established connections that were lost."""
    reconnects: int
    """Connections established again after one was lost."""
    connected: int
    """Connections up now (a cluster has one per master)."""


class ReloadError(TypedDict):
    code: str
    """The error code, e.g. ``"HP_ECORRUPT"``."""
    message: str


class GeoStats(TypedDict):
    """``GeoReader.stats()``."""

    lookups: int
    """Addresses looked up (get, lookup, lookup_many: each address)."""
    cache_hits: int
    """Records served from the decoded-record cache."""
    cache_misses: int
    """Records decoded on the call (first use, or a full cache)."""
    reloads: int
    reload_failures: int
    generation: int
    last_reload_at: int | None
    """Time (ms since the epoch) of the latest reload attempt, or None."""
    last_reload_error: ReloadError | None
    """Why the latest reload attempt failed; None when it succeeded or there was none."""


class LimiterStats(TypedDict):
    """``Limiter.stats()``."""

    checks: int
    """Acquires and hits that reached the backend."""
    granted: int
    denied: int
    store_errors: int
    """Calls of any kind the backend failed (unavailable, I/O, ...)."""
    redis: RedisStats | None
    """The Redis client's figures; None for memory and SQLite."""


class BlobStoreStats(TypedDict):
    """``Blobs.stats()``."""

    bytes_in: int
    """Bytes of the files committed."""
    bytes_out: int
    """Bytes handed to readers."""
    commits: int
    corrupt_reads: int
    """Reads that failed with CorruptError."""
    redis: RedisStats | None
    """The Redis client's figures; None for SQLite."""


__all__ = ["BlobStoreStats", "GeoStats", "LimiterStats", "RedisStats", "ReloadError"]
