"""The contract's Money rules in the example (docs/CONTRACT.md), webhook by webhook."""
import json

import pytest

from .support import AUTH, charge_refunded, create_order, event, get_order, pi_succeeded, post_event


@pytest.mark.parametrize("tier_id,quantity,tokens,amount", [("tier_starter", 1, 100, 1000), ("tier_growth", 3, 1650, 15000)])
def test_paid_order_gets_its_tokens_and_commission(client, posx_settings, tier_id, quantity, tokens, amount):
    order = create_order(client, tier_id=tier_id, quantity=quantity)
    assert (order["amount"], order["tokens"]) == (amount, tokens)
    assert post_event(client, pi_succeeded(order)).status_code == 200
    view = get_order(client, order["id"])
    assert view["status"] == "paid" and view["paid_at"]
    assert [a["tokens"] for a in view["allocations"]] == [tokens]
    assert [(c["beneficiary"], c["rate_bps"], c["amount"]) for c in view["commissions"]] == [("house:NA", 1000, amount // 10)]


def test_commission_rounds_down_to_the_cent_and_goes_to_the_referrer(client, posx_settings):
    posx_settings.POSX_COMMISSION_RATE_BPS = 333
    order = create_order(client, quantity=3, referrer="ref-42")       # 3000 cents x 3.33 % = 99.9
    post_event(client, pi_succeeded(order))
    assert [(c["beneficiary"], c["rate_bps"], c["amount"]) for c in get_order(client, order["id"])["commissions"]] == [
        ("ref-42", 333, 99)]


@pytest.mark.parametrize("amount,currency,error", [
    (999, "usd", "amount_mismatch: received 999 usd, expected 1000 usd"),
    (1000, "eur", "currency_mismatch: received 1000 eur, expected 1000 usd"),
])
def test_mismatched_payment_does_not_pay_and_stands(client, posx_settings, amount, currency, error):
    order = create_order(client)
    assert post_event(client, pi_succeeded(order, amount=amount, currency=currency)).status_code == 200
    view = get_order(client, order["id"])
    assert (view["status"], view["payment_error"], view["paid_at"]) == ("payment_mismatch", error, None)
    assert view["allocations"] == [] and view["commissions"] == []
    post_event(client, pi_succeeded(order))                             # a later matching event: a person decides
    view = get_order(client, order["id"])
    assert view["status"] == "payment_mismatch" and view["allocations"] == []


def test_refunds_are_cumulative_never_lowered_and_full_means_refunded(client, posx_settings):
    order = create_order(client)
    post_event(client, pi_succeeded(order))
    post_event(client, charge_refunded(order, 300))
    stale = charge_refunded(order, 300)
    post_event(client, charge_refunded(order, 700))
    view = get_order(client, order["id"])
    assert (view["status"], view["amount_refunded"]) == ("paid", 700)
    assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1   # a partial refund keeps them
    post_event(client, stale)                                           # an older, smaller total arriving late
    assert get_order(client, order["id"])["amount_refunded"] == 700
    post_event(client, charge_refunded(order, 1000))
    view = get_order(client, order["id"])
    assert (view["status"], view["amount_refunded"]) == ("refunded", 1000) and view["refunded_at"]


def test_refund_events_add_up_by_refund_id(client, posx_settings):
    order = create_order(client)
    post_event(client, pi_succeeded(order))
    pi = order["stripe_payment_intent_id"]
    for rid, amount in (("re_1", 400), ("re_1", 400), ("re_2", 250)):   # re_1 twice: created then updated
        post_event(client, event("refund.updated", {"id": rid, "object": "refund", "amount": amount,
                                                    "status": "succeeded", "payment_intent": pi, "charge": "ch_x"}))
    view = get_order(client, order["id"])
    assert (view["status"], view["amount_refunded"]) == ("paid", 650)


def test_async_checkout_waits_then_pays_and_a_stale_failure_does_not_unpay(client, posx_settings):
    order = create_order(client)
    session = {"id": "cs_unit_1", "object": "checkout.session", "client_reference_id": order["id"],
               "payment_intent": "pi_checkout_own", "amount_total": 1000, "currency": "usd", "metadata": {}}
    post_event(client, event("checkout.session.completed", dict(session, payment_status="unpaid")))
    assert get_order(client, order["id"])["status"] == "pending"
    post_event(client, event("checkout.session.async_payment_succeeded", dict(session, payment_status="paid")))
    assert get_order(client, order["id"])["status"] == "paid"
    post_event(client, event("checkout.session.async_payment_failed", dict(session, payment_status="unpaid")))
    view = get_order(client, order["id"])
    assert view["status"] == "paid" and len(view["allocations"]) == 1


def test_event_for_an_order_not_created_yet_is_kept_and_applied(client, posx_settings):
    from apps.orders import stripe_api

    real = stripe_api.create_payment_intent
    box = {}

    def intent_then_early_event(order_id, amount, currency, metadata):
        pi = real(order_id, amount, currency, metadata)
        early = {"id": str(order_id), "stripe_payment_intent_id": pi["id"], "amount": amount, "currency": currency}
        box["answer"] = post_event(client, pi_succeeded(early))        # arrives before the order row exists
        return pi

    stripe_api.create_payment_intent = intent_then_early_event
    try:
        order = create_order(client)
    finally:
        stripe_api.create_payment_intent = real
    assert box["answer"].status_code == 200 and box["answer"].json()["result"] == "pending"
    view = get_order(client, order["id"])
    assert view["status"] == "paid" and len(view["allocations"]) == 1


@pytest.mark.parametrize("body,why", [
    (b"[]", "a JSON list"), (b'"x"', "a JSON string"), (b"{not json", "not JSON"), (b'{"id": "evt_1"}', "no type"),
])
def test_signed_but_unusable_body_is_400(client, posx_settings, body, why):
    resp = post_event(client, None, body=body)
    assert resp.status_code == 400, why
    assert resp.json() == {"error": "Invalid payload"}


def test_bad_signature_is_400(client, posx_settings):
    order = create_order(client)
    assert post_event(client, pi_succeeded(order), secret="whsec_someone_else").json() == {"error": "Invalid signature"}
    assert get_order(client, order["id"])["status"] == "pending"


@pytest.mark.parametrize("method,path,body,status", [
    ("post", "/api/v1/orders/", "{oops", 400),
    ("post", "/api/v1/orders/", json.dumps({"tier_id": "tier_nope", "quantity": 1}), 400),
    ("post", "/api/v1/orders/", json.dumps({"tier_id": "tier_starter", "quantity": 0}), 400),
    ("post", "/api/v1/orders/", json.dumps({"tier_id": "tier_starter", "quantity": True}), 400),
    ("get", "/api/v1/orders/not-a-uuid/", None, 404),
    ("get", "/api/v1/orders/0190a0a0-0000-7000-8000-000000000000/", None, 404),
    ("get", "/api/v1/webhooks/stripe/", None, 405),
    ("get", "/nowhere/", None, 404),
])
def test_bad_requests_answer_json_4xx(client, posx_settings, method, path, body, status):
    kwargs = dict(AUTH)
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    resp = getattr(client, method)(path, **kwargs)
    assert resp.status_code == status
    assert "error" in resp.json()


def test_orders_need_the_token(client, posx_settings):
    resp = client.post("/api/v1/orders/", data="{}", content_type="application/json", HTTP_X_SITE_CODE="NA")
    assert resp.status_code == 401


def test_tiers_name_the_commission_rate(client, posx_settings):
    doc = client.get("/api/v1/tiers/").json()
    assert doc["commission_rate_bps"] == 1000
    assert {"id": "tier_starter", "price": 1000, "tokens": 100, "currency": "usd"} in doc["data"]
