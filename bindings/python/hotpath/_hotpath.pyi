"""Stubs of the private native module _hotpath (pybind11 over the C API). The
public, documented API is the hotpath package; these name what each native
entry point does for readers of the package's code."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, overload

__version__: str
version_hex: int
codes: dict[str, int]
STICKY_MODULO: int
STICKY_JUMP: int

def strerror(code: int) -> str:
    """Short text of an error code, as hp_strerror()."""

def _set_error_factory(factory: Callable[[int, str, str, int, str, str], BaseException]) -> None:
    """Called once by hotpath.errors at import: the function that makes the
    exception of a C error code (number, code, message, errno, syscall, path)."""

class Engine:
    """An hp_engine with its own libuv loop on a background thread; the package keeps one per process."""
    def __init__(self) -> None: ...
    def close(self) -> None:
        """Free the engine (hp_engine_free); pending work fails with ClosedError. Blocks without the GIL."""

def fingerprint32(data: Any) -> int:
    """FarmHash Fingerprint32 of a str (UTF-8) or bytes-like object."""
def fingerprint32_many(items: Sequence[str]) -> list[int]:
    """Fingerprint32 of each string, in one call."""
def sticky_pick(address: str, workers: int, mode: int) -> int:
    """Worker index of an address: STICKY_MODULO or STICKY_JUMP; raises InvalidArgumentError."""
def host_snapshot() -> dict[str, Any]:
    """Host metrics now (cpu_load None)."""
def host_sample(engine: Engine, window_ms: int) -> dict[str, Any]:
    """Host metrics with cpu_load over window_ms; blocks without the GIL."""
def host_sample_cb(
    engine: Engine, window_ms: int, callback: Callable[[BaseException | None, Any], None]
) -> None:
    """host_sample that calls callback(err, result) on the engine thread."""
def ua_parse(ua: str) -> dict[str, Any]:
    """Parse one User-Agent string; keeps the GIL (cached, sub-microsecond)."""
def ua_parse_many(items: list[str]) -> list[dict[str, Any]]:
    """Parse many strings without the GIL."""
def stop_event_logging() -> None:
    """Stop handing engine events to hotpath._log (at exit)."""
def ua_stats() -> dict[str, Any]:
    """Counters of the calling thread's parse cache."""
EVENTS_FSYNC_NONE: int
EVENTS_FSYNC_BATCH: int
EVENTS_FSYNC_INTERVAL: int

def events_client_ip(push_ip: str, forwarded_for: str, real_ip: str, remote_addr: str) -> str | None:
    """The client address from x-push-ip, x-forwarded-for, x-real-ip, then remote_addr."""
def events_ip_hex(ip: str) -> str:
    """The tracker's hex form of an address; raises InvalidArgumentError."""
def events_format(
    event_type: str, query: str, host: str, ip: str, user_agent: str, country: str, city: str,
    received_ms: int, processed_ms: int,
) -> str:
    """One consumer message 'eventType meta rawQuery'."""

class EventLog:
    """A batching event sink (file or Redis list) on an engine."""
    def __init__(
        self, engine: Engine, path: str, batch_events: int, batch_ms: int, max_pending: int, fsync: int,
        fsync_ms: int, rotate_bytes: int, keep_files: int,
    ) -> None: ...
    @staticmethod
    def redis(
        engine: Engine, url: str, batch_events: int, batch_ms: int, max_pending: int, key: str,
        max_inflight: int, connect_timeout_ms: int, command_timeout_ms: int,
    ) -> EventLog:
        """A sink that RPUSHes batches to a Redis list."""
    def push(self, message: str) -> None:
        """Append a ready-made message; raises UnavailableError past max_pending."""
    def append(
        self, event_type: str, query: str, host: str, ip: str, user_agent: str, country: str, city: str,
        received_ms: int, processed_ms: int,
    ) -> int:
        """Format and append an event; returns the message length."""
    def flush(self) -> None:
        """Block (without the GIL) until everything appended is written."""
    def flush_cb(self, callback: Callable[[BaseException | None, Any], None]) -> None:
        """flush that calls callback(err, None) on the engine thread."""
    def stats(self) -> dict[str, Any]:
        """Counters since the log was opened."""
    def close(self) -> None:
        """Write what is buffered and close; a second close does nothing."""
    def close_cb(self, callback: Callable[[BaseException | None, Any], None]) -> None:
        """close that calls callback(err, None) on the engine thread."""
    @property
    def closed(self) -> bool:
        """Whether close() was called."""

