"""What the project's own tests (tests/) and the scenario suite (scenarios/) share.

pytest loads this file for every path under the repository: the --run-slow option, the
markers (registered here, so --strict-markers knows them in both trees), and the Stripe
reference data the tests compare against (``stripe_reference``). The scenario fixtures
themselves (``posx``) come from the installed plugin, harness.pytest_plugin, because
`posx-harness run` must work from an installed package where this file does not exist.
"""
from __future__ import annotations

import pytest

MARKERS = (
    "slow: long-running tests (storm, soak); run with --run-slow",
    "postgres: needs a PostgreSQL server (POSX_TEST_POSTGRES_URL or 127.0.0.1:5432)",
    "docker: needs a Docker engine",
    "browser: needs headless Chromium",
    "stripe12: runs against the stripe 12.x SDK line",
)


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (the full storm, soaks)")


def pytest_configure(config):
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stripe_reference():
    """``stripe_reference("fixtures3")``: a vendored Stripe reference file (tests/reference/),
    parsed; a missing file fails the test that asked for it."""
    from tests import reference

    return reference.load
