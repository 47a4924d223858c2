from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import _hotpath
import hotpath
from hotpath import errors

ROOT = Path(__file__).resolve().parents[2]


def test_one_version_everywhere() -> None:
    pkg = json.loads((ROOT / "package.json").read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert hotpath.__version__ == pkg["version"]
    assert f'version = "{hotpath.__version__}"' in pyproject


def test_every_c_code_has_an_exception_class() -> None:
    for name, value in _hotpath.codes.items():
        exc = errors.from_code(value, name, "detail")
        assert type(exc) is not errors.Error, name
        assert exc.code == name and exc.number == value and str(exc) == "detail"
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
        [sys.executable, "-m", "mypy.stubtest", "_hotpath", "--ignore-missing-stub",
         "--allowlist", str(ROOT / "tests" / "python" / "stubtest_allowlist.txt")],
        capture_output=True, text=True,
        env=_env(),
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_package_type_checks() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-p", "hotpath"],
        capture_output=True, text=True, cwd=ROOT / "bindings" / "python",
        env=_env(),
    )
    assert out.returncode == 0, out.stdout + out.stderr
