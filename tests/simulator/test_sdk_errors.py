"""Every error shape the API answers, as the official SDK (and a raw client) sees it; and every route."""
import re

import pytest
import requests
import stripe

from simulator.api.routes import ROUTES
from tests.simulator.conftest import API_KEY

AUTH = {"Authorization": "Bearer " + API_KEY}


def test_401_missing_and_non_test_keys(server):
    no_key = requests.get(server.url + "/v1/payment_intents", timeout=5)
    assert no_key.status_code == 401
    assert no_key.json()["error"]["message"].startswith("You did not provide an API key.")
    live = stripe.StripeClient("sk_live_51Hxxxxxxxxxxxxxxxxxx1234", base_addresses={"api": server.url},
                               max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as info:
        live.v1.payment_intents.list()
    assert info.value.http_status == 401 and "live-mode" in info.value.user_message
    assert "sk_live_****" in info.value.user_message and "1234" in info.value.user_message


def test_404_unknown_id_names_param_id(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    e = info.value
    assert (e.http_status, e.code, e.param) == (404, "resource_missing", "id")
    assert "pi_doesnotexist" in e.user_message


def test_404_unknown_url(client, server):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.raw_request("get", "/v1/customers_typo")
    assert info.value.http_status == 404
    assert info.value.user_message.startswith("Unrecognized request URL (GET: /v1/customers_typo).")
    wrong_method = requests.delete(server.url + "/v1/payment_intents", headers=AUTH, timeout=5)
    assert wrong_method.status_code == 404
    assert wrong_method.json()["error"]["message"].startswith("Unrecognized request URL (DELETE: /v1/payment_intents)")


@pytest.mark.parametrize("params, param", [
    ({"amount": 1000, "currency": "usd", "colour": "red"}, "colour"),
    ({"amount": "ten", "currency": "usd"}, "amount"),
    ({"currency": "usd"}, "amount"),
    ({"amount": 1000}, "currency"),
    ({"amount": 1000, "currency": "usd", "metadata": {"k": {"nested": "x"}}}, "metadata[k]"),
    ({"amount": 1000, "currency": "usd", "capture_method": "later"}, "capture_method"),
])
def test_400_names_the_param(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params=params)
    assert info.value.http_status == 400 and info.value.param == param
    assert info.value.error.type == "invalid_request_error"


def test_402_card_error_shape(client):
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "confirm": True,
                                                 "payment_method": "pm_card_chargeDeclined"})
    err = info.value.error
    assert info.value.http_status == 402
    assert (err.type, err.code, err.decline_code) == ("card_error", "card_declined", "generic_decline")
    assert err.charge.startswith("ch_") and err.payment_intent["status"] == "requires_payment_method"


def test_idempotent_replay_and_mismatch_through_the_sdk(client, sim):
    opts = {"idempotency_key": "checkout-6735"}
    first = client.v1.payment_intents.create(params={"amount": 900, "currency": "usd"}, options=opts)
    again = client.v1.payment_intents.create(params={"amount": 900, "currency": "usd"}, options=opts)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert sim.backend.counts()["payment_intents"] == 1
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.payment_intents.create(params={"amount": 901, "currency": "usd"}, options=opts)
    assert info.value.http_status == 400
    assert "can only be used with the same parameters" in info.value.user_message


def test_replayed_card_error_is_the_same_402(client, sim):
    opts = {"idempotency_key": "declined-once"}
    params = {"amount": 1000, "currency": "usd", "confirm": True, "payment_method": "pm_card_chargeDeclined"}
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options=opts)
    with pytest.raises(stripe.CardError) as second:
        client.v1.payment_intents.create(params=params, options=opts)
    assert first.value.error.payment_intent["id"] == second.value.error.payment_intent["id"]
    assert sim.backend.counts()["payment_intents"] == 1


