"""``allocate_tokens``: the order's tokens, once, whatever runs the task twice.

Celery delivers a message at least once (``acks_late``: a worker that dies mid-task leaves
it to another), and a webhook may enqueue again; so the task takes the order's row lock,
checks it is paid, and creates the allocation under a unique key per order.
"""
import logging

from celery import shared_task
from django.db import DatabaseError, transaction

from apps.orders.models import Order

from .models import Allocation

log = logging.getLogger("apps.allocations")

RETRY = dict(autoretry_for=(DatabaseError,), retry_backoff=0.1, retry_backoff_max=2, retry_jitter=True, max_retries=10)


@shared_task(**RETRY)
def allocate_tokens(order_id: str):
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            log.error("Order not found: %s (allocate_tokens)", order_id)
            return None
        if not order.is_paid:
            log.warning("Order %s is %s: no tokens allocated", order_id, order.status)
            return None
        allocation, created = Allocation.objects.get_or_create(
            key="order:%s" % order.pk, defaults={"order": order, "tokens": order.tokens})
    if created:
        log.info("Allocated %d tokens for order %s", allocation.tokens, order_id)
    return allocation.tokens


@shared_task(**RETRY)
def allocate_tokens_as_in_guide(order_id: str):
    """The guide's task as a team writes it from the guide: one allocation per call."""
    order = Order.objects.get(id=order_id)
    Allocation.objects.create(order=order, tokens=order.tokens)
    log.info("Allocated %d tokens for order %s", order.tokens, order_id)
