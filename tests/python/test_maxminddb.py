"""The maxminddb drop-in beyond lookups: open modes, file objects and bytes,
iteration, the submodules users import, and errors (classes, errno, messages).
maxminddb's own suite runs against it too (tests/python/upstream)."""

from __future__ import annotations

import errno
import io
import ipaddress
import os
import shutil
from pathlib import Path

import hotpath
import hotpath.maxminddb as hpmaxminddb
import maxminddb
import pytest
from hotpath import errors
from hotpath.maxminddb import const, extension
from hotpath.maxminddb import errors as dropin_errors
from hotpath.maxminddb import reader as dropin_reader

TEST_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "maxmind" / "test-data"
CITY = TEST_DATA / "GeoIP2-City-Test.mmdb"
ADDRESSES = ("81.2.69.160", "175.16.199.1", "2a02:cf40::1", "1.1.1.1", "::1.1.1.1")


def answers(reader: hpmaxminddb.Reader) -> list[object]:
    return [reader.get_with_prefix_len(ip) for ip in ADDRESSES]


def test_every_mode_and_source_gives_the_same_records() -> None:
    with hpmaxminddb.open_database(str(CITY)) as base:
        expected = answers(base)
    assert any(record for record, _ in expected)
    with open(CITY, "rb") as f:
        fd_reader = hpmaxminddb.open_database(f, const.MODE_FD)
    sources = [
        hpmaxminddb.open_database(CITY, const.MODE_MEMORY),
        hpmaxminddb.open_database(os.fsencode(CITY), const.MODE_MMAP),
        hpmaxminddb.open_database(CITY, const.MODE_FILE),
        hpmaxminddb.open_database(CITY, const.MODE_MMAP_EXT),
        fd_reader,
        hpmaxminddb.open_database(io.BytesIO(CITY.read_bytes()), const.MODE_FD),
        extension.Reader(str(CITY)),
    ]
    fd = os.open(CITY, os.O_RDONLY)
    try:
        sources.append(hpmaxminddb.open_database(fd, const.MODE_FD))  # type: ignore[arg-type]
    finally:
        os.close(fd)
    for reader in sources:
        assert answers(reader) == expected
        assert reader.metadata().database_type == "GeoIP2-City"
        reader.close()


def test_memory_mode_is_not_reached_by_an_overwrite_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "city.mmdb"
    shutil.copy(CITY, path)
    reader = hpmaxminddb.open_database(path, const.MODE_MEMORY)
    before = answers(reader)
    # In place, as a careless updater would: a mapped reader could fault here.
    with open(path, "r+b") as f:
        f.write(b"\0" * path.stat().st_size)
    assert answers(reader) == before
    reader.close()


def test_iteration_lists_networks_as_maxminddb_does() -> None:
    for name in ("MaxMind-DB-test-ipv4-24.mmdb", "MaxMind-DB-test-mixed-24.mmdb", "GeoIP2-Country-Test.mmdb"):
        with maxminddb.open_database(str(TEST_DATA / name), maxminddb.MODE_MMAP) as theirs:
            expected = list(theirs)
        with hpmaxminddb.open_database(TEST_DATA / name) as ours:
            got = list(ours)
        assert got == expected, name
        assert all(isinstance(n, (ipaddress.IPv4Network, ipaddress.IPv6Network)) for n, _ in got)
    with hpmaxminddb.open_database(TEST_DATA / "MaxMind-DB-test-ipv4-24.mmdb") as reader:
        walk = iter(reader)
        first = next(walk)
    # The walk holds its snapshot: it goes on after close().
    assert str(first[0]) == "1.1.1.1/32"
    assert [str(n) for n, _ in walk][-1] == "1.1.1.32/32"


def test_submodules_and_classes_have_maxminddb_names() -> None:
    assert const.MODE_FD == 16 and hpmaxminddb.MODE_MEMORY == const.Mode.MEMORY
    assert dropin_reader.Reader is hpmaxminddb.Reader is extension.Reader
    assert dropin_errors.InvalidDatabaseError is hpmaxminddb.InvalidDatabaseError is errors.CorruptError
    assert issubclass(hpmaxminddb.InvalidDatabaseError, RuntimeError)
    assert issubclass(hpmaxminddb.InvalidDatabaseError, hotpath.errors.Error)
    with pytest.raises(ValueError, match=r"Unsupported open mode \(3\)"):
        hpmaxminddb.open_database(CITY, 3)


