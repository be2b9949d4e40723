"""The Simulator: one fake Stripe account in memory.

It owns the seedable randomness, the simulated clock, the backend (all API state), the
webhook delivery engine and the API's idempotency memory, and resets them together.
The API app (``simulator.api.create_app``) and the server (``simulator.server``) are views
onto one Simulator; several apps may share it.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Optional

from simulator import API_VERSION
from simulator.api.idempotency import IdempotencyStore
from simulator.clock import Clock
from simulator.control.request_log import RequestLog
from simulator.rng import SeededRandom

STATE_FORMAT = 1
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_REQ_SPACE = 62 ** 14


def _request_seed(seed: Optional[int]) -> Optional[int]:
    return None if seed is None else (seed * 1000003 + 17) & (2 ** 63 - 1)


class Simulator:
    def __init__(self, seed: Optional[int] = None, time_scale: float = 1.0, state_file: Optional[str] = None,
                 api_version: str = API_VERSION, *, backend: Any = None, clock: Optional[Clock] = None,
                 delivery: Optional[dict] = None):
        self.seed = seed
        self.api_version = api_version
        self.state_file = state_file
        self.rng = SeededRandom(seed)
        self.clock = clock if clock is not None else Clock(time_scale=time_scale)
        if backend is None:
            from simulator.backend import StripeBackend

            backend = StripeBackend(self.rng, self.clock)
        self.backend = backend
        self.idempotency = IdempotencyStore()
        # What `stripe-sim logs tail` reads: one entry per /v1 request (not simulated state: never saved).
        self.request_log = RequestLog(self.clock)
        # The webhook delivery engine (simulator.delivery.DeliveryEngine) is wired here: it
        # subscribes to the backend's events; create_app registers its control blueprint
        # (``engine.blueprint``) under /_sim/ when it is not None.
        self.engine: Any = None
        if delivery is not False and hasattr(backend, "add_event_listener"):
            from simulator.delivery import DeliveryEngine

            # Its own random stream: delivery faults never shift the ids of API objects.
            self.engine = DeliveryEngine(backend, self.clock, SeededRandom(_request_seed(_request_seed(seed))),
                                         **(delivery or {}))
        # A separate stream for request ids so that GETs do not shift the ids of objects.
        self.request_rng = SeededRandom(_request_seed(seed))
        if state_file and os.path.exists(state_file):
            self.load_state(state_file)

    def new_request_id(self) -> str:
        """``req_`` + 14 base-62 characters from one draw (a draw per character was a tenth of
        the API layer's time per request)."""
        n = self.request_rng.randint(0, _REQ_SPACE - 1)
        chars = []
        for _ in range(14):
            n, r = divmod(n, 62)
            chars.append(_B62[r])
        return "req_" + "".join(chars)

    def reset(self) -> None:
        """Forget every object, event, pending delivery and idempotency key; reseed."""
        engine = self.engine
        if engine is not None and hasattr(engine, "reset"):
            engine.reset()
        self.backend.reset()
        self.idempotency.clear()
        self.rng.reseed(self.seed)
        self.request_rng.reseed(_request_seed(self.seed))

    def close(self) -> None:
        """Stop background work (webhook delivery threads)."""
        engine = self.engine
        if engine is not None and hasattr(engine, "stop"):
            engine.stop()

    # -- persistence -------------------------------------------------------------------
    # One place that decides what a state file holds; the delivery engine's pending
    # retries ride along under "engine" when the engine can snapshot itself.

    def snapshot(self) -> dict:
        state: dict[str, Any] = {"format": STATE_FORMAT, "api_version": self.api_version,
                                 "clock_now": self.clock.now(), "backend": self.backend.snapshot()}
        engine = self.engine
        if engine is not None and hasattr(engine, "snapshot"):
            state["engine"] = engine.snapshot()
        return state

    def restore(self, state: dict) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ValueError("state format %r is not supported (expected %d)" % (state.get("format"), STATE_FORMAT))
        self.backend.restore(state["backend"])
        if hasattr(self.backend, "after_restart"):
            # The same seed would mint the restored objects' ids again (they were overwritten).
            self.backend.after_restart(len(state["backend"].get("events", ())) + 1)
        # Simulated time never runs backwards across a restart: events keep their order.
        behind = state.get("clock_now", 0) - self.clock.now()
        if behind > 0:
            self.clock.advance(behind)
        engine = self.engine
        if engine is not None and "engine" in state and hasattr(engine, "restore"):
            engine.restore(state["engine"])

    def save_state(self, path: Optional[str] = None) -> str:
        """Write the snapshot atomically (a crash mid-write leaves the previous file intact)."""
        path = path or self.state_file
        if not path:
            raise ValueError("no state file given")
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".stripe-sim-", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.snapshot(), f)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    def load_state(self, path: Optional[str] = None) -> None:
        """Load a state file: a whole-state JSON (``save_state``) or a journaled one
        (``stripe-sim serve --state-file``, ``simulator.persistence.DurableStore``)."""
        path = path or self.state_file
        from simulator.persistence import is_journaled, load_into

        if is_journaled(path):
            load_into(self, path)
            return
        with open(path, encoding="utf-8") as f:
            try:
                state = json.load(f)
            except ValueError as exc:
                raise ValueError("state file %s is not valid JSON: %s" % (path, exc)) from None
        self.restore(state)
