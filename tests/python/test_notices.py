"""LICENSE and THIRD_PARTY_NOTICES: the notices name every library the wheel
and the npm prebuild link statically and are what packaging/gen-notices.sh
writes from the installed packages today (a Debian update that changes a
linked library's version or copyright makes this fail until the file is
regenerated). tests/dist/run.sh checks that the packages carry both files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_is_mit_everywhere() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in pyproject
    assert '"License :: OSI Approved :: MIT License"' in pyproject
    assert '"LICENSE", "THIRD_PARTY_NOTICES"' in pyproject
    package = (ROOT / "package.json").read_text()
    assert '"license": "MIT"' in package and '"THIRD_PARTY_NOTICES"' in package


def test_the_notices_are_current(tmp_path: Path) -> None:
    fresh = tmp_path / "notices"
    subprocess.run(["bash", str(ROOT / "packaging" / "gen-notices.sh"), str(fresh)], check=True,
                   capture_output=True)
    assert fresh.read_text() == (ROOT / "THIRD_PARTY_NOTICES").read_text(), \
        "THIRD_PARTY_NOTICES is stale: run packaging/gen-notices.sh"


def test_every_statically_linked_library_has_a_section() -> None:
    notices = (ROOT / "THIRD_PARTY_NOTICES").read_text()
    sections = re.findall(r"^=+\n(.+?) \S+ \(", notices, re.MULTILINE)
    # The archives packaging/static_deps.cmake links (HP_<NAME>), libuv and
    # libcrypto in the wheel, FarmHash (CMakeLists.txt), the GCC runtime.
    static = set(re.findall(r"hp_static_archive\(HP_(\w+)", (ROOT / "packaging" / "static_deps.cmake").read_text()))
    assert static == {"HIREDIS", "MAXMINDDB", "SQLITE", "ZLIB", "DEFLATE", "CRYPTO"}
    names = {"HIREDIS": "hiredis", "MAXMINDDB": "libmaxminddb", "SQLITE": "SQLite", "ZLIB": "zlib",
             "DEFLATE": "libdeflate", "CRYPTO": "OpenSSL libcrypto"}
    expected = {names[s] for s in static} | {"libuv", "RE2", "FarmHash", "pybind11", "libstdc++ and libgcc"}
    assert expected <= set(sections), sections
    # The ua tables' data notices, whole.
    assert (ROOT / "libengine" / "src" / "ua" / "THIRD_PARTY_NOTICES.md").read_text() in notices
