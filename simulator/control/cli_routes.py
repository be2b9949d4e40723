"""Control routes behind the Stripe-CLI-shaped commands and the monitoring figures.

``POST   /_sim/listen``                           open a listen session (``{"forward_to", "events"}``)
``GET    /_sim/listen/secret?forward_to=URL``      the signing secret a session for URL would get
``GET    /_sim/listen/<id>/next?wait=20``          long poll: the next delivery to forward (204: none)
``POST   /_sim/listen/<id>/answers/<delivery>``    what the forward URL answered
``DELETE /_sim/listen/<id>``                       stop: remove the session's webhook endpoint
``POST   /_listen/<id>``                           the relay the delivery engine posts to (signed;
                                                  outside ``/_sim`` because the engine has no token)
``GET    /_sim/requests?after=SEQ&wait=S&last=N``  the API request log (``stripe-sim logs tail``)
``GET    /_sim/endpoints/<id>/stats?window=3600&buckets=12``  success rate, p50/p95/p99, series, alerts

Bad input answers 400 naming the field; unknown ids 404.
"""
from __future__ import annotations

import json
import math

from flask import Blueprint, Response, request

from simulator.control import request_log as RL
from simulator.control.listen import RELAY_PREFIX, ListenError, hub_of
from simulator.control.responses import error_response, json_response
from simulator.delivery import stats as S
from simulator.errors import StripeError

MAX_WAIT = 60.0


def _number(name: str, default: float, low: float, high: float, integer: bool = False):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ListenError("%s must be a %s, got %r" % (name, "whole number" if integer else "number", raw), name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ListenError("%s must be between %s and %s, got %r" % (name, low, high, raw), name)
    return value


def _body() -> dict:
    raw = request.get_data(cache=False)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ListenError("the body must be JSON: %s" % exc, "body") from None
    if not isinstance(body, dict):
        raise ListenError("the body must be a JSON object", "body")
    return body


def _relay_base() -> str:
    """Where the delivery engine (in this process) reaches this server: its own port on loopback."""
    port = request.environ.get("SERVER_PORT") or "80"
    return "http://127.0.0.1:%s" % port


def create_blueprint(sim) -> Blueprint:
    bp = Blueprint("sim_cli", __name__)
    hub = hub_of(sim)

    @bp.errorhandler(ListenError)
    def _bad(exc):
        return error_response(400, str(exc), exc.field)

    @bp.errorhandler(StripeError)
    def _stripe(exc):
        return error_response(400, getattr(exc, "message", str(exc)), getattr(exc, "param", None) or "events")

    # -- listen -------------------------------------------------------------------------
    @bp.post("/listen")
    def open_session():
        body = _body()
        events = body.get("events") or ["*"]
        if isinstance(events, str):
            events = [e.strip() for e in events.split(",") if e.strip()]
        if not isinstance(events, list):
            raise ListenError("events must be a list of event types", "events")
        session = hub.open(body.get("forward_to"), events, body.get("relay_base") or _relay_base())
        return json_response(session.public(), 201)

    @bp.get("/listen/secret")
    def secret():
        from simulator.control.listen import normalise_url

        url = normalise_url(request.args.get("forward_to"))
        return json_response({"forward_to": url, "secret": hub.secret_for(url)})

    @bp.get("/listen/<sid>/next")
    def next_delivery(sid):
        wait = _number("wait", 20.0, 0.0, MAX_WAIT)
        try:
            item = hub.next_item(sid, wait)
        except KeyError:
            return error_response(404, "no listen session %r (stopped, or the simulator restarted)" % sid, "session")
        if item is None:
            return Response(status=204)
        return json_response({"id": item.id, "event_id": item.event_id, "event_type": item.event_type,
                              "body": item.body.decode("utf-8", "replace"), "signature": item.signature})

    @bp.post("/listen/<sid>/answers/<item_id>")
    def answer(sid, item_id):
        body = _body()
        status = body.get("status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise ListenError("status must be an HTTP status code or null", "status")
        try:
            found = hub.answer(sid, item_id, {"status": status, "body": str(body.get("body") or "")[:500],
                                              "error": body.get("error")})
        except KeyError:
            return error_response(404, "no listen session %r" % sid, "session")
        if not found:
            return error_response(404, "no delivery %r waiting for an answer (it timed out)" % item_id, "delivery")
        return json_response({"ok": True})

    @bp.delete("/listen/<sid>")
    def close(sid):
        if not hub.close(sid):
            return error_response(404, "no listen session %r" % sid, "session")
        return json_response({"id": sid, "deleted": True})

    # -- API request log ----------------------------------------------------------------
    @bp.get("/requests")
    def requests_log():
        log = RL.of(sim)
        if log is None:
            return error_response(404, "this simulator keeps no request log")
        last = _number("last", 0, 0, 10_000, integer=True)
        if last:
            data = log.last(int(last))
        else:
            after = _number("after", 0, 0, 2 ** 62, integer=True)
            wait = _number("wait", 0.0, 0.0, MAX_WAIT)
            data = log.wait_after(int(after), wait) if wait else log.after(int(after))
        return json_response({"object": "list", "data": data, "last_seq": log.last_seq})

    # -- monitoring figures -------------------------------------------------------------
    @bp.get("/endpoints/<endpoint_id>/stats")
    def stats(endpoint_id):
        if not S.known_endpoint(sim, endpoint_id):
            return error_response(404, "no such webhook endpoint: %r" % endpoint_id, "endpoint")
        raw_window = request.args.get("window")
        window = None if raw_window == "all" else _number("window", S.WINDOW_SECONDS, 1, 90 * 86400)
        buckets = int(_number("buckets", S.BUCKETS, 1, 120, integer=True))
        return json_response(S.for_endpoint(sim, endpoint_id, window, buckets))

    return bp


def create_relay(sim) -> Blueprint:
    bp = Blueprint("sim_listen_relay", __name__)
    hub = hub_of(sim)

    @bp.post("/<sid>")
    def relay(sid):
        status, text = hub.relay(sid, request.get_data(cache=False), request.headers.get("Stripe-Signature"))
        return Response(text, status=status, content_type="text/plain; charset=utf-8")

    return bp


def register(app, sim) -> None:
    """Mount the routes (the one line ``create_app`` calls)."""
    app.register_blueprint(create_blueprint(sim), url_prefix="/_sim")
    app.register_blueprint(create_relay(sim), url_prefix=RELAY_PREFIX)
