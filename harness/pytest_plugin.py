"""pytest plugin of the POSX harness (fixtures only; the engine lives in harness/engine).

Registered through the ``pytest11`` entry point. Options and hooks come from
``harness.engine.pytest_hooks``. Fixtures:

- ``posx_options``   (session) the resolved harness settings
- ``stripe_sim``     (session) the simulator, in process on a free port (``.sim``, ``.url``)
- ``posx_target``    (session) the POSX target (bundled receiver unless options name one)
- ``webhook_secret`` (session) the secret the simulator signs with
- ``posx``           (function) the scenario helper: orders, payments, faults, expectations
- ``pay_order``, ``deliver_events``, ``wait_for_order``: the helper's main calls as fixtures
"""
from __future__ import annotations

import pytest

pytest_plugins = ["harness.engine.pytest_hooks"]


@pytest.fixture(scope="session")
def posx_options(request):
    from harness.engine import session

    return session.options_from_pytest(request.config)


@pytest.fixture(scope="session")
def stripe_sim(posx_options):
    from harness.engine import session

    with session.simulator(posx_options) as sim:
        yield sim


@pytest.fixture(scope="session")
def posx_target(posx_options, stripe_sim):
    from harness.adapters import build_target
    from harness.engine import session

    with session.target(posx_options, stripe_sim, build_target) as target:
        yield target


@pytest.fixture(scope="session")
def webhook_secret(posx_options):
    return posx_options.secret


@pytest.fixture
def posx(request, posx_options, stripe_sim, posx_target):
    from harness.engine import session

    return session.scenario_helper(posx_options, stripe_sim, posx_target, request.node.name)


@pytest.fixture
def pay_order(posx):
    return posx.pay


@pytest.fixture
def deliver_events(posx):
    return posx.deliver


@pytest.fixture
def wait_for_order(posx):
    return posx.expect