def test_a_missing_file_is_file_not_found_and_a_hotpath_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mmdb"
    for mode in (const.MODE_AUTO, const.MODE_MMAP, const.MODE_MEMORY):
        with pytest.raises(FileNotFoundError) as info:
            hpmaxminddb.open_database(missing, mode)
        exc = info.value
        assert isinstance(exc, errors.HotpathIOError) and isinstance(exc, hotpath.errors.Error)
        assert exc.errno == errno.ENOENT
        assert exc.filename == str(missing)
        assert exc.code == "HP_EIO"
        assert "No such file or directory" in str(exc)
    with pytest.raises(IsADirectoryError) as dir_info:
        hotpath.geo.GeoReader(str(tmp_path))
    assert dir_info.value.errno == errno.EISDIR and dir_info.value.syscall == "read"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_permission_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.mmdb"
    shutil.copy(CITY, path)
    path.chmod(0)
    with pytest.raises(PermissionError) as info:
        hpmaxminddb.open_database(path)
    assert info.value.errno == errno.EACCES and isinstance(info.value, errors.HotpathIOError)


def test_messages_users_match_on(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 10)
    with pytest.raises(hpmaxminddb.InvalidDatabaseError, match=r"Error opening database file \(.*notes.txt\)\. "
                       r"Is this a valid MaxMind DB file\?"):
        hpmaxminddb.open_database(text)
    reader = hpmaxminddb.open_database(TEST_DATA / "MaxMind-DB-test-ipv4-24.mmdb")
    with pytest.raises(ValueError, match="Error looking up 2001::. You attempted to look up an IPv6 address"):
        reader.get(ipaddress.ip_address("2001::"))
    with pytest.raises(ValueError, match="'x' does not appear to be an IPv4 or IPv6 address"):
        reader.get("x")
    reader.close()
    assert reader.metadata().ip_version == 4  # kept after close, as maxminddb does
    with pytest.raises(ValueError, match="Attempt to read from a closed MaxMind DB"):
        reader.get("1.1.1.1")


def test_a_map_key_that_is_not_utf8_is_a_unicode_decode_error() -> None:
    bad = TEST_DATA.parent / "bad-data" / "maxminddb-python" / "bad-unicode-in-map-key.mmdb"
    if not bad.exists():
        pytest.skip("fixture not vendored")
    with hpmaxminddb.open_database(bad) as reader, pytest.raises(UnicodeDecodeError) as info:
        reader.get("163.254.149.39")
    assert isinstance(info.value, hpmaxminddb.InvalidDatabaseError)
    assert "UTF-8" in str(info.value)


def test_decode_budget_errors_read_as_maxminddb_words() -> None:
    # The native get functions of a drop-in reader make their exceptions
    # with this function; a record over hotpath's decode budgets (HP_ELIMIT)
    # gets maxminddb's exact message, which its users match on.
    make = dropin_errors.lookup_error
    cases = {
        "geo: 'x.mmdb': the record holds more than 2097152 bytes of strings and bytes (max_record_bytes)": "maximum payload size",
        "geo: 'x.mmdb': the record has more than 65536 values (max_record_nodes)": "maximum number of values",
    }
    for detail, words in cases.items():
        exc = make(-6, "HP_ELIMIT", detail, 0, "", "")
        assert isinstance(exc, hpmaxminddb.InvalidDatabaseError)
        assert str(exc) == f"The MaxMind DB file's data section exceeds the {words}"
    other = make(-3, "HP_ECORRUPT", "geo: 'x.mmdb': record at offset 3: a double of 4 bytes", 0, "", "")
    assert str(other).startswith("The MaxMind DB file's data section contains bad data (unknown data type or corrupt data)")
    assert isinstance(make(-1, "HP_EINVAL", "bad", 0, "", ""), ValueError)
