"""examples/analysis on a small generated log: its CSV must agree with a count
made without hotpath's batch paths (the `maxminddb` package for countries, the
device type each generated user agent is known to be)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import maxminddb
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "analysis"
DB = ROOT / "tests" / "fixtures" / "maxmind" / "test-data" / "GeoIP2-City-Test.mmdb"

# What each user agent of generate_log.py is.
DEVICE = {
    "Windows NT 10.0; Win64": "desktop",
    "Macintosh; Intel Mac OS X": "desktop",
    "X11; Linux x86_64": "desktop",
    "iPhone; CPU iPhone OS": "mobile",
    "Android 14; Pixel 8": "mobile",
    "iPad; CPU OS": "tablet",
    "Android 13; SM-X200": "tablet",
    "Googlebot": "bot",
    "curl/": "bot",
    "python-requests/": "bot",
}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"analysis_{name}", EXAMPLE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _device(agent: str) -> str:
    kinds = [kind for marker, kind in DEVICE.items() if marker in agent]
    assert len(kinds) == 1, agent
    return kinds[0]


def _insert_a_malformed_line(log: Path) -> list[str]:
    """Puts a line whose address is not an IP address (a curl request, so
    a bot) after the 100th; returns the lines as they were."""
    lines = log.read_text().splitlines(keepends=True)
    bad = 'not-an-ip - - [01/Mar/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.4.0"\n'
    log.write_text("".join(lines[:100] + [bad] + lines[100:]))
    return lines


def _independent_count(log: Path) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    with maxminddb.open_database(str(DB)) as reader:
        for line in log.read_text().splitlines():
            ip = line.split(" ", 1)[0]
            agent = line.rsplit('"', 2)[-2]
            record = reader.get(ip) or {}
            country = record.get("country", {}).get("iso_code") or "unknown"
            counts[(country, _device(agent))] += 1
    return counts


def test_summary_csv_matches_an_independent_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate, analyze = _load("generate_log"), _load("analyze")
    log = tmp_path / "access.log"
    generate.generate(log, 30_000, seed=7)
    # Small chunks, so the batch path runs many times with a partial last chunk.
    analyze.CHUNK_BYTES = 200_000
    assert analyze.main([str(log), "--db", str(DB), "--out", str(tmp_path / "out"), "--no-progress"]) == 0

    with (tmp_path / "out" / "summary.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    got = Counter({(r["country"], r["device_type"]): int(r["requests"]) for r in rows})
    assert len(got) == len(rows)  # one row per pair
    assert sum(got.values()) == 30_000
    assert got == _independent_count(log)
    # Known and unknown addresses and every device type are present.
    assert {"GB", "US", "JP", "DE", "unknown"} <= {c for c, _ in got}
    assert {d for _, d in got} == {"desktop", "mobile", "tablet", "bot"}
    # Busiest first.
    assert [int(r["requests"]) for r in rows] == sorted((int(r["requests"]) for r in rows), reverse=True)

    out = capsys.readouterr().out
    assert "30,000 requests" in out
    png = tmp_path / "out" / "summary.png"
    if importlib.util.find_spec("matplotlib"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert not png.exists() and "matplotlib is not installed" in out


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    generate = _load("generate_log")
    a, b, c = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"
    generate.generate(a, 2_000, seed=3)
    generate.generate(b, 2_000, seed=3)
    generate.generate(c, 2_000, seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert len(a.read_text().splitlines()) == 2_000


def test_a_malformed_line_is_counted_as_invalid_and_the_rest_still_counts(tmp_path: Path) -> None:
    generate, analyze = _load("generate_log"), _load("analyze")
    log = tmp_path / "access.log"
    generate.generate(log, 500, seed=5)
    _insert_a_malformed_line(log)
    assert analyze.main([str(log), "--db", str(DB), "--out", str(tmp_path), "--no-progress"]) == 0
    with (tmp_path / "summary.csv").open(newline="") as f:
        got = Counter({(r["country"], r["device_type"]): int(r["requests"]) for r in csv.DictReader(f)})
    assert got[("invalid", "bot")] == 1
    assert sum(got.values()) == 501


def test_the_pandas_workflow_groups_like_an_independent_count_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    import matplotlib.image

    generate, frame = _load("generate_log"), _load("frame")
    log = tmp_path / "access.log"
    generate.generate(log, 20_000, seed=11)
    # A line whose address is malformed: no country (counted as unknown), and the rest still enriched.
    lines = _insert_a_malformed_line(log)
    assert frame.main([str(log), "--db", str(DB), "--out", str(tmp_path / "out")]) == 0

    with (tmp_path / "out" / "by_country_device.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    got = Counter({(r["country"], r["device_type"]): int(r["requests"]) for r in rows})
    log.write_text("".join(lines))
    want = _independent_count(log)
    want[("unknown", "bot")] += 1
    assert got == want
    assert [int(r["requests"]) for r in rows] == sorted((int(r["requests"]) for r in rows), reverse=True)
    image = matplotlib.image.imread(str(tmp_path / "out" / "by_country_device.png"))
    assert image.shape[0] >= 400 and image.shape[1] >= 800  # 10 x 5.5 inches at 100 dpi


def test_the_pandas_enrichment_has_its_columns(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    from hotpath.geo import GeoReader

    generate, frame = _load("generate_log"), _load("frame")
    log = tmp_path / "access.log"
    generate.generate(log, 300, seed=2)
    with GeoReader(str(DB)) as geo:
        df = frame.enrich(frame.read_log(log), geo)
    assert list(df.columns) == ["ip", "status", "bytes", "user_agent", "country", "city", "asn", "device_type"]
    assert len(df) == 300
    assert str(df["status"].dtype) == "Int64" and df["status"].between(100, 599).all()
    london = df[df["city"] == "London"]
    assert len(london) > 0 and (london["country"] == "GB").all()
    assert df["country"].isna().any()  # addresses the test database does not know
    assert set(df["device_type"]) == {"desktop", "mobile", "tablet", "bot"}
    assert isinstance(df, pd.DataFrame)
