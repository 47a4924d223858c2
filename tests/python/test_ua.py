from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hotpath import ua

FIELDS = ["browser", "browser_version", "engine", "engine_version", "os", "os_version", "device_type",
          "vendor", "model"]


def golden(fixtures: Path) -> list[list[str]]:
    rows = []
    for line in (fixtures / "ua-golden.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            cols = line.split("\t")
            rows.append(cols + [""] * (11 - len(cols)))
    return rows


def flat(r: ua.UAResult) -> list[str]:
    return [str(r[f] or "") for f in FIELDS] + ["1" if r["is_bot"] else "0"]  # type: ignore[literal-required]


def test_parse_returns_ua_parser_js_names() -> None:
    r = ua.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0")
    assert r == {
        "browser": "Edge", "browser_version": "120.0.0.0", "engine": "Blink", "engine_version": "120.0.0.0",
        "os": "Windows", "os_version": "10", "device_type": "desktop", "vendor": None, "model": None,
        "is_bot": False, "browser_major": "120", "cpu": "amd64",
    }


def test_long_tail_gets_ua_parser_js_answers() -> None:
    # ua-parser-js 1.x's answers for handsets, old OSes and app strings
    cases = [
        (
            (
                "Mozilla/5.0 (Series40; Nokia311/03.81; Profile/MIDP-2.1 Configuration/CLDC-1.1) Gecko/20100401 "
                "S40OviBrowser/2.2.0.0.31"
            ),
            "OviBrowser", "Series40", "mobile", "Nokia", "311",
        ),
        ("LG-S310/V100 Obigo/WAP2.0 Profile/MIDP-2.1 Configuration/CLDC-1.1", "Obigo", None, "mobile", "LG", "S310"),
        ("Dalvik/1.6.0 (Linux; U; Android 4.4.4; MI PAD Build/KTU84P)", None, "Android", "tablet", "Xiaomi", "MI PAD"),
        ("Mozilla/5.0 (Windows Phone 8.1; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like Gecko",
         "IEMobile", "Windows Phone", "mobile", "Nokia", "Lumia 635"),
    ]
    for s, browser, os_name, device, vendor, model in cases:
        r = ua.parse(s)
        assert (r["browser"], r["os"], r["device_type"], r["vendor"], r["model"]) == (
            browser, os_name, device, vendor, model), s
    r = ua.parse("Mozilla/5.0 (X11; Linux aarch64; rv:120.0) Gecko/20100101 Firefox/120.0")
    assert (r["browser_major"], r["cpu"]) == ("120", "arm64")
    assert ua.parse("IMVU Client/498.0 Python-urllib/2.7")["is_bot"] is True


def test_golden_strings(fixtures: Path) -> None:
    rows = golden(fixtures)
    assert len(rows) >= 100
    for row in rows:
        assert flat(ua.parse(row[0])) == row[1:11], row[0]


def test_parse_many_matches_parse_and_counts_cache_hits(fixtures: Path) -> None:
    strings = [row[0] for row in golden(fixtures)] * 3
    before = ua.stats()
    many = ua.parse_many(strings)
    assert [flat(r) for r in many] == [flat(ua.parse(s)) for s in strings]
    after = ua.stats()
    assert after["hits"] > before["hits"]
    assert after["capacity"] > 0
    assert ua.parse_many([]) == []


def test_empty_none_and_odd_input() -> None:
    for value in ("", None):
        r = ua.parse(value)
        assert r["browser"] is None
        assert r["device_type"] == "desktop"
    assert ua.parse("curl/8.4.0")["is_bot"] is True
    assert ua.parse("curl/8.4.0")["device_type"] == "bot"
    assert ua.parse("(" * 10000)["browser"] is None
    r = ua.parse("Mozilla/5.0 (Linux; Android 13; Größe) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/120.0.0.0 Mobile Safari/537.36")
    assert r["model"] == "Größe"


def test_wrong_types_raise_type_error() -> None:
    with pytest.raises(TypeError):
        ua.parse(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 1"):
        ua.parse_many(["ok", 3])  # type: ignore[list-item]


def test_threads_share_the_parser(fixtures: Path) -> None:
    strings = [row[0] for row in golden(fixtures)]
    expected = [flat(ua.parse(s)) for s in strings]
    failures: list[str] = []

    def work() -> None:
        for _ in range(5):
            got = [flat(r) for r in ua.parse_many(strings)]
            if got != expected:
                failures.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
