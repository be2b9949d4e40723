"""Checkout with a delayed payment method: an ACH Direct Debit test bank account completes
the session unpaid; the bank's answer follows as checkout.session.async_payment_*."""
from __future__ import annotations

import pytest

from simulator.errors import InvalidRequestError
from simulator.objects import schema

from .conftest import intent_events


def _session(client, currency="usd"):
    return client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://example.com/ok", "client_reference_id": "order-1",
        "payment_method_types": ["card", "us_bank_account"], "metadata": {"order_id": "order-1"},
        "line_items": [{"quantity": 2, "price_data": {"currency": currency, "unit_amount": 1500,
                                                      "product_data": {"name": "POSX tier"}}}]})


def _complete(client, session_id, pm):
    raw = client.raw_request("post", "/v1/test_helpers/checkout/sessions/%s/complete" % session_id,
                             payment_method=pm)
    return client.deserialize(raw, api_mode="V1")


@pytest.mark.parametrize("pm, answer, pi_status", [
    ("pm_usBankAccount_success", "checkout.session.async_payment_succeeded", "succeeded"),
    ("pm_usBankAccount_insufficientFunds", "checkout.session.async_payment_failed", "requires_payment_method"),
])
def test_bank_debit_completes_unpaid_then_the_bank_answers_later(client, sim, pm, answer, pi_status):
    session = _session(client)
    completed = _complete(client, session.id, pm)
    assert (completed.status, completed.payment_status) == ("complete", "unpaid")
    pi_id = completed.payment_intent
    types = intent_events(sim, pi_id)
    outcome = (["charge.succeeded", "payment_intent.succeeded"] if answer.endswith("succeeded")
               else ["charge.failed", "payment_intent.payment_failed"])
    assert types == ["payment_intent.created", "charge.pending", "payment_intent.processing",
                     "checkout.session.completed"] + outcome + [answer]
    records = {r.type: r for r in sim.backend.events.values() if r.payment_intent == pi_id}
    now = records["checkout.session.completed"].available_at
    # The bank's answer is not deliverable with the completion: it comes later.
    assert records[answer].available_at > now and records[outcome[0]].available_at > now
    assert records["checkout.session.completed"].event["data"]["object"]["payment_status"] == "unpaid"
    assert records[answer].event["data"]["object"]["amount_total"] == 3000
    pi = client.v1.payment_intents.retrieve(pi_id)
    assert pi.status == pi_status and pi.payment_method_types == ["us_bank_account"]
    charge = client.v1.charges.retrieve(records[outcome[0]].event["data"]["object"]["id"])
    assert charge.payment_method_details.type == "us_bank_account"
    assert charge.payment_method_details.us_bank_account.routing_number == "110000000"
    if answer.endswith("failed"):
        assert charge.failure_code == "insufficient_funds" and pi.last_payment_error.code == "insufficient_funds"
    else:
        assert charge.paid and pi.amount_received == 3000
    for record in records.values():
        assert schema.problems(record.event) == [], record.type


def test_bank_debit_is_usd_only(sim):
    backend = sim.backend
    session = backend.create_checkout_session({
        "mode": "payment", "success_url": "https://example.com/ok",
        "line_items": [{"quantity": "1", "price_data": {"currency": "eur", "unit_amount": "1000",
                                                        "product_data": {"name": "x"}}}]})
    with pytest.raises(InvalidRequestError, match="only supports usd"):
        backend.complete_checkout_session(session["id"], {"payment_method": "pm_usBankAccount_success"})
    assert backend.retrieve_checkout_session(session["id"], {})["status"] == "open"


def test_a_settled_bank_debit_refunds_in_parts(sim):
    backend = sim.backend
    session = backend.create_checkout_session({
        "mode": "payment", "success_url": "https://example.com/ok",
        "line_items": [{"quantity": "1", "price_data": {"currency": "usd", "unit_amount": "1000",
                                                        "product_data": {"name": "x"}}}]})
    pi = backend.complete_checkout_session(session["id"], {"payment_method": "pm_usBankAccount_success"})["payment_intent"]
    backend.create_refund({"payment_intent": pi, "amount": "400"})
    backend.create_refund({"payment_intent": pi, "amount": "600"})
    charge = backend.retrieve_charge(backend.retrieve_payment_intent(pi, {})["latest_charge"], {})
    assert (charge["amount_refunded"], charge["refunded"]) == (1000, True)
