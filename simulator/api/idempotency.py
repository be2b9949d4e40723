"""``Idempotency-Key`` on POST requests: replay the first answer, refuse a reuse with other params.

Scoped per API key, bounded (least recently used keys are forgotten first; Stripe forgets
keys after 24 hours, a long-running simulator forgets the oldest ones instead).

What is stored follows Stripe's rule that a result is saved only once an endpoint began
executing: successes, card declines (402), state errors and server errors are stored and
replayed; requests refused before running (bad or unknown parameters, missing objects, bad
auth) are not, so a client that fixes its parameters may retry with the same key.

A second request with a key whose first request is still running gets 409
(``idempotency_key_in_use``), which the official SDKs retry.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from simulator.errors import IdempotencyError, InvalidRequestError

MAX_KEY_LENGTH = 255
DEFAULT_MAX_KEYS = 20000


class IdempotencyConflict(IdempotencyError):
    http_status = 409


@dataclass
class StoredResponse:
    status: int
    body: bytes
    request_id: str = ""  # the first request's id: Stripe's ``Original-Request`` header on replays


class _Entry:
    __slots__ = ("fingerprint", "response")

    def __init__(self, fingerprint: bytes):
        self.fingerprint = fingerprint
        self.response: Optional[StoredResponse] = None  # None while the first request runs


class IdempotencyStore:
    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS):
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._entries: "OrderedDict[tuple[str, str], _Entry]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def begin(self, api_key: str, key: str, fingerprint: bytes) -> Optional[StoredResponse]:
        """The stored answer to replay, or None: the caller runs the request, then ``finish`` or ``abandon``."""
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidRequestError("Idempotency-Key is %d characters long; the maximum is %d."
                                      % (len(key), MAX_KEY_LENGTH), param="Idempotency-Key")
        slot = (api_key, key)
        with self._lock:
            entry = self._entries.get(slot)
            if entry is None:
                self._entries[slot] = _Entry(fingerprint)
                while len(self._entries) > self.max_keys:
                    self._entries.popitem(last=False)
                return None
            self._entries.move_to_end(slot)
        if entry.fingerprint != fingerprint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they were first "
                "used with. Try using a key other than '%s' if you meant to execute a different request." % key)
        if entry.response is None:
            raise IdempotencyConflict(
                "There is currently another in-progress request using this Idempotent Key (probably because "
                "of a timeout). Please try again later.", code="idempotency_key_in_use")
        return entry.response

    def finish(self, api_key: str, key: str, response: StoredResponse) -> None:
        with self._lock:
            entry = self._entries.get((api_key, key))
        if entry is not None:
            entry.response = response

    def abandon(self, api_key: str, key: str) -> None:
        """Forget a key whose request was refused before running, so it can be used again."""
        with self._lock:
            entry = self._entries.get((api_key, key))
            if entry is not None and entry.response is None:
                del self._entries[(api_key, key)]
