"""geo: the maxminddb drop-in, lookup/lookup_many, the writer and bad data."""

from __future__ import annotations

import ipaddress
import json
import random
import threading
from pathlib import Path

import hotpath.maxminddb as hpmaxminddb
import maxminddb
import pytest
from hotpath import errors
from hotpath.geo import GeoReader, write_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "maxmind"
TEST_DATA = FIXTURES / "test-data"
META_ATTRS = (
    "binary_format_major_version",
    "binary_format_minor_version",
    "build_epoch",
    "database_type",
    "description",
    "ip_version",
    "languages",
    "node_count",
    "record_size",
)


def random_ips(n: int, seed: int, v6share: float = 0.0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < v6share:
            out.append(str(ipaddress.IPv6Address(rng.getrandbits(128))))
        else:
            out.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
    return out


@pytest.mark.parametrize(
    "db,source",
    [
        ("GeoIP2-City-Test.mmdb", "GeoIP2-City-Test.json"),
        ("GeoIP2-Country-Test.mmdb", "GeoIP2-Country-Test.json"),
        ("GeoIP2-ISP-Test.mmdb", "GeoIP2-ISP-Test.json"),
        ("GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN-Test.json"),
    ],
)
def test_get_matches_source_data(db: str, source: str) -> None:
    records = json.loads((FIXTURES / "source-data" / source).read_text())
    with hpmaxminddb.open_database(TEST_DATA / db) as reader:
        n = 0
        for entry in records:
            for network, record in entry.items():
                assert reader.get(network.split("/")[0]) == record, network
                n += 1
        assert n > 10


def test_10000_random_ips_agree_with_maxminddb_on_city() -> None:
    path = TEST_DATA / "GeoIP2-City-Test.mmdb"
    ours = hpmaxminddb.open_database(path)
    theirs = maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT)
    ips = random_ips(10000, 42, 0.5)
    for entry in json.loads((FIXTURES / "source-data" / "GeoIP2-City-Test.json").read_text()):
        ips += [n.split("/")[0] for n in entry]
    hits = 0
    for ip in ips:
        a = ours.get_with_prefix_len(ip)
        assert a == theirs.get_with_prefix_len(ip), ip
        hits += a[0] is not None
    assert hits > 100
    for attr in META_ATTRS:
        assert getattr(ours.metadata(), attr) == getattr(theirs.metadata(), attr), attr


def test_every_valid_test_database_agrees_with_maxminddb() -> None:
    ips = random_ips(1500, 7, 0.5)
    for path in sorted(TEST_DATA.glob("*.mmdb")):
        if any(w in path.name for w in ("Broken", "broken", "Invalid", "no-ipv4")):
            continue
        ours = hpmaxminddb.open_database(path)
        theirs = maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT)
        for ip in ips:
            if ":" in ip and theirs.metadata().ip_version == 4:
                continue
            a = ours.get_with_prefix_len(ip)
            b = theirs.get_with_prefix_len(ip)
            assert a == b, (path.name, ip)
            assert type(a[0]) is type(b[0])


def test_writer_database_agrees_with_maxminddb(tmp_path: Path) -> None:
    rng = random.Random(99)
    entries = []
    for i in range(3000):
        net = ipaddress.IPv4Network((rng.getrandbits(32), rng.randint(8, 32)), strict=False)
        entries.append(
            (
                str(net),
                {
                    "city": f"city-{i % 300}",
                    "country_code": ["FR", "DE", "US", "JP"][i % 4],
                    "latitude": rng.uniform(-90, 90),
                    "longitude": rng.uniform(-180, 180),
                    "state1": f"state {i % 50}",
                    "n": i,
                    "neg": -i,
                    "big": i * 10**12,
                    "huge": 2**100 + i,
                    "flag": i % 2 == 0,
                    "bytes": bytes([i & 255, 1, 2]),
                    "list": [1, "two", {"three": 3.5}],
                },
            )
        )
    path = tmp_path / "built.mmdb"
    write_database(str(path), entries, database_type="hotpath-test", languages=["en"], description="d")
    ours = hpmaxminddb.open_database(path)
    theirs = maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT)
    assert theirs.metadata().database_type == "hotpath-test"
    hits = 0
    for ip in random_ips(10000, 1234) + [e[0].split("/")[0] for e in entries]:
        a = ours.get_with_prefix_len(ip)
        assert a == theirs.get_with_prefix_len(ip), ip
        hits += a[0] is not None
    assert hits > 3000
    last_net, last = entries[-1]
    e = GeoReader(str(path)).lookup(last_net.split("/")[0])
    assert e is not None
    assert e["city"] == last["city"] and e["subdivision_name"] == last["state1"]


