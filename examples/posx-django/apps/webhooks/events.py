"""What a Stripe event says about a POSX order: pure functions over the event's JSON.

``read_event`` finds which order the event concerns (``metadata.order_id``, Checkout's
``client_reference_id``, the PaymentIntent id, the charge id) and which fact it states,
with the amount Stripe received for a payment (docs/CONTRACT.md, Money).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

# event type -> fact
FACTS: Dict[str, str] = {
    "payment_intent.succeeded": "paid",
    "charge.succeeded": "paid",
    "checkout.session.completed": "paid",
    "checkout.session.async_payment_succeeded": "paid",
    "payment_intent.payment_failed": "failed",
    "charge.failed": "failed",
    "checkout.session.async_payment_failed": "failed",
    "payment_intent.canceled": "canceled",
    "charge.refunded": "charge_refunded",
    "refund.created": "refund",
    "refund.updated": "refund",
    "charge.refund.updated": "refund",
    "charge.dispute.created": "dispute",
    "charge.dispute.updated": "dispute",
    "charge.dispute.closed": "dispute",
    "charge.dispute.funds_withdrawn": "dispute",
    "charge.dispute.funds_reinstated": "dispute",
}

# where a payment event says how much was received
RECEIVED_FIELD = {
    "payment_intent.succeeded": "amount_received",
    "charge.succeeded": "amount_captured",
    "checkout.session.completed": "amount_total",
    "checkout.session.async_payment_succeeded": "amount_total",
}


class InvalidEvent(ValueError):
    """A correctly signed body that is not a usable event (answered 400 Invalid payload)."""


@dataclasses.dataclass(frozen=True)
class Facts:
    event_id: str
    type: str
    fact: Optional[str]               # None: a type this backend does not act on
    order_ref: Optional[str] = None   # metadata.order_id, or Checkout's client_reference_id
    payment_intent: Optional[str] = None
    charge: Optional[str] = None
    obj: Dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def received(self):
        """(amount, currency) a payment event reports as received."""
        field = RECEIVED_FIELD.get(self.type)
        amount = self.obj.get(field) if field else None
        currency = self.obj.get("currency")
        return (amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
                currency.lower() if isinstance(currency, str) else None)


def _id(value) -> Optional[str]:
    """An id, whether the field holds it or an expanded object does."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def read_event(event: Any) -> Facts:
    if not isinstance(event, dict):
        raise InvalidEvent("the body is not a JSON object")
    event_id, etype = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(etype, str) or not etype:
        raise InvalidEvent("the event has no id or type")
    fact = FACTS.get(etype)
    if fact is None:
        return Facts(event_id, etype, None)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise InvalidEvent("event %s has no data.object" % event_id)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    order_ref = _id(metadata.get("order_id"))
    kind = etype.split(".")[0]
    charge = None
    if kind == "payment_intent":
        pi = _id(obj.get("id"))
    else:
        pi = _id(obj.get("payment_intent"))
        charge = _id(obj.get("id")) if etype.startswith("charge.") and obj.get("object") == "charge" else _id(obj.get("charge"))
    if kind == "checkout":
        order_ref = order_ref or _id(obj.get("client_reference_id"))
        if etype == "checkout.session.completed" and obj.get("payment_status") not in ("paid", "no_payment_required"):
            fact = "checkout_unpaid"  # a delayed method: async_payment_succeeded/_failed decides
    if etype == "charge.succeeded" and obj.get("captured") is False:
        fact = None  # only authorised; the capture's events pay
    if fact is not None and order_ref is None and pi is None and charge is None:
        raise InvalidEvent("event %s names no order: no metadata.order_id, payment intent or charge" % event_id)
    return Facts(event_id, etype, fact, order_ref, pi, charge, obj)
