"""Flows, events and signatures: what a load-test task sends, built from the simulator's backend."""
from __future__ import annotations

import json

import pytest

from loadtests.events import EventFactory
from loadtests.flows import FORGED, STALE, VALID, plan
from loadtests.mix import KINDS, MixError, parse_mix
from loadtests.orders import Order
from loadtests.signer import STALE_AGE, Signer
from simulator.rng import SeededRandom
from simulator.signing import SignatureVerificationError, verify_header

SECRET = "whsec_load_tests_0123456789"
ORDER = Order("5f0c3c52-1111-4222-8333-944444444444", "pi_mock_0123456789abcdef01234567", 1000)
STRIPE_LIKE = Order("5f0c3c52-1111-4222-8333-955555555555", "pi_3SaBcDeFgHiJkLmN0abcdefg", 5000)


@pytest.fixture(scope="module")
def factory():
    return EventFactory(SeededRandom(11))


def test_events_belong_to_the_order_and_are_basil(factory):
    events = factory.success(ORDER)
    assert list(events) == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"]
    for etype, ev in events.items():
        body = json.loads(ev.body)
        assert body["id"] == ev.id and body["type"] == etype
        assert body["api_version"] == "2025-08-27.basil"
        assert body["pending_webhooks"] >= 1
        obj = body["data"]["object"]
        assert obj["metadata"]["order_id"] == ORDER.id
        assert (obj["id"] if etype.startswith("payment_intent.") else obj["payment_intent"]) == ORDER.payment_intent
        assert obj["amount"] == 1000
    assert json.loads(events["payment_intent.succeeded"].body)["data"]["object"]["status"] == "succeeded"


def test_every_flow_gets_fresh_ids_and_keeps_codes(factory):
    a, b = factory.decline(ORDER, "insufficient_funds"), factory.decline(ORDER, "insufficient_funds")
    assert {e.id for e in a.values()}.isdisjoint(e.id for e in b.values())
    error = json.loads(a["payment_intent.payment_failed"].body)["data"]["object"]["last_payment_error"]
    assert error["code"] == "card_declined" and error["decline_code"] == "insufficient_funds"
    charge = json.loads(a["charge.failed"].body)["data"]["object"]
    assert error["charge"] == charge["id"]  # ids swapped consistently across events of one flow
    assert charge["id"].startswith("ch_") and len(charge["id"]) == 27
    for ev in list(a.values()) + list(factory.success(STRIPE_LIKE).values()):
        assert b"LoadPrototype" not in ev.body and b"load-test-order-placeholder" not in ev.body


def test_related_ids_share_a_real_intent_stem(factory):
    charge = json.loads(factory.success(STRIPE_LIKE)["charge.succeeded"].body)["data"]["object"]
    assert charge["payment_intent"] == STRIPE_LIKE.payment_intent
    assert charge["id"].startswith("ch_" + STRIPE_LIKE.payment_intent[3:20])


@pytest.mark.parametrize("kind,expect", [("success", "paid"), ("decline", "failed"), ("insufficient_funds", "failed"),
                                         ("duplicate", "paid"), ("concurrent_duplicate", "paid"),
                                         ("out_of_order", "paid"), ("forged", "pending"), ("stale", "pending")])
def test_plan_states_what_each_kind_must_cause(factory, kind, expect):
    flow = plan(kind, ORDER, factory, SeededRandom(3))
    assert flow.expect == expect and flow.order_id == ORDER.id
    sends = flow.sends
    if kind in ("forged", "stale"):
        assert [s.signing for s in sends] == [FORGED if kind == "forged" else STALE]
        assert sends[0].expected_status == 400
        return
    assert all(s.signing == VALID and s.expected_status == 200 for s in sends)
    ids = [s.event_id for s in sends]
    if kind == "duplicate":
        assert len(ids) > len(set(ids))
    if kind == "concurrent_duplicate":
        burst = max(flow.steps, key=len)
        assert len(burst) >= 4 and {s.event_type for s in burst} == {"payment_intent.succeeded", "charge.succeeded"}
        assert all(s.concurrent for s in burst)
    if kind == "out_of_order":
        assert {s.event_type for s in sends} == {"charge.failed", "payment_intent.payment_failed",
                                                 "charge.succeeded", "payment_intent.succeeded"}


def test_out_of_order_really_shuffles(factory):
    orders = {tuple(s.event_type for s in plan("out_of_order", ORDER, factory, SeededRandom(n)).sends) for n in range(12)}
    assert len(orders) > 1


def test_valid_headers_verify_and_forged_or_stale_do_not(factory):
    signer = Signer(SECRET, SeededRandom(5))
    flow = plan("success", ORDER, factory, SeededRandom(1))
    for send in flow.sends:
        verify_header(send.body, signer.header(send), SECRET)
    for _ in range(12):  # every forgery style is drawn at least once in a dozen
        forged = plan("forged", ORDER, factory, SeededRandom(1)).sends[0]
        with pytest.raises(SignatureVerificationError):
            verify_header(forged.body, signer.header(forged), SECRET)
    stale = plan("stale", ORDER, factory, SeededRandom(1)).sends[0]
    header = signer.header(stale)
    verify_header(stale.body, header, SECRET, tolerance=None)  # right secret ...
    with pytest.raises(SignatureVerificationError, match="tolerance"):
        verify_header(stale.body, header, SECRET)               # ... but too old
    assert int(header.split(",")[0][2:]) <= signer.now() - STALE_AGE + 1


def test_signer_needs_a_secret():
    with pytest.raises(ValueError, match="LOCUST_WEBHOOK_SECRET"):
        Signer("", SeededRandom(1))


def test_mix_parsing():
    assert parse_mix("success=70,decline=10") == dict({k: 0 for k in KINDS}, success=70, decline=10)
    assert sum(parse_mix("").values()) > 0
    for bad, words in [("succes=1", "unknown kind 'succes'"), ("success", "kind=weight"),
                       ("success=x", "whole number"), ("success=-1", ">= 0"), ("success=0", "nothing to send"),
                       ("success=1,success=2", "twice")]:
        with pytest.raises(MixError, match=words):
            parse_mix(bad)
