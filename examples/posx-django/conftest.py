"""The one override that runs the POSX harness's scenarios in this project's own test suite.

The harness's pytest plugin (installed with posx-harness) gives each scenario its ``posx``
helper built on the session fixture ``posx_target``; here that target is this project,
served by pytest-django's ``live_server``, with its STRIPE_API_BASE pointed at the
harness's simulator and its STRIPE_WEBHOOK_SECRET set to the one the simulator signs with.
tests/test_posx_scenarios.py imports the scenarios.
"""
import pytest

from harness.integrations.django.testing import live_target


@pytest.fixture(scope="session")
def posx_target(live_server, posx_options, stripe_sim):
    with live_target(live_server, posx_options, stripe_sim, tier="tier_starter", api_token="posx-test-token") as target:
        yield target
