"""``calculate_commissions``: one commission per paid order (docs/CONTRACT.md, Commission).

``floor(amount x rate_bps / 10000)`` in the minor unit, on the order's amount, to the
referrer or ``house:<site_code>``; once per order, like ``allocate_tokens``.
"""
import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction

from apps.orders.models import Order

from .models import Commission

log = logging.getLogger("apps.commissions")

RETRY = dict(autoretry_for=(DatabaseError,), retry_backoff=0.1, retry_backoff_max=2, retry_jitter=True, max_retries=10)


def commission_for(order: Order, rate_bps: int) -> dict:
    return {"beneficiary": order.referrer or "house:%s" % order.site_code, "rate_bps": rate_bps,
            "amount": order.amount * rate_bps // 10000}


@shared_task(**RETRY)
def calculate_commissions(order_id: str):
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            log.error("Order not found: %s (calculate_commissions)", order_id)
            return None
        if not order.is_paid:
            log.warning("Order %s is %s: no commission", order_id, order.status)
            return None
        commission, created = Commission.objects.get_or_create(
            key="order:%s" % order.pk,
            defaults=dict(order=order, **commission_for(order, settings.POSX_COMMISSION_RATE_BPS)))
    if created:
        log.info("Commission of %d to %s for order %s", commission.amount, commission.beneficiary, order_id)
    return commission.amount


@shared_task(**RETRY)
def calculate_commissions_as_in_guide(order_id: str):
    """The guide's task as a team writes it from the guide: one commission per call."""
    order = Order.objects.get(id=order_id)
    Commission.objects.create(order=order, **commission_for(order, settings.POSX_COMMISSION_RATE_BPS))
