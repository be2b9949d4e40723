"""The webhook's work, done right: one transaction per event.

1. Lock the order (``select_for_update``; on SQLite the transaction's BEGIN IMMEDIATE).
2. Insert the event's ``IdempotencyKey``: a conflict means a duplicate, nothing else is written.
3. Apply the fact to the order and log the event (``WebhookEvent``).
4. ``transaction.on_commit``: enqueue ``allocate_tokens`` / ``calculate_commissions``, so a
   task never runs for a payment that was rolled back, and always for one that committed.

A failure anywhere rolls all of it back: Stripe's retry is then processed as if it were the
first delivery. An event for an order that does not exist yet is kept (``pending``) and
applied when the order is created.
"""
from __future__ import annotations

import functools
import logging
import uuid
from typing import Optional

from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.orders.models import Order
from apps.orders.payments import apply_fact

from .events import Facts, read_event
from .models import IdempotencyKey, WebhookEvent

log = logging.getLogger("apps.webhooks")


def find_order(facts: Facts, lock: bool = True) -> Optional[Order]:
    """The order an event concerns: by ``metadata.order_id``/``client_reference_id``, then by
    its PaymentIntent, then by its charge."""
    orders = Order.objects.select_for_update() if lock else Order.objects.all()
    if facts.order_ref and _is_uuid(facts.order_ref):
        order = orders.filter(pk=facts.order_ref).first()
        if order is not None:
            return order
    if facts.payment_intent:
        order = orders.filter(stripe_payment_intent_id=facts.payment_intent).first()
        if order is not None:
            return order
    if facts.charge:
        return orders.filter(stripe_charge_id=facts.charge).first()
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def _first_time(event_id: str) -> bool:
    """Insert the event's idempotency key; False if it was already there. In a savepoint, so a
    conflict leaves the surrounding transaction usable."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(key=event_id, source="stripe")
        return True
    except IntegrityError:
        return False


def enqueue_effects(order_id) -> None:
    from apps.allocations.tasks import allocate_tokens
    from apps.commissions.tasks import calculate_commissions

    allocate_tokens.delay(str(order_id))
    calculate_commissions.delay(str(order_id))


def process(facts: Facts, event: dict) -> str:
    with transaction.atomic():
        order = find_order(facts, lock=True)
        if not _first_time(facts.event_id):
            log.info("Duplicate event: %s", facts.event_id)
            if order is not None and order.is_paid and not (order.allocations.exists() and order.commissions.exists()):
                # The first delivery committed but its enqueue failed (broker down) and was
                # answered 500: Stripe's retry is the chance to enqueue again (tasks are idempotent).
                transaction.on_commit(functools.partial(enqueue_effects, order.pk))
            return "duplicate"
        if order is None:
            log.error("Order not found: %s", facts.payment_intent or facts.order_ref or facts.charge)
            WebhookEvent.objects.create(event_id=facts.event_id, event_type=facts.type, status=WebhookEvent.PENDING,
                                        order_ref=facts.order_ref, payment_intent=facts.payment_intent, payload=event)
            # The order may be being created right now, its transaction not yet committed;
            # once this one is, one of the two sees the other (see apply_pending).
            transaction.on_commit(functools.partial(retry_pending, facts))
            return "pending"
        log.info("Processing payment for order_id: %s", order.pk)
        WebhookEvent.objects.create(event_id=facts.event_id, event_type=facts.type, status=WebhookEvent.PROCESSED,
                                    order=order, order_ref=facts.order_ref, payment_intent=facts.payment_intent)
        if apply_fact(order, facts):
            transaction.on_commit(functools.partial(enqueue_effects, order.pk))
    return "processed"


def apply_pending(order: Order) -> int:
    """Apply the kept events of ``order`` (locked by the caller, in its transaction)."""
    rows = (WebhookEvent.objects.select_for_update()
            .filter(status=WebhookEvent.PENDING)
            .filter(Q(order_ref=str(order.pk)) | Q(payment_intent=order.stripe_payment_intent_id))
            .order_by("received_at", "id"))
    applied = 0
    for row in rows:
        facts = read_event(row.payload)
        if apply_fact(order, facts):
            transaction.on_commit(functools.partial(enqueue_effects, order.pk))
        row.status, row.order, row.payload = WebhookEvent.PROCESSED, order, None
        row.save(update_fields=["status", "order", "payload"])
        log.info("Applied kept event %s (%s) to order %s", row.event_id, row.event_type, order.pk)
        applied += 1
    return applied


def retry_pending(facts: Facts) -> None:
    with transaction.atomic():
        order = find_order(facts, lock=True)
        if order is not None:
            apply_pending(order)
