"""Each test card's flow, end to end: the receiver makes its PaymentIntent on the simulator
through the official SDK (api mode), the simulator confirms/cancels/refunds it and its
delivery engine posts the signed events to the receiver for real.

Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import requests
import stripe

from harness.receiver import ReceiverServer
from harness.receiver.server import free_port

from .support import API_HEADERS, wait_until

pytest.importorskip("simulator.server")


@pytest.fixture
def stack(make_config):
    from simulator.core import Simulator
    from simulator.server import SimulatorServer

    # A fast simulated clock: charge.updated (~3 s) and disputes (~4 s) arrive within ~0.1 s.
    sim = Simulator(seed=4242, time_scale=50.0)
    server = SimulatorServer(sim).start()
    receiver = None
    try:
        client = stripe.StripeClient("sk_test_receiver_cards", base_addresses={"api": server.url}, max_network_retries=0)
        port = free_port()
        endpoint = client.v1.webhook_endpoints.create(params={
            "url": "http://127.0.0.1:%d/api/v1/webhooks/stripe/" % port, "enabled_events": ["*"]})
        config = make_config(webhook_secret=endpoint.secret, mock_stripe=False, stripe_api_base=server.url,
                             stripe_secret_key="sk_test_receiver_cards")
        receiver = ReceiverServer(config, port=port).start()
        yield sim, client, receiver
    finally:
        if receiver is not None:
            receiver.stop()
        server.stop()
        sim.close()


def new_order(receiver):
    r = requests.post(receiver.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                      headers=API_HEADERS, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def settle(sim, receiver, order_id, status, allocations):
    """Wait for deliveries to finish and the order to reach ``status`` with its tasks run."""
    sim.engine.wait_idle(timeout=20)

    def view():
        v = requests.get(receiver.url + "/api/v1/orders/%s/" % order_id, headers=API_HEADERS, timeout=10).json()
        done = v["status"] == status and len(v["allocations"]) == allocations and len(v["commissions"]) == allocations
        return v if done else None
    return wait_until(view, timeout=10, what="order %s to be %s with %d allocation(s)" % (order_id, status, allocations))


def confirm(client, pi, card):
    try:
        client.v1.payment_intents.confirm(pi, params={"payment_method": card})
    except stripe.CardError as exc:  # declines answer 402, as Stripe's do
        return exc.code
    return None


def test_the_order_was_made_on_the_simulator_with_its_id_in_metadata(stack):
    sim, client, receiver = stack
    order = new_order(receiver)
    pi = client.v1.payment_intents.retrieve(order["stripe_payment_intent_id"])
    assert pi.metadata["order_id"] == order["id"]
    assert pi.amount == order["amount"] == 1000 and pi.currency == "usd"
    assert pi.client_secret == order["client_secret"]


@pytest.mark.parametrize("cards, status, allocations", [
    (["pm_card_visa"], "paid", 1),                                       # 4242
    (["pm_card_chargeDeclined"], "failed", 0),                           # 0002
    (["pm_card_chargeDeclinedInsufficientFunds"], "failed", 0),          # 9995
    (["pm_card_chargeDeclined", "pm_card_visa"], "paid", 1),             # decline, then success
])
def test_card_flows(stack, cards, status, allocations):
    sim, client, receiver = stack
    order = new_order(receiver)
    for card in cards:
        confirm(client, order["stripe_payment_intent_id"], card)
    settle(sim, receiver, order["id"], status, allocations)


def test_cancel(stack):
    sim, client, receiver = stack
    order = new_order(receiver)
    client.v1.payment_intents.cancel(order["stripe_payment_intent_id"])
    settle(sim, receiver, order["id"], "canceled", 0)


def test_refund(stack):
    sim, client, receiver = stack
    order = new_order(receiver)
    assert confirm(client, order["stripe_payment_intent_id"], "pm_card_visa") is None
    client.v1.refunds.create(params={"payment_intent": order["stripe_payment_intent_id"]})
    view = settle(sim, receiver, order["id"], "refunded", 1)
    assert view["paid_at"]


def test_dispute_0259(stack):
    sim, client, receiver = stack
    order = new_order(receiver)
    assert confirm(client, order["stripe_payment_intent_id"], "pm_card_createDispute") is None
    sim.engine.wait_for(type="charge.dispute.created", timeout=20)
    view = settle(sim, receiver, order["id"], "paid", 1)
    wait_until(lambda: requests.get(receiver.url + "/api/v1/orders/%s/" % order["id"], headers=API_HEADERS,
                                    timeout=10).json()["disputes"], what="the dispute to be recorded")
    view = requests.get(receiver.url + "/api/v1/orders/%s/" % order["id"], headers=API_HEADERS, timeout=10).json()
    assert [d["reason"] for d in view["disputes"]] == ["fraudulent"]
    assert view["disputes"][0]["status"] == "needs_response"
