"""Concurrency leases and GCRA rate limits over memory, SQLite or Redis.

``open_limiter("memory:")`` (this process), ``open_limiter("sqlite:/path/file.db")``
(every process of this host) or ``open_limiter("redis://host:port/db")`` (many
hosts). Every check is atomic: under any number of concurrent callers a
limit is never exceeded. Blocking methods release the GIL while they wait
(memory checks keep it: they take well under a microsecond); each has an
``*_async`` variant for asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, Literal, TypedDict

from . import _aio, _hotpath
from ._aio import AsyncClosing
from ._engine import engine
from ._paths import StrPath, store_spec
from .stats import LimiterStats

_NAME_MAX = 512


class LeaseInfo(TypedDict):
    """One live lease of a subject; lease_id is a fencing token that grows with every grant."""
    resource: str
    lease_id: int
    expires_in_ms: int


class LeaseResult(TypedDict):
    """What acquire() answers; a denial is a result (holders lists the subject's leases);
    "not_member": a required membership was missing (missing is its index; None otherwise)."""
    status: Literal["granted", "already_held", "denied", "not_member"]
    ok: bool
    count: int
    lease_id: int
    holders: list[LeaseInfo]
    missing: int | None


class RateResult(TypedDict):
    """What hit() answers: allowed, hits remaining now, retry_after_ms when denied,
    reset_after_ms until a full burst is back."""
    allowed: bool
    remaining: int
    retry_after_ms: int
    reset_after_ms: int


def _name(what: str, value: str) -> str:
    # ASCII (a flag CPython keeps) is one byte per character: no need to encode.
    if type(value) is str and 0 < len(value) <= _NAME_MAX and value.isascii() and "\0" not in value:
        return value
    if not isinstance(value, str):
        raise TypeError(f"limits: {what} must be a str")
    n = len(value.encode())
    if n == 0 or n > _NAME_MAX or "\0" in value:
        raise ValueError(f"limits: {what} must be 1..{_NAME_MAX} bytes without NUL")
    return value


_REQUIRE_MAX = 8


def _require(require: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = []
    for entry in require:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError("limits: require must hold (set, member) tuples")
        pairs.append((_name("require set", entry[0]), _name("require member", entry[1])))
    if len(pairs) > _REQUIRE_MAX:
        raise ValueError(f"limits: at most {_REQUIRE_MAX} requirements")
    return pairs


def _int(what: str, value: int, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"limits: {what} must be an integer in {lo}..{hi}")
    return value


_rates: dict[tuple[int, int, int | None, int], tuple[int, int, int, int]] = {}


def _rate(rate: int, period_ms: int, burst: int | None, cost: int) -> tuple[int, int, int, int]:
    # Most callers repeat a few specs: validate each once.
    key = (rate, period_ms, burst, cost)
    hit = _rates.get(key)
    # True == 1 and 1.0 == 1 as keys: only real ints may use the cache.
    if hit is not None and type(rate) is type(period_ms) is type(cost) is int and (
        burst is None or type(burst) is int
    ):
        return hit
    checked = _check_rate(rate, period_ms, burst, cost)
    if len(_rates) < 256:
        _rates[key] = checked
    return checked


def _check_rate(rate: int, period_ms: int, burst: int | None, cost: int) -> tuple[int, int, int, int]:
    r = _int("rate", rate, 1, 2**32 - 1)
    b = _int("burst", r if burst is None else burst, 1, 2**32 - 1)
    return r, _int("period_ms", period_ms, 1, 2**32), b, _int("cost", cost, 0, b)


class Limiter(AsyncClosing):
    """A limiter over one backend; see the module docstring."""

    def __init__(
        self, spec: StrPath, *, timeout_ms: int = 200, prefix: str = "hp:lim", sqlite_inline: bool = False,
        local_budget: int = 0, local_hold_ms: int = 100,
    ) -> None:
        spec = store_spec(spec, "limits: spec")
        _int("timeout_ms", timeout_ms, 1, 600000)
        _int("local_budget", local_budget, 0, 2**30)
        _int("local_hold_ms", local_hold_ms, 1, 3600000)
        if not isinstance(prefix, str) or not 1 <= len(prefix.encode()) <= 128:
            raise ValueError("limits: prefix must be a str of 1..128 bytes")
        self.spec = spec
        self._native = _hotpath.Limiter(
            engine(), spec, timeout_ms, prefix, bool(sqlite_inline), local_budget, local_hold_ms
        )
        # Memory checks are synchronous underneath: their coroutines finish
        # at once instead of waiting for the engine's thread; so do Redis
        # hits decided from a local budget.
        self._memory = self._native.backend() == "memory"
        self._local = local_budget > 0 and not self._memory

    @property
    def backend(self) -> str:
        """``"memory"``, ``"sqlite"`` or ``"redis"``."""
        return self._native.backend()

    def stats(self) -> LimiterStats:
        """Counters: checks, grants, denials, backend failures and the Redis
        client's figures (docs/observability.md)."""
        return self._native.stats()  # type: ignore[return-value]

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._native.closed

    def close(self) -> None:
        """Close; pending asyncio calls still settle. A second close is a no-op."""
        self._native.close()

    def __enter__(self) -> Limiter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # Leases ------------------------------------------------------------

    def acquire(self, subject: str, resource: str, *, limit: int, ttl_ms: int = 60000,
                require: Iterable[tuple[str, str]] = ()) -> LeaseResult:
        """Take a slot for ``resource`` unless ``subject`` holds ``limit``
        already. Re-acquiring a held resource uses no slot and extends it.
        ``require``: ``(set, member)`` pairs checked in the same atomic step;
        one missing answers ``"not_member"`` and takes nothing."""
        return self._native.acquire(  # type: ignore[return-value]
            _name("subject", subject), _name("resource", resource),
            _int("limit", limit, 1, 2**32 - 1), _int("ttl_ms", ttl_ms, 1, 2**40), _require(require),
        )

    def release(self, subject: str, resource: str) -> bool:
        """Give a lease back; True if it was held."""
        return self._native.release(_name("subject", subject), _name("resource", resource))

    def renew(self, subject: str, resource: str, *, ttl_ms: int = 60000) -> bool:
        """Extend a lease to expire ``ttl_ms`` from now; False if it expired."""
        return self._native.renew(_name("subject", subject), _name("resource", resource),
                                  _int("ttl_ms", ttl_ms, 1, 2**40))

    def holders(self, subject: str) -> list[LeaseInfo]:
        """The subject's live leases, oldest grant first."""
        return self._native.holders(_name("subject", subject))

    # Rate limits ---------------------------------------------------------

    def hit(self, key: str, *, rate: int, period_ms: int = 1000, burst: int | None = None,
            cost: int = 1) -> RateResult:
        """One GCRA hit: ``rate`` per ``period_ms`` in bursts of ``burst``
        (default ``rate``); ``cost`` 0 only reads."""
        return self._native.hit(_name("key", key), *_rate(rate, period_ms, burst, cost))  # type: ignore[return-value]

    def hit_local(self, key: str, *, rate: int, period_ms: int = 1000, burst: int | None = None,
                  cost: int = 1) -> RateResult | None:
        """The hit decided here and now, or None when it needs the backend
        (then use :meth:`hit`): memory and SQLite always decide; Redis
        decides from its ``local_budget``'s hits in hand."""
        return self._native.hit_local(_name("key", key), *_rate(rate, period_ms, burst, cost))  # type: ignore[return-value]

    # Registry ------------------------------------------------------------

    def set_add(self, set_name: str, member: str) -> bool:
        """Add ``member`` to a named set kept in the backend; True if new."""
        return self._native.set_add(_name("set", set_name), _name("member", member))

    def set_has(self, set_name: str, member: str) -> bool:
        """Whether ``member`` is in the named set."""
        return self._native.set_has(_name("set", set_name), _name("member", member))

    def ping(self) -> None:
        """Returns when the backend answers; raises UnavailableError."""
        self._native.ping()

    # asyncio -------------------------------------------------------------

    async def _call(self, method: str, *args: Any) -> Any:
        if self._memory:
            return getattr(self._native, method)(*args)
        return await _aio.run(lambda cb: getattr(self._native, method + "_cb")(*args, cb))

    async def acquire_async(self, subject: str, resource: str, *, limit: int, ttl_ms: int = 60000,
                            require: Iterable[tuple[str, str]] = ()) -> LeaseResult:
        """:meth:`acquire` for asyncio (every backend)."""
        args = (_name("subject", subject), _name("resource", resource),
                _int("limit", limit, 1, 2**32 - 1), _int("ttl_ms", ttl_ms, 1, 2**40), _require(require))
        return await self._call("acquire", *args)  # type: ignore[no-any-return]

    async def release_async(self, subject: str, resource: str) -> bool:
        """:meth:`release` for asyncio (every backend)."""
        args = (_name("subject", subject), _name("resource", resource))
        return await self._call("release", *args)  # type: ignore[no-any-return]

    async def renew_async(self, subject: str, resource: str, *, ttl_ms: int = 60000) -> bool:
        """:meth:`renew` for asyncio (every backend)."""
        args = (_name("subject", subject), _name("resource", resource), _int("ttl_ms", ttl_ms, 1, 2**40))
        return await self._call("renew", *args)  # type: ignore[no-any-return]

    async def holders_async(self, subject: str) -> list[LeaseInfo]:
        """:meth:`holders` for asyncio (every backend)."""
        s = _name("subject", subject)
        return await self._call("holders", s)  # type: ignore[no-any-return]

    async def hit_async(self, key: str, *, rate: int, period_ms: int = 1000, burst: int | None = None,
                        cost: int = 1) -> RateResult:
        """:meth:`hit` for asyncio (every backend)."""
        k, spec = _name("key", key), _rate(rate, period_ms, burst, cost)
        if self._local:
            r = self._native.hit_local(k, *spec)
            if r is not None:
                return r  # type: ignore[return-value]
        return await self._call("hit", k, *spec)  # type: ignore[no-any-return]

    async def set_add_async(self, set_name: str, member: str) -> bool:
        """:meth:`set_add` for asyncio (every backend)."""
        args = (_name("set", set_name), _name("member", member))
        return await self._call("set_add", *args)  # type: ignore[no-any-return]

    async def set_has_async(self, set_name: str, member: str) -> bool:
        """:meth:`set_has` for asyncio (every backend)."""
        args = (_name("set", set_name), _name("member", member))
        return await self._call("set_has", *args)  # type: ignore[no-any-return]

    async def ping_async(self) -> None:
        """:meth:`ping` for asyncio (every backend)."""
        await self._call("ping")


def open_limiter(spec: StrPath, *, timeout_ms: int = 200, prefix: str = "hp:lim",
                 sqlite_inline: bool = False, local_budget: int = 0, local_hold_ms: int = 100) -> Limiter:
    """Open a limiter: ``"memory:"``, ``"sqlite:/path/file.db"`` (or a
    ``pathlib.Path`` of that file) or ``"redis://host:port/db"``.

    ``local_budget`` (Redis rate limits): 0 decides every hit in Redis
    (GCRA); N > 0 counts ``rate`` hits per fixed window of ``period_ms`` and
    leases blocks of up to N of a window's hits into this process, which
    decides hits from them without a round trip. All processes together
    never exceed the limit; unused hits go back after ``local_hold_ms``
    (docs/limits.md)."""
    return Limiter(spec, timeout_ms=timeout_ms, prefix=prefix, sqlite_inline=sqlite_inline,
                   local_budget=local_budget, local_hold_ms=local_hold_ms)
