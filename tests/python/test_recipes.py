from __future__ import annotations

import asyncio
import gzip
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RedisServer
from hotpath import errors
from hotpath.recipes import Recipes, RecipeTable


def offers(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"offerId": i, "name": f"Offer {i}", "geoRules": json.dumps({"geo": [{"country": "US", "include": True}]}), **extra}
        for i in range(1, n + 1)
    ]


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def recipes() -> Any:
    r = Recipes()
    yield r
    r.close()


def offer_table(r: Recipes) -> RecipeTable:
    return r.define("offers", key="offerId", json_fields=["geoRules"], update_type="offer")


def test_load_plain_and_gzip_and_read_only_records(recipes: Recipes, tmp_path: Path) -> None:
    t = offer_table(recipes)
    (tmp_path / "o.json").write_text(json.dumps(offers(3)))
    with gzip.open(tmp_path / "o.json.gz", "wt") as f:
        f.write(json.dumps(offers(5)))
    stats = t.load(str(tmp_path / "o.json"))
    assert stats["size"] == 3 and len(t) == 3
    rec = t.get(2)
    assert rec is not None
    assert rec["name"] == "Offer 2"
    assert rec["geoRules"]["geo"][0]["country"] == "US"
    with pytest.raises(TypeError):
        rec["name"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        rec["geoRules"]["geo"][0]["country"] = "x"  # type: ignore[index]
    assert t.get(2) is rec, "an unchanged record is not materialised twice"
    assert t.get("2") is not None
    assert t.get(99) is None
    assert 3 in t and 4 not in t
    with pytest.raises(KeyError):
        t[99]
    assert t.json(1) == '{"offerId":1,"name":"Offer 1","geoRules":{"geo":[{"country":"US","include":true}]}}'
    stats = t.load(str(tmp_path / "o.json.gz"), whole_inflate_max=1)
    assert stats["size"] == 5 and stats["file_bytes"] < stats["json_bytes"]
    assert sorted(t.keys()) == [1, 2, 3, 4, 5]  # type: ignore[type-var]
    assert len(dict(t.items())) == 5
    assert t.stats()["loads"] == 2


def test_bad_input_keeps_the_old_table(recipes: Recipes, tmp_path: Path) -> None:
    t = offer_table(recipes)
    f = tmp_path / "o.json"
    f.write_text(json.dumps(offers(2)))
    t.load(str(f))
    f.write_text('[{"offerId":1},{"offerId":2,}]')
    with pytest.raises(errors.CorruptError, match="byte 28: expected a string key"):
        t.load(str(f))
    with pytest.raises(errors.HotpathIOError):
        t.load(str(tmp_path / "missing.json"))
    assert len(t) == 2
    f.write_text('[{"offerId":1},{"x":1},{"offerId":[1]},"s",{"offerId":1,"v":2}]')
    s = t.load(str(f))
    assert s["skipped"] == 3 and s["duplicates"] == 1
    assert dict(t[1]) == {"offerId": 1, "v": 2}
    with pytest.raises(TypeError):
        t.get(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        t.load(str(f), timestamp=-1)


def test_point_updates_and_reload_timestamps(recipes: Recipes, tmp_path: Path) -> None:
    t = offer_table(recipes)
    f = tmp_path / "o.json"
    f.write_text(json.dumps(offers(3)))
    t.load(str(f), timestamp=1000)
    body = json.dumps({"offerId": 2, "name": "updated"})
    assert recipes.update({"type": "offer", "id": 2, "action": "updateOrCreate", "timestamp": 2000, "body": body}) == "applied"
    assert t[2]["name"] == "updated"
    assert recipes.update({"type": "offer", "id": 2, "action": "delete", "timestamp": 1500}) == "stale"
    assert recipes.update(json.dumps({"type": "offer", "id": 3, "action": "delete", "timestamp": 2000})) == "applied"
    assert t.get(3) is None
    with pytest.raises(errors.InvalidArgumentError):
        recipes.update({"type": "nope", "id": 1, "action": "delete"})
    t.load(str(f), timestamp=1800)
    assert t[2]["name"] == "updated" and t.get(3) is None
    t.load(str(f), timestamp=2500)
    assert t[2]["name"] == "Offer 2" and len(t) == 3


def test_match_rules(recipes: Recipes, tmp_path: Path) -> None:
    c = recipes.define("campaigns", key="campaignId", json_fields=["targetRules"], update_type="campaign")
    rules = {
        "redirectTo": "https://lp.example/x",
        "rules": [
            {"include": True, "filterGroups": [{"conditions": [{"dimension": "os", "value": "iOS"}, {"dimension": "city", "value": "Austin"}]},
                                                {"conditions": [{"dimension": "isp", "value": ["Comcast", "AT&T"]}]}]},
            {"include": False, "filterGroups": [{"conditions": [{"dimension": "region", "value": "TX"}]}]},
        ],
    }
    f = tmp_path / "c.json"
    f.write_text(json.dumps([{"campaignId": 40, "targetRules": json.dumps(rules)}]))
    c.load(str(f))
    assert c.match(40, {"os": "ios", "city": "AUSTIN"}) == {"geo": "none", "target": "pass", "rule": 0, "redirect_to": "https://lp.example/x"}
    assert c.match(40, {"isp": "at&t"})["target"] == "pass"  # type: ignore[index]
    assert c.match(40, {"isp": "at&t", "region": "tx"})["target"] == "fail"  # type: ignore[index]
    assert c.match(40, {"os": "ios"})["target"] == "fail"  # type: ignore[index]
    assert c.match(41) is None
    o = offer_table(recipes)
    (tmp_path / "o.json").write_text(json.dumps(offers(1)))
    o.load(str(tmp_path / "o.json"))
    assert o.match(1, {"country": "us"})["geo"] == "pass"  # type: ignore[index]
    assert o.match(1, {"country": "de"})["geo"] == "fail"  # type: ignore[index]


def test_watch_reloads_and_survives_a_vanished_file(recipes: Recipes, tmp_path: Path) -> None:
    t = offer_table(recipes)
    f = tmp_path / "o.json"
    write_atomic(f, json.dumps(offers(2)))
    events: list[Any] = []
    cond = threading.Condition()

    def on_reload(err: errors.Error | None, stats: Any) -> None:
        with cond:
            events.append(err.code if err else stats["size"])
            cond.notify_all()

    def wait_for(pred: Any) -> None:
        with cond:
            assert cond.wait_for(pred, timeout=10)

    w = t.watch(str(f), on_reload, interval_ms=100, debounce_ms=20)
    wait_for(lambda: events == [2])
    write_atomic(f, json.dumps(offers(4)))
    wait_for(lambda: len(t) == 4)
    f.unlink()
    wait_for(lambda: "HP_EIO" in events)
    assert len(t) == 4
    write_atomic(f, json.dumps(offers(1)))
    wait_for(lambda: len(t) == 1)
    w.close()
    w.close()


def test_load_async(recipes: Recipes, tmp_path: Path) -> None:
    t = offer_table(recipes)
    (tmp_path / "o.json").write_text(json.dumps(offers(10)))

    async def main() -> int:
        s = await t.load_async(str(tmp_path / "o.json"))
        return s["size"]

    assert asyncio.run(main()) == 10


def test_readers_on_threads_during_reloads(recipes: Recipes, tmp_path: Path) -> None:
    t = offer_table(recipes)
    f = tmp_path / "o.json"
    f.write_text(json.dumps(offers(500)))
    t.load(str(f))
    stop = False
    bad: list[Any] = []

    def reader() -> None:
        i = 0
        while not stop:
            i = i % 500 + 1
            r = t.get(i)
            if r is None or r["offerId"] != i:
                bad.append((i, r))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    for g in range(5):
        f.write_text(json.dumps(offers(500, gen=g)))
        t.load(str(f))
    stop = True
    for th in threads:
        th.join()
    assert bad == []


def test_closed_set_raises() -> None:
    r = Recipes()
    t = offer_table(r)
    r.close()
    r.close()
    with pytest.raises(errors.ClosedError):
        t.get(1)
    with Recipes() as r2:
        r2.define("x", key="id", key_type="string")
        with pytest.raises(ValueError):
            r2.define("y", key="id", key_type="float")  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidArgumentError):
            r2.define("x", key="id")


def _wait_subscribed(server: RedisServer, channel: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.subscribers(channel) == 1:
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing subscribed to {channel}")


def _offer_message(offer_id: int, ts: int, name: str) -> str:
    body = json.dumps({"offerId": offer_id, "name": name})
    return json.dumps({"type": "offer", "id": offer_id, "action": "updateOrCreate", "timestamp": ts, "body": body})


def test_subscribe_applies_messages_and_survives_a_redis_restart(
    recipes: Recipes, redis_server: RedisServer
) -> None:
    t = offer_table(recipes)
    seen: list[tuple[str | None, str | None]] = []
    cond = threading.Condition()

    def on_message(err: errors.Error | None, result: str | None) -> None:
        with cond:
            seen.append((type(err).__name__ if err else None, result))
            cond.notify_all()

    def wait_for(n: int) -> None:
        with cond:
            assert cond.wait_for(lambda: len(seen) >= n, timeout=10)

    # PUBLISH on any node of a cluster reaches every subscriber, but counts
    # only those of its own node.
    publish = redis_server.cli
    sub = recipes.subscribe(redis_server.url, "recipes", on_message, reconnect_max_ms=100)
    _wait_subscribed(redis_server, "recipes")
    reached = publish("PUBLISH", "recipes", _offer_message(5, 100, "first"))
    assert redis_server.cluster or reached == "1"
    wait_for(1)
    assert seen[0] == (None, "applied")
    rec = t.get(5)
    assert rec is not None and rec["name"] == "first"

    publish("PUBLISH", "recipes", _offer_message(5, 50, "older"))
    publish("PUBLISH", "recipes", "not json")
    wait_for(3)
    assert seen[1] == (None, "stale")
    assert seen[2][0] is not None and seen[2][1] is None

    redis_server.stop()
    redis_server.start()
    _wait_subscribed(redis_server, "recipes")
    reached = publish("PUBLISH", "recipes", _offer_message(5, 200, "after restart"))
    assert redis_server.cluster or reached == "1"
    wait_for(4)
    assert seen[3] == (None, "applied")
    rec = t.get(5)
    assert rec is not None and rec["name"] == "after restart"
    stats = sub.stats()
    # Once on a server; on a cluster the subscriber may move between nodes.
    lost, back = stats["redis"]["disconnects"], stats["redis"]["reconnects"]
    assert (lost, back) == (1, 1) or (redis_server.cluster and lost >= 1 and back >= 1)
    del stats["redis"]  # type: ignore[misc]
    assert stats == {"messages": 4, "applied": 2, "stale": 1, "errors": 1, "resyncs": 1}

    sub.close()
    deadline = time.monotonic() + 10
    while redis_server.subscribers("recipes") != 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sub.close()  # twice is fine


def test_subscribe_argument_errors(recipes: Recipes) -> None:
    with pytest.raises(errors.Error):
        recipes.subscribe("http://nope", "c")
    with pytest.raises(TypeError):
        recipes.subscribe("redis://127.0.0.1", "")
    with pytest.raises(ValueError):
        recipes.subscribe("redis://127.0.0.1", "c", reconnect_max_ms=-1)
