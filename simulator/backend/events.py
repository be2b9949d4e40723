"""Recorded events.

An ``EventRecord`` keeps the event's object as the compact JSON text it had when the event
was recorded: the snapshot can never change afterwards (an object mutated later does not
rewrite history), it costs a third of the memory of a nested dict, and ``json.dumps`` is
the cheapest deep copy available.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from simulator.objects import API_VERSION

from .lists import compact_dumps, compact_loads


class EventRecord:
    __slots__ = ("id", "type", "created", "available_at", "payment_intent", "object_ids",
                 "pending_webhooks", "_request", "api_version", "seq", "_object_json",
                 "_previous_json")

    def __init__(self, id: str, type: str, created: int, object_json: str,
                 previous_attributes: Optional[dict] = None, request: Optional[dict] = None,
                 available_at: Optional[float] = None, payment_intent: Optional[str] = None,
                 object_ids: tuple = (), pending_webhooks: int = 0, seq: int = 0,
                 api_version: str = API_VERSION):
        self.id = id
        self.type = type
        self.created = created
        self.available_at = float(created if available_at is None else available_at)
        self.payment_intent = payment_intent
        self.object_ids = tuple(object_ids)
        self.pending_webhooks = pending_webhooks
        # A tuple of strings: the garbage collector stops tracking it (see CompactIndex).
        self._request = (None, None) if request is None else (request.get("id"),
                                                              request.get("idempotency_key"))
        self.api_version = api_version
        self.seq = seq
        self._object_json = object_json
        self._previous_json = None if previous_attributes is None else compact_dumps(previous_attributes)

    @property
    def request(self) -> dict:
        return {"id": self._request[0], "idempotency_key": self._request[1]}

    @property
    def object(self) -> dict:
        """A fresh copy of ``data.object``."""
        return compact_loads(self._object_json)

    @property
    def event(self) -> dict[str, Any]:
        """The event exactly as the API and webhooks show it (a fresh dict on every access)."""
        data: dict[str, Any] = {"object": compact_loads(self._object_json)}
        if self._previous_json is not None:
            data["previous_attributes"] = compact_loads(self._previous_json)
        return {
            "id": self.id,
            "object": "event",
            "api_version": self.api_version,
            "created": self.created,
            "data": data,
            "livemode": False,
            "pending_webhooks": self.pending_webhooks,
            "request": self.request,
            "type": self.type,
        }

    def to_json(self, indent: Optional[int] = None) -> str:
        return json.dumps(self.event, indent=indent)

    def to_state(self) -> dict:
        return {"id": self.id, "type": self.type, "created": self.created,
                "object_json": self._object_json, "previous_json": self._previous_json,
                "request": self.request, "available_at": self.available_at,
                "payment_intent": self.payment_intent, "object_ids": list(self.object_ids),
                "pending_webhooks": self.pending_webhooks, "api_version": self.api_version}

    @classmethod
    def from_state(cls, state: dict, seq: int) -> "EventRecord":
        rec = cls(state["id"], state["type"], state["created"], state["object_json"],
                  request=state["request"], available_at=state["available_at"],
                  payment_intent=state["payment_intent"], object_ids=tuple(state["object_ids"]),
                  pending_webhooks=state["pending_webhooks"], seq=seq,
                  api_version=state.get("api_version", API_VERSION))
        rec._previous_json = state["previous_json"]
        return rec

    def __repr__(self) -> str:
        return "EventRecord(%s %s)" % (self.id, self.type)


# Event types a webhook endpoint may subscribe to (Stripe's names; "*" means all).
EVENT_TYPES = frozenset("""
account.updated account.application.authorized account.application.deauthorized
account.external_account.created account.external_account.deleted account.external_account.updated
application_fee.created application_fee.refunded application_fee.refund.updated
balance.available
charge.captured charge.expired charge.failed charge.pending charge.refunded charge.succeeded
charge.updated charge.dispute.closed charge.dispute.created charge.dispute.funds_reinstated
charge.dispute.funds_withdrawn charge.dispute.updated charge.refund.updated
checkout.session.async_payment_failed checkout.session.async_payment_succeeded
checkout.session.completed checkout.session.expired
coupon.created coupon.deleted coupon.updated
customer.created customer.deleted customer.updated customer.discount.created
customer.discount.deleted customer.discount.updated customer.source.created
customer.source.deleted customer.source.expiring customer.source.updated
customer.subscription.created customer.subscription.deleted customer.subscription.paused
customer.subscription.pending_update_applied customer.subscription.pending_update_expired
customer.subscription.resumed customer.subscription.trial_will_end customer.subscription.updated
invoice.created invoice.deleted invoice.finalization_failed invoice.finalized
invoice.marked_uncollectible invoice.paid invoice.payment_action_required invoice.payment_failed
invoice.payment_succeeded invoice.sent invoice.upcoming invoice.updated invoice.voided
invoiceitem.created invoiceitem.deleted
mandate.updated
payment_intent.amount_capturable_updated payment_intent.canceled payment_intent.created
payment_intent.partially_funded payment_intent.payment_failed payment_intent.processing
payment_intent.requires_action payment_intent.succeeded
payment_link.created payment_link.updated
payment_method.attached payment_method.automatically_updated payment_method.detached
payment_method.updated
payout.canceled payout.created payout.failed payout.paid payout.updated
price.created price.deleted price.updated
product.created product.deleted product.updated
radar.early_fraud_warning.created radar.early_fraud_warning.updated
refund.created refund.failed refund.updated
review.closed review.opened
setup_intent.canceled setup_intent.created setup_intent.requires_action
setup_intent.setup_failed setup_intent.succeeded
subscription_schedule.canceled subscription_schedule.created subscription_schedule.updated
transfer.created transfer.reversed transfer.updated
""".split())
