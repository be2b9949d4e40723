"""The webhook parses through orjson; what orjson refuses must be answered as the stdlib would."""
from __future__ import annotations

import json

from simulator.signing import generate_header

from .support import SECRET, event, payment_intent


def _post(client, body: bytes):
    return client.request("POST", "/api/v1/webhooks/stripe/", body, {"Stripe-Signature": generate_header(body, SECRET)})


def test_an_integer_beyond_64_bits_still_pays_the_order(make_client):
    client = make_client()
    order = client.create_order()
    evt = event("payment_intent.succeeded", payment_intent(order, huge_counter=2 ** 70))
    status, body = client.deliver(evt)  # orjson reads it as a float; nothing the receiver uses
    assert (status, body["result"]) == (200, "processed")
    assert client.get_order(order["id"])["status"] == "paid"


def test_a_utf16_body_is_read_like_the_stdlib_reads_it(make_client):
    client = make_client()
    order = client.create_order()
    body = json.dumps(event("payment_intent.succeeded", payment_intent(order))).encode("utf-16")
    status, answer = _post(client, body)
    assert (status, answer["result"]) == (200, "processed")


def test_broken_json_is_still_a_400_naming_the_payload(make_client):
    status, answer = _post(make_client(), b'{"id": "evt_1", "type": ')
    assert (status, answer) == (400, {"error": "Invalid payload"})


def test_nan_that_orjson_refuses_is_read_by_the_stdlib(make_client):
    client = make_client()
    order = client.create_order()
    body = json.dumps(event("payment_intent.succeeded", payment_intent(order, score=float("nan")))).encode()
    status, answer = _post(client, body)
    assert (status, answer["result"]) == (200, "processed")
