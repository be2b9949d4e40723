"""Fault hooks for the scenario suite, only when ``POSX_ENABLE_FAULT_HOOKS=1``.

Counters live in the ``faults`` table so that every gunicorn worker sees the same ones:
"fail the next 3 webhook calls" means 3 calls in total, whichever worker gets them.
A webhook call claims what it will suffer when it starts (an atomic decrement, committed
on its own); it cannot claim later, because a crash claimed inside the processing
transaction would be rolled back by the crash itself and repeat forever.

- ``fail_next`` (+ ``fail_status``, default 500): answer with that status without
  processing anything.
- ``delay_next`` (+ ``delay_ms``): process normally, then wait before answering.
- ``crash_next``: crash in the middle of processing: after the order's update is written
  and before the transaction commits (``os._exit`` under gunicorn; an aborted request
  answered 500 in the in-thread development server).
"""
from __future__ import annotations

import dataclasses
from typing import Dict

FAULT_NAMES = ("fail", "delay", "crash")


class WorkerCrash(Exception):
    """Raised instead of ``os._exit`` when crashing would kill the hosting test process."""


@dataclasses.dataclass
class Claimed:
    fail_status: int = 0
    delay_ms: int = 0
    crash: bool = False


NONE = Claimed()


class FaultHooks:
    def __init__(self, db):
        self.db = db

    def set(self, spec: Dict) -> Dict:
        """Apply a JSON spec: ``{"fail_next": 2, "fail_status": 503, "delay_next": 1, "delay_ms": 800, "crash_next": 1}``."""
        rows = []
        if "fail_next" in spec:
            rows.append(("fail", _count(spec, "fail_next"), _int(spec.get("fail_status", 500), "fail_status", 400, 599)))
        if "delay_next" in spec or "delay_ms" in spec:
            rows.append(("delay", _count(spec, "delay_next", default=1), _int(spec.get("delay_ms", 1000), "delay_ms", 0, 120000)))
        if "crash_next" in spec:
            rows.append(("crash", _count(spec, "crash_next"), 0))
        unknown = set(spec) - {"fail_next", "fail_status", "delay_next", "delay_ms", "crash_next"}
        if unknown:
            raise ValueError("unknown fault field(s): %s" % ", ".join(sorted(unknown)))
        if not rows:
            raise ValueError("give at least one of fail_next, delay_next/delay_ms, crash_next")
        with self.db.transaction() as tx:
            for name, remaining, value in rows:
                tx.execute("DELETE FROM faults WHERE name = ?", (name,))
                tx.execute("INSERT INTO faults (name, remaining, value) VALUES (?, ?, ?)", (name, remaining, value))
        return self.state()

    def clear(self) -> Dict:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM faults")
        return self.state()

    def state(self) -> Dict:
        out = {"fail_next": 0, "fail_status": 500, "delay_next": 0, "delay_ms": 0, "crash_next": 0}
        for name, remaining, value in self.db.read("SELECT name, remaining, value FROM faults"):
            if name == "fail":
                out.update(fail_next=int(remaining), fail_status=int(value))
            elif name == "delay":
                out.update(delay_next=int(remaining), delay_ms=int(value))
            elif name == "crash":
                out["crash_next"] = int(remaining)
        return out

    def claim(self) -> Claimed:
        """Take one of each armed fault for this call (committed at once, see module doc)."""
        claimed = None
        with self.db.transaction() as tx:
            for name, value in tx.all("SELECT name, value FROM faults WHERE remaining > 0"):
                if tx.execute("UPDATE faults SET remaining = remaining - 1 WHERE name = ? AND remaining > 0", (name,)) != 1:
                    continue
                claimed = claimed or Claimed()
                if name == "fail":
                    claimed.fail_status = int(value)
                elif name == "delay":
                    claimed.delay_ms = int(value)
                elif name == "crash":
                    claimed.crash = True
        return claimed or NONE


def _int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError("%s must be an integer from %d to %d, got %r" % (name, lo, hi, value))
    return value


def _count(spec: Dict, name: str, default: int = 0) -> int:
    return _int(spec.get(name, default), name, 0, 1_000_000)
