#!/usr/bin/env python3
"""Runs the test suite of the maxminddb package (its sdist ships tests/ and
tests/data/) against hotpath.maxminddb, unmodified: the module name is mapped
by maxminddb_alias.py. Downloads the pinned sdist with pip (cached in
build/upstream), prints every failure with its reason and the pass rate, and
fails under the floor. No network: it fails, loudly.

Usage: run_maxminddb.py [--build build/dev] [--floor 0.98]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.2.0"
ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
# Upstream's test files; decoder_test.py tests its private pure-Python
# decoder (maxminddb.decoder.Decoder), which the drop-in does not have.
SUITES = ("tests/reader_test.py", "tests/threading_test.py")


def fetch(cache: Path) -> Path:
    sdist = cache / f"maxminddb-{VERSION}.tar.gz"
    if sdist.exists():
        return sdist
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "maxminddb",
           "-d", str(cache), f"maxminddb=={VERSION}"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0 or not sdist.exists():
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"upstream maxminddb: cannot download the {VERSION} sdist (no network?); this suite FAILS")
    return sdist


def unpack(sdist: Path, into: Path) -> Path:
    top = f"maxminddb-{VERSION}/"
    # tests/ and tests/data/, and the README the tests open as "not a database".
    wanted = (top + "tests/", top + "README.rst", top + "README.md")
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted) and (m.isfile() or m.isdir())]
        for m in members:
            m.name = m.name[len(top):]
        tar.extractall(into, members=members)
    return into


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("HOTPATH_BUILD", "build/dev"))
    ap.add_argument("--floor", type=float, default=0.98)
    args = ap.parse_args()
    sdist = fetch(ROOT / "build" / "upstream")
    with tempfile.TemporaryDirectory(prefix="hotpath-maxminddb-") as tmp:
        work = unpack(sdist, Path(tmp))
        report = Path(tmp) / "report.jsonl"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(HERE), str(ROOT / "bindings/python"), str(ROOT / args.build / "python"), env.get("PYTHONPATH", "")])
        env["HOTPATH_UPSTREAM_REPORT"] = str(report)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "maxminddb_alias",
               "--rootdir", str(work), *SUITES]
        subprocess.run(cmd, cwd=work, env=env, check=False)
        rows = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    passed = [r for r in rows if r["outcome"] == "passed"]
    failed = [r for r in rows if r["outcome"] == "failed"]
    skipped = [r for r in rows if r["outcome"] == "skipped"]
    for r in skipped:
        print(f"SKIP {r['test']}: {r['reason']}")
    for r in failed:
        print(f"FAIL {r['test']}: {r['reason']}")
    ran = len(passed) + len(failed)
    rate = len(passed) / ran if ran else 0.0
    print(f"upstream maxminddb {VERSION}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped "
          f"of {len(rows)} ({rate:.1%} of those run; floor {args.floor:.0%})")
    return 0 if ran and rate >= args.floor else 1


if __name__ == "__main__":
    sys.exit(main())
