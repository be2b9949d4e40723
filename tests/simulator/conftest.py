"""Fixtures for the simulator's API tests: a Simulator, its app, a live server, SDK clients."""
from __future__ import annotations

import pytest

from simulator.api import create_app
from simulator.core import Simulator
from simulator.server import SimulatorServer
from tests.simulator.doubles import DoubleBackend

API_KEY = "sk_test_simulator_tests_0123456789"


@pytest.fixture
def double_sim():
    """A Simulator over the small test double backend (API layers on their own)."""
    return Simulator(seed=7, backend=DoubleBackend())


@pytest.fixture
def double_app(double_sim):
    app = create_app(double_sim)
    yield app
    assert app.extensions["stripe_sim"].unexpected == [], "a request hit the 500 safety net"


@pytest.fixture
def http(double_app):
    return double_app.test_client()


@pytest.fixture
def sim():
    """A Simulator over the real backend (with its webhook delivery engine)."""
    sim = Simulator(seed=42)
    yield sim
    sim.close()


@pytest.fixture
def server(sim):
    with SimulatorServer(sim) as srv:
        yield srv


@pytest.fixture
def client(server):
    import stripe

    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=0)


CARDS = {"4242": "4242424242424242", "0002": "4000000000000002", "9995": "4000000000009995",
         "0259": "4000000000000259"}


def card_pm(client, last4: str):
    """A card PaymentMethod made from a test card number, as a checkout form would."""
    return client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": CARDS[last4], "exp_month": 12, "exp_year": 2034, "cvc": "123"}})


def intent_events(sim, pi_id: str) -> list[str]:
    """The types of the events recorded for one payment, in recording order."""
    return [rec.event["type"] for rec in list(sim.backend.events.values()) if rec.payment_intent == pi_id]
