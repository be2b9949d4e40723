"""The cardholder's side of 3-D Secure, on the control plane.

``GET  /_sim/payment_intents/<id>/authenticate``  what the challenge is waiting for (the
     ``next_action.redirect_to_url.url`` of an intent confirmed with a ``return_url``)
``POST /_sim/payment_intents/<id>/authenticate``  ``{"outcome": "complete"}`` or ``{"outcome": "fail"}``:
     how the challenge ended; answers the intent as it is afterwards.

Errors: 404 unknown intent, 409 intent not in requires_action, 400 bad body (``error.field``
names what is wrong).
"""
from __future__ import annotations


from flask import Blueprint, request

from simulator.backend.authentication import OUTCOMES
from simulator import httpkit
from simulator.control.responses import error_response as _error, json_response as _json
from simulator.errors import InvalidRequestError, ResourceMissingError, StateError


def _parse(raw: bytes):
    """The outcome from the body, or an error Response naming what is wrong."""
    usage = 'the body must be JSON like {"outcome": "complete"} or {"outcome": "fail"}'
    try:
        body = httpkit.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        return None, _error(400, "%s: %s" % (usage, exc), "body")
    if not isinstance(body, dict):
        return None, _error(400, usage, "body")
    unknown = sorted(set(body) - {"outcome"})
    if unknown:
        return None, _error(400, "unknown field %r (only outcome is accepted)" % unknown[0], unknown[0])
    if "outcome" not in body:
        return None, _error(400, "outcome is required: complete or fail", "outcome")
    if body["outcome"] not in OUTCOMES:
        return None, _error(400, "outcome must be complete or fail, got %s" % httpkit.dumps(body["outcome"]).decode(),
                            "outcome")
    return body["outcome"], None


def register(bp: Blueprint, sim) -> None:
    def backend_action():
        return getattr(sim.backend, "authenticate_payment_intent", None)

    @bp.get("/payment_intents/<pi_id>/authenticate")
    def pending_authentication(pi_id: str):
        if backend_action() is None:
            return _error(404, "this simulator's backend has no 3-D Secure authentication", "payment_intent")
        try:
            pi = sim.backend.retrieve_payment_intent(pi_id, {})
        except ResourceMissingError:
            return _error(404, "no such payment intent: %r" % pi_id, "payment_intent")
        return _json({"payment_intent": pi["id"], "status": pi["status"],
                      "waiting_for_authentication": pi["status"] == "requires_action",
                      "next_action": pi.get("next_action"),
                      "how": 'POST this URL with {"outcome": "complete"} or {"outcome": "fail"}'})

    @bp.post("/payment_intents/<pi_id>/authenticate")
    def authenticate(pi_id: str):
        outcome, error = _parse(request.get_data(cache=False))
        if error is not None:
            return error
        action = backend_action()
        if action is None:
            return _error(404, "this simulator's backend has no 3-D Secure authentication", "payment_intent")
        try:
            pi = action(pi_id, {"outcome": outcome})
        except ResourceMissingError:
            return _error(404, "no such payment intent: %r" % pi_id, "payment_intent")
        except StateError as exc:
            return _error(409, exc.message, "payment_intent")
        except InvalidRequestError as exc:
            return _error(400, exc.message, exc.param)
        return _json({"payment_intent": pi})
