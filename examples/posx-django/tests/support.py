"""Helpers for the example's own tests: orders through the API, signed events through the webhook."""
import itertools
import json

from simulator.signing import generate_header

SECRET = "whsec_posx_django_unit_tests"
AUTH = {"HTTP_AUTHORIZATION": "Bearer posx-test-token", "HTTP_X_SITE_CODE": "NA"}
_ids = itertools.count(1)


def create_order(client, tier_id="tier_starter", quantity=1, **extra) -> dict:
    resp = client.post("/api/v1/orders/", data=json.dumps(dict(tier_id=tier_id, quantity=quantity, **extra)),
                       content_type="application/json", **AUTH)
    assert resp.status_code == 201, resp.content
    return resp.json()


def get_order(client, order_id) -> dict:
    resp = client.get("/api/v1/orders/%s/" % order_id, **AUTH)
    assert resp.status_code == 200, resp.content
    return resp.json()


def event(type_, obj, event_id=None) -> dict:
    return {"id": event_id or "evt_unit_%d" % next(_ids), "object": "event", "type": type_,
            "api_version": "2025-08-27.basil", "data": {"object": obj}}


def post_event(client, evt, secret=SECRET, body=None):
    payload = body if body is not None else json.dumps(evt).encode()
    return client.post("/api/v1/webhooks/stripe/", data=payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=generate_header(payload, [secret]))


def pi_succeeded(order, amount=None, currency=None, **kw):
    return event("payment_intent.succeeded", {
        "id": order["stripe_payment_intent_id"], "object": "payment_intent",
        "amount": order["amount"], "amount_received": order["amount"] if amount is None else amount,
        "currency": currency or order["currency"], "metadata": {"order_id": order["id"]}}, **kw)


def charge_refunded(order, amount_refunded, charge="ch_unit_1", **kw):
    return event("charge.refunded", {
        "id": charge, "object": "charge", "payment_intent": order["stripe_payment_intent_id"],
        "amount": order["amount"], "amount_captured": order["amount"], "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= order["amount"], "currency": order["currency"],
        "metadata": {"order_id": order["id"]}}, **kw)
