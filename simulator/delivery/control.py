"""Control routes for delivery, registered under ``/_sim`` (see ``DeliveryEngine.blueprint``).

``GET  /_sim/deliveries``               the log, filtered (event, type, endpoint, payment_intent, outcome, ...)
``GET  /_sim/deliveries/status``        queues, schedule, policies
``POST /_sim/deliveries/wait``          block until log entries match (or the engine is idle)
``POST /_sim/events/<id>/resend``       Stripe's events resend, optionally to one endpoint
``POST /_sim/trigger``                  run a flow and deliver it with faults
``GET  /_sim/faults``, ``GET /_sim/flows``  what can be asked for
``GET|PUT|DELETE /_sim/endpoints/<id>/faults``  standing per-endpoint fault policy

Bad input answers 400 with ``error.field`` naming what is wrong.
"""
from __future__ import annotations

import math

from flask import Blueprint, request

from simulator import flows, httpkit
from simulator.httpkit import control_answer as _error
from simulator.httpkit import json_answer as _json
from simulator.delivery import faults as F
from simulator.delivery import triggers
from simulator.delivery.log import FILTERS, DeliveryTimeout


class BadInput(F.InputError):
    """Bad control-plane input (a query argument or body field)."""


def _body() -> dict:
    try:
        return httpkit.json_object(request.get_data(cache=False))
    except httpkit.HttpError as exc:
        raise BadInput(exc.message, "body") from None


def _filters(source) -> dict:
    out = {}
    for key in source:
        if key in ("limit", "count", "timeout", "idle", "filters"):
            continue
        if key not in FILTERS:
            raise BadInput("unknown filter %r (known: %s)" % (key, ", ".join(FILTERS)), key)
        out[key] = source[key]
    if "outcome" in out and out["outcome"] not in ("succeeded", "failed", "abandoned"):
        raise BadInput("outcome must be succeeded, failed or abandoned, got %r" % out["outcome"], "outcome")
    if "attempt" in out:
        try:
            out["attempt"] = int(out["attempt"])
        except (TypeError, ValueError):
            raise BadInput("attempt must be an integer, got %r" % out["attempt"], "attempt") from None
    return out


def _positive(value, name, default, cap=None):
    if value is None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise BadInput("%s must be a number, got %r" % (name, value), name) from None
    # NaN passes both comparisons below, and a wait on it spins forever.
    if not math.isfinite(out) or out < 0 or (cap is not None and out > cap):
        raise BadInput("%s must be between 0 and %s, got %r" % (name, cap, value), name)
    return out


def create_blueprint(engine) -> Blueprint:
    bp = Blueprint("sim_delivery", __name__)

    @bp.errorhandler(F.InputError)  # BadInput, TriggerError and FaultError alike
    def _bad(exc):
        return _error(400, str(exc), exc.field)

    @bp.errorhandler(DeliveryTimeout)
    def _timeout(exc):
        return _error(408, str(exc))

    @bp.get("/deliveries")
    def deliveries():
        args = request.args.to_dict()
        filters = _filters(args)
        limit = int(_positive(args.get("limit"), "limit", 1000, 100_000))
        entries = engine.log.query(**filters)
        return _json({"object": "list", "count": len(entries), "data": entries[-limit:] if limit else []})

    @bp.get("/deliveries/status")
    def status():
        return _json(engine.status())

    @bp.post("/deliveries/wait")
    def wait():
        body = _body()
        timeout = _positive(body.get("timeout"), "timeout", 10.0, 300)
        if body.get("idle"):
            engine.wait_idle(timeout)
            return _json({"idle": True, "status": engine.status()})
        raw_filters = body.get("filters") or {}
        if not isinstance(raw_filters, dict):  # {"filters": 5} iterated an int: a 500
            raise BadInput("filters must be an object such as {\"type\": \"charge.succeeded\"}", "filters")
        filters = _filters(raw_filters)
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BadInput("count must be an integer >= 1, got %r" % (count,), "count")
        entries = engine.wait_for(timeout=timeout, count=count, **filters)
        return _json({"object": "list", "count": len(entries), "data": entries})

    @bp.post("/events/<event_id>/resend")
    def resend(event_id):
        body = _body()
        endpoint = body.get("endpoint")
        if endpoint is not None and not isinstance(endpoint, str):
            raise BadInput("endpoint must be a webhook endpoint id", "endpoint")
        if endpoint is not None and not engine.has_endpoint(endpoint):
            raise BadInput("no such webhook endpoint: %r" % endpoint, "endpoint")
        try:
            targets = engine.resend(event_id, endpoint)
        except KeyError:
            return _error(404, "no such event: %r" % event_id, "event")
        except ValueError as exc:
            raise BadInput(str(exc), "endpoint") from None
        return _json({"event": event_id, "resent_to": targets})

    @bp.post("/trigger")
    def trigger():
        req = triggers.parse_request(_body())
        report = triggers.run(engine, req)
        return _json(report)

    @bp.get("/faults")
    def list_faults():
        return _json({"object": "list", "data": [f.to_dict() for f in F.FAULTS.values()]})

    @bp.get("/flows")
    def list_flows():
        return _json({"object": "list", "data": flows.describe()})

    def _known_endpoint(endpoint_id):
        if not engine.has_endpoint(endpoint_id):
            raise BadInput("no such webhook endpoint: %r" % endpoint_id, "endpoint")

    @bp.get("/endpoints/<endpoint_id>/faults")
    def get_policy(endpoint_id):
        _known_endpoint(endpoint_id)
        return _json(engine.policy(endpoint_id))

    @bp.put("/endpoints/<endpoint_id>/faults")
    @bp.post("/endpoints/<endpoint_id>/faults")
    def set_policy(endpoint_id):
        _known_endpoint(endpoint_id)
        body = _body()
        if "faults" not in body:
            raise BadInput("faults is required: a list such as [\"duplicate:2\", \"shuffle\"]", "faults")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise BadInput("seed must be an integer", "seed")
        return _json(engine.set_policy(endpoint_id, body["faults"], seed=seed))

    @bp.delete("/endpoints/<endpoint_id>/faults")
    def clear_policy(endpoint_id):
        _known_endpoint(endpoint_id)
        engine.clear_policy(endpoint_id)
        return _json(engine.policy(endpoint_id))

    return bp
