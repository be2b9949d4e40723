"""``posx-harness load --check-report``: the report is the verdict the process exits with.

Seen before: a receiver that refused about a third of honest events with 400 made Locust exit
1 while its log said "all checks passed" and the report had ``"exit_code": 0, "failures": []``
(no check stood for request errors, and Locust's own exit rule decided the code)."""
import json

import requests

from harness.cli import main
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import GunicornReceiver
from loadtests.orders import REFERENCE_BULK_PATH

SECRET = "whsec_load_verdict_0123456789abcdef"


def test_refused_honest_events_fail_the_report_and_the_exit_code_alike(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, enable_fault_hooks=True,
                            database_url="sqlite:///%s" % (tmp_path / "db.sqlite3"))
    report = tmp_path / "verdict.json"
    with GunicornReceiver(config, workers=1, log_path=str(tmp_path / "receiver.log")) as receiver:
        armed = requests.post(receiver.url + "/_posx/faults/", json={"fail_next": 12, "fail_status": 400}, timeout=5)
        assert armed.status_code == 200, armed.text
        code = main(["load", "--target", receiver.url, "--webhook-secret", SECRET,
                     "--bulk-orders-path", REFERENCE_BULK_PATH, "-t", "2s", "-u", "2", "--rate", "10",
                     "--mix", "success=100", "--no-check-invariants", "--seed", "3", "--check-report", str(report)])
    doc = json.loads(report.read_text())
    assert code == doc["exit_code"] == 14, doc
    assert doc["outcome"] == "fail" and doc["summary_line"].startswith("FAIL"), doc
    (failure,) = doc["failures"]
    assert failure["kind"] == "request_errors" and "400" in failure["message"], failure
    assert doc["webhook"]["failures"] >= 1


def test_a_clean_run_reports_the_pass_it_exits_with(tmp_path):
    report = tmp_path / "verdict.json"
    code = main(["load", "-t", "2s", "-u", "2", "--rate", "10", "--mix", "success=100", "--seed", "3",
                 "--check-report", str(report)])
    doc = json.loads(report.read_text())
    assert code == doc["exit_code"] == 0 and doc["failures"] == [] and doc["outcome"] == "pass", doc


def test_the_report_is_read_back_into_the_same_verdict(tmp_path):
    from harness.cli.load import settle_verdict
    from loadtests.verdict import Failure, report

    path = tmp_path / "r.json"
    raw = report([Failure("p99", "slow"), Failure("exactly_once", "two allocations")], {"webhook": {"requests": 3}})
    path.write_text(json.dumps(raw))
    assert settle_verdict(str(path), raw["exit_code"]) == raw["exit_code"] == 20
    doc = json.loads(path.read_text())
    assert {k: doc[k] for k in raw} == raw  # the harness's Verdict words it exactly as the load test did
    # Locust's own code never wins over the checks' verdict.
    path.write_text(json.dumps(report([], {})))
    assert settle_verdict(str(path), 1) == 0
