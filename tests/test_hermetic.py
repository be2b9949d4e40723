"""The suite needs nothing outside the repository: reference data is vendored under
tests/reference/, and no code or CI script reads it from elsewhere."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests import reference

ROOT = Path(__file__).resolve().parents[1]
# A path outside the checkout that once held the Stripe reference data (or anything like it).
OUTSIDE = re.compile(r"/work/shared|\.\./shared|stripe-reference/")
CHECKED = (".py", ".sh", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".lua")


@pytest.mark.parametrize("name", sorted(reference.FILES))
def test_every_reference_file_is_vendored(name):
    data = reference.load(name)
    assert data, name


def test_a_missing_reference_file_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "DIR", tmp_path)
    reference._read.cache_clear()
    try:
        with pytest.raises(reference.ReferenceDataMissing, match="is missing"):
            reference.load("observed_sequences")
    finally:
        monkeypatch.undo()
        reference._read.cache_clear()


def _tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if out.returncode != 0:  # an exported tree without .git: walk it instead
        return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts]
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def test_no_code_reads_reference_data_from_outside_the_repository():
    offenders = []
    for path in _tracked_files():
        if path.suffix not in CHECKED and path.parent.name != ".ci":
            continue
        if path == Path(__file__).resolve() or not path.exists():
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append("%s:%d: %s" % (path.relative_to(ROOT), n, line.strip()))
    assert offenders == []
