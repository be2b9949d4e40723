"""The API request log behind ``stripe-sim logs tail`` (the Stripe CLI's ``logs tail``).

One entry per ``/v1`` request: method, path, status, request id, idempotency key (and
whether it was a replay). Bounded; readers wait on a condition for newer entries, so
tailing is a long poll, never a sleep loop. The API records through one call
(``RequestLog.record_wsgi``) made by ``ApiApp`` after it has answered.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Optional

MAX_ENTRIES = 10_000


class RequestLog:
    # One tuple per request, in this field order; dicts are made only when someone reads.
    FIELDS = ("seq", "time", "method", "path", "status", "request_id", "idempotency_key", "replayed", "ip")

    def __init__(self, clock=None, max_entries: int = MAX_ENTRIES):
        self._clock = clock  # kept for callers that pass it; entries carry wall-clock time like Stripe's logs
        self._entries: deque = deque(maxlen=max_entries)
        self._cond = threading.Condition(threading.Lock())
        self._waiting = 0
        self._seq = 0

    def record_wsgi(self, environ: dict, path: str, status: int, headers: list) -> None:
        """What ``ApiApp`` calls once per answered request: on the hot path, so a tuple and
        no notify unless a tail is waiting (measured: tests/bench/bench_request_log.py)."""
        rid = idem = None
        replayed = False
        for name, value in headers:
            if name == "Request-Id":
                rid = value
            elif name == "Idempotency-Key":
                idem = value
            elif name == "Idempotent-Replayed":
                replayed = True
        self._append(environ.get("REQUEST_METHOD", "GET"), path, status, rid, idem, replayed, environ.get("REMOTE_ADDR"))

    def record(self, method: str, path: str, status: int, request_id=None, idempotency_key=None,
               replayed: bool = False, ip=None) -> dict:
        return dict(zip(self.FIELDS, self._append(method, path, status, request_id, idempotency_key, replayed, ip)))

    def _append(self, *fields) -> tuple:
        with self._cond:
            self._seq += 1
            row = (self._seq, time.time()) + fields
            self._entries.append(row)
            if self._waiting:
                self._cond.notify_all()
        return row

    @property
    def last_seq(self) -> int:
        return self._seq

    def _dicts(self, rows) -> list[dict]:
        return [dict(zip(self.FIELDS, r)) for r in rows]

    def after(self, seq: int, limit: int = 1000) -> list[dict]:
        with self._cond:
            rows = [r for r in self._entries if r[0] > seq][:limit]
        return self._dicts(rows)

    def wait_after(self, seq: int, timeout: float, limit: int = 1000) -> list[dict]:
        """Entries newer than ``seq``; waits up to ``timeout`` seconds for the first one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            try:
                while self._seq <= seq:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    self._cond.wait(remaining)
            finally:
                self._waiting -= 1
        return self.after(seq, limit)

    def last(self, n: int) -> list[dict]:
        with self._cond:
            rows = list(self._entries)[-n:] if n > 0 else []
        return self._dicts(rows)


def of(sim) -> Optional[RequestLog]:
    return getattr(sim, "request_log", None)
