"""The Stripe CLI's ``stripe trigger`` names, and which of our flows each one runs.

``STRIPE_CLI_TRIGGERS`` lists the names the Stripe CLI's ``trigger`` accepts (the keys of
its built-in trigger table, stripe-cli master in 2025, leaving out the regional issuing
variants and the v1.billing.meter names); facts about the CLI, kept as data. ``MAPPED`` says which flow (``simulator/flows``) runs for a name; a name the
Stripe CLI has and we do not simulate gets a clear error instead of "unknown flow".
docs/STRIPE_CLI.md shows the same table; tests/cli/test_trigger_names.py keeps them equal.
"""
from __future__ import annotations

from typing import Optional

# Stripe CLI trigger name -> our flow (simulator.flows.REGISTRY). Only payments-side names:
# the POSX webhook handles payment intents, charges, refunds, disputes and checkout.
MAPPED = {
    "payment_intent.created": "payment_intent.created",
    "payment_intent.succeeded": "payment_intent.succeeded",
    "payment_intent.payment_failed": "payment_intent.payment_failed",
    "payment_intent.canceled": "payment_intent.canceled",
    "payment_intent.requires_action": "payment_intent.requires_action",
    "charge.succeeded": "payment_intent.succeeded",
    "charge.updated": "payment_intent.succeeded",
    "charge.failed": "payment_intent.payment_failed",
    "charge.refunded": "charge.refunded",
    "charge.refund.updated": "charge.refunded",
    "refund.created": "charge.refunded",
    "refund.updated": "charge.refunded",
    "charge.dispute.created": "charge.dispute.created",
    "charge.dispute.funds_withdrawn": "charge.dispute.created",
    "charge.dispute.updated": "charge.dispute.closed",
    "charge.dispute.closed": "charge.dispute.closed",
    "charge.dispute.funds_reinstated": "charge.dispute.closed",
    "checkout.session.completed": "checkout.session.completed",
}

STRIPE_CLI_TRIGGERS = frozenset("""
account.application.deauthorized account.updated balance.available
billing_portal.configuration.created billing_portal.configuration.updated billing_portal.session.created
cash_balance.funds_available charge.captured charge.dispute.closed charge.dispute.created
charge.dispute.funds_reinstated charge.dispute.funds_withdrawn charge.dispute.updated charge.failed
charge.refund.updated charge.refunded charge.succeeded charge.updated
checkout.session.async_payment_failed checkout.session.async_payment_succeeded checkout.session.completed
checkout.session.expired coupon.created coupon.deleted coupon.updated credit_note.created credit_note.updated
credit_note.voided customer_cash_balance_transaction.created customer.created customer.deleted
customer.discount.created customer.discount.deleted customer.discount.updated customer.source.created
customer.source.updated customer.subscription.created customer.subscription.deleted
customer.subscription.paused customer.subscription.trial_will_end customer.subscription.updated
customer.updated identity.verification_session.canceled identity.verification_session.created
identity.verification_session.redacted invoice.created invoice.deleted invoice.finalized
invoice.marked_uncollectible invoice.paid invoice.payment_action_required invoice.payment_failed
invoice.payment_succeeded invoice.sent invoice.updated invoice.voided invoiceitem.created invoiceitem.deleted
issuing_authorization.request issuing_card.created issuing_cardholder.created issuing_transaction.created
payment_intent.amount_capturable_updated payment_intent.canceled payment_intent.created
payment_intent.partially_funded payment_intent.payment_failed payment_intent.processing
payment_intent.requires_action payment_intent.succeeded payment_link.created payment_link.updated
payment_method.attached payment_method.detached payment_method.updated payout.created payout.updated
plan.created plan.deleted plan.updated price.created price.updated product.created product.deleted
product.updated promotion_code.created promotion_code.updated quote.accepted quote.canceled quote.created
quote.finalized refund.created refund.updated reporting.report_run.succeeded setup_intent.canceled
setup_intent.created setup_intent.requires_action setup_intent.setup_failed setup_intent.succeeded
subscription_schedule.canceled subscription_schedule.created subscription_schedule.released
subscription_schedule.updated subscription.payment_failed subscription.payment_succeeded tax_rate.created
tax_rate.updated transfer.created transfer.reversed transfer.updated
""".split())


class NotSimulated(ValueError):
    pass


def translate(name: str) -> str:
    """The flow to run for ``name``: a Stripe CLI trigger name we map, else ``name`` itself
    (one of our own flows). A Stripe CLI name we do not simulate raises NotSimulated."""
    if name in MAPPED:
        return MAPPED[name]
    if name in STRIPE_CLI_TRIGGERS:
        from simulator import flows

        try:
            return flows.resolve(name)
        except flows.FlowError:
            pass
        raise NotSimulated("%r is a Stripe CLI trigger the simulator does not reproduce (it simulates payments, "
                           "refunds, disputes and checkout; see docs/STRIPE_CLI.md for the names it maps)" % name)
    return name


def mapped_table() -> list[tuple[str, Optional[str]]]:
    """(Stripe CLI name, our flow or None), sorted: what the docs' table shows."""
    return [(n, MAPPED.get(n)) for n in sorted(STRIPE_CLI_TRIGGERS)]
