"""Ad-hoc delivery targets: endpoints that are not backend resources (a trigger's
``--to URL --secret``, the harness's POSX target), and the check on their secrets.

Kept apart from the engine so the trigger runner and the control plane can check a secret
without importing the engine (which imports them).
"""
from __future__ import annotations

import threading
from typing import Iterable, Optional

from simulator.delivery.transport import split_url

ADHOC_PREFIX = "we_adhoc_"


def check_secrets(secrets: list) -> None:
    if not secrets:
        raise ValueError("a signing secret is needed (whsec_...)")
    for s in secrets:
        if not isinstance(s, str) or not s.startswith("whsec_") or len(s) <= len("whsec_"):
            from simulator.signing import redact_secret

            # Redacted: what lands here by mistake is often a real key (sk_test_...).
            raise ValueError("a signing secret must start with whsec_, got %s"
                             % (redact_secret(s) if isinstance(s, str) else type(s).__name__))


def is_adhoc(endpoint_id: str) -> bool:
    return endpoint_id.startswith(ADHOC_PREFIX)


class AdhocTargets:
    """id -> {"id", "url", "secrets", "enabled_events", "status"}; the same URL and secrets
    give the same id, so a harness re-adding its target between scenarios makes no new one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._targets: dict[str, dict] = {}

    def add(self, url: str, secrets, new_token, enabled_events: Iterable[str] = ("*",)) -> str:
        split_url(url)
        secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        check_secrets(secrets)
        with self._lock:
            for tid, t in self._targets.items():
                if t["url"] == url and t["secrets"] == secrets:
                    return tid
            tid = ADHOC_PREFIX + new_token(16)
            self._targets[tid] = {"id": tid, "url": url, "secrets": secrets,
                                  "enabled_events": list(enabled_events), "status": "enabled"}
            return tid

    def get(self, endpoint_id: str) -> Optional[dict]:
        return self._targets.get(endpoint_id)

    def __contains__(self, endpoint_id: str) -> bool:
        return endpoint_id in self._targets

    def all(self) -> dict[str, dict]:
        """A copy: id -> target (what the dashboard and a state file show)."""
        with self._lock:
            return {tid: dict(t) for tid, t in self._targets.items()}

    def update(self, targets: dict) -> None:
        with self._lock:
            self._targets.update(targets)

    def clear(self) -> None:
        with self._lock:
            self._targets.clear()
