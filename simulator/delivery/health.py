"""What the engine remembers per endpoint between attempts: which events it acknowledged
(so ``pending_webhooks`` counts down once per endpoint, however many copies succeed) and
its run of failed honest attempts (what the disable rule judges)."""
from __future__ import annotations

import threading
from dataclasses import dataclass

ACKED_MEMORY = 500_000


@dataclass
class Run:
    """An endpoint's run of failed honest attempts."""
    first_failure_at: float
    failures: int = 0


class EndpointHealth:
    def __init__(self, backend, clock, disable_rule, lock: threading.RLock):
        self.backend, self.clock, self.disable_rule, self._lock = backend, clock, disable_rule, lock
        self.acked: dict = {}  # (event id, endpoint) -> None, insertion-ordered so it can be capped
        self.runs: dict[str, Run] = {}

    def acknowledged(self, event_id: str, endpoint_id: str) -> bool:
        return (event_id, endpoint_id) in self.acked

    def acknowledge(self, event_id: str, endpoint_id: str) -> None:
        with self._lock:
            first = (event_id, endpoint_id) not in self.acked
            self.acked[(event_id, endpoint_id)] = None
            if len(self.acked) > ACKED_MEMORY:
                # Oldest first; forgetting one only risks a count-down that floors at 0.
                del self.acked[next(iter(self.acked))]
        if first:
            try:
                self.backend.acknowledge_webhook(event_id)
            except Exception:
                pass  # the event is gone (backend reset while the attempt was in flight)

    def succeeded(self, endpoint_id: str) -> None:
        self.runs.pop(endpoint_id, None)

    def failed(self, endpoint_id: str) -> None:
        """One more failure; disables the endpoint when the rule says so."""
        now = self.clock.now()
        with self._lock:
            run = self.runs.setdefault(endpoint_id, Run(now))
            run.failures += 1
            disable = self.disable_rule.should_disable(run.first_failure_at, run.failures, now)
            if disable:
                self.runs.pop(endpoint_id, None)
        if disable:
            self.backend.update_webhook_endpoint(endpoint_id, {"disabled": "true"})

    def clear(self) -> None:
        with self._lock:
            self.acked.clear()
            self.runs.clear()

    def restore(self, acked, runs: dict) -> None:
        with self._lock:
            self.acked.update((tuple(p), None) for p in acked)
            self.runs.update({ep: Run(*r) for ep, r in runs.items()})
