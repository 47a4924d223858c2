"""Every Python example in docs/<subsystem>.md runs as written, in a folder
that holds the files the examples name (test databases under the names of the
real ones, the traffic recipes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MAXMIND = ROOT / "tests" / "fixtures" / "maxmind" / "test-data"
PAGES = ["geo", "ua", "events", "recipes", "limits", "sticky", "host"]


def _python_blocks(page: str) -> list[str]:
    text = (DOCS / f"{page}.md").read_text()
    return re.findall(r"^```python\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)


def _workdir(tmp: Path) -> Path:
    shutil.copy(MAXMIND / "GeoIP2-City-Test.mmdb", tmp / "GeoIP2-City.mmdb")
    shutil.copy(MAXMIND / "GeoIP2-ISP-Test.mmdb", tmp / "GeoIP2-ISP.mmdb")
    (tmp / "ips.txt").write_text("81.2.69.160\n2001:218::1\n1.128.0.1\n")
    recipes = ROOT / "examples" / "traffic" / "data" / "offersRecipe.json.gz"
    (tmp / "examples" / "traffic" / "data").mkdir(parents=True)
    shutil.copy(recipes, tmp / "examples" / "traffic" / "data")
    shutil.copy(recipes, tmp)
    return tmp


def test_every_subsystem_page_has_a_python_example() -> None:
    for page in PAGES:
        assert _python_blocks(page), f"docs/{page}.md has no Python example"
    assert {p.stem for p in DOCS.glob("*.md")} >= set(PAGES) | {"index", "errors", "migrating"}


@pytest.mark.parametrize("page", PAGES)
def test_python_examples_run(page: str, tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for i, block in enumerate(_python_blocks(page)):
        out = subprocess.run([sys.executable, "-c", block], cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
        assert out.returncode == 0, f"docs/{page}.md, Python example {i + 1}:\n{block}\n{out.stderr}"
