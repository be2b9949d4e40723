"""The delivery log: one entry per attempt, queryable, and waitable.

Entries are plain dicts (JSON-ready for the control plane and the state file). Waiting is
on a condition variable notified at every append, never a polling sleep.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable, Optional, Union

SUCCEEDED, FAILED, ABANDONED = "succeeded", "failed", "abandoned"
OUTCOMES = (SUCCEEDED, FAILED, ABANDONED)
FILTERS = ("event", "type", "endpoint", "payment_intent", "outcome", "fault", "attempt", "honest", "trigger")


class DeliveryTimeout(AssertionError):
    """A wait ran out; the message shows what did happen."""


def matches(entry: dict, filters: dict) -> bool:
    """Whether a log entry passes every filter (``FILTERS``; None means any)."""
    for key, want in filters.items():
        if want is None:
            continue
        if key == "event":
            have = entry["event_id"]
        elif key == "type":
            have = entry["event_type"]
        elif key == "endpoint":
            if want not in (entry["endpoint_id"], entry.get("url")):
                return False
            continue
        elif key == "fault":
            if want not in entry.get("faults", ()):
                return False
            continue
        elif key == "outcome":
            have = entry["outcome"]
        elif key == "attempt":
            have, want = entry["attempt"], int(want)
        elif key == "honest":
            have, want = entry["honest"], want in (True, "true", "1", 1)
        elif key == "payment_intent":
            have = entry.get("payment_intent")
        elif key == "trigger":
            have = entry.get("trigger")
        else:
            raise ValueError("unknown delivery filter %r (known: %s)" % (key, ", ".join(FILTERS)))
        if have != want:
            return False
    return True


def check_filters(filters: dict) -> None:
    unknown = [k for k in filters if k not in FILTERS]
    if unknown:
        raise ValueError("unknown delivery filter %r (known: %s)" % (unknown[0], ", ".join(FILTERS)))
    outcome = filters.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError("outcome must be one of %s, got %r" % (", ".join(OUTCOMES), outcome))


class DeliveryLog:
    def __init__(self, max_entries: Optional[int] = None):
        self._entries: list[dict] = []
        self._cond = threading.Condition()
        self.max_entries = max_entries
        self._seq = 0

    def append(self, entry: dict) -> dict:
        with self._cond:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)
            if self.max_entries and len(self._entries) > self.max_entries:
                del self._entries[: len(self._entries) - self.max_entries]
            self._cond.notify_all()
        return entry

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._entries.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[dict]:
        with self._cond:
            return list(self._entries)

    def query(self, predicate: Optional[Callable[[dict], bool]] = None, **filters) -> list[dict]:
        """Entries in attempt order matching every filter (``event``, ``type``, ``endpoint``
        (id or URL), ``payment_intent``, ``outcome``, ``fault``, ``attempt``, ``honest``)."""
        check_filters(filters)
        with self._cond:
            items = list(self._entries)
        return [e for e in items if matches(e, filters) and (predicate is None or predicate(e))]

    def wait(self, predicate: Callable[[list], bool], timeout: float, describe: str,
             extra: Optional[Callable[[], str]] = None) -> list:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(self._entries):
                    return list(self._entries)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        raise DeliveryTimeout("timed out after %.1fs waiting for %s\n%s%s" % (
            timeout, describe, self.render(), ("\n" + extra()) if extra else ""))

    def render(self, entries: Optional[Iterable[dict]] = None, limit: int = 60) -> str:
        items = list(self._entries if entries is None else entries)
        if not items:
            return "delivery log: (no attempts)"
        lines = ["delivery log (%d attempts%s):" % (len(items), ", last %d shown" % limit if len(items) > limit else "")]
        for e in items[-limit:]:
            lines.append("  " + format_entry(e))
        return "\n".join(lines)


def format_entry(e: dict) -> str:
    status = e["status"] if e.get("status") is not None else "-"
    faults = ",".join(e.get("faults") or ()) or "-"
    err = (" error=%s" % e["error"]) if e.get("error") else ""
    head = (" body=%r" % e["response_head"][:80]) if e.get("response_head") else ""
    return "#%s %s %s -> %s attempt=%s fault=%s status=%s %s%s%s" % (
        e.get("seq"), e["event_id"], e["event_type"], e["endpoint_id"], e["attempt"], faults,
        status, e["outcome"], err, head)


FilterArg = Union[None, Callable[[dict], bool], dict]
