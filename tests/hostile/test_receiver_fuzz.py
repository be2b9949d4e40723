"""Property-based fuzzing of the reference POSX receiver (the contract of issue 4).

The webhook: whatever the body and the ``Stripe-Signature`` header, anything not signed
with the secret is 400 ``{"error": "Invalid signature"}`` and writes nothing; a correctly
signed body that is not an event is 400 ``Invalid payload``; nothing is ever a 5xx.
The order API: any token, site code or body is 201 or a 4xx ``{"error": "..."}``, and a
refused request writes nothing. Sizes over the documented 1 MiB limit are a 413.
"""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

from harness.receiver.app import MAX_BODY, WEBHOOK_PATH, ReceiverApp
from harness.receiver.asgi import ReceiverASGI
from harness.receiver.config import ReceiverConfig
from simulator.signing import compute_signature, generate_header
from tests.hostile.support import FAST
from tests.receiver.support import AsgiClient

SECRET = "whsec_hostile_receiver_0123456789abcdef"
TOKEN = "posx-test-token"
TABLES = ("orders", "webhook_events", "pending_events", "outbox", "allocations", "commissions", "disputes",
          "notifications")

HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=120)
HEX = st.text("0123456789abcdef", min_size=0, max_size=70)


def db_fingerprint(app) -> list:
    return [(t, sorted(map(repr, app.db.read("SELECT * FROM %s" % t)))) for t in TABLES]


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def receiver(request, tmp_path_factory):
    """The WSGI app, and the ASGI front the gunicorn receiver serves by default (whose
    webhook path is its own code: inline, batched per loop iteration)."""
    path = tmp_path_factory.mktemp("hostile-receiver") / "posx.sqlite3"
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % path,
                            crash_mode="raise", outbox_threads=0)
    app = ReceiverApp(config, start_worker=False)
    if request.param == "asgi":
        front = ReceiverASGI(app, threads=2)
        assert front.webhook.groupable  # the fuzzing must reach the inline path
        client = AsgiClient(front)
    else:
        client = Client(app)
    # One real order with its intent, so fuzzed events can name ids that exist.
    resp = client.post("/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                       headers={"Authorization": "Bearer " + TOKEN, "X-Site-Code": "NA"})
    assert resp.status_code == 201, resp.get_data()
    app.order = resp.get_json()
    yield app, client
    app.close()


def _event_body(order, etype, extra=None):
    obj = {"id": order["stripe_payment_intent_id"], "object": "payment_intent", "amount": order["amount"],
           "currency": "usd", "metadata": {"order_id": order["id"]}, "status": "succeeded"}
    event = {"id": "evt_fuzz_%d" % time.monotonic_ns(), "object": "event", "type": etype,
             "api_version": "2025-08-27.basil", "created": int(time.time()), "data": {"object": obj},
             "livemode": False, "pending_webhooks": 1}
    event.update(extra or {})
    return json.dumps(event).encode()


@st.composite
def forged_headers(draw, body):
    """Every way a header can fail to prove the body came from Stripe with our secret."""
    t = int(time.time())
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return None
    if kind == 1:
        return draw(HEADER_TEXT)
    if kind == 2:
        return "t=%d,v1=%s" % (t, draw(HEX))
    if kind == 3:  # the right secret, but too old for the 300 s tolerance
        return generate_header(body, SECRET, timestamp=t - draw(st.integers(301, 10 ** 9)))
    if kind == 4:
        return generate_header(body, "whsec_" + draw(st.text("abcdef0123", min_size=1, max_size=40)), timestamp=t)
    if kind == 5:  # only the test-mode scheme, which proves nothing
        return "t=%d,v0=%s" % (t, compute_signature(SECRET, t, body))
    if kind == 6:  # signed over other bytes
        return generate_header(body + draw(st.binary(min_size=1, max_size=8)), SECRET, timestamp=t)
    if kind == 7:  # a valid signature for another timestamp than the one stated
        return "t=%d,v1=%s" % (t + draw(st.integers(1, 1000)), compute_signature(SECRET, t, body))
    if kind == 8:
        return "t=%s,v1=%s" % (draw(st.sampled_from(["", "abc", "1e9", "-1", "99999999999999999999999"])),
                               compute_signature(SECRET, t, body))
    return ",".join(draw(st.lists(HEADER_TEXT, max_size=5)))


BODIES = st.one_of(st.binary(max_size=400), st.text(max_size=200).map(str.encode),
                   st.sampled_from(["payment_intent.succeeded", "charge.refunded", "charge.dispute.created",
                                    "payment_intent.payment_failed"]).map(lambda t: ("event", t)))


def _materialise(app, body):
    if isinstance(body, tuple):
        return _event_body(app.order, body[1])
    return body


def test_unsigned_webhooks_are_400_and_write_nothing(receiver):
    app, client = receiver

    @FAST
    @given(data=st.data(), body=BODIES, ctype=st.sampled_from(["application/json", "text/plain", ""]))
    def check(data, body, ctype):
        body = _materialise(app, body)
        header = data.draw(forged_headers(body))
        before = db_fingerprint(app)
        headers = {"Content-Type": ctype} if ctype else {}
        if header is not None:
            headers["Stripe-Signature"] = header
        resp = client.post(WEBHOOK_PATH, data=body, headers=headers)
        assert resp.status_code == 400, (header, body[:100], resp.status_code, resp.get_data())
        assert resp.get_json() == {"error": "Invalid signature"}, resp.get_data()
        assert db_fingerprint(app) == before, "a forged webhook wrote to the database: %r" % header

    check()


def test_signed_garbage_is_invalid_payload_never_5xx(receiver):
    app, client = receiver
    json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
                               lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                               max_leaves=10)
    envelopes = st.fixed_dictionaries({}, optional={
        "id": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "type": st.one_of(st.sampled_from(["payment_intent.succeeded", "charge.refunded", "charge.dispute.created",
                                           "checkout.session.completed", "charge.failed"]), st.text(max_size=20),
                          json_values),
        "object": st.sampled_from(["event", "list", ""]),
        "data": st.one_of(json_values, st.fixed_dictionaries({"object": json_values})),
    })
    bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                       envelopes.map(lambda v: json.dumps(v).encode()),
                       st.just(b"[" * 3000 + b"]" * 3000))

    @FAST
    @given(body=bodies)
    def check(body):
        resp = client.post(WEBHOOK_PATH, data=body, headers={"Stripe-Signature": generate_header(body, SECRET)})
        assert resp.status_code in (200, 400), (body[:200], resp.status_code, resp.get_data())
        payload = resp.get_json()
        if resp.status_code == 400:
            assert payload == {"error": "Invalid payload"}, payload
        else:
            assert payload.get("received") is True

    check()


