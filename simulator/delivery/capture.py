"""``engine.capture()``: collect the events a flow records instead of delivering them."""
from __future__ import annotations

import contextlib
import threading
from typing import Optional


class Captures:
    def __init__(self):
        self._lock = threading.Lock()
        self._local = threading.local()
        self._open: dict = {}  # open capture() blocks: token -> their record list

    def __bool__(self) -> bool:
        return bool(self._open)

    @contextlib.contextmanager
    def capture(self):
        previous = getattr(self._local, "records", None)
        records: list = []
        token = object()
        self._local.records = records
        with self._lock:
            self._open[token] = records
        try:
            yield records
        finally:
            with self._lock:
                del self._open[token]
            self._local.records = previous

    def claim(self, record) -> Optional[list]:
        """Which capture an event belongs to, if any.

        The backend dispatches events in whichever thread drains its queue, so the thread is
        only a hint: an event recorded through the HTTP API (it has a request id) is never a
        flow's, and one made by a flow's direct backend call may be handed over by another
        thread while that flow's capture is open.
        """
        request = getattr(record, "request", None)
        if request is None:
            request = record.event.get("request")
        if (request or {}).get("id") is not None:
            return None
        own = getattr(self._local, "records", None)
        if own is not None:
            return own
        with self._lock:
            open_captures = list(self._open.values())
        if len(open_captures) == 1:
            return open_captures[0]
        pi = getattr(record, "payment_intent", None)
        if pi is not None:
            for c in open_captures:
                if any(getattr(r, "payment_intent", None) == pi for r in c):
                    return c
        return None
