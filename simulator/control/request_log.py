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
    def __init__(self, clock=None, max_entries: int = MAX_ENTRIES):
        self._clock = clock
        self._entries: deque = deque(maxlen=max_entries)
        self._cond = threading.Condition()
        self._seq = 0

    def record_wsgi(self, environ: dict, path: str, status: int, headers: list) -> None:
        """What ``ApiApp`` calls once per answered request (cheap: no parsing of bodies)."""
        head = dict(headers)
        self.record(method=environ.get("REQUEST_METHOD", "GET"), path=path, status=status,
                    request_id=head.get("Request-Id"), idempotency_key=head.get("Idempotency-Key"),
                    replayed=head.get("Idempotent-Replayed") == "true", ip=environ.get("REMOTE_ADDR"))

    def record(self, **fields) -> dict:
        with self._cond:
            self._seq += 1
            entry = {"seq": self._seq, "time": time.time(),
                     "sim_time": self._clock.now() if self._clock is not None else None, **fields}
            self._entries.append(entry)
            self._cond.notify_all()
        return entry

    @property
    def last_seq(self) -> int:
        return self._seq

    def after(self, seq: int, limit: int = 1000) -> list[dict]:
        with self._cond:
            return [e for e in self._entries if e["seq"] > seq][:limit]

    def wait_after(self, seq: int, timeout: float, limit: int = 1000) -> list[dict]:
        """Entries newer than ``seq``; waits up to ``timeout`` seconds for the first one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq <= seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
        return self.after(seq, limit)

    def last(self, n: int) -> list[dict]:
        with self._cond:
            return list(self._entries)[-n:] if n > 0 else []


def of(sim) -> Optional[RequestLog]:
    return getattr(sim, "request_log", None)