class GeoWalk:
    """A walk over the networks of one database (hp_geo_iter)."""
    def __iter__(self) -> GeoWalk: ...
    def __next__(self) -> tuple[bytes, int, Any]:
        """(network address, prefix length, record)."""

class GeoReader:
    """Readers of one or more MaxMind DB files (hp_geo)."""
    @overload
    def __init__(
        self,
        path: str,
        extra_paths: Sequence[str],
        cache_records: int,
        ipv4_index_bits: int = 0,
        cache_bytes: int = 0,
        max_record_bytes: int = 0,
        max_record_nodes: int = 0,
        watch_interval_ms: int = 0,
        engine: Engine | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        name: str,
        cache_records: int,
        cache_bytes: int = 0,
        max_record_bytes: int = 0,
        max_record_nodes: int = 0,
    ) -> None: ...
    def networks(self, db: int = 0) -> GeoWalk:
        """Every network of database db with its record, in address order."""
    def set_error_factory(self, factory: Callable[[int, str, str, int, str, str], BaseException] | None) -> None:
        """Make the exceptions of failed gets with factory (number, code, message, errno, syscall, path)."""
    def get(self, ip: Any, db: int = 0) -> Any:
        """The full record of an address in database db, or None; keeps the GIL."""
    def get_with_prefix_len(self, ip: Any, db: int = 0) -> tuple[Any, int]:
        """(record or None, prefix length)."""
    def lookup(self, ip: Any) -> dict[str, Any] | None:
        """The flat enrichment merged from every database, or None."""
    def lookup_many(self, ips: Sequence[Any], coerce: bool = False) -> dict[str, list[Any]]:
        """Enrichments as columns (dict of lists); without the GIL."""
    def fast_methods(self) -> tuple[Callable[[Any], Any], Callable[[Any], tuple[Any, int]]]:
        """get and get_with_prefix_len bound as METH_FASTCALL functions."""
    def metadata(self, db: int = 0) -> dict[str, Any]:
        """The metadata map of database db."""
    def reload(self) -> None:
        """Re-open the files and swap atomically; the old data stays on failure."""
    def generation(self) -> int:
        """Increases by one on every successful reload."""
    def stats(self) -> dict[str, Any]:
        """Lookups, cache use, reloads and the latest reload's error."""
    def count(self) -> int:
        """Number of databases."""
    def close(self) -> None:
        """Unmap the files; later calls raise ClosedError."""
    @property
    def closed(self) -> bool:
        """Whether close() was called."""

def geo_write(
    path: str,
    entries: Iterable[Any],
    ip_version: int,
    record_size: int,
    database_type: str,
    description: str,
    languages: Sequence[str],
    build_epoch: int,
) -> None:
    """Write a MaxMind DB file from (network, record) pairs, replacing path atomically."""
RULES_NONE: int
RULES_PASS: int
RULES_FAIL: int