def test_every_route_answers(client, server, sim):
    """Walk the whole route table with valid requests: none may 404 as unrecognised, none may 500."""
    s = requests.Session()
    s.headers.update(AUTH)
    url = server.url
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {
        "number": "4000000000000259", "exp_month": 1, "exp_year": 2033}})
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "payment_method": pm.id})
    manual = client.v1.payment_intents.create(params={"amount": 800, "currency": "usd", "capture_method": "manual",
                                                      "payment_method": "pm_card_visa", "confirm": True})
    to_cancel = client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    line = [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "x"}}}]
    cs = client.v1.checkout.sessions.create(params={"mode": "payment", "success_url": "https://x.example/ok",
                                                    "line_items": line})
    cs2 = client.v1.checkout.sessions.create(params={"mode": "payment", "success_url": "https://x.example/ok",
                                                     "line_items": line})
    we = client.v1.webhook_endpoints.create(params={"url": "https://x.example/hook", "enabled_events": ["*"]})
    ids = {}

    def call(method, path, data=None):
        r = s.request(method, url + path, data=data, timeout=5)
        assert r.status_code == 200, (method, path, r.text)
        return r.json()

    visited = set()
    plan = [
        ("POST", "/v1/payment_intents", None, {"amount": 100, "currency": "usd"}),
        ("GET", "/v1/payment_intents", None, None),
        ("GET", "/v1/payment_intents/{id}", pi.id, None),
        ("POST", "/v1/payment_intents/{id}", pi.id, {"description": "tour"}),
        ("POST", "/v1/payment_intents/{id}/confirm", pi.id, None),
        ("POST", "/v1/payment_intents/{id}/capture", manual.id, None),
        ("POST", "/v1/payment_intents/{id}/cancel", to_cancel.id, None),
        ("GET", "/v1/charges", None, {"payment_intent": pi.id}),
        ("GET", "/v1/charges/{id}", "charge", None),
        ("POST", "/v1/refunds", None, {"payment_intent": manual.id, "amount": 100}),
        ("GET", "/v1/refunds", None, None),
        ("GET", "/v1/refunds/{id}", "refund", None),
        ("GET", "/v1/disputes", None, None),
        ("GET", "/v1/disputes/{id}", "dispute", None),
        ("POST", "/v1/disputes/{id}", "dispute", {"metadata[case]": "tour"}),
        ("POST", "/v1/disputes/{id}/close", "dispute", None),
        ("POST", "/v1/payment_methods", None, {"type": "card", "card[number]": "4242424242424242",
                                               "card[exp_month]": "1", "card[exp_year]": "2033"}),
        ("GET", "/v1/payment_methods/{id}", pm.id, None),
        ("GET", "/v1/balance_transactions/{id}", "txn", None),
        ("POST", "/v1/checkout/sessions", None, {"mode": "payment", "success_url": "https://x.example/ok",
                                                 "line_items[0][price_data][currency]": "usd",
                                                 "line_items[0][price_data][unit_amount]": "500",
                                                 "line_items[0][price_data][product_data][name]": "y",
                                                 "line_items[0][quantity]": "1"}),
        ("GET", "/v1/checkout/sessions", None, None),
        ("GET", "/v1/checkout/sessions/{id}", cs.id, None),
        ("GET", "/v1/checkout/sessions/{id}/line_items", cs.id, None),
        ("POST", "/v1/checkout/sessions/{id}/expire", cs2.id, None),
        ("POST", "/v1/test_helpers/checkout/sessions/{id}/complete", cs.id, None),
        ("GET", "/v1/account", None, None),
        ("GET", "/v1/events", None, None),
        ("GET", "/v1/events/{id}", "event", None),
        ("POST", "/v1/webhook_endpoints", None, {"url": "https://x.example/h2", "enabled_events[]": "*"}),
        ("GET", "/v1/webhook_endpoints", None, None),
        ("GET", "/v1/webhook_endpoints/{id}", we.id, None),
        ("POST", "/v1/webhook_endpoints/{id}", we.id, {"description": "tour"}),
        ("DELETE", "/v1/webhook_endpoints/{id}", we.id, None),
    ]
    for method, path, obj_id, data in plan:
        if obj_id == "charge":
            obj_id = ids["charge"]
        elif obj_id in ("refund", "dispute", "txn", "event"):
            obj_id = ids[obj_id]
        if method == "GET" and data:
            got = call(method, path.replace("{id}", obj_id or "") + "?" + "&".join("%s=%s" % kv for kv in data.items()))
        else:
            got = call(method, path.replace("{id}", obj_id or ""), data)
        visited.add((method, path))
        if path == "/v1/payment_intents/{id}/confirm":
            ids["charge"] = got["latest_charge"]
        elif path == "/v1/charges/{id}":
            ids["txn"] = got["balance_transaction"]
        elif (method, path) == ("POST", "/v1/refunds"):
            ids["refund"] = got["id"]
        elif path == "/v1/disputes":
            ids["dispute"] = got["data"][0]["id"]
        elif (method, path) == ("GET", "/v1/events"):
            ids["event"] = got["data"][0]["id"]
    # every route with a hand-written life cycle (the generic store's are toured elsewhere)
    from simulator.backend import StripeBackend
    handwritten = {(m, re.sub(r"\{\w+\}", "{id}", p)) for m, p, action in ROUTES if hasattr(StripeBackend, action)
                   and getattr(StripeBackend, action).__module__ != "simulator.backend.setup_intents"}
    assert visited == handwritten - {("GET", "/v1/accounts/{id}")}
