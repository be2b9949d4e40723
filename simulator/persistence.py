"""Keeping a simulator's state file current while it runs.

``Simulator.save_state`` writes the whole snapshot atomically (backend objects and events,
webhook endpoints, and the delivery engine's pending retries, policy windows and recent
log); ``stripe-sim serve`` calls it at a clean stop. ``AutoSaver`` also writes it while the
server runs, whenever something changed, so a crash (SIGKILL, OOM, power) loses at most
``interval`` seconds instead of everything since start.
"""
from __future__ import annotations

import logging
import threading
from typing import Optional

log = logging.getLogger(__name__)


def change_marker(sim) -> tuple:
    """Cheap to compute, and different whenever a snapshot would differ in what matters:
    new objects or events, new delivery attempts, pending work coming or going."""
    backend = sim.backend
    counts = getattr(backend, "counts", None)
    objects = tuple(sorted(counts().items())) if callable(counts) else ()
    events = len(getattr(backend, "events", ()) or ())
    engine = getattr(sim, "engine", None)
    # pending_webhooks only moves with a delivery attempt, which the log length shows.
    attempts = len(engine.log) if engine is not None else 0
    pending = engine.pending if engine is not None else 0
    return objects, events, attempts, pending


class AutoSaver:
    """Save ``sim`` to ``path`` every ``interval`` real seconds when it changed."""

    def __init__(self, sim, path: Optional[str] = None, interval: float = 1.0):
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds, got %r" % interval)
        self.sim = sim
        self.path = path or sim.state_file
        if not self.path:
            raise ValueError("no state file given")
        self.interval = interval
        self.saves = 0
        self.last_error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._save_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._marker = None

    def save_if_changed(self) -> bool:
        with self._save_lock:
            return self._save_if_changed()

    def _save_if_changed(self) -> bool:
        marker = change_marker(self.sim)
        if marker == self._marker:
            return False
        try:
            self.sim.save_state(self.path)
        except (OSError, ValueError, TypeError) as exc:
            # Keep serving; the next tick tries again and stop() reports it.
            self.last_error = exc
            log.warning("could not save state to %s: %s", self.path, exc)
            return False
        self._marker = marker
        self.saves += 1
        self.last_error = None
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.save_if_changed()

    def start(self) -> "AutoSaver":
        if self._thread is None:
            self._marker = change_marker(self.sim)  # what is on disk already (just loaded, or nothing yet)
            self._thread = threading.Thread(target=self._run, name="stripe-sim-autosave", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Checkpointer(AutoSaver):
    """AutoSaver that also saves after every mutating request, before its answer goes out:
    a client that got a 200 can rely on it surviving a kill -9. Deliveries (retries being
    scheduled, acknowledgements) happen off-request and are caught by the interval.

    Each save writes the whole snapshot, so this suits test and CI volumes, not a load test
    against a state file.
    """

    MUTATING = ("POST", "PUT", "PATCH", "DELETE")

    def attach(self, app) -> "Checkpointer":
        # Wraps the WSGI callable, not Flask's after_request: /v1 is answered by a WSGI
        # middleware in front of Flask (simulator.api.app) that Flask hooks never see.
        inner = app.wsgi_app

        def checkpointed(environ, start_response):
            result = inner(environ, start_response)
            if environ.get("REQUEST_METHOD") in self.MUTATING:
                self.save_if_changed()
            return result

        app.wsgi_app = checkpointed
        return self.start()