class RecipeSet:
    """A set of recipe tables (hp_recipes) on an engine; tables are addressed by index."""
    def __init__(self, engine: Engine) -> None: ...
    def close(self) -> None:
        """Stop watches and free the tables."""
    def define(
        self,
        name: str,
        key: str,
        key_is_str: bool,
        json_fields: Sequence[str],
        update_type: str | None,
        geo_field: str | None,
        target_field: str | None,
        max_json_bytes: int = 0,
        max_items: int = 0,
        max_item_bytes: int = 0,
    ) -> int:
        """Add a table; returns its index."""
    def load(self, table: int, path: str, timestamp: int, whole_max: int) -> dict[str, Any]:
        """Load a table from a JSON array file (plain or gzip) without the GIL; returns its stats."""
    def load_cb(
        self,
        table: int,
        path: str,
        timestamp: int,
        whole_max: int,
        callback: Callable[[BaseException | None, Any], None],
    ) -> None:
        """load that calls callback(err, stats) on the engine thread."""
    def version(self, table: int, key: int | str) -> int:
        """The record's version (changes when it does), 0 when missing."""
    def get_json(self, table: int, key: int | str) -> tuple[int, str] | None:
        """(record version, minified JSON) of a key, or None."""
    def size(self, table: int) -> int:
        """Number of live records."""
    def keys(self, table: int) -> list[int | str]:
        """Every live key."""
    def stats(self, table: int) -> dict[str, Any]:
        """The table's counters."""
    def match(
        self, table: int, key: int | str, dims: Sequence[str | None]
    ) -> tuple[int, int, int, str | None] | None:
        """(geo, target, rule, redirect_to) of a key for a visitor (dims in DIMENSIONS order), or None."""
    def update(self, message: str) -> int:
        """Apply a point update (JSON text): 0 when applied, positive when stale."""
    def watch(
        self,
        table: int,
        path: str,
        interval_ms: int,
        debounce_ms: int,
        load_now: bool,
        callback: Callable[[Any, Any], None],
    ) -> int:
        """Reload a table when its file changes; callback(err, stats) runs on the engine thread. Returns a watch id."""
    def unwatch(self, id: int) -> None:
        """Stop a watch."""
    def subscribe(
        self,
        url: str,
        channel: str,
        connect_timeout_ms: int,
        reconnect_max_ms: int,
        callback: Callable[[Any, Any], None],
        max_message_bytes: int = 0,
    ) -> int:
        """Apply every message of a Redis channel as a point update; callback(err, result) runs on the engine thread. Returns a subscription id."""
    def unsubscribe(self, id: int) -> None:
        """Stop a subscription."""
    def subscription_stats(self, id: int) -> dict[str, Any]:
        """Messages received, applied, stale and rejected by a subscription, and its Redis figures."""

