"""Short headless Locust runs against real receivers on 127.0.0.1 (a few seconds each).

The reference receiver passes its invariants and thresholds; the guide's flavour and the
lock-free flaw fail them with their documented exit codes; a master with two workers
checks the orders of both.
"""
from __future__ import annotations

import argparse
import json

import pytest

from harness.cli import load
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import GunicornReceiver
from loadtests.orders import REFERENCE_BULK_PATH
from loadtests.verdict import EXIT_CODES, Failure, exit_code_for

SECRET = "whsec_loadtests_runs_0123456789abcdef"


def receiver(tmp_path_factory, flavor):
    tmp = tmp_path_factory.mktemp("receiver-" + flavor)
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, flavor=flavor, enable_fault_hooks=True,
                            database_url="sqlite:///%s" % (tmp / "db.sqlite3"))
    return GunicornReceiver(config, workers=2, log_path=str(tmp / "receiver.log"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    with receiver(tmp_path_factory, "reference") as r:
        yield r


def run_load(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    load.add_arguments(parser)
    report = tmp_path / "verdict.json"
    code = load.run(parser.parse_args([*argv, "--check-report", str(report), "--seed", "7"]))
    return code, json.loads(report.read_text())


def against(target):
    return ["--target", target.url, "--webhook-secret", SECRET, "--bulk-orders-path", REFERENCE_BULK_PATH]


def test_reference_receiver_passes_invariants_and_thresholds(tmp_path):
    # The front door as CI uses it: no --target, so it serves the reference receiver itself.
    code, verdict = run_load(tmp_path, "-t", "3s", "-u", "8", "--rate", "60", "--check-fail-ratio", "0",
                             "--check-rps", "5", "--check-p99-ms", "10000", "--html", str(tmp_path / "report.html"),
                             "--csv", str(tmp_path / "stats"))
    assert (code, verdict["failures"]) == (0, [])
    inv = verdict["invariants"]
    # One order per flow; --rate paces the flows (60/s for 3 s, plus the users' first ones).
    # The floor is each user's first flow only: on a loaded machine the rate is not reached,
    # and how fast the run went is the thresholds' business, not this test's.
    assert 8 <= inv["orders"] <= 60 * 3 * 1.25 + 8, inv
    # The default mix injects failures (the embedded receiver serves its fault hooks for it):
    # the only 5xx are those, each redelivered.
    assert inv["forged"] >= 1 and inv["server_errors"] <= inv["injected"]
    assert verdict["webhook"]["requests"] > inv["orders"]
    assert (tmp_path / "report.html").stat().st_size > 0
    assert "webhook payment_intent.succeeded" in (tmp_path / "stats_stats.csv").read_text()


def test_thresholds_fail_with_their_codes(tmp_path, reference):
    code, verdict = run_load(tmp_path, *against(reference), "-t", "2s", "-u", "4", "--check-rps", "1000000",
                             "--check-p99-ms", "0.001")
    assert sorted(f["kind"] for f in verdict["failures"]) == ["p99", "rps"]
    assert code == EXIT_CODES["p99"]  # the more serious of the two


def test_guide_flavour_fails_the_invariants(tmp_path, tmp_path_factory):
    # Two of the guide's flaws under load: its unlocked check-then-update lets
    # payment_intent.succeeded and charge.succeeded (both handled, per its table of required
    # events) allocate twice when they land together, and its payment_failed handler un-pays
    # a paid order when the failure of an earlier attempt arrives late.
    with receiver(tmp_path_factory, "guide") as guide:
        code, verdict = run_load(tmp_path, *against(guide), "-t", "4s", "-u", "8", "--invariants-timeout", "2",
                                 "--prefill-orders", "100",
                                 "--mix", "out_of_order=40,concurrent_duplicate=50,success=10")
    kinds = {f["kind"] for f in verdict["failures"]}
    assert "exactly_once" in kinds, verdict
    message = next(f["message"] for f in verdict["failures"] if f["kind"] == "exactly_once")
    assert "2 allocation(s)" in message
    assert code == exit_code_for([Failure(k, "") for k in kinds])


def test_check_then_update_without_lock_fails_exactly_once(tmp_path, tmp_path_factory):
    # The guide's unlocked check-then-update with per-event tasks: payment_intent.succeeded
    # and charge.succeeded landing together both see "pending" and both allocate.
    with receiver(tmp_path_factory, "flaw-no-lock") as flawed:
        code, verdict = run_load(tmp_path, *against(flawed), "-t", "4s", "-u", "8", "--invariants-timeout", "2",
                                 "--prefill-orders", "100",
                                 "--mix", "concurrent_duplicate=100")
    assert code == EXIT_CODES["exactly_once"], verdict
    message = next(f["message"] for f in verdict["failures"] if f["kind"] == "exactly_once")
    assert "2 allocation(s)" in message


def test_master_with_two_workers_checks_every_workers_orders(tmp_path, reference):
    code, verdict = run_load(tmp_path, *against(reference), "--workers", "2", "-t", "3s", "-u", "6",
                             "--rate", "40")
    assert (code, verdict["failures"]) == (0, [])
    by_source = verdict["invariants"]["orders_by_source"]
    assert len(by_source) == 2 and all(n > 0 for n in by_source.values()), by_source
    assert sum(by_source.values()) == verdict["invariants"]["orders"]
    # --rate is shared by all users of all workers, not applied per worker.
    assert verdict["invariants"]["orders"] <= 40 * 3 * 1.25 + 6


def test_a_receiver_that_accepts_old_signatures_fails_the_forged_check(tmp_path, tmp_path_factory):
    # Signatures of any age pass this flaw: a replayed payment_intent.succeeded pays an
    # order nobody paid, and the stale event was not rejected with 400.
    with receiver(tmp_path_factory, "flaw-no-signature-tolerance") as lax:
        code, verdict = run_load(tmp_path, *against(lax), "-t", "2s", "-u", "4", "--invariants-timeout", "2",
                                 "--mix", "stale=50,forged=20,success=30")
    kinds = {f["kind"] for f in verdict["failures"]}
    assert "forged_accepted" in kinds, verdict
    message = next(f["message"] for f in verdict["failures"] if f["kind"] == "forged_accepted")
    assert "stale event for order" in message and "forged event" not in message  # forged ones still got 400
    assert code == exit_code_for([Failure(k, "") for k in kinds])
