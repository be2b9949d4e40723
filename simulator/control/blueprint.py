"""Control routes for tests and operators; not part of Stripe's API.

``GET /_sim/health``, ``POST /_sim/reset``, ``GET /_sim/state`` (object counts),
``GET /_sim/clock`` and ``POST /_sim/clock`` with a JSON body ``{"advance": seconds}``
and/or ``{"time_scale": x}``, ``POST /_sim/payment_intents/<id>/authenticate`` (3-D Secure,
see ``authentication.py``). Bad input answers 400 with a message naming the field.
"""
from __future__ import annotations

import math

from flask import Blueprint, Response, request

from simulator import __version__
from simulator.control import authentication
from simulator import httpkit
from simulator.control.responses import error_response, json_response as _json


def _bad(message: str, field=None) -> Response:
    return error_response(400, message, field)


def state_counts(sim) -> dict:
    """How many objects of each kind the backend holds (its ``counts()`` when it has one)."""
    backend = sim.backend
    counts = getattr(backend, "counts", None)
    if callable(counts):
        return dict(counts())
    with backend.lock:
        return {name: len(value) for name, value in vars(backend).items()
                if not name.startswith("_") and isinstance(value, dict)}


def clock_state(sim) -> dict:
    return {"now": sim.clock.now(), "time_scale": sim.clock.time_scale}


def _number(body: dict, field: str, minimum: float = 0.0):
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("%s must be a number, got %r" % (field, value))
    if value < minimum:
        raise ValueError("%s must be >= %s, got %r" % (field, minimum, value))
    return float(value)


def create_blueprint(sim) -> Blueprint:
    bp = Blueprint("sim_control", __name__)

    @bp.get("/health")
    def health():
        return _json({"status": "ok", "version": __version__, "api_version": sim.api_version,
                      "seed": sim.seed, "engine": sim.engine is not None})

    @bp.post("/reset")
    def reset():
        sim.reset()
        return _json({"status": "reset", "clock": clock_state(sim)})

    @bp.get("/state")
    def state():
        return _json({"objects": state_counts(sim), "idempotency_keys": len(sim.idempotency),
                      "clock": clock_state(sim)})

    @bp.get("/clock")
    def get_clock():
        return _json(clock_state(sim))

    @bp.post("/clock")
    def set_clock():
        raw = request.get_data(cache=False)
        try:
            body = httpkit.loads(raw or b"{}")
        except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
            return _bad("body must be JSON like {\"advance\": 3600} or {\"time_scale\": 0}: %s" % exc)
        if not isinstance(body, dict):
            return _bad("body must be a JSON object like {\"advance\": 3600}")
        unknown = sorted(set(body) - {"advance", "time_scale"})
        if unknown:
            return _bad("unknown field %r (use advance and/or time_scale)" % unknown[0], unknown[0])
        if not body:
            return _bad("nothing to do: give advance (seconds) and/or time_scale")
        try:
            advance = _number(body, "advance") if "advance" in body else None
            scale = _number(body, "time_scale") if "time_scale" in body else None
        except ValueError as exc:
            return _bad(str(exc), str(exc).split(" ")[0])
        if scale is not None:
            sim.clock.set_time_scale(scale)
        if advance:
            sim.clock.advance(advance)
        return _json(clock_state(sim))

    authentication.register(bp, sim)  # /payment_intents/<id>/authenticate (3-D Secure)
    return bp
