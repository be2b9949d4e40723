"""The fault counters behind ``/_posx/faults``: the reference receiver's semantics on the ORM.

A webhook call claims what it will suffer when it starts (one atomic decrement per armed
fault, committed at once). It cannot claim later: a crash claimed inside the view's
transaction would be rolled back by the crash itself and repeat forever.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Tuple

from django.db import transaction
from django.db.models import F

from . import conf
from .models import FaultCounter

FIELDS = ("fail_next", "fail_status", "delay_next", "delay_ms", "crash_next")


@dataclasses.dataclass(frozen=True)
class Claimed:
    fail_status: int = 0
    delay_ms: int = 0
    crash: bool = False


NONE = Claimed()


def _int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError("%s must be an integer from %d to %d, got %r" % (name, lo, hi, value))
    return value


def parse_spec(spec) -> List[Tuple[str, int, int]]:
    """``{"fail_next": 2, "fail_status": 503, "delay_next": 1, "delay_ms": 800, "crash_next": 1}``
    -> rows ``(name, remaining, value)``; ValueError naming the bad field."""
    if not isinstance(spec, dict):
        raise ValueError('send a JSON object such as {"fail_next": 2}')
    unknown = set(spec) - set(FIELDS)
    if unknown:
        raise ValueError("unknown fault field(s): %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(FIELDS)))
    rows = []
    if "fail_next" in spec:
        rows.append(("fail", _int(spec["fail_next"], "fail_next", 0, 1_000_000),
                     _int(spec.get("fail_status", 500), "fail_status", 400, 599)))
    elif "fail_status" in spec:
        raise ValueError("fail_status needs fail_next")
    if "delay_next" in spec or "delay_ms" in spec:
        rows.append(("delay", _int(spec.get("delay_next", 1), "delay_next", 0, 1_000_000),
                     _int(spec.get("delay_ms", 1000), "delay_ms", 0, 120_000)))
    if "crash_next" in spec:
        rows.append(("crash", _int(spec["crash_next"], "crash_next", 0, 1_000_000), 0))
    if not rows:
        raise ValueError("give at least one of fail_next, delay_next/delay_ms, crash_next")
    return rows


def _objects():
    return FaultCounter.objects.using(conf.get("DATABASE"))


def state() -> Dict[str, int]:
    out = {"fail_next": 0, "fail_status": 500, "delay_next": 0, "delay_ms": 0, "crash_next": 0}
    for name, remaining, value in _objects().values_list("name", "remaining", "value"):
        if name == "fail":
            out.update(fail_next=remaining, fail_status=value)
        elif name == "delay":
            out.update(delay_next=remaining, delay_ms=value)
        elif name == "crash":
            out["crash_next"] = remaining
    return out


def arm(spec) -> Dict[str, int]:
    rows = parse_spec(spec)
    with transaction.atomic(using=conf.get("DATABASE")):
        for name, remaining, value in rows:
            _objects().update_or_create(name=name, defaults={"remaining": remaining, "value": value})
    return state()


def clear() -> Dict[str, int]:
    _objects().all().delete()
    return state()


def claim() -> Claimed:
    """Take one of each armed fault for this call. Unarmed: one indexed read, no write."""
    armed = list(_objects().filter(remaining__gt=0).values_list("name", "value"))
    if not armed:
        return NONE
    got = {}
    for name, value in armed:
        # The conditional decrement is the claim: of two workers racing for the last one,
        # exactly one updates a row.
        if _objects().filter(name=name, remaining__gt=0).update(remaining=F("remaining") - 1) == 1:
            got[name] = value
    return Claimed(fail_status=got.get("fail", 0), delay_ms=got.get("delay", 0), crash="crash" in got) if got else NONE
