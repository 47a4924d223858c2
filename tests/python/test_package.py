from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import hotpath
import pytest
from hotpath import _hotpath, errors

ROOT = Path(__file__).resolve().parents[2]


def _header_version() -> str:
    header = (ROOT / "libengine" / "include" / "hotpath" / "common.h").read_text()
    parts = [re.search(rf"#define HP_VERSION_{p} (\d+)", header) for p in ("MAJOR", "MINOR", "PATCH")]
    assert all(parts)
    return ".".join(m.group(1) for m in parts if m)


def test_one_version_everywhere() -> None:
    # The HP_VERSION_* macros are the one place; everything else must agree.
    version = _header_version()
    assert hotpath.__version__ == version
    major, minor, patch = (int(x) for x in version.split("."))
    assert _hotpath.version_hex == (major << 16) | (minor << 8) | patch
    assert json.loads((ROOT / "package.json").read_text())["version"] == version
    node = subprocess.run(
        ["node", "-p", "require('hotpath').version"],
        capture_output=True, text=True, cwd=ROOT, env=_env(), check=False,
    )
    assert node.returncode == 0, node.stderr
    assert node.stdout.strip() == version
    changelog = (ROOT / "CHANGELOG.md").read_text()
    release = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert release is not None and release.group(1) == version


def test_wheel_version_is_read_from_the_header() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the rule is the same on every version

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    rule = pyproject["tool"]["scikit-build"]["metadata"]["version"]
    match = re.search(rule["regex"], (ROOT / rule["input"]).read_text(), re.MULTILINE)
    assert match is not None
    assert rule["result"].format(**match.groupdict()) == _header_version()


def test_every_c_code_has_an_exception_class() -> None:
    for name, value in _hotpath.codes.items():
        exc = errors.from_code(value, name, "detail")
        assert type(exc) is not errors.Error, name
        assert exc.code == name and exc.number == value and str(exc) == "detail"
        # The number comes from the C table, on the class too.
        assert type(exc).number == value and exc.message == exc.detail == "detail"
    assert errors.AddressFamilyError.code == "HP_EFAMILY"
    assert issubclass(errors.AddressFamilyError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.UnavailableError, ConnectionError)


def _env() -> dict[str, str]:
    # Keep the caller's environment (LD_PRELOAD in the sanitizer run) and
    # point Python and mypy at the package under test.
    env = dict(os.environ)
    env["PYTHONPATH"] = ":".join(sys.path)
    env["MYPYPATH"] = str(ROOT / "bindings" / "python")
    return env


def test_stubs_match_the_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "hotpath._hotpath", "--ignore-missing-stub",
         "--allowlist", str(ROOT / "tests" / "python" / "stubtest_allowlist.txt")],
        capture_output=True, text=True, check=False,
        env=_env(),
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_package_type_checks() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-p", "hotpath"],
        capture_output=True, text=True, cwd=ROOT / "bindings" / "python", check=False,
        env=_env(),
    )
    assert out.returncode == 0, out.stdout + out.stderr
