"""The gate against an external target, as a new user points it: ``--target-url`` and no profile.

The bundled receiver is served on its own (``ReceiverServer``) and reached only over HTTP, so
the harness knows of it only what the contract lets it ask. With the contract's fault hooks
answering, the mark-before-process flaw fails the gate; without them, the run is *not
checked* (exit 4), never a pass. Misconfiguration exits 2 naming the ``posx-harness run``
flag, never a pytest option, through ``main(argv)``.
"""
import re

import pytest

from harness.cli import main
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import ReceiverServer
from tests.harness.agreement import assert_agree
from tests.harness.test_cli import SECRET, cli, free_port

TOKEN = "posx-test-token"
ENV = ("POSX_TARGET_URL", "POSX_PROFILE", "POSX_MODE", "STRIPE_WEBHOOK_SECRET", "POSX_TAGS", "POSX_TIER",
       "POSX_API_TOKEN", "POSX_SITE_CODE", "POSX_SIM_PORT", "POSX_ADAPTER", "POSX_TIMEOUT",
       "PYTEST_XDIST_WORKER")  # the run inside picks its simulator port by worker


def serve(tmp_path, flavor="reference", hooks=False, sim_port=None, **extra):
    port = sim_port or free_port()
    config = ReceiverConfig(webhook_secret=SECRET, stripe_api_base="http://127.0.0.1:%d" % port,
                            database_url="sqlite:///%s" % (tmp_path / ("%s.sqlite3" % flavor)), flavor=flavor,
                            enable_fault_hooks=hooks, crash_mode="raise", **extra)
    return ReceiverServer(config), port


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("hooks, code", [(True, 1), (False, 4)], ids=["hooks-answer", "no-hooks"])
def test_mark_before_process_behind_a_url_is_not_a_pass(tmp_path, hooks, code):
    server, port = serve(tmp_path, "flaw-mark-before-process", hooks=hooks)
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    with server:
        proc = cli("run", "--target-url", server.url, "--webhook-secret", SECRET, "--sim-port", str(port),
                   "--api-token", TOKEN, "-t", "crash", "-t", "smoke", "--timeout", "3",
                   "--junit-xml", str(junit), "--json-report", str(report))
    doc = assert_agree(proc.returncode, proc.stdout, junit, report, code)
    crash = next(s for s in doc["scenarios"] if "crash_mid" in s["nodeid"])
    smoke = next(s for s in doc["scenarios"] if "test_success_pays_once" in s["nodeid"])
    assert smoke["outcome"] == "passed", smoke
    if hooks:
        # Found by asking GET /_posx/faults/: no profile names them.
        assert "fault hooks: fail_next, crash_next, delay_next" in proc.stdout
        assert crash["outcome"] == "failed" and "did not reach the expected state" in crash["message"], crash
    else:
        assert crash["outcome"] == "not_checked", crash
        assert "GET /_posx/faults/ answered 404" in crash["message"]
        assert "marks an event before processing it loses the event" in crash["catches"]


def test_the_reference_behind_a_url_with_hooks_passes_the_recovery_scenarios(tmp_path):
    server, port = serve(tmp_path, hooks=True)
    with server:
        proc = cli("run", "--target-url", server.url, "--webhook-secret", SECRET, "--sim-port", str(port),
                   "--api-token", TOKEN, "-t", "crash", "-t", "retry", "-k", "not after_timeout")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"PASS  2 passed, 0 failed, 0 errors, 0 not checked", proc.stdout), proc.stdout[-1500:]


# -- misconfiguration: exit 2, the CLI's own flag ---------------------------------------------

@pytest.fixture
def target(tmp_path, clean_env):
    server, port = serve(tmp_path)
    with server:
        yield server.url, port


def run_main(capsys, *argv):
    code = main(["run", *argv])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "--posx-" not in text, text  # never the pytest option names
    return code, text


@pytest.mark.parametrize("extra, flag, words", [
    (["--api-token", TOKEN, "--tier", "tier_nope"], "--tier tier_nope", "lists tier_starter, tier_growth"),
    (["--api-token", TOKEN, "--site-code", "MARS"], "--site-code MARS", "lists NA, EU"),
    ([], "--api-token is missing", "answered 401"),
    (["--api-token", "not-the-token"], "--api-token", "refuses this token"),
], ids=["unknown-tier", "unknown-site-code", "missing-token", "wrong-token"])
def test_setup_errors_name_the_flag(target, capsys, extra, flag, words):
    url, port = target
    code, text = run_main(capsys, "--target-url", url, "--webhook-secret", SECRET, "--sim-port", str(port), *extra)
    assert code == 2, text
    assert flag in text and words in text, text


def test_a_wrong_secret_names_the_flag(target, capsys):
    url, port = target
    code, text = run_main(capsys, "--target-url", url, "--webhook-secret", "whsec_not_this_one",
                          "--sim-port", str(port), "--api-token", TOKEN)
    assert code == 2 and "--webhook-secret: the target refused an event signed with it" in text, text


def test_a_missing_secret_names_the_flag(target, capsys):
    url, port = target
    code, text = run_main(capsys, "--target-url", url, "--sim-port", str(port))
    assert code == 2 and "pass --webhook-secret whsec_" in text, text


def test_api_mode_without_a_sim_port_names_it(target, capsys):
    url, _ = target
    code, text = run_main(capsys, "--target-url", url, "--webhook-secret", SECRET, "--api-token", TOKEN)
    assert code == 2 and "pass --sim-port PORT" in text and "--mode inject" in text, text


def test_a_bad_flag_value_exits_2_through_main(capsys, clean_env):
    code, text = run_main(capsys, "--mode", "sideways")
    assert code == 2 and "--mode" in text, text
    code, text = run_main(capsys, "--timeout", "0")
    assert code == 2 and "--timeout must be more than 0" in text, text


def test_the_tier_is_taken_from_the_target(target, capsys):
    url, port = target
    code, text = run_main(capsys, "--target-url", url, "--webhook-secret", SECRET, "--sim-port", str(port),
                          "--api-token", TOKEN, "-t", "smoke", "-n", "1")
    assert "tier tier_starter: the first of GET /api/v1/tiers/" in text
    assert code == 0, text


def test_a_target_whose_stripe_is_not_the_simulator_is_a_usage_error(tmp_path, clean_env):
    # Its intents are made locally (as with another Stripe account): --sim-port cannot be right.
    server, port = serve(tmp_path, mock_stripe=True)
    with server:
        proc = cli("run", "--target-url", server.url, "--webhook-secret", SECRET, "--sim-port", str(port),
                   "--api-token", TOKEN, "-t", "smoke", "-t", "duplicates")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "which the simulator never made" in proc.stdout + proc.stderr
    assert "--sim-port PORT" in proc.stdout + proc.stderr and "--posx-" not in proc.stdout + proc.stderr
