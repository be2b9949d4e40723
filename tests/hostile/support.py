"""Shared pieces of the hostile-input tests: a seeded simulator with some objects in it,
the error-shape checks, and a fingerprint of backend state to compare around a request."""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings

from simulator.api import create_app
from simulator.core import Simulator

API_KEY = "sk_test_hostile_0123456789abcdef"
AUTH = {"Authorization": "Bearer %s" % API_KEY}

# Hypothesis budgets: enough examples to find parser bugs, few enough to stay in seconds.
# HOSTILE_EXAMPLES=2000 searches further with fresh random examples (a local hunt, not CI).
_HUNT = int(os.environ.get("HOSTILE_EXAMPLES") or 0)
FAST = settings(max_examples=_HUNT or 120, deadline=None, derandomize=not _HUNT,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def populated_sim():
    """A simulator holding one of most things, so ids in fuzzed paths can hit real objects."""
    sim = Simulator(seed=1234, time_scale=0, delivery=False)
    b = sim.backend
    paid = b.create_payment_intent({"amount": "2000", "currency": "usd", "payment_method": "pm_card_visa",
                                    "confirm": "true", "metadata": {"order_id": "o1"}})
    fresh = b.create_payment_intent({"amount": "500", "currency": "eur"})
    b.create_webhook_endpoint({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]})
    b.create_refund({"payment_intent": paid["id"], "amount": "100"})
    # A payment its card disputes, and one waiting for a 3-D Secure challenge: fuzzed dispute
    # updates and closes, and confirms of a requires_action intent, reach real objects.
    disputed = b.create_payment_intent({"amount": "2500", "currency": "usd", "confirm": "true",
                                        "payment_method": "pm_card_createDispute"})
    waiting = b.create_payment_intent({"amount": "900", "currency": "usd", "confirm": "true",
                                       "payment_method": "pm_card_threeDSecure2Required"})
    assert waiting["status"] == "requires_action"
    ids = {"pi": [paid["id"], fresh["id"], disputed["id"], waiting["id"]], "ch": [paid["latest_charge"]],
           "dp": [d["id"] for d in b.disputes.values()],
           "we": list(b.webhook_endpoints), "evt": list(b.events)[:3]}
    assert ids["dp"], "the dispute card opened no dispute"
    return sim, ids


def app_for(sim, **kw):
    app = create_app(sim, **kw)
    app.testing = False  # errors must go through the app's handlers, as in production
    return app


def state_of(sim) -> str:
    """Everything the backend holds, as one comparable string."""
    return json.dumps(sim.backend.snapshot(), sort_keys=True, default=str)


def assert_stripe_error(resp, context=""):
    """A non-2xx answer from /v1 must be Stripe's error object, never a traceback page."""
    assert resp.status_code < 500, "5xx from %s: %s %s" % (context, resp.status_code, resp.get_data()[:500])
    assert resp.content_type.startswith("application/json"), (context, resp.content_type, resp.get_data()[:200])
    body = json.loads(resp.get_data())
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), (context, body)
    err = body["error"]
    assert isinstance(err.get("type"), str) and err["type"], (context, body)
    assert isinstance(err.get("message"), str) and err["message"], (context, body)
    return err


def assert_sim_error(resp, context=""):
    """Control-plane errors: ``{"error": {"message", "status"}}`` with a 4xx status."""
    assert resp.status_code < 500, "5xx from %s: %s %s" % (context, resp.status_code, resp.get_data()[:500])
    body = json.loads(resp.get_data())
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), (context, body)
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], (context, body)
    return body["error"]
