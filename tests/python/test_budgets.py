"""Bounded work on hostile input through the Python API: crafted MaxMind DB
files that fan out through pointers, and recipe files and messages past their
caps. Each case asserts the limit's error, never the clock."""

from __future__ import annotations

import gzip
import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer
from hotpath import errors
from hotpath.geo import GeoReader
from hotpath.recipes import Recipes

# ------------------------------------------------------------ crafted .mmdb


def _control(kind: int, size: int) -> bytes:
    first = kind << 5 if kind <= 7 else 0
    if size < 29:
        head, tail = size, b""
    elif size < 285:
        head, tail = 29, bytes([size - 29])
    elif size < 65821:
        head, tail = 30, struct.pack(">H", size - 285)
    else:
        head, tail = 31, struct.pack(">I", size - 65821)[1:]
    return bytes([first | head]) + (bytes([kind - 7]) if kind > 7 else b"") + tail


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return _control(2, len(b)) + b


def _pointer(offset: int) -> bytes:
    return bytes([0x20 | 3 << 3]) + struct.pack(">I", offset)


def _mmdb(data: bytes, records: list[int]) -> bytes:
    """An IPv4 database whose record i is the value at data offset records[i],
    reached from the address with i leading zero bits, then a one."""
    n = len(records)
    tree = b"".join(struct.pack(">II", min(n, i + 1), n + 16 + off) for i, off in enumerate(records))
    meta = [
        (_str("binary_format_major_version"), _control(5, 1) + b"\x02"),
        (_str("binary_format_minor_version"), _control(5, 0)),
        (_str("build_epoch"), _control(9, 1) + b"\x01"),
        (_str("database_type"), _str("hotpath-crafted")),
        (_str("description"), _control(7, 0)),
        (_str("ip_version"), _control(5, 1) + b"\x04"),
        (_str("languages"), _control(11, 0)),
        (_str("node_count"), _control(6, 1) + bytes([n])),
        (_str("record_size"), _control(5, 1) + b"\x20"),
    ]
    metadata = _control(7, len(meta)) + b"".join(k + v for k, v in meta)
    return tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + metadata


def _address(i: int) -> str:
    ip = 1 << (31 - i)
    return ".".join(str(ip >> s & 255) for s in (24, 16, 8, 0))


def _fan_out(tmp_path: Path, string_bytes: int, fan: int) -> str:
    data = _str("a" * string_bytes)
    record = len(data)
    data += _control(7, fan) + b"".join(_str(f"k{i}") + _pointer(0) for i in range(fan))
    path = tmp_path / "fan.mmdb"
    path.write_bytes(_mmdb(data, [record]))
    return str(path)


def test_geo_a_map_of_400_pointers_to_one_1mb_string_is_refused(tmp_path: Path) -> None:
    path = _fan_out(tmp_path, 1 << 20, 400)
    with GeoReader(path) as g:
        with pytest.raises(errors.LimitError, match="max_record_bytes"):
            g.get(_address(0))
        with pytest.raises(errors.LimitError):
            g.lookup(_address(0))
    # Inside a raised budget the record decodes, every value the one string.
    with GeoReader(path, max_record_bytes=1 << 30) as g:
        rec = g.get(_address(0))
        assert len(rec) == 400
        assert all(len(v) == 1 << 20 for v in rec.values())


def test_geo_max_record_nodes_and_cache_bytes(tmp_path: Path) -> None:
    data = b""
    records = []
    for i in range(16):
        records.append(len(data))
        data += _control(7, 32) + b"".join(_str(f"k{k}") + _str(str(i)) for k in range(32))
    path = tmp_path / "many.mmdb"
    path.write_bytes(_mmdb(data, records))
    with GeoReader(str(path), max_record_nodes=64) as g, pytest.raises(errors.LimitError, match="max_record_nodes"):
        g.get(_address(3))
    with GeoReader(str(path), cache_bytes=4096) as g:
        for _ in range(2):
            for i in range(16):
                assert g.get(_address(i))["k0"] == str(i)
    for bad in (-1, True, 2**64, "1"):
        with pytest.raises(ValueError):
            GeoReader(str(path), max_record_bytes=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------- recipes


@pytest.fixture
def recipes() -> Iterator[Recipes]:
    r = Recipes()
    yield r
    r.close()


def test_recipes_caps_on_items_bytes_and_item_size(recipes: Recipes, tmp_path: Path) -> None:
    t = recipes.define("offers", key="offerId", max_items=3, max_item_bytes=1024, max_json_bytes=64 << 10)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps([{"offerId": i} for i in range(3)]))
    t.load(str(ok))
    assert len(t) == 3
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"offerId": i} for i in range(4)]))
    with pytest.raises(errors.LimitError, match="max_items"):
        t.load(str(many))
    wide = tmp_path / "wide.json.gz"
    with gzip.open(wide, "wt") as f:
        f.write(json.dumps([{"offerId": 1, "x": "x" * 2000}]))
    with pytest.raises(errors.LimitError, match="max_item_bytes"):
        t.load(str(wide))
    bomb = tmp_path / "bomb.json.gz"
    with gzip.open(bomb, "wt") as f:
        f.write("[" + " " * (1 << 20) + "]")
    for whole in (0, 1):
        with pytest.raises(errors.LimitError, match="max_json_bytes"):
            t.load(str(bomb), whole_inflate_max=whole)
    assert len(t) == 3, "the old table stays"
    body = {"offerId": 9, "x": "y" * 2000}
    with pytest.raises(errors.LimitError, match="max_item_bytes"):
        recipes.update({"type": "offers", "id": 9, "action": "updateOrCreate", "body": body})
    with pytest.raises(ValueError):
        recipes.define("bad", key="id", max_items=-1)


def test_recipes_subscription_refuses_messages_over_max_message_bytes(
    recipes: Recipes, redis_server: RedisServer
) -> None:
    t = recipes.define("offers", key="offerId", update_type="offer")
    seen: list[tuple[str | None, str | None]] = []
    cond = threading.Condition()

    def on_message(err: errors.Error | None, result: str | None) -> None:
        with cond:
            seen.append((type(err).__name__ if err else None, result))
            cond.notify_all()

    sub = recipes.subscribe(redis_server.url, "capped", on_message, max_message_bytes=200)
    deadline = time.monotonic() + 10
    while redis_server.subscribers("capped") != 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for name in ("n" * 300, "short"):
        body = json.dumps({"offerId": len(name), "name": name})
        msg = json.dumps({"type": "offer", "id": len(name), "action": "updateOrCreate", "body": body})
        redis_server.cli("PUBLISH", "capped", msg)
    with cond:
        assert cond.wait_for(lambda: len(seen) >= 2, timeout=10)
    assert seen[0] == ("LimitError", None)
    assert seen[1] == (None, "applied")
    assert len(t) == 1
    sub.close()
