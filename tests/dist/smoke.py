"""Smoke test of an installed hotpath wheel: one function per subsystem, each
asserting on real results. Run by tests/dist/run.sh from a fresh venv outside
the checkout: python smoke.py DATA_DIR (DATA_DIR holds GeoIP2-City-Test.mmdb)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import hotpath

DATA = Path(sys.argv[1]).resolve()
WORK = Path(tempfile.mkdtemp(prefix="hotpath-smoke-"))


def check_installed() -> None:
    # The package and its native module come from the venv, not a checkout.
    from hotpath import _hotpath

    prefix = Path(sys.prefix).resolve()
    for module in (hotpath, _hotpath):
        where = Path(module.__file__ or "").resolve()
        assert prefix in where.parents, f"{module.__name__} loaded from {where}, not from {prefix}"
    assert _hotpath.__version__ == hotpath.__version__
    print(f"installed: hotpath {hotpath.__version__} from {Path(_hotpath.__file__ or '').parent}")


def check_geo() -> None:
    from hotpath.geo import GeoReader
    from hotpath import maxminddb

    with GeoReader(str(DATA / "GeoIP2-City-Test.mmdb")) as geo:
        e = geo.lookup("81.2.69.160")
        assert e is not None and e["country_code"] == "GB" and e["city"] == "London", e
        assert geo.lookup("127.0.0.1") is None
        cols = geo.lookup_many(["81.2.69.160", "10.0.0.1", "2001:218::1"])
        assert cols["country_code"] == ["GB", None, "JP"], cols["country_code"]
    with maxminddb.open_database(str(DATA / "GeoIP2-City-Test.mmdb")) as reader:
        assert reader.get("81.2.69.160")["city"]["names"]["en"] == "London"
    print("geo: ok")


def check_recipes() -> None:
    from hotpath.recipes import Recipes

    path = WORK / "offers.json"
    path.write_text(json.dumps([
        {"offerId": 1, "name": "one", "geoRules": json.dumps({"geo": [{"country": "US", "include": True}]})},
        {"offerId": 2, "name": "two"},
    ]))
    with Recipes() as recipes:
        offers = recipes.define("offers", key="offerId", json_fields=["geoRules"], update_type="offer")
        stats = offers.load(str(path))
        assert stats["size"] == 2, stats
        offer = offers.get(1)
        assert offer is not None and offer["name"] == "one"
        assert offer["geoRules"]["geo"][0]["country"] == "US"
        assert offers.get(3) is None
        match = offers.match(1, {"country": "FR"})
        assert match is not None and match["geo"] == "fail", match
    print("recipes: ok")


def _check_limiter(spec: str) -> None:
    from hotpath.limits import open_limiter

    lim = open_limiter(spec)
    try:
        assert [lim.hit("ip:1", rate=2, period_ms=60_000)["allowed"] for _ in range(3)] == [True, True, False]
        assert lim.acquire("user-1", "stream-1", limit=1, ttl_ms=60_000)["status"] == "granted"
        assert lim.acquire("user-1", "stream-2", limit=1, ttl_ms=60_000)["status"] == "denied"
    finally:
        lim.close()


def check_limits() -> None:
    _check_limiter("memory:")
    _check_limiter(f"sqlite:{WORK / 'limits.db'}")
    assert (WORK / "limits.db").exists()
    print("limits: ok (memory, sqlite)")


def check_ua() -> None:
    from hotpath import ua

    r = ua.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0")
    assert (r["browser"], r["os"], r["device_type"]) == ("Edge", "Windows", "desktop"), r
    assert ua.parse("curl/8.4.0")["is_bot"] is True
    print("ua: ok")


def check_sticky() -> None:
    assert hotpath.fingerprint32("hello world") == 430397466
    assert hotpath.fingerprint32_many(["127.0.0.1", "::1"]) == [1211160241, 3686423519]
    assert hotpath.sticky.pick("::ffff:10.0.0.1", 4) == hotpath.fingerprint32("::ffff:10.0.0.1") % 4
    print("sticky: ok")


def check_host() -> None:
    snap = hotpath.host.snapshot()
    assert snap["num_cores"] >= 1 and snap["total_mem"] > 0, snap
    print("host: ok")


def check_events() -> None:
    from hotpath import events

    path = WORK / "events.log"
    with events.EventLog(str(path)) as log:
        log.append("app_open", "deviceid=abc", host="example.test", ip="::ffff:172.17.0.1",
                   user_agent="curl/8")
        log.flush()
    text = path.read_text()
    assert "app_open" in text and "deviceid=abc" in text, text
    print("events: ok")


def check_blobs() -> None:
    import hashlib

    from hotpath.blobs import Blobs

    data = os.urandom(2500)  # three chunks, the last one short
    with Blobs.open(f"sqlite:{WORK / 'blobs.db'}", chunk_size=1000) as store:
        st = store.put("a.bin", data, content_type="application/octet-stream")
        assert st["length"] == 2500 and st["sha256"] == hashlib.sha256(data).hexdigest(), st
        assert store.get("a.bin") == data
    print("blobs: ok (sqlite)")


# The checks that run, in order; one per subsystem, so adding one is one line.
CHECKS = [check_installed, check_geo, check_recipes, check_limits, check_ua, check_sticky, check_host,
          check_events, check_blobs]

if __name__ == "__main__":
    os.chdir(WORK)
    for check in CHECKS:
        check()
    print(f"smoke: {len(CHECKS)} checks passed")