def test_order_api_input_never_5xx_and_refusals_write_nothing(receiver):
    app, client = receiver
    values = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(), st.text(max_size=30),
                       st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    bodies = st.one_of(
        st.fixed_dictionaries({}, optional={"tier_id": st.one_of(st.sampled_from(["tier_starter", "tier_whale"]), values),
                                            "quantity": st.one_of(st.integers(-5, 200), values),
                                            "referrer": values, "extra": values}).map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=100), st.just(b"[" * 3000 + b"]" * 3000), st.just(b'{"tier_id": "tier_starter", "quantity": 1'))
    tokens = st.one_of(st.just(TOKEN), HEADER_TEXT)
    sites = st.one_of(st.sampled_from(["NA", "EU", "", "na", "XX"]), HEADER_TEXT)

    @FAST
    @given(body=bodies, token=tokens, site=sites, scheme=st.sampled_from(["Bearer ", "bearer ", "Basic ", ""]))
    def check(body, token, site, scheme):
        before = db_fingerprint(app)
        resp = client.post("/api/v1/orders/", data=body, headers={
            "Authorization": scheme + token, "X-Site-Code": site, "Content-Type": "application/json"})
        assert resp.status_code < 500, (body[:100], resp.status_code, resp.get_data())
        payload = resp.get_json()
        if resp.status_code == 201:
            assert payload["status"] == "pending" and payload["stripe_payment_intent_id"].startswith("pi_")
            return
        assert resp.status_code in (400, 401), resp.status_code
        assert isinstance(payload, dict) and isinstance(payload.get("error"), str) and payload["error"], payload
        assert db_fingerprint(app) == before, "a refused order request wrote to the database"

    check()


def test_paths_methods_and_order_ids_never_5xx(receiver):
    app, client = receiver
    segment = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, blacklist_characters="?#%/"), max_size=40)

    @FAST
    @given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
           path=st.one_of(segment.map(lambda s: "/api/v1/orders/%s/" % s), segment.map(lambda s: "/" + s),
                          st.sampled_from([WEBHOOK_PATH, "/api/v1/orders/", "/_posx/faults/", "/health",
                                           "/api/v1/webhooks/stripe", "/api/v1/tiers/"])))
    def check(method, path):
        before = db_fingerprint(app)
        resp = client.open(path, method=method, headers={"Authorization": "Bearer " + TOKEN})
        assert resp.status_code < 500, (method, path, resp.status_code, resp.get_data())
        if resp.status_code >= 400:
            payload = resp.get_json()
            assert isinstance(payload.get("error"), str), payload
            if method != "POST":
                assert db_fingerprint(app) == before

    check()


@pytest.mark.parametrize("path", [WEBHOOK_PATH, "/api/v1/orders/"])
def test_bodies_over_the_limit_are_413(receiver, path):
    app, client = receiver
    body = b"{" + b" " * MAX_BODY + b"}"
    before = db_fingerprint(app)
    resp = client.post(path, data=body, headers={"Stripe-Signature": generate_header(body, SECRET),
                                                 "Authorization": "Bearer " + TOKEN, "X-Site-Code": "NA"})
    assert resp.status_code == 413, resp.get_data()
    assert "bytes" in resp.get_json()["error"]
    assert db_fingerprint(app) == before
    assert MAX_BODY == 1024 * 1024  # the documented limit (docs/RELIABILITY.md)
