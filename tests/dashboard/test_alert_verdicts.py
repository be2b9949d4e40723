"""`posx-harness run` and `posx-harness load` end with the guide's three alert rules' verdicts,
judged by the same rules as the dashboard (simulator/delivery/stats.py)."""
import argparse
import json
import os
import re
import subprocess
import sys

import pytest
import requests

from harness.cli import load
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import GunicornReceiver
from loadtests.orders import REFERENCE_BULK_PATH
from simulator.delivery import alert_report as AR
from tests.dashboard.monitoring_stack import flaky_endpoint, pay, settle

RULE_LINE = re.compile(r"^  (failure_rate|response_time|repeated_5xx)\s+(FIRING|ok)\s+.+\((.+)\)$")


def _verdicts(lines):
    return {m.group(1): (m.group(2), m.group(3)) for m in map(RULE_LINE.match, lines) if m}


def test_run_verdicts_from_the_workers_deliveries(tmp_path, monkeypatch):
    """What the harness's simulators leave behind, merged per URL: 20 % failing fires two rules."""
    monkeypatch.setenv(AR.RUN_ENV, str(tmp_path))
    with flaky_endpoint() as (sim, server, client, ep):
        pay(client, 5)
        sim.engine.wait_for(endpoint=ep.id, count=15)
        settle(sim)
        assert AR.dump_run_samples(sim.engine) is not None
        url = ep.url
    lines = AR.run_verdicts(str(tmp_path))
    assert lines[0] == "alert rules for %s (15 deliveries):" % url
    v = _verdicts(lines)
    assert v["failure_rate"] == ("FIRING", "20.0%") and v["repeated_5xx"] == ("FIRING", "3")
    assert v["response_time"][0] == "ok"


def test_posx_harness_run_prints_the_verdicts_at_the_end():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSX_", "PYTEST_XDIST"))}
    proc = subprocess.run([sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())",
                           "run", "-t", "smoke", "-n", "1"], capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tail = proc.stdout[proc.stdout.index("PASS"):].splitlines()
    head = [l for l in tail if l.startswith("alert rules for http://127.0.0.1:")]
    assert len(head) == 1, tail
    v = _verdicts(tail)
    assert set(v) == {"failure_rate", "response_time", "repeated_5xx"}
    # The smoke scenario's target answers every honest delivery with a 2xx.
    assert v["failure_rate"] == ("ok", "0.0%") and v["repeated_5xx"] == ("ok", "0")


@pytest.fixture
def failing_receiver(tmp_path):
    secret = "whsec_alert_verdicts_0123456789abcdef"
    config = ReceiverConfig(webhook_secret=secret, mock_stripe=True, enable_fault_hooks=True,
                            database_url="sqlite:///%s" % (tmp_path / "db.sqlite3"))
    with GunicornReceiver(config, workers=2, log_path=str(tmp_path / "receiver.log")) as r:
        yield r, secret


def test_posx_harness_load_prints_the_verdicts_at_the_end(failing_receiver, tmp_path, capsys):
    receiver, secret = failing_receiver
    # The next 12 webhooks answer 500: more than two 5xx, so "repeated 5xx" must fire.
    requests.post(receiver.url + "/_posx/faults/", json={"fail_next": 12, "fail_status": 500}, timeout=5).raise_for_status()
    parser = argparse.ArgumentParser()
    load.add_arguments(parser)
    report = tmp_path / "verdict.json"
    code = load.run(parser.parse_args(["--target", receiver.url, "--webhook-secret", secret, "--bulk-orders-path",
                                       REFERENCE_BULK_PATH, "-t", "2s", "-u", "4", "--invariants-timeout", "2",
                                       "--check-report", str(report), "--seed", "7"]))
    assert code != 0  # the 5xx fail the load test's own checks; the verdicts are printed all the same
    out = capsys.readouterr().out.splitlines()
    start = next(i for i, l in enumerate(out) if l.startswith("alert rules for the target's webhook"))
    v = _verdicts(out[start:])
    verdict = json.loads(report.read_text())
    assert v["repeated_5xx"][0] == "FIRING" and int(v["repeated_5xx"][1]) >= 12
    web = verdict["webhook"]
    assert v["failure_rate"][1] == "%.1f%%" % (100.0 * web["failures"] / web["requests"])
    assert v["response_time"] == ("ok", "%.0f ms" % web["p95_ms"])
