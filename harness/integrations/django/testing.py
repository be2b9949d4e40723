"""pytest-django: run the harness's scenarios inside a Django project's own test suite.

The harness's pytest plugin gives every scenario a ``posx`` helper built on one fixture,
``posx_target`` (by default the bundled receiver). A Django project overrides that one
fixture in its ``conftest.py`` to point at its own code served by pytest-django's
``live_server``, and imports the scenarios into a test module::

    # conftest.py
    import pytest
    from harness.integrations.django.testing import live_target

    @pytest.fixture(scope="session")
    def posx_target(live_server, posx_options, stripe_sim):
        with live_target(live_server, posx_options, stripe_sim, tier="tier_starter") as target:
            yield target

    # tests/test_posx_scenarios.py
    from harness.integrations.django.scenarios import *  # noqa: F401,F403  (every scenario)

``live_target`` points the project at the simulator for the session (the settings named by
``api_base_setting`` / ``secret_setting``, through ``override_settings``) and drives it with
the contract's HTTP profile plus the drop-in's ``/_posx/faults`` hooks.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Iterator, Optional

from harness.adapters.http_profile import HttpTarget, merge_profile

FAULTS_PATH = "/_posx/faults/"
HOOKS = {
    "fail_next": {"method": "POST", "path": FAULTS_PATH, "json": {"fail_next": "${count}"}},
    "crash_next": {"method": "POST", "path": FAULTS_PATH, "json": {"crash_next": "${count}"}},
    "delay_next": {"method": "POST", "path": FAULTS_PATH, "json": {"delay_next": "${count}", "delay_ms": "${milliseconds}"}},
}


def profile(name: str = "Django live_server", **overrides) -> dict:
    """The POSX contract's profile with the drop-in's fault hooks."""
    data = {"name": name, "fault_hooks": copy.deepcopy(HOOKS)}
    data.update(overrides)
    return merge_profile(data, source="harness.integrations.django")


@contextlib.contextmanager
def live_target(live_server, options, stripe_sim, *, tier: Optional[str] = None, api_token: Optional[str] = None,
                site_code: Optional[str] = None, api_base_setting: str = "STRIPE_API_BASE",
                secret_setting: str = "STRIPE_WEBHOOK_SECRET", target_profile: Optional[dict] = None,
                **settings_overrides) -> Iterator[HttpTarget]:
    """A target for the scenarios: ``live_server`` with the project's Stripe API base set to
    the simulator and its webhook secret to the one the simulator signs with."""
    from django.test.utils import override_settings

    opts = copy.copy(options)
    opts.tier = options.tier or tier
    opts.api_token = options.api_token or api_token
    opts.site_code = site_code or options.site_code
    values = {api_base_setting: stripe_sim.url, secret_setting: options.secret}
    values.update(settings_overrides)
    with override_settings(**values):
        target = HttpTarget(opts, target_profile or profile(), base_url=live_server.url)
        target.start()
        try:
            yield target
        finally:
            target.stop()
