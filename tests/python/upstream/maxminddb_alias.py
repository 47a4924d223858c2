"""pytest plugin for the upstream maxminddb suite: the module name
``maxminddb`` (and its submodules) means hotpath.maxminddb, before any test
file is imported; the tests named in maxminddb_skips.txt are skipped with
their reason; every outcome goes to $HOTPATH_UPSTREAM_REPORT (JSON lines)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import hotpath.maxminddb as dropin
import pytest

sys.modules["maxminddb"] = dropin
for _name in ("const", "errors", "extension", "reader", "types"):
    sys.modules[f"maxminddb.{_name}"] = getattr(dropin, _name)

_SKIPS = Path(__file__).with_name("maxminddb_skips.txt")


def _skips() -> dict[str, str]:
    out = {}
    for line in _SKIPS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test, _, reason = line.partition("  # ")
        out[test.strip()] = reason.strip()
    return out


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skips = _skips()
    used = set()
    for item in items:
        # Class::test matches the test in every class; a full id one test.
        short = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else item.nodeid
        for key in (item.nodeid, short, item.name):
            if key in skips:
                item.add_marker(pytest.mark.skip(reason=f"upstream internals: {skips[key]}"))
                used.add(key)
                break
    unused = set(skips) - used
    if unused:
        raise pytest.UsageError(f"maxminddb_skips.txt names tests that do not exist: {sorted(unused)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    path = os.environ.get("HOTPATH_UPSTREAM_REPORT")
    if not path:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        reason = ""
        if report.failed:
            reason = str(report.longrepr.reprcrash.message) if hasattr(report.longrepr, "reprcrash") else str(report.longrepr)
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        with open(path, "a") as f:
            f.write(json.dumps({"test": item.nodeid, "outcome": report.outcome, "reason": reason}) + "\n")
