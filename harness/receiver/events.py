"""What a Stripe event means for a POSX order: pure functions, no database.

``read_event(event)`` turns an event into an ``EventFacts``: which order it concerns
(``metadata.order_id`` and/or the PaymentIntent id) and which fact it establishes. The
order's status is then derived from the set of facts recorded so far, never from the
order in which they arrived:

    refunded  >  paid  >  canceled  >  failed  >  pending

so a stale ``payment_failed`` after ``succeeded`` cannot undo a payment, a ``succeeded``
after a failed attempt pays, an early ``charge.refunded`` is kept (a refund implies the
payment happened), and ``canceled`` after paid does not unpay.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

# event type -> fact
HANDLED_TYPES: Dict[str, str] = {
    "payment_intent.succeeded": "paid",
    "charge.succeeded": "paid",
    "checkout.session.completed": "paid",
    "payment_intent.payment_failed": "failed",
    "charge.failed": "failed",
    "payment_intent.canceled": "canceled",
    "charge.refunded": "refunded",
    "charge.dispute.created": "dispute",
}


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


def _str_or_none(value) -> Optional[str]:
    return value if isinstance(value, str) and value else None


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
    if etype == "checkout.session.completed":
        order_ref = order_ref or _str_or_none(obj.get("client_reference_id"))
        if obj.get("payment_status") not in ("paid", "no_payment_required"):
            # Completed but paid later (async methods): the payment event will say so.
            fact = "checkout_unpaid"
    if etype == "charge.refunded" and not obj.get("refunded"):
        fact = "partial_refund"
    if order_ref is None and pi is None:
        raise InvalidEvent("event %s names neither metadata.order_id nor a payment intent" % event_id)
    created = event.get("created") if isinstance(event.get("created"), int) else None
    return EventFacts(event_id, etype, fact, order_ref, pi, obj, created)


def derive_status(paid_at, failed_at, canceled_at, refunded_at) -> str:
    if refunded_at:
        return "refunded"
    if paid_at:
        return "paid"
    if canceled_at:
        return "canceled"
    if failed_at:
        return "failed"
    return "pending"
