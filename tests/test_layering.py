"""Style and layering are checked, not kept by habit: ruff and the import contracts
(pyproject.toml, [tool.ruff] and [tool.importlinter]) run as part of the suite, so CI fails
on a violation. The layer diagram they enforce is in docs/DESIGN.md."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    # The tools come with the `test` extra, next to this interpreter; PATH is the fallback.
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, "%s is not installed: pip install -e '.[test]'" % name
    return found


def _run(cmd: list) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)


def test_ruff_finds_nothing():
    out = _run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."])
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_contracts_hold():
    out = _run([_tool("lint-imports"), "--no-cache"])
    assert out.returncode == 0, out.stdout + out.stderr
