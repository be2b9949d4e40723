"""Reads ``posx-harness run --json-report`` and says, for each scenario that did not pass,
what it means for the Django code (the table in docs/DJANGO.md). Used by gate.sh; exits 0."""
from __future__ import annotations

import json
import sys

# (piece of the scenario name, the flaw it shows in a Django POSX)
MEANINGS = (
    ("concurrent_distinct_success_events", "double allocation under concurrent duplicates: the order is read "
     "without select_for_update, so two success events both see it unpaid and both start the tasks"),
    ("concurrent_success_events", "double allocation under concurrent duplicates: payment_intent.succeeded and "
     "charge.succeeded at once both pay the order (no row lock, tasks not idempotent)"),
    ("concurrent_burst", "double allocation under concurrent duplicates of one event: the idempotency key and the "
     "order change are not one transaction"),
    ("after_crash_mid_processing", "the event lost by marking before processing: the IdempotencyKey is committed "
     "before the order update, so Stripe's retry after a crash is answered 'Duplicate event'"),
    ("stale_failure", "the stale failure that un-pays: a late payment_failed/charge.failed sets a paid order "
     "back to failed (no guard on the status)"),
    ("3ds_failure_arriving_after", "the stale failure that un-pays: a failed 3-D Secure attempt's event, arriving "
     "after the retry paid, un-pays the order"),
    ("event_before_its_order_exists", "an event that arrives before its order is created is dropped ('Order not "
     "found') instead of kept and applied"),
    ("tokens_are", "the allocation is not the tier's tokens x the quantity (allocate_tokens uses the wrong figure)"),
    ("commission_is", "the commission is not floor(amount x rate_bps / 10000) to the referrer or house:<site_code>"),
    ("amount_short", "a payment of the wrong amount pays the order: compare amount_received with order.amount"),
    ("other_currency", "a payment in another currency pays the order: compare the currency too"),
    ("async", "Checkout's delayed payment: checkout.session.completed with payment_status unpaid must wait for "
     "async_payment_succeeded / _failed, and a stale failure must not un-pay"),
    ("bank debit", "Checkout's delayed payment (a bank debit) is paid or failed at the wrong event"),
    ("partial", "a partial refund: the order stays paid with amount_refunded = the charge's cumulative refunds"),
    ("checkout", "Checkout does not pay the order: checkout.session.completed is not handled, or the order is not "
     "found by client_reference_id / metadata.order_id"),
    ("refund", "refunds are not recorded (charge.refunded not handled, or amount_refunded wrong)"),
    ("cancel", "payment_intent.canceled is not handled"),
    ("every_order_of", "the final state depends on the order events arrive in"),
    ("shuffled", "the final state depends on the order events arrive in (or duplicates double the effect)"),
    ("after_5xx", "a webhook answered 5xx left a partial effect: Stripe's retry does not finish the job once"),
    ("after_timeout", "a late answer (the work was done) made Stripe's retry allocate again"),
    ("decline_then_success", "a failed attempt then a success does not pay the order once"),
    ("signature", "a badly signed or stale delivery changed the order, or a good one was refused"),
)


def meaning(name: str) -> str:
    for piece, text in MEANINGS:
        if piece in name:
            return text
    return "see the scenario's report above"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: gate_summary.py REPORT.json", file=sys.stderr)
        return 2
    try:
        with open(argv[0]) as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        print("gate: no JSON report to summarise (%s)" % exc)
        return 0
    bad = [s for s in doc.get("scenarios", []) if s.get("outcome") != "passed"]
    s = doc.get("summary", {})
    print("\ngate: %s scenarios, %s passed, %s failed, %s errors, %s not checked"
          % (s.get("total"), s.get("passed"), s.get("failed"), s.get("error"), s.get("not_checked", s.get("skipped"))))
    if not bad:
        return 0
    print("gate: what the scenarios that did not pass mean for this Django code:")
    seen = {}
    for sc in bad:
        seen.setdefault(meaning(sc["name"]), []).append("%s (%s)" % (sc["name"], sc["outcome"]))
    for text, names in seen.items():
        print("  - %s" % text)
        for name in names:
            print("      %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
