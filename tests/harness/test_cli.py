"""posx-harness run / list / doctor as a deploy gate uses them: exit codes and reports."""
import json
import os
import socket
import subprocess
import sys

import pytest

from harness.receiver.config import ReceiverConfig
from harness.receiver.server import ReceiverServer

SECRET = "whsec_cli_test_secret_0123456789"
MAIN = "import sys; from harness.cli import main; sys.exit(main())"


def cli(*args, timeout=180):
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    for name in ("POSX_TARGET_URL", "POSX_PROFILE", "POSX_MODE", "STRIPE_WEBHOOK_SECRET", "POSX_TAGS"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-c", MAIN, *args], capture_output=True, text=True, timeout=timeout, env=env)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(tmp_path):
    """An 'external' target: the reference receiver whose Stripe API base is a simulator
    port chosen in advance (as a deploy's STRIPE_API_BASE would be)."""
    port = free_port()
    config = ReceiverConfig(webhook_secret=SECRET, stripe_api_base="http://127.0.0.1:%d" % port,
                            database_url="sqlite:///%s" % (tmp_path / "r.sqlite3"))
    with ReceiverServer(config) as server:
        yield server, port


def test_list_shows_scenarios_with_tags():
    proc = cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    by_name = {s["id"].split("::")[-1]: s["tags"] for s in doc["scenarios"]}
    assert "signature" in by_name["test_bad_delivery_is_rejected_and_changes_nothing[wrong_secret]"]
    assert "yaml" in by_name["decline then success with a duplicate burst"]
    assert len(doc["scenarios"]) >= 50


def test_run_selected_tag_passes_with_junit_and_json(tmp_path):
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    proc = cli("run", "-t", "smoke", "-t", "rolled-secret", "-n", "1", "--junit-xml", str(junit),
               "--json-report", str(report))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  2 passed" in proc.stdout
    doc = json.loads(report.read_text())
    assert doc["exit_code"] == 0 and doc["summary"]["passed"] == 2
    assert 'tests="2"' in junit.read_text()


def test_external_target_without_counts_does_not_check_what_needs_them(receiver, tmp_path):
    server, port = receiver
    profile = tmp_path / "posx.yaml"
    profile.write_text("headers: {Authorization: 'Bearer posx-test-token', X-Site-Code: NA}\n"
                       "create_order: {method: POST, path: /api/v1/orders/, json: {tier_id: tier_starter, quantity: 1}}\n"
                       "fields: {allocations: null, commissions: null}\n")
    proc = cli("run", "--target-url", server.url, "--profile", str(profile), "--webhook-secret", SECRET,
               "--sim-port", str(port), "-k", "test_success_pays_once or test_cancel", "--json")
    doc = json.loads(proc.stdout)
    outcomes = {s["name"].split("::")[-1]: s for s in doc["scenarios"]}
    assert outcomes["test_success_pays_once"]["outcome"] == "not_checked", outcomes
    assert "no JSON path for allocations" in outcomes["test_success_pays_once"]["message"]
    assert "checked what it can show: status, paid_at" in outcomes["test_success_pays_once"]["message"]
    assert "allocates tokens twice" in outcomes["test_success_pays_once"]["catches"]
    assert proc.returncode == 4, proc.stderr


def test_wrong_secret_against_external_target_is_a_usage_error(receiver):
    server, port = receiver
    proc = cli("run", "--target-url", server.url, "--api-token", "posx-test-token", "--tier", "tier_starter",
               "--webhook-secret", "whsec_not_the_deployed_one", "--sim-port", str(port), "--timeout", "1",
               "-k", "test_success_pays_once")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--webhook-secret: the target refused an event signed with it" in proc.stderr


@pytest.mark.parametrize("args, code, words", [
    (["run", "--mode", "inject", "--target-url", "http://127.0.0.1:9"], 2, "needs its webhook secret"),
    (["run", "--target-url", "http://127.0.0.1:9", "--webhook-secret", "whsec_x"], 3, "target unreachable"),
    (["run", "-t", "no-such-tag", "-n", "1"], 2, "no scenario matches"),
    (["run", "--flavor", "guid"], 2, "unknown flavor 'guid'"),
    (["doctor", "--target", "ftp://x", "--secret", "whsec_x"], 2, "full URL"),
])
def test_gate_exit_codes(args, code, words):
    proc = cli(*args)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert words in proc.stderr + proc.stdout


def test_doctor_passes_a_correct_endpoint(receiver):
    server, _ = receiver
    proc = cli("doctor", "--target", server.url + "/api/v1/webhooks/stripe/", "--secret", SECRET, "--json")
    doc = json.loads(proc.stdout)
    verdicts = {c["name"]: c["verdict"] for c in doc["checks"]}
    assert proc.returncode == 0, doc
    for name in ("unsigned_request", "signed_event", "unhandled_event_type", "replayed_signature", "response_time"):
        assert verdicts[name] == "pass", doc
    assert verdicts["https"] == "skip"  # a local URL: Stripe cannot reach it anyway


def test_doctor_names_a_trailing_newline_in_the_deployed_secret(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET + "\n", database_url="sqlite:///%s" % (tmp_path / "d.sqlite3"))
    with ReceiverServer(config) as server:
        proc = cli("doctor", "--target", server.url, "--secret", SECRET)
    assert proc.returncode == 1
    assert "trailing newline" in proc.stdout and "redeploy" in proc.stdout


def test_doctor_tells_which_other_secret_is_deployed(tmp_path):
    config = ReceiverConfig(webhook_secret="whsec_the_live_one_xyz", database_url="sqlite:///%s" % (tmp_path / "d.sqlite3"))
    with ReceiverServer(config) as server:
        proc = cli("doctor", "--target", server.url, "--secret", SECRET, "--other-secret", "whsec_the_live_one_xyz",
                   "--json")
    doc = json.loads(proc.stdout)
    signed = next(c for c in doc["checks"] if c["name"] == "signed_event")
    assert signed["verdict"] == "fail" and "--other-secret #1" in signed["detail"]


def test_doctor_unreachable_exit_3():
    proc = cli("doctor", "--target", "http://127.0.0.1:%d/api/v1/webhooks/stripe/" % free_port(), "--secret", SECRET)
    assert proc.returncode == 3, proc.stdout


def test_python_adapter_by_dotted_path_and_user_scenarios():
    """A class named by dotted path drives the target; what it cannot do is not checked, with its
    reason; a user's own scenario file runs with the plugin's fixtures."""
    proc = cli("run", "--adapter", "tests.harness.examples.sample_adapter:NoHooksTarget",
               "--webhook-secret", SECRET, "--scenarios", "tests/harness/examples/user_scenario.py",
               "-t", "recovery", "-t", "user", "--json")
    doc = json.loads(proc.stdout)
    outcomes = {s["name"].split("::")[-1]: s for s in doc["scenarios"]}
    assert outcomes["test_user_pays_two_orders"]["outcome"] == "passed", outcomes
    retry = [s for name, s in outcomes.items() if name.startswith("test_stripe_retry_finishes_the_job_once")]
    assert len(retry) == 3 and all(s["outcome"] == "not_checked" for s in retry), retry
    assert all("the sample adapter offers no fault hooks" in s["message"] for s in retry), retry
    assert proc.returncode == 4, proc.stderr


def test_inject_mode_adopts_intents_made_elsewhere():
    """The bundled receiver makes its intents locally (MOCK_STRIPE); the simulator adopts
    them by id and pays them; the scenario that needs api mode is not checked, saying so."""
    proc = cli("run", "--mode", "inject", "-n", "1", "-t", "smoke", "-t", "race", "-t", "refund", "--json")
    doc = json.loads(proc.stdout)
    outcomes = {s["name"].split("::")[-1]: s for s in doc["scenarios"]}
    assert outcomes["test_success_pays_once"]["outcome"] == "passed", outcomes
    assert outcomes["test_refund_after_payment"]["outcome"] == "passed", outcomes
    assert outcomes["test_event_before_its_order_exists"]["outcome"] == "not_checked"
    assert "only be staged in api mode" in outcomes["test_event_before_its_order_exists"]["message"]
    assert proc.returncode == 4, proc.stderr
