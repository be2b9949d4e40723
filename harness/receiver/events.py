"""What a Stripe event means for a POSX order: pure functions, no database.

``read_event(event)`` turns an event into an ``EventFacts``: which order it concerns
(``metadata.order_id`` and/or the PaymentIntent id), which fact it establishes, and the
money it reports (what was received, or how much of the charge has been refunded). The
order's status is then derived from the set of facts recorded so far, never from the
order in which they arrived:

    refunded  >  paid  >  payment_mismatch  >  canceled  >  failed  >  pending

so a stale ``payment_failed`` after ``succeeded`` cannot undo a payment, a ``succeeded``
after a failed attempt pays, an early ``charge.refunded`` is kept (a refund implies the
payment happened), and ``canceled`` after paid does not unpay. The money rules are in
docs/CONTRACT.md ("## Money").
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

# event type -> fact
HANDLED_TYPES: Dict[str, str] = {
    "payment_intent.succeeded": "paid",
    "charge.succeeded": "paid",
    "checkout.session.completed": "paid",
    "checkout.session.async_payment_succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "payment_intent.payment_failed": "failed",
    "charge.failed": "failed",
    "payment_intent.canceled": "canceled",
    "charge.refunded": "refunded",
    "charge.dispute.created": "dispute",
}

# Where each paying event says how much was received (the currency is ``currency`` on all).
RECEIVED_FIELD: Dict[str, str] = {
    "payment_intent.succeeded": "amount_received",
    "charge.succeeded": "amount_captured",
    "checkout.session.completed": "amount_total",
    "checkout.session.async_payment_succeeded": "amount_total",
    # A refund implies the payment: an early charge.refunded pays, so it is checked too.
    "charge.refunded": "amount_captured",
}

CHECKOUT_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                  "checkout.session.async_payment_failed")


class InvalidEvent(ValueError):
    """A correctly signed body that is not a usable event (answered 400 Invalid payload)."""


@dataclasses.dataclass(frozen=True)
class EventFacts:
    event_id: str
    type: str
    fact: Optional[str]          # None: type not handled
    order_ref: Optional[str]     # metadata.order_id (or checkout's client_reference_id)
    payment_intent: Optional[str]
    obj: Dict[str, Any]
    created: Optional[int]
    amount: Optional[int] = None         # what the event says was received (paying facts)
    currency: Optional[str] = None
    amount_refunded: Optional[int] = None  # charge.refunded: the charge's cumulative refunds


def _str_or_none(value) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _int_or_none(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_event(event: Any) -> EventFacts:
    if not isinstance(event, dict):
        raise InvalidEvent("the body is not a JSON object")
    event_id, etype = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(etype, str) or not etype:
        raise InvalidEvent("the event has no id or type")
    fact = HANDLED_TYPES.get(etype)
    if fact is None:
        return EventFacts(event_id, etype, None, None, None, {}, None)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise InvalidEvent("event %s has no data.object" % event_id)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    order_ref = _str_or_none(metadata.get("order_id"))
    if etype.startswith("payment_intent."):
        pi = _str_or_none(obj.get("id"))
    else:
        pi = obj.get("payment_intent")
        # An expanded payment_intent is an object; its id is what we key on.
        pi = _str_or_none(pi.get("id")) if isinstance(pi, dict) else _str_or_none(pi)
    if etype in CHECKOUT_TYPES:
        order_ref = order_ref or _str_or_none(obj.get("client_reference_id"))
    if etype == "checkout.session.completed" and obj.get("payment_status") != "paid":
        # Completed but paid later (a delayed method such as a bank debit):
        # checkout.session.async_payment_succeeded or _failed will say how it ended.
        fact = "checkout_unpaid"
    if etype == "charge.succeeded" and obj.get("captured") is False:
        fact = None  # an authorisation (capture_method=manual), not money received yet
    if order_ref is None and pi is None:
        raise InvalidEvent("event %s names neither metadata.order_id nor a payment intent" % event_id)
    created = event.get("created") if isinstance(event.get("created"), int) else None
    field = RECEIVED_FIELD.get(etype)
    amount = _int_or_none(obj.get(field)) if field else None
    currency = _str_or_none(obj.get("currency"))
    refunded = _int_or_none(obj.get("amount_refunded")) if etype == "charge.refunded" else None
    return EventFacts(event_id, etype, fact, order_ref, pi, obj, created, amount,
                      currency.lower() if currency else None, refunded)


def mismatch(order_amount: int, order_currency: str, facts: EventFacts) -> Optional[str]:
    """Why a paying event does not pay this order (``payment_error``), or None when the
    amount and currency it reports are the order's."""
    currency = (order_currency or "").lower()
    got = "%s %s" % (facts.amount if facts.amount is not None else "?", facts.currency or "?")
    want = "%s %s" % (order_amount, currency)
    if facts.currency != currency:
        return "currency_mismatch: received %s, expected %s" % (got, want)
    if facts.amount != order_amount:
        return "amount_mismatch: received %s, expected %s" % (got, want)
    return None


def derive_status(paid_at, failed_at, canceled_at, refunded_at, payment_error=None) -> str:
    if refunded_at:
        return "refunded"
    if paid_at:
        return "paid"
    if payment_error:
        return "payment_mismatch"
    if canceled_at:
        return "canceled"
    if failed_at:
        return "failed"
    return "pending"
