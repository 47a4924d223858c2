from __future__ import annotations

from pathlib import Path

import hotpath
import pytest
from hotpath import errors, sticky


def vectors(fixtures: Path) -> list[tuple[bytes, int]]:
    out = []
    for line in (fixtures / "fingerprint32.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            hexed, value = line.split("\t")
            out.append((bytes.fromhex(hexed), int(value)))
    return out


def test_issue_vectors() -> None:
    assert hotpath.fingerprint32("hello world") == 430397466
    assert hotpath.fingerprint32("127.0.0.1") == 1211160241
    assert hotpath.fingerprint32("::ffff:127.0.0.1") == 3208593540
    assert hotpath.fingerprint32("::1") == 3686423519
    assert hotpath.fingerprint32("192.168.1.10") == 3038424652


def test_every_committed_vector(fixtures: Path) -> None:
    vs = vectors(fixtures)
    assert len(vs) >= 1000
    assert all(hotpath.fingerprint32(b) == v for b, v in vs)
    assert all(hotpath.fingerprint32(bytearray(b)) == v for b, v in vs[:50])
    assert all(hotpath.fingerprint32(memoryview(b)) == v for b, v in vs[:50])


def test_str_is_hashed_as_utf8() -> None:
    for s in ["", "é", "日本語", "x" * 100000]:
        assert hotpath.fingerprint32(s) == hotpath.fingerprint32(s.encode())


def test_many_matches_single() -> None:
    items = [f"10.0.{i >> 8}.{i & 255}" for i in range(300)]
    assert hotpath.fingerprint32_many(iter(items)) == [hotpath.fingerprint32(s) for s in items]


def test_pick_modulo_is_the_seed_rule() -> None:
    for ip in ["::ffff:10.0.0.1", "127.0.0.1", "::1"]:
        for n in [1, 2, 3, 7]:
            assert sticky.pick(ip, n) == hotpath.fingerprint32(ip) % n


def test_pick_jump_folds_mapped_ipv4() -> None:
    assert sticky.pick("::ffff:10.9.8.7", 5, "jump") == sticky.pick("10.9.8.7", 5, "jump")


def test_bad_input() -> None:
    with pytest.raises(TypeError):
        hotpath.fingerprint32(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sticky.pick("1.2.3.4", 0)
    with pytest.raises(ValueError):
        sticky.pick("1.2.3.4", 2, "ring")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgumentError) as info:
        sticky.pick("not-an-ip", 3, "jump")
    assert info.value.code == "HP_EINVAL"
    assert info.value.number == -1
    assert "not-an-ip" in str(info.value)
    with pytest.raises(ValueError):
        sticky.pick("1" * 300, 3)
