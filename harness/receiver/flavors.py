"""Flavours of the receiver: the correct reference, the guide's code, and one flaw at a time.

A flavour is a set of flags (data). Each flag switches one behaviour of the webhook
handler from the correct one to the flawed one, so the scenario suite can show that every
flaw is caught by at least one scenario.
"""
from __future__ import annotations

from typing import Dict, FrozenSet

# flag -> what it does (the flawed behaviour)
FLAGS: Dict[str, str] = {
    "mark_before_process": "records the event id in its own commit before handling it; a crash in between "
                           "loses the event (Stripe's retry is answered as a duplicate)",
    "no_lock": "reads the order's status, then updates it in a later transaction without a row lock",
    "tasks_per_event": "starts allocation/commission tasks keyed by the event, not the order (like the "
                       "guide's .delay() calls), so two events that both see 'pending' both allocate",
    "tasks_outside_tx": "enqueues the tasks after the order update has committed, in a separate transaction",
    "drop_unknown_order": "logs 'Order not found' and drops an event for an order it does not know yet",
    "stale_failure_overrides": "a payment_failed/charge.failed sets the order to failed even if it was paid",
    "guide_event_types": "handles only the guide's required events (its step 2.3 table), through the "
                         "guide's handlers",
    "no_signature_tolerance": "accepts signatures of any age (replayed old deliveries pass)",
    "sdk_construct_event": "parses with the SDK's stripe.Webhook.construct_event, as the guide does",
}
# -- verdict work (issue 12): a receiver broken in a way the suite sees at once ------------
FLAGS["double_allocate"] = "allocates twice per payment (a second allocation task under its own key)"
# ------------------------------------------------------------------------------------------

# -- money (docs/CONTRACT.md "## Money"): one flag per mistake that pays, allocates or
# refunds the wrong amount. The outbox reads the first two, the webhook the others.
MONEY_FLAGS: Dict[str, str] = {
    "tokens_ignore_quantity": "allocates the tier's tokens once, whatever the order's quantity",
    "commission_net_of_fees": "computes the commission on the amount net of Stripe's card fee "
                              "(2.9% + 30), not on the order's amount",
    "partial_refund_refunds": "marks the order refunded on any charge.refunded, even a partial one",
    "checkout_unpaid_pays": "pays on checkout.session.completed whatever its payment_status (a delayed "
                            "method's session completes unpaid)",
    "ignore_amount": "pays without comparing the amount and currency received with the order's",
}
FLAGS.update(MONEY_FLAGS)

FLAVORS: Dict[str, FrozenSet[str]] = {
    "reference": frozenset(),
    # The guide's view function + handler. stale_failure_overrides is inferred: the guide
    # shows no payment_failed handler, but its success handler's style (no state guard
    # besides "already paid") applied to failures un-pays a paid order.
    "guide": frozenset({"mark_before_process", "no_lock", "tasks_per_event", "tasks_outside_tx",
                        "drop_unknown_order", "stale_failure_overrides", "guide_event_types",
                        "sdk_construct_event"}),
    "flaw-mark-before-process": frozenset({"mark_before_process"}),
    # Without the lock, the per-order task key is the only thing left that stops a double
    # allocation; a receiver without the lock (the guide) has no such key either.
    "flaw-no-lock": frozenset({"no_lock", "tasks_per_event"}),
    "flaw-tasks-outside-tx": frozenset({"tasks_outside_tx"}),
    "flaw-drop-unknown-order": frozenset({"drop_unknown_order"}),
    "flaw-stale-failure-overrides": frozenset({"stale_failure_overrides"}),
    "flaw-no-signature-tolerance": frozenset({"no_signature_tolerance"}),
}
# -- verdict work (issue 12) ---------------------------------------------------------------
# Every paid order gets two allocations: what the fail-fast benchmark (tests/bench/) runs
# the suite against, since every scenario that pays an order can see it at once.
FLAVORS["flaw-double-allocate"] = frozenset({"double_allocate"})
# ------------------------------------------------------------------------------------------

# Money flaws (issue 18): one flavour per mistake, named for the load helper and the proof suite.
FLAVORS.update({
    "flaw-wrong-tokens": frozenset({"tokens_ignore_quantity"}),
    "flaw-commission-rate": frozenset({"commission_net_of_fees"}),
    "flaw-partial-refund-refunds": frozenset({"partial_refund_refunds"}),
    "flaw-checkout-unpaid-pays": frozenset({"checkout_unpaid_pays"}),
    "flaw-ignore-amount": frozenset({"ignore_amount"}),
})
# The guide's success handler sets status='paid' from the event alone: it never compares
# what Stripe received with what the order costs. (It handles no refund or Checkout event,
# so the other money flags have nothing to act on there.)
FLAVORS["guide"] = FLAVORS["guide"] | {"ignore_amount"}

# -- load-test kinds (issue 12): one flaw per kind of event the load mix sends --------
FLAGS.update({
    "ignore_refunds": "does not handle charge.refunded (a refunded order stays paid)",
    "ignore_disputes": "does not handle charge.dispute.created (a dispute is never recorded)",
    "ignore_cancels": "does not handle payment_intent.canceled (a canceled order stays pending)",
    "invalid_json_500": "parses the body without handling a parse error: a signed body that is not JSON gets 500 "
                        "(Stripe retries it for days) instead of 400",
})
FLAVORS.update({
    "flaw-ignore-refunds": frozenset({"ignore_refunds"}),
    "flaw-ignore-disputes": frozenset({"ignore_disputes"}),
    "flaw-ignore-cancels": frozenset({"ignore_cancels"}),
    "flaw-invalid-json-500": frozenset({"invalid_json_500"}),
})
# flag -> the event type that flag's flavour leaves unhandled
IGNORED_TYPES: Dict[str, str] = {
    "ignore_refunds": "charge.refunded",
    "ignore_disputes": "charge.dispute.created",
    "ignore_cancels": "payment_intent.canceled",
}

# The guide's view whitelists three types, but its step 2.3 table marks charge.succeeded
# as required too ("二次确认支付", a second confirmation of the payment). A team building
# from the guide subscribes to and handles all four; charge.succeeded then runs the same
# unlocked success handler, and it lands within milliseconds of payment_intent.succeeded
# (64 ms apart in the real capture), which is the guide's double-allocation race.
GUIDE_EVENT_TYPES = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed",
                               "charge.succeeded", "charge.dispute.created"})


def flags_for(flavor: str) -> FrozenSet[str]:
    try:
        return FLAVORS[flavor]
    except KeyError:
        raise ValueError("unknown flavor %r; choose one of: %s" % (flavor, ", ".join(FLAVORS))) from None
