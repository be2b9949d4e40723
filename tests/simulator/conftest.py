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
    """A Simulator over the real backend, frozen clock so event times are stable."""
    return Simulator(seed=42, time_scale=1.0)


@pytest.fixture
def server(sim):
    with SimulatorServer(sim) as srv:
        yield srv


@pytest.fixture
def client(server):
    import stripe

    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=0)
