"""The money scenarios bite: each money mistake (a flaw flavour of the bundled receiver) is
caught by at least one scenario, and the correct reference passes them all.

Like test_suite_bites.py, each flavour runs ``posx-harness run --json`` on the scenarios
aimed at its mistake, in its own process.
"""
import pytest

from tests.harness.test_suite_bites import FLAW_WAIT, failed_names, run_suite

# flavour -> (selection, scenarios of which at least one must fail); the reference runs the
# whole money selection below. Selections are narrow: each run starts a receiver and a simulator.
MONEY_FLAWS = {
    "flaw-wrong-tokens": (["-t", "tokens", "-k", "x3 or x5"], {"test_tokens_are_tier_tokens_times_quantity"}),
    "flaw-commission-rate": (["-t", "commission", "-k", "x3"], {"test_commission_is_the_rate_of_the_amount"}),
    "flaw-partial-refund-refunds": (["-k", "partial_refund_keeps or two_partial"],
                                    {"test_partial_refund_keeps_the_order_paid", "test_two_partial_refunds_add_up"}),
    "flaw-checkout-unpaid-pays": (["-k", "async_checkout_fails or async_failure_before"],
                                  {"test_async_checkout_fails_when_the_debit_fails",
                                   "test_async_failure_before_completed_stays_failed"}),
    "flaw-ignore-amount": (["-t", "mismatch"], {"test_amount_short_by_one_cent_does_not_pay",
                                                "test_other_currency_does_not_pay"}),
    # The guide's code never compares what Stripe received with the order, and handles no
    # refund: a short payment pays and a partial refund never shows.
    "guide": (["-k", "one_cent or other_currency or partial_refund_keeps"],
              {"test_amount_short_by_one_cent_does_not_pay", "test_other_currency_does_not_pay",
               "test_partial_refund_keeps_the_order_paid"}),
}


@pytest.mark.parametrize("flavor", list(MONEY_FLAWS))
def test_each_money_mistake_is_caught(flavor):
    selection, catchers = MONEY_FLAWS[flavor]
    code, report = run_suite(flavor, selection + FLAW_WAIT)
    caught = failed_names(report) & catchers
    assert code == 1, "expected exit 1 (scenario failures) against %s, got %d: %s" % (flavor, code, report["summary"])
    assert caught, "no scenario caught %s; failed: %s" % (flavor, sorted(failed_names(report)))
    if flavor == "guide":
        assert caught == catchers, "the guide's money mistakes not all caught: %s" % sorted(catchers - caught)
    message = next(s["message"] for s in report["scenarios"] if s["outcome"] in ("failed", "error")
                   and s["nodeid"].split("::")[-1].split("[")[0] in caught)
    assert "expected:" in message and "the target showed:" in message and "delivery log" in message, message


def test_reference_passes_every_money_scenario():
    code, report = run_suite("reference", ["-t", "money"])
    assert code == 0, "the reference failed: %s\n%s" % (
        report["summary"], "\n\n".join(s["message"] for s in report["scenarios"] if s["outcome"] != "passed"))
    names = {s["nodeid"].split("::")[-1].split("[")[0] for s in report["scenarios"]}
    aimed = set().union(*(catchers for _, catchers in MONEY_FLAWS.values()))
    assert aimed <= names, "scenarios aimed at a money flaw did not run: %s" % sorted(aimed - names)
    assert report["summary"]["skipped"] == 0 and report["summary"]["passed"] >= 18, report["summary"]
