"""A failed system call keeps its errno in every subsystem: the exception is
the OSError subclass Python raises (FileNotFoundError, ...) with errno and
filename, and still a hotpath.errors.HotpathIOError."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from hotpath import errors, events, geo
from hotpath.blobs import Blobs
from hotpath.limits import open_limiter
from hotpath.recipes import Recipes


def check_missing(exc: BaseException, path: Path) -> None:
    assert isinstance(exc, FileNotFoundError)
    assert isinstance(exc, errors.HotpathIOError) and isinstance(exc, errors.Error)
    assert exc.errno == errno.ENOENT
    assert exc.code == "HP_EIO"
    assert exc.filename is not None and str(path.parent) in exc.filename


def test_geo_open_and_write(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "x.mmdb"
    with pytest.raises(FileNotFoundError) as info:
        geo.GeoReader(str(missing))
    check_missing(info.value, missing)
    assert info.value.syscall == "open"
    with pytest.raises(FileNotFoundError) as info:
        geo.write_database(str(missing), [("1.2.3.0/24", {"a": 1})])
    check_missing(info.value, missing)


def test_recipe_load_of_a_missing_file(tmp_path: Path) -> None:
    r = Recipes()
    try:
        t = r.define("offers", key="offerId")
        missing = tmp_path / "nowhere" / "offers.json"
        with pytest.raises(FileNotFoundError) as info:
            t.load(str(missing))
        check_missing(info.value, missing)
        assert "offers.json" in info.value.detail
    finally:
        r.close()


def test_event_log_in_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "events.log"
    with pytest.raises(FileNotFoundError) as info:
        events.EventLog(str(missing))
    check_missing(info.value, missing)


def test_blob_store_in_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "store.db"
    with pytest.raises(FileNotFoundError) as info:
        Blobs.open(f"sqlite:{missing}")
    check_missing(info.value, missing)


def test_sqlite_limiter_in_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "limits.db"
    with pytest.raises(FileNotFoundError) as info:
        open_limiter(f"sqlite:{missing}")
    check_missing(info.value, missing)