def test_invalid_ips_raise_value_error_and_a_miss_is_none() -> None:
    reader = hpmaxminddb.open_database(TEST_DATA / "GeoIP2-City-Test.mmdb")
    for bad in ("1.2.3", "", "x", "::g"):
        with pytest.raises(ValueError, match=f"'{bad}'") as info:
            reader.get(bad)
        assert isinstance(info.value, errors.InvalidArgumentError)
    with pytest.raises(TypeError):
        reader.get(12)  # type: ignore[arg-type]
    assert reader.get("10.0.0.1") is None
    assert reader.get(ipaddress.ip_address("81.2.69.160"))["city"]["names"]["en"] == "London"
    v4 = hpmaxminddb.open_database(TEST_DATA / "MaxMind-DB-test-ipv4-24.mmdb")
    with pytest.raises(ValueError, match="IPv4-only") as family:
        v4.get("::1")
    assert isinstance(family.value, errors.AddressFamilyError)
    assert family.value.code == "HP_EFAMILY" and not isinstance(family.value, errors.InvalidArgumentError)
    reader.close()
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.get("1.1.1.1")


def test_lookup_merges_city_and_isp_and_lookup_many_returns_columns() -> None:
    with GeoReader(str(TEST_DATA / "GeoIP2-City-Test.mmdb"), [str(TEST_DATA / "GeoIP2-ISP-Test.mmdb")]) as r:
        e = r.lookup("81.2.69.160")
        assert e is not None
        assert e["city"] == "London" and e["country_code"] == "GB" and e["asn"] is None
        assert e["latitude"] == pytest.approx(51.5142)
        isp = r.lookup("1.128.0.1")
        assert isp is not None and isp["asn"] == 1221 and isp["isp"] == "Telstra Internet" and isp["city"] is None
        assert r.lookup("10.0.0.1") is None
        cols = r.lookup_many(iter(["81.2.69.160", "10.0.0.1", "1.128.0.1"]))
        assert cols["city"] == ["London", None, None]
        assert cols["asn"] == [None, None, 1221]
        with pytest.raises(errors.InvalidArgumentError, match="item 1"):
            r.lookup_many(["1.1.1.1", "nope"])


