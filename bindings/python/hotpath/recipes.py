"""Recipe tables: named in-memory tables of JSON records loaded from JSON
array files (plain or gzip), kept live by point updates and file watches,
with targeting rules compiled at load.

    from hotpath.recipes import Recipes

    recipes = Recipes()
    offers = recipes.define("offers", key="offerId", json_fields=["geoRules"], update_type="offer")
    offers.load("offersRecipe.json.gz")
    offers.get(35784)["geoRules"]          # a read-only mapping, rules already parsed
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal, TypedDict

from . import _aio, _hotpath
from ._aio import AsyncClosing
from ._engine import engine
from ._paths import StrPath, fspath
from .errors import Error
from .stats import RedisStats

KeyType = Literal["int", "string"]
Outcome = Literal["none", "pass", "fail"]
_OUTCOME: tuple[Outcome, Outcome, Outcome] = ("none", "pass", "fail")
DIMENSIONS = ("country", "region", "city", "isp", "os", "browser", "device_type")


class RecipeStats(TypedDict):
    """Counters of a recipe table (docs/recipes.md lists each)."""
    size: int
    loads: int
    load_failures: int
    last_load_at: int
    last_load_ms: float
    file_timestamp: int
    file_bytes: int
    json_bytes: int
    memory_bytes: int
    items: int
    skipped: int
    duplicates: int
    embedded_errors: int
    rule_errors: int
    updates_applied: int
    updates_stale: int
    overlay_size: int


class Match(TypedDict):
    """What RecipeTable.match() decides: geo and target outcomes ('none' when the
    record has no such rules), the deciding target rule (-1: none) and its redirect."""
    geo: Outcome
    target: Outcome
    rule: int
    redirect_to: str | None


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _check_key(key: object, where: str) -> int | str:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"{where}: a key must be an int or a str")
    return key


def _non_negative(value: int, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: {name} must be a non-negative integer")
    return value


class Watch:
    """A file watch; :meth:`close` stops it."""

    def __init__(self, table: RecipeTable, wid: int) -> None:
        self._table = table
        self._id = wid
        self._closed = False

    def close(self) -> None:
        """Stop watching; a second close does nothing."""
        if not self._closed:
            self._closed = True
            if not self._table._set._closed:
                self._table._set._native.unwatch(self._id)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SubscriptionStats(TypedDict):
    messages: int
    applied: int
    stale: int
    errors: int
    resyncs: int
    redis: RedisStats


class Subscription:
    """A Redis pub/sub subscription; :meth:`close` stops it."""

    def __init__(self, rset: Recipes, sid: int) -> None:
        self._set = rset
        self._id = sid
        self._closed = False

    def stats(self) -> SubscriptionStats:
        """Messages received, applied, stale and rejected so far, and resyncs
        (reconnects after which every table reloaded its file)."""
        s = self._set._n().subscription_stats(self._id)
        return SubscriptionStats(
            messages=s["messages"],
            applied=s["applied"],
            stale=s["stale"],
            errors=s["errors"],
            resyncs=s["resyncs"],
            redis=s["redis"],
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if not self._set._closed:
                self._set._native.unsubscribe(self._id)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecipeTable:
    """One table of a :class:`Recipes` set."""

    def __init__(self, rset: Recipes, index: int, name: str, key_type: KeyType) -> None:
        self._set = rset
        self._index = index
        self.name = name
        self.key_type = key_type
        self._cache: dict[int | str, tuple[int, Mapping[str, Any]]] = {}

    def load(self, path: StrPath, *, timestamp: int = 0, whole_inflate_max: int = 0) -> RecipeStats:
        """Load (or reload) from a JSON array file, plain or gzip, parsing off
        the Python thread without the GIL. The new table replaces the old one
        atomically; on failure the old one stays and
        :class:`~hotpath.errors.CorruptError` names the byte offset."""
        ts = _non_negative(timestamp, "timestamp", "load")
        whole = _non_negative(whole_inflate_max, "whole_inflate_max", "load")
        return self._set._n().load(self._index, fspath(path, "load: path"), ts, whole)  # type: ignore[return-value]

    async def load_async(self, path: StrPath, *, timestamp: int = 0, whole_inflate_max: int = 0) -> RecipeStats:
        """:meth:`load` for asyncio."""
        ts = _non_negative(timestamp, "timestamp", "load")
        whole = _non_negative(whole_inflate_max, "whole_inflate_max", "load")
        file = fspath(path, "load: path")
        native = self._set._n()
        index = self._index
        return await _aio.run(lambda cb: native.load_cb(index, file, ts, whole, cb))  # type: ignore[no-any-return]

    def get(self, key: int | str) -> Mapping[str, Any] | None:
        """The record as a read-only mapping (nested values read-only too; the
        same object until the record changes), or None."""
        _check_key(key, "get")
        native = self._set._n()
        version = native.version(self._index, key)
        if not version:
            return None
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        found = native.get_json(self._index, key)
        if found is None:
            return None
        record: Mapping[str, Any] = _freeze(json.loads(found[1]))
        if len(self._cache) > 2 * native.size(self._index) + 64:
            self._sweep()
        self._cache[key] = (found[0], record)
        return record

    def _sweep(self) -> None:
        native = self._set._n()
        for k, (v, _) in list(self._cache.items()):
            if native.version(self._index, k) != v:
                self._cache.pop(k, None)

    def __getitem__(self, key: int | str) -> Mapping[str, Any]:
        record = self.get(key)
        if record is None:
            raise KeyError(key)
        return record

    def __contains__(self, key: object) -> bool:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            return False
        return bool(self._set._n().version(self._index, key))

    def json(self, key: int | str) -> str | None:
        """The record's minified JSON text, or None."""
        _check_key(key, "json")
        found = self._set._n().get_json(self._index, key)
        return None if found is None else str(found[1])

    def __len__(self) -> int:
        return int(self._set._n().size(self._index))

    def keys(self) -> list[int | str]:
        """Every live key, in no particular order."""
        return list(self._set._n().keys(self._index))

    def __iter__(self) -> Iterator[int | str]:
        return iter(self.keys())

    def items(self) -> Iterator[tuple[int | str, Mapping[str, Any]]]:
        """(key, record) pairs of the keys present now."""
        for k in self.keys():
            v = self.get(k)
            if v is not None:
                yield k, v

    def stats(self) -> RecipeStats:
        """Counters: size, loads, load_failures, last_load_at, items, skipped, ..."""
        return self._set._n().stats(self._index)  # type: ignore[return-value]

    def match(self, key: int | str, context: Mapping[str, str | None] | None = None) -> Match | None:
        """Evaluate the record's compiled geo and target rules for a visitor
        (keys of ``context``: country, region, city, isp, os, browser,
        device_type) without materialising the record; None for a missing key."""
        _check_key(key, "match")
        ctx = context or {}
        dims = [ctx.get(d) for d in DIMENSIONS]
        for d, v in zip(DIMENSIONS, dims):
            if v is not None and not isinstance(v, str):
                raise TypeError(f"match: context[{d!r}] must be a str or None")
        r = self._set._n().match(self._index, key, dims)
        if r is None:
            return None
        return Match(geo=_OUTCOME[r[0]], target=_OUTCOME[r[1]], rule=r[2], redirect_to=r[3])

    def watch(
        self,
        path: StrPath,
        on_reload: Callable[[Error | None, RecipeStats | None], None] | None = None,
        *,
        interval_ms: int = 0,
        debounce_ms: int = 0,
        load_now: bool = True,
    ) -> Watch:
        """Reload whenever ``path`` changes. ``on_reload(error, stats)`` runs
        on hotpath's loop thread after every attempt; a vanished or broken
        file gives an error and leaves the old table in service. The file's
        size and mtime are checked every ``interval_ms`` (0: the library's
        default, 1000) and a change event waits ``debounce_ms`` (0: 50)."""
        interval = _non_negative(interval_ms, "interval_ms", "watch")
        debounce = _non_negative(debounce_ms, "debounce_ms", "watch")
        cb = on_reload or (lambda _e, _s: None)
        wid = self._set._n().watch(self._index, fspath(path, "watch: path"), interval, debounce, bool(load_now), cb)
        return Watch(self, wid)


