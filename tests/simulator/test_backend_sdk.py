"""Every test card through the official SDK and the real server: the backend's objects and
events survive the trip, deserialise, and stay field-complete for 2025-08-27.basil."""
import json

import pytest
import stripe

from simulator.backend import cards
from simulator.core import Simulator
from simulator.objects import schema
from simulator.server import SimulatorServer

KEY = "sk_test_backend_sdk_0123456789"


@pytest.fixture(scope="module")
def live():
    sim = Simulator(seed=5)
    try:
        with SimulatorServer(sim) as server:
            client = stripe.StripeClient(KEY, base_addresses={"api": server.url}, max_network_retries=0)
            yield sim, client
    finally:
        sim.close()


def raw(obj):
    return json.loads(str(obj))


@pytest.mark.parametrize("card", cards.CARDS, ids=lambda c: c.tokens[0])
def test_card_life_cycle_through_the_sdk(live, card):
    sim, client = live
    params = {"amount": 3100, "currency": "usd", "payment_method": card.tokens[0], "confirm": True,
              "metadata": {"card": card.last4}}
    if card.decline:
        with pytest.raises(stripe.CardError) as info:
            client.v1.payment_intents.create(params=params)
        err = info.value
        assert (err.http_status, err.code) == (402, card.decline.code)
        assert err.error.decline_code == card.decline.decline_code
        assert err.user_message == card.decline.message
        pi_id = err.error.payment_intent.id
        pi = client.v1.payment_intents.retrieve(pi_id)
        assert pi.status == "requires_payment_method"
        assert pi.last_payment_error.decline_code == card.decline.decline_code
        pi = client.v1.payment_intents.confirm(pi_id, params={"payment_method": "pm_card_visa"})
        expected = ["payment_intent.created", "charge.failed", "payment_intent.payment_failed",
                    "charge.succeeded", "payment_intent.succeeded", "charge.updated"]
    else:
        pi = client.v1.payment_intents.create(params=params)
        expected = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"]
        if card.dispute:
            expected.append("charge.dispute.created")
            if card.dispute.status == "needs_response":  # a chargeback: the funds go at once
                expected.append("charge.dispute.funds_withdrawn")
            disputes = client.v1.disputes.list(params={"payment_intent": pi.id})
            assert [d.reason for d in disputes.data] == [card.dispute.reason]
    assert pi.status == "succeeded" and pi.metadata["card"] == card.last4
    assert schema.problems(raw(pi)) == []
    charge = client.v1.charges.retrieve(pi.latest_charge, params={"expand": ["balance_transaction"]})
    assert charge.balance_transaction.source == charge.id
    if not card.dispute:
        refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1000})
        assert refund.status == "succeeded" and schema.problems(raw(refund)) == []
        expected += ["refund.created", "charge.refunded", "refund.updated", "charge.refund.updated"]
    with sim.backend.lock:
        events = [r.id for r in sim.backend.events.values() if r.payment_intent == pi.id]
    # This card's events are the newest: one page holds them.
    listed = {e.id: e for e in client.v1.events.list(params={"limit": 20}).data}
    assert [listed[i].type for i in events] == expected
    for event_id in events:
        assert schema.problems(raw(listed[event_id])) == []
