"""What a Stripe fact does to an order (docs/CONTRACT.md, Money). The caller holds the
order's row lock and the transaction; nothing here commits or enqueues.

The status follows from what has been recorded, not from the order events arrive in:
``refunded`` (fully) > ``paid`` > ``canceled`` > ``failed`` > ``pending``, and
``payment_mismatch`` stands once set. So a stale ``payment_failed`` after the payment cannot
un-pay, a success after a failed attempt pays, and an early ``charge.refunded`` counts.
"""
from __future__ import annotations

import logging

from django.db.models import Sum
from django.utils import timezone

from .models import Dispute, Order, Refund

log = logging.getLogger("apps.orders")

# refunds that take money back (a failed or canceled one does not)
COUNTED_REFUND_STATUSES = ("pending", "succeeded", "requires_action")


def apply_fact(order: Order, facts) -> bool:
    """Record ``facts`` on ``order`` and save it; True when this made the order paid."""
    now = timezone.now()
    fact = facts.fact
    newly_paid = False
    if fact == "paid":
        amount, currency = facts.received
        newly_paid = pay(order, amount, currency, now)
    elif fact == "checkout_unpaid":
        log.info("Checkout completed unpaid for order %s: waiting for its async payment", order.id)
    elif fact == "failed":
        order.failed_at = order.failed_at or now
    elif fact == "canceled":
        order.canceled_at = order.canceled_at or now
    elif fact == "charge_refunded":
        obj = facts.obj
        if order.paid_at is None:
            # A refund means the payment happened: its charge says how much was captured.
            currency = obj.get("currency")
            newly_paid = pay(order, obj.get("amount_captured"), currency.lower() if isinstance(currency, str) else None, now)
        refund_to(order, obj.get("amount_refunded"))
    elif fact == "refund":
        record_refund(order, facts.obj)
    elif fact == "dispute":
        record_dispute(order, facts)
    if facts.charge and not order.stripe_charge_id and facts.type.startswith("charge.") and fact != "dispute":
        order.stripe_charge_id = facts.charge
    before = order.status
    order.status = derive_status(order)
    if order.status == Order.REFUNDED and order.refunded_at is None:
        order.refunded_at = now
    order.save()
    if order.status != before:
        log.info("Order status updated: %s (order %s)", order.status, order.id)
    return newly_paid


def pay(order: Order, amount, currency, now) -> bool:
    """Pay ``order`` if what was received is what it costs; True if it became paid now."""
    if order.paid_at is not None:
        return False
    if order.status == Order.MISMATCH:
        log.warning("Order %s keeps its payment mismatch (%s): a person decides", order.id, order.payment_error)
        return False
    if currency != order.currency:
        return _mismatch(order, "currency_mismatch", amount, currency)
    if amount != order.amount:
        return _mismatch(order, "amount_mismatch", amount, currency)
    order.paid_at = now
    order.payment_method = "stripe"
    log.info("Payment succeeded for order %s", order.id)
    return True


def _mismatch(order: Order, kind: str, amount, currency) -> bool:
    order.status = Order.MISMATCH
    order.payment_error = "%s: received %s %s, expected %d %s" % (kind, amount, currency, order.amount, order.currency)
    log.error("Payment not accepted for order %s: %s", order.id, order.payment_error)
    return False


def refund_to(order: Order, total) -> None:
    """Raise ``amount_refunded`` to a cumulative ``total`` (never lower, never past the amount)."""
    if isinstance(total, int) and not isinstance(total, bool):
        order.amount_refunded = min(order.amount, max(order.amount_refunded, total))


def record_refund(order: Order, obj) -> None:
    refund_id, amount = obj.get("id"), obj.get("amount")
    if not isinstance(refund_id, str) or not isinstance(amount, int):
        return
    Refund.objects.update_or_create(id=refund_id, defaults={"order": order, "amount": amount,
                                                            "status": str(obj.get("status") or "")})
    total = order.refunds.filter(status__in=COUNTED_REFUND_STATUSES).aggregate(total=Sum("amount"))["total"] or 0
    refund_to(order, total)


def record_dispute(order: Order, facts) -> None:
    obj = facts.obj
    dispute_id = obj.get("id") if isinstance(obj.get("id"), str) else facts.event_id
    amount = obj.get("amount")
    dispute, created = Dispute.objects.get_or_create(id=dispute_id, defaults={
        "order": order, "charge": facts.charge, "amount": amount if isinstance(amount, int) else None,
        "reason": str(obj.get("reason") or ""), "status": str(obj.get("status") or "")})
    if created:
        log.warning("Dispute %s (%s) opened on order %s: notify an admin", dispute_id, dispute.reason, order.id)
    elif dispute.status != str(obj.get("status") or dispute.status):
        dispute.status = str(obj.get("status"))
        dispute.save(update_fields=["status"])


def derive_status(order: Order) -> str:
    if order.status == Order.MISMATCH:
        return Order.MISMATCH
    if order.paid_at is not None:
        return Order.REFUNDED if order.amount_refunded >= order.amount else Order.PAID
    if order.canceled_at is not None:
        return Order.CANCELED
    if order.failed_at is not None:
        return Order.FAILED
    return Order.PENDING