class Recipes(AsyncClosing):
    """A set of named recipe tables."""

    def __init__(self) -> None:
        self._native = _hotpath.RecipeSet(engine())
        self._tables: dict[str, RecipeTable] = {}
        self._closed = False
        self._lock = threading.Lock()

    def _n(self) -> _hotpath.RecipeSet:
        if self._closed:
            from .errors import ClosedError

            raise ClosedError("recipes: the set is closed", "HP_ECLOSED", _hotpath.codes["HP_ECLOSED"])
        return self._native

    def define(
        self,
        name: str,
        *,
        key: str,
        key_type: KeyType = "int",
        json_fields: list[str] | tuple[str, ...] = (),
        update_type: str | None = None,
        geo_rules_field: str | None = None,
        target_rules_field: str | None = None,
        max_json_bytes: int = 0,
        max_items: int = 0,
        max_item_bytes: int = 0,
    ) -> RecipeTable:
        """Add a table keyed by the top-level field ``key``. A load past
        ``max_json_bytes`` of JSON (gzip: inflated; 0: 1 GiB), ``max_items``
        items (0: 16,777,216) or an item over ``max_item_bytes`` (0: 16 MiB;
        also the cap on an update's body) raises
        :class:`hotpath.errors.LimitError` and keeps the old table."""
        if not isinstance(name, str) or not name:
            raise TypeError("define: name must be a non-empty str")
        if not isinstance(key, str) or not key:
            raise TypeError("define: key must name the key field")
        if key_type not in ("int", "string"):
            raise ValueError("define: key_type must be 'int' or 'string'")
        fields = list(json_fields)
        if not all(isinstance(f, str) and f for f in fields):
            raise TypeError("define: json_fields must be field names")
        caps = [
            _non_negative(v, n, "define")
            for v, n in ((max_json_bytes, "max_json_bytes"), (max_items, "max_items"), (max_item_bytes, "max_item_bytes"))
        ]
        with self._lock:
            index = self._n().define(
                name, key, key_type == "string", fields, update_type, geo_rules_field, target_rules_field, *caps
            )
            table = RecipeTable(self, index, name, key_type)
            self._tables[name] = table
        return table

    def table(self, name: str) -> RecipeTable | None:
        """The table called ``name``, or None."""
        return self._tables.get(name)

    def update(self, message: Mapping[str, Any] | str) -> Literal["applied", "stale"]:
        """Apply a point update ``{type, id, action, timestamp, body}`` (a
        mapping or its JSON text): 'applied', or 'stale' when the table
        already holds newer data for that key."""
        text = message if isinstance(message, str) else json.dumps(dict(message))
        return "applied" if self._n().update(text) == 0 else "stale"

    def subscribe(
        self,
        url: str,
        channel: str,
        on_message: Callable[[Error | None, Literal["applied", "stale"] | None], None] | None = None,
        *,
        connect_timeout_ms: int = 0,
        reconnect_max_ms: int = 0,
        max_message_bytes: int = 0,
    ) -> Subscription:
        """Apply every message published on a Redis channel as a point
        update (the same path as :meth:`update`). Reconnects and subscribes
        again after Redis restarts; messages published while it is down are
        lost. ``on_message(error, result)`` runs on hotpath's loop thread
        after each message; a message over ``max_message_bytes`` (0: 1 MiB)
        gets a :class:`hotpath.errors.LimitError` there, unparsed."""
        if not isinstance(url, str) or not url:
            raise TypeError("subscribe: url must be a non-empty str")
        if not isinstance(channel, str) or not channel:
            raise TypeError("subscribe: channel must be a non-empty str")
        connect = _non_negative(connect_timeout_ms, "connect_timeout_ms", "subscribe")
        reconnect = _non_negative(reconnect_max_ms, "reconnect_max_ms", "subscribe")
        max_message = _non_negative(max_message_bytes, "max_message_bytes", "subscribe")
        user = on_message

        def cb(err: Error | None, status: int | None) -> None:
            if user is not None:
                user(err, None if err is not None else ("applied" if status == 0 else "stale"))

        return Subscription(self, self._n().subscribe(url, channel, connect, reconnect, cb, max_message))

    def close(self) -> None:
        """Stop watches and subscriptions and free the tables; later calls
        raise ClosedError."""
        if not self._closed:
            self._closed = True
            self._native.close()

    def __enter__(self) -> Recipes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "DIMENSIONS",
    "Match",
    "RecipeStats",
    "RecipeTable",
    "Recipes",
    "Subscription",
    "SubscriptionStats",
    "Watch",
]
