"""Each kind of event in the load mix, under load, against a receiver with the one flaw that
kind's invariant is there to catch: the run fails with that check's exit code, and the
correct receiver passes the whole mix (short headless runs, 2-3 s of load each).

Every run goes through ``posx-harness load``'s front door with ``--flavor`` (the reference
receiver under gunicorn, its fault hooks on since the mixes with injected failures ask for
them).
"""
from __future__ import annotations

import argparse
import json

import pytest

from harness.cli import load
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import ReceiverServer
from loadtests.mix import KINDS
from loadtests.verdict import EXIT_CODES

SECRET = "whsec_loadtests_kinds_0123456789abcdef"


def run_load(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    load.add_arguments(parser)
    report = tmp_path / "verdict.json"
    code = load.run(parser.parse_args([*argv, "--check-report", str(report), "--seed", "3"]))
    return code, (json.loads(report.read_text()) if report.exists() else None)


def test_the_reference_receiver_passes_every_kind_and_the_money_adds_up(tmp_path):
    code, verdict = run_load(tmp_path, "-t", "3s", "-u", "8", "--rate", "60", "--invariants-timeout", "5",
                             "--mix", ",".join("%s=1" % k for k in KINDS), "--kinds-in-turn")
    assert (code, verdict["failures"], verdict["not_checked"]) == (0, [], []), verdict
    inv = verdict["invariants"]
    assert set(inv["by_kind"]) == set(KINDS), inv["by_kind"]  # every kind ran at least once
    money = inv["money"]
    assert money["orders_paid"] > 0 and money["rate_bps"] == 1000
    assert money["tokens_allocated"] == money["tokens_sold"] > 0
    assert money["commission_paid"] == money["commission_due"] > 0
    assert 0 < money["amount_refunded"] < money["amount_paid"]
    assert inv["injected"] > 0 and inv["invalid_json"] > 0


# flavour, mix, the check that must fail (its exit code is the run's: the most serious).
FLAWS = [
    ("flaw-ignore-refunds", "refund_full=100", "refund"),
    ("flaw-partial-refund-refunds", "refund_partial=100", "refund"),
    ("flaw-ignore-disputes", "dispute=100", "dispute"),
    ("flaw-ignore-cancels", "cancel=100", "cancel"),
    ("flaw-invalid-json-500", "invalid_json=100", "invalid_json"),
    # A crash after the event is marked, before its work commits: Stripe's redelivery is
    # answered as a duplicate and the order is never paid.
    ("flaw-mark-before-process", "injected_failure=100", "redelivery"),
    ("flaw-wrong-tokens", "success=100", "money"),
    ("flaw-commission-rate", "success=100", "money"),
    ("flaw-ignore-amount", "amount_mismatch=100", "money"),
    # Pays at checkout.session.completed although payment_status is unpaid: the bank debits
    # that fail afterwards leave paid orders with tokens.
    ("flaw-checkout-unpaid-pays", "checkout_async=100", "money"),
]


@pytest.mark.parametrize("flavor,mix,kind", FLAWS, ids=[f[0] for f in FLAWS])
def test_each_kind_catches_its_flaw(tmp_path, flavor, mix, kind):
    code, verdict = run_load(tmp_path, "--flavor", flavor, "--mix", mix, "-t", "2s", "-u", "4", "--rate", "30",
                             "--invariants-timeout", "1.5")
    failures = {f["kind"]: f["message"] for f in verdict["failures"]}
    assert kind in failures, verdict
    assert code == EXIT_CODES[kind] == verdict["exit_code"], verdict


def test_without_fault_hooks_injected_failures_are_not_checked_and_said_so(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True,
                            database_url="sqlite:///%s" % (tmp_path / "db.sqlite3"))
    with ReceiverServer(config).start() as target:
        target_args = ["--target", target.url, "--webhook-secret", SECRET]
        # The default mix: injected failures are left out, and the verdict names them.
        code, verdict = run_load(tmp_path, *target_args, "-t", "2s", "-u", "2", "--rate", "10")
        assert (code, verdict["failures"]) == (0, []), verdict
        (line,) = [n for n in verdict["not_checked"] if n.startswith("injected_failure")]
        assert "GET /_posx/faults answered 404" in line and "crashes mid-webhook" in line
        assert "injected_failure" not in verdict["invariants"]["by_kind"]
        # Asked for by name: a usage error, before any load.
        asked = tmp_path / "asked"
        asked.mkdir()
        code, verdict = run_load(asked, *target_args, "-t", "2s", "--mix", "success=5,injected_failure=5")
        assert code == 2 and verdict is None  # stopped before any load: no verdict written
