"""Stripe reference data the tests compare against, vendored here so the suite is hermetic.

``load(name)`` is the one way to read it (the top-level conftest.py offers it as the
``stripe_reference`` fixture; bench scripts call it directly). A missing or unreadable
file raises ``ReferenceDataMissing`` naming the path: a test that needs Stripe's data must
fail without it, never skip or fall back to made-up objects and prove less in silence.
Where each file came from: README.md beside this module.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DIR = Path(__file__).resolve().parent

#: short name -> file; the names tests use, so a renamed file is changed in one place.
FILES = {
    "fixtures3": "fixtures3-v1932-basil.json",
    "observed_sequences": "observed-basil-sequences.json",
    "observed_charge_succeeded": "observed-charge-succeeded-event.json",
}


class ReferenceDataMissing(RuntimeError):
    """A vendored reference file is absent or not valid JSON."""


def path(name: str) -> Path:
    try:
        return DIR / FILES[name]
    except KeyError:
        raise ReferenceDataMissing("unknown reference data %r (known: %s)" % (name, ", ".join(sorted(FILES)))) from None


@lru_cache(maxsize=None)
def _read(name: str) -> Any:
    p = path(name)
    try:
        return json.loads(p.read_text())
    except OSError as exc:
        raise ReferenceDataMissing("reference data %s is missing (%s); it is part of the repository,"
                                   " restore it from git" % (p, exc.strerror)) from exc
    except ValueError as exc:
        raise ReferenceDataMissing("reference data %s is not valid JSON: %s" % (p, exc)) from exc


def load(name: str) -> Any:
    """The parsed file. Callers get a fresh copy, so no test can change another's data."""
    return json.loads(json.dumps(_read(name)))