def test_bad_data_gives_invalid_database_error_never_a_crash(tmp_path: Path) -> None:
    files = sorted((FIXTURES / "bad-data").rglob("*.mmdb"))
    city = (TEST_DATA / "GeoIP2-City-Test.mmdb").read_bytes()
    (tmp_path / "half.mmdb").write_bytes(city[: len(city) // 2])
    (tmp_path / "garbage.mmdb").write_bytes(b"\x42" * 5000)
    files += [tmp_path / "half.mmdb", tmp_path / "garbage.mmdb"]
    ips = random_ips(300, 3, 0.5)
    corrupt = 0
    for path in files:
        try:
            reader = hpmaxminddb.open_database(path)
        except hpmaxminddb.InvalidDatabaseError:
            corrupt += 1
            continue
        bad = False
        for ip in ips:
            try:
                reader.get(ip)
            except hpmaxminddb.InvalidDatabaseError:
                bad = True
            except ValueError:
                pass
        corrupt += bad
        reader.close()
    assert corrupt >= 15


def test_threads_read_while_the_reader_reloads() -> None:
    r = GeoReader(str(TEST_DATA / "GeoIP2-City-Test.mmdb"))
    failures: list[str] = []
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            if r.get("81.2.69.160")["city"]["names"]["en"] != "London":
                failures.append("get")
            r.lookup_many(["81.2.69.160"] * 100)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(20):
        r.reload()
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert r.generation == 21


def test_lookup_many_batches_are_of_one_file_while_it_is_replaced(tmp_path: Path) -> None:
    # City names London and Boxford; Country has no cities. A batch whose
    # record ids came from one file and records from the other would give
    # a wrong country or a city for one row and none for another.
    city = (TEST_DATA / "GeoIP2-City-Test.mmdb").read_bytes()
    country = (TEST_DATA / "GeoIP2-Country-Test.mmdb").read_bytes()
    path = tmp_path / "swap.mmdb"
    path.write_bytes(city)
    r = GeoReader(str(path))
    ips = ["81.2.69.160", "2.125.160.216", "81.2.69.161"] * 20
    failures: list[object] = []
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            cols = r.lookup_many(ips)
            cities = set(cols["city"])
            if set(cols["country_code"]) != {"GB"} or cities not in ({None}, {"London", "Boxford"}):
                failures.append(cols["city"][:3])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(30):
        tmp = tmp_path / "next.mmdb"
        tmp.write_bytes(country if i % 2 == 0 else city)
        tmp.replace(path)
        r.reload()
    stop.set()
    for t in threads:
        t.join()
    r.close()
    assert failures == []


def test_get_returns_a_fresh_copy_of_cached_records() -> None:
    reader = hpmaxminddb.open_database(TEST_DATA / "GeoIP2-City-Test.mmdb")
    first = reader.get("81.2.69.160")
    first["city"]["names"]["en"] = "changed"
    first["subdivisions"].append({"x": 1})
    del first["country"]
    again = reader.get("81.2.69.160")
    assert again["city"]["names"]["en"] == "London"
    assert "country" in again and len(again["subdivisions"]) == 1
    assert again is not reader.get("81.2.69.160")
    record, prefix = reader.get_with_prefix_len("81.2.69.160")
    assert record == again and prefix == 27
    with pytest.raises(TypeError):
        reader.get()  # type: ignore[call-arg]
    reader.close()
    with pytest.raises(ValueError):
        reader.get("81.2.69.160")


def test_lookup_many_twice_and_with_non_ascii_and_bad_items() -> None:
    with GeoReader(str(TEST_DATA / "GeoIP2-City-Test.mmdb")) as r:
        ips = ["81.2.69.160", "10.0.0.1", "81.2.69.161", "2.125.160.216"] * 50
        a = r.lookup_many(ips)
        b = r.lookup_many(tuple(ips))
        assert a == b
        assert a["city"][:4] == ["London", None, "London", "Boxford"]
        with pytest.raises(errors.InvalidArgumentError):
            r.lookup_many(["81.2.69.160", "8\u0661.2.69.160"])
        with pytest.raises(TypeError):
            r.lookup_many(["81.2.69.160", 5])  # type: ignore[list-item]


@pytest.mark.parametrize("extra", [[], [str(TEST_DATA / "GeoIP2-ISP-Test.mmdb")]], ids=["one-db", "merged"])
def test_lookup_many_coerce_gives_none_rows_for_bad_items(extra: list[str]) -> None:
    good = ["81.2.69.160", "10.0.0.1", "2.125.160.216", "1.128.0.1"]
    bad: list[object] = ["nope", "", None, float("nan"), "8\u0661.2.69.160", "1.2.3.4.5", b"1.2.3.4"]
    rng = random.Random(7)
    # Bad items first, last, in runs and alone, among 2,000 good ones.
    items: list[object] = [bad[0]] + [rng.choice(good) for _ in range(2000)] + [bad[1], bad[2]]
    for k in range(60):
        items.insert(rng.randrange(len(items)), bad[k % len(bad)])
    items.append(bad[-1])
    with GeoReader(str(TEST_DATA / "GeoIP2-City-Test.mmdb"), extra) as r:
        with pytest.raises((errors.InvalidArgumentError, TypeError)):
            r.lookup_many(items)
        cols = r.lookup_many(items, errors="coerce")
        assert set(cols) >= {"country_code", "city", "asn", "latitude"}
        for name, column in cols.items():
            assert len(column) == len(items), name
        for i, item in enumerate(items):
            if isinstance(item, str) and item in good:
                want = r.lookup(item)
                row = {name: column[i] for name, column in cols.items()}
                assert row == ({name: None for name in cols} if want is None else
                               {name: want[name] for name in cols}), (i, item)
            else:
                assert all(column[i] is None for column in cols.values()), (i, item)
        # Only bad items, and none: no error either.
        assert r.lookup_many(["x", None], errors="coerce")["city"] == [None, None]
        assert r.lookup_many([], errors="coerce")["city"] == []
        with pytest.raises(ValueError, match="errors must be"):
            r.lookup_many(good, errors="ignore")


def test_lookup_many_on_an_ipv4_only_database_coerces_ipv6_addresses() -> None:
    with GeoReader(str(TEST_DATA / "MaxMind-DB-test-ipv4-24.mmdb")) as r:
        with pytest.raises(errors.AddressFamilyError, match="item 1"):
            r.lookup_many(["1.1.1.1", "::1"])
        cols = r.lookup_many(["1.1.1.1", "::1", "nope"], errors="coerce")
        assert all(column[1] is None and column[2] is None for column in cols.values())
        want = r.lookup("1.1.1.1")
        assert [column[0] for column in cols.values()] == [None if want is None else want[name] for name in cols]