class Limiter:
    """Leases and rate limits on a 'memory:', 'sqlite:' or 'redis://' backend (hp_limiter)."""
    def __init__(
        self, engine: Engine, spec: str, timeout_ms: int, prefix: str, sqlite_inline: bool,
        local_budget: int = 0, local_hold_ms: int = 0,
    ) -> None: ...
    def backend(self) -> str:
        """'memory', 'sqlite' or 'redis'."""
    def stats(self) -> dict[str, Any]:
        """Checks, grants, denials, backend failures and Redis figures."""
    def close(self) -> None:
        """Close; pending callbacks still run."""
    @property
    def closed(self) -> bool:
        """Whether close() was called."""
    def acquire(self, arg0: str, arg1: str, arg2: int, arg3: int, arg4: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """(subject, resource, limit, ttl_ms, [(set, member), ...]): take a lease if every member is in its set."""
    def release(self, arg0: str, arg1: str) -> bool:
        """(subject, resource): True if the lease was held."""
    def renew(self, arg0: str, arg1: str, arg2: int) -> bool:
        """(subject, resource, ttl_ms): False if the lease had expired."""
    def holders(self, arg0: str) -> list[Any]:
        """(subject): the subject's live leases."""
    def hit(self, arg0: str, arg1: int, arg2: int, arg3: int, arg4: int) -> dict[str, Any]:
        """(key, rate, period_ms, burst, cost): one GCRA hit."""
    def hit_local(self, arg0: str, arg1: int, arg2: int, arg3: int, arg4: int) -> dict[str, Any] | None:
        """(key, rate, period_ms, burst, cost): the hit decided without waiting, or None."""
    def set_add(self, arg0: str, arg1: str) -> bool:
        """(set, member): True if the member is new."""
    def set_has(self, arg0: str, arg1: str) -> bool:
        """(set, member): whether the member is in the set."""
    def ping(self) -> None:
        """Return when the backend answers; raises UnavailableError."""
    def acquire_cb(
        self, arg0: str, arg1: str, arg2: int, arg3: int, arg4: Sequence[tuple[str, str]], arg5: Callable[..., Any]
    ) -> None:
        """acquire on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def release_cb(self, arg0: str, arg1: str, arg2: Callable[..., Any]) -> None:
        """release on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def renew_cb(self, arg0: str, arg1: str, arg2: int, arg3: Callable[..., Any]) -> None:
        """renew on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def holders_cb(self, arg0: str, arg1: Callable[..., Any]) -> None:
        """holders on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def hit_cb(self, arg0: str, arg1: int, arg2: int, arg3: int, arg4: int, arg5: Callable[..., Any]) -> None:
        """hit on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def set_add_cb(self, arg0: str, arg1: str, arg2: Callable[..., Any]) -> None:
        """set_add on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def set_has_cb(self, arg0: str, arg1: str, arg2: Callable[..., Any]) -> None:
        """set_has on any backend; the last argument, callback(err, result), runs on the engine thread."""
    def ping_cb(self, arg0: Callable[..., Any]) -> None:
        """ping on any backend; the last argument, callback(err, result), runs on the engine thread."""

class BlobWriter:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def id(self) -> str: ...
    def write(self, data: bytes | bytearray | memoryview) -> None: ...
    def commit(self) -> dict[str, Any]: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class BlobReader:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def stat(self) -> dict[str, Any]: ...
    def read_next(self) -> bytes: ...
    def read_into(self, into: bytearray | memoryview) -> int: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class Blobs:
    def __init__(
        self, engine: Engine, spec: str, chunk_size: int, timeout_ms: int, prefix: str, lease_ms: int,
        durable: bool
    ) -> None: ...
    def backend(self) -> str: ...
    def chunk_size(self) -> int: ...
    def stats(self) -> dict[str, Any]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def open_write(self, arg0: str, arg1: str | None, arg2: str | None, arg3: int, arg4: bool, arg5: int) -> BlobWriter: ...
    def open_read(
        self, arg0: str | None, arg1: str | None, arg2: int, arg3: int, arg4: int
    ) -> BlobReader: ...
    def get(self, arg0: str | None, arg1: str | None, arg2: int, arg3: int, arg4: int, arg5: int) -> bytes: ...
    def stat(self, arg0: str | None, arg1: str | None, arg2: int) -> dict[str, Any] | None: ...
    def exists(self, arg0: str | None, arg1: str | None, arg2: int) -> bool: ...
    def list(self, arg0: str, arg1: str | None, arg2: int, arg3: bool) -> tuple[list[Any], str | None]: ...
    def delete_id(self, arg0: str) -> int: ...
    def delete_name(self, arg0: str) -> int: ...
    def gc(self) -> int: ...
    def get_cb(
        self, arg0: str | None, arg1: str | None, arg2: int, arg3: int, arg4: int, arg5: int,
        arg6: Callable[..., Any]
    ) -> None: ...
    def stat_cb(
        self, arg0: str | None, arg1: str | None, arg2: int, arg3: Callable[..., Any]
    ) -> None: ...
    def exists_cb(
        self, arg0: str | None, arg1: str | None, arg2: int, arg3: Callable[..., Any]
    ) -> None: ...
    def list_cb(
        self, arg0: str, arg1: str | None, arg2: int, arg3: bool, arg4: Callable[..., Any]
    ) -> None: ...
    def delete_id_cb(self, arg0: str, arg1: Callable[..., Any]) -> None: ...
    def delete_name_cb(self, arg0: str, arg1: Callable[..., Any]) -> None: ...
