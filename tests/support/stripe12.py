"""Run code against the stripe 12.x SDK line (pinned to 2025-08-27.basil) beside the current one.

The project's venv holds the current ``stripe``; 12.x is installed once into
``.cache/stripe12`` with ``pip --target`` and used from a subprocess whose ``sys.path``
puts it first. Tests that need it skip, with pip's reason, when it cannot be installed.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("POSX_STRIPE12_DIR", ROOT / ".cache" / "stripe12"))
SPEC = "stripe>=12,<13"


def ensure_stripe12() -> Path:
    marker = TARGET / ".installed"
    if marker.exists():
        return TARGET
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    # One installer at a time: two xdist workers installing with --upgrade into the same
    # folder removed each other's files mid-import (a fresh clone's first run failed so).
    with open(str(TARGET) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another worker installed it while this one waited
            return TARGET
        TARGET.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--upgrade", "--target", str(TARGET), SPEC],
            capture_output=True, text=True, timeout=300,
        )
        if proc.returncode != 0:
            pytest.skip("could not install %s: %s" % (SPEC, proc.stderr.strip()[-500:]))
        marker.write_text(SPEC)
    return TARGET


def run_stripe12(code: str, **env: str) -> dict:
    """Run ``code`` with stripe 12.x importable; it must print one JSON object, returned here."""
    target = ensure_stripe12()
    prelude = "import sys; sys.path.insert(0, %r); sys.path.insert(1, %r)\n" % (str(target), str(ROOT))
    full_env = dict(os.environ, **env)
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120, env=full_env)
    if proc.returncode != 0:
        raise AssertionError("stripe 12.x subprocess failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    return json.loads(proc.stdout.strip().splitlines()[-1])
