"""The pytest-django route: the harness's scenarios inside the example's own test suite,
against ``live_server``, by its conftest.py overriding one fixture (``posx_target``); and the
example's tests of the money rules and of the drop-in fault hooks."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest

from .support import EXAMPLE, clean_env, run

pytestmark = pytest.mark.timeout(600)


def test_example_suite_runs_the_scenarios_against_live_server(tmp_path):
    junit = tmp_path / "junit.xml"
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--junitxml", str(junit),
                "tests/test_money.py", "tests/test_fault_hooks.py", "tests/test_posx_scenarios.py",
                "-k", "test_money or test_fault_hooks or retry_finishes or success_pays_once or checkout_session "
                      "or concurrent_distinct"],
               cwd=str(EXAMPLE), env=clean_env(DATABASE_URL="sqlite:///%s/example.sqlite3" % tmp_path))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    ran = {(c.get("classname", "").rsplit(".", 1)[-1], c.get("name")): [x.tag for x in c if x.tag in ("failure", "error", "skipped")] for c in cases}
    assert not [k for k, v in ran.items() if v], "failed or skipped: %s" % {k: v for k, v in ran.items() if v}
    scenarios = [name for (module, name) in ran if module == "test_posx_scenarios"]
    # the three recovery scenarios (they need the fault hooks), a payment, a Checkout, a race
    assert len([n for n in scenarios if n.startswith("test_stripe_retry_finishes_the_job_once")]) == 3, scenarios
    assert {"test_success_pays_once", "test_checkout_session_pays_the_order",
            "test_concurrent_distinct_success_events_allocate_once"} <= set(scenarios)
    assert len([m for (m, _) in ran if m in ("test_money", "test_fault_hooks")]) >= 30
