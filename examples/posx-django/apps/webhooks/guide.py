"""The guide's webhook as written (POSX_VARIANT=guide), flaws included, for the gate to catch.

From the guide's "代码实现详解" (backend/apps/webhooks/views.py), with Django's JsonResponse
for DRF's Response. Its flaws, each a scenario failure in ``posx-harness run``:

- ``check_and_mark_processed`` commits the event id before the work: a crash in between
  loses the event (Stripe's retry is answered "Duplicate event").
- ``Order.objects.get`` without a lock, a status check, then the update: two success events
  for one order at the same time both see it unpaid and both start the tasks (double
  allocation; the tasks are not idempotent either).
- The tasks are started with ``.delay()`` after the update's own transaction, not on commit
  of the same one as the idempotency key.
- "Order not found" drops the event: one that arrives before its order is lost; a Checkout
  (its own PaymentIntent) never finds its order.
- Only the whitelisted types: no refunds, no cancels, no Checkout.
- ``handle_payment_failed`` is not shown in the guide; written in the success handler's
  style (no state guard) it un-pays a paid order when a stale failure arrives.
- No amount or currency check.

The guide whitelists three types but its step 2.3 table marks ``charge.succeeded``
("二次确认支付") required too; a team subscribes to it and runs it through the same
success handler, as here.
"""
import logging
import time

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone

from apps.orders.models import Dispute, Order

from .models import IdempotencyKey, WebhookEvent

logger = logging.getLogger("apps.webhooks")


def Response(data=None, status=200):  # DRF's Response, as the guide's code uses it
    return JsonResponse(data if data is not None else {}, status=status)


def check_and_mark_processed(event_id: str, source: str = "stripe") -> bool:
    try:
        IdempotencyKey.objects.create(key=event_id, source=source)
        return False  # 首次处理
    except IntegrityError:
        return True  # 已处理


def stripe_webhook_view(request):
    payload = request.body
    sig_header = request.META.get('HTTP_STRIPE_SIGNATURE')

    # 1. 签名验证
    try:
        event = stripe.Webhook.construct_event(
            payload,
            sig_header,
            settings.STRIPE_WEBHOOK_SECRET
        )
    except ValueError:
        return Response({'error': 'Invalid payload'}, status=400)
    except stripe.error.SignatureVerificationError:
        return Response({'error': 'Invalid signature'}, status=400)

    logger.info(f"Received Stripe webhook: {event.type}")
    logger.info(f"Event ID: {event.id}")

    # 2. 事件白名单
    ALLOWED_EVENT_TYPES = {
        'payment_intent.succeeded',
        'payment_intent.payment_failed',
        'charge.succeeded',  # the guide's step 2.3 table: required
        'charge.dispute.created',
    }

    if event.type not in ALLOWED_EVENT_TYPES:
        logger.warning(f"Ignored event: {event.type}")
        return Response(status=200)  # 返回200避免重试

    # 3. 幂等性检查
    if check_and_mark_processed(event.id, source='stripe'):
        logger.info(f"Duplicate event: {event.id}")
        return Response(status=200)
    WebhookEvent.objects.create(event_id=event.id, event_type=event.type, status="processed")

    # 4. 事件处理
    if event.type == 'payment_intent.succeeded':
        handle_payment_succeeded(event)
    elif event.type == 'charge.succeeded':
        handle_charge_succeeded(event)
    elif event.type == 'payment_intent.payment_failed':
        handle_payment_failed(event)
    elif event.type == 'charge.dispute.created':
        handle_dispute_created(event)

    return Response(status=200)


def handle_payment_succeeded(event):
    """处理支付成功事件"""
    payment_intent = event.data.object
    _mark_paid(payment_intent.id)


def handle_charge_succeeded(event):
    """二次确认支付: the same success handling, by the charge's PaymentIntent."""
    charge = event.data.object
    _mark_paid(charge.payment_intent)


def _production_gap():
    """Not in the guide: the time between its read and its write in production. There the
    database is PostgreSQL over the network (Railway) and every query is a round trip; on
    the local PostgreSQL the double allocation shows without this. On a local SQLite file
    the read takes microseconds and SQLite's busy handler spaces concurrent writers out by
    milliseconds, so two webhooks would almost never both read the order unpaid: the flaw
    would pass a local gate by luck. ``POSX_GUIDE_READ_GAP_MS`` (default 50, 0 = off) puts
    that time back; the reference receiver's guide flavour does the same."""
    gap = settings.POSX_GUIDE_READ_GAP_MS
    if gap > 0:
        time.sleep(gap / 1000.0)  # the modelled latency itself, not a wait for a condition


def _mark_paid(payment_intent_id):
    try:
        # 查找订单
        order = Order.objects.get(stripe_payment_intent_id=payment_intent_id)
        _production_gap()

        # 状态检查（防止重复处理）
        if order.status == 'paid':
            logger.warning(f"Order {order.id} already paid")
            return

        # 更新订单
        with transaction.atomic():
            order.status = 'paid'
            order.paid_at = timezone.now()
            order.payment_method = 'stripe'
            order.save()

        # 触发异步任务
        from apps.allocations.tasks import allocate_tokens_as_in_guide as allocate_tokens
        from apps.commissions.tasks import calculate_commissions_as_in_guide as calculate_commissions

        allocate_tokens.delay(str(order.id))
        calculate_commissions.delay(str(order.id))

        logger.info(f"Payment succeeded for order {order.id}")

    except Order.DoesNotExist:
        logger.error(f"Order not found: {payment_intent_id}")


def handle_payment_failed(event):
    """Not shown in the guide; in its success handler's style (no guard on the status)."""
    payment_intent = event.data.object
    try:
        order = Order.objects.get(stripe_payment_intent_id=payment_intent.id)
        with transaction.atomic():
            order.status = 'failed'
            order.failed_at = timezone.now()
            order.save()
        logger.info(f"Order status updated: failed ({order.id})")
    except Order.DoesNotExist:
        logger.error(f"Order not found: {payment_intent.id}")


def handle_dispute_created(event):
    """记录纠纷，通知管理员"""
    dispute = event.data.object
    try:
        order = Order.objects.get(stripe_payment_intent_id=dispute.payment_intent)
        Dispute.objects.create(id=dispute.id, order=order, charge=dispute.charge, amount=dispute.amount,
                               reason=dispute.reason or "", status=dispute.status or "")
        logger.warning(f"Dispute {dispute.id} on order {order.id}: notify an admin")
    except Order.DoesNotExist:
        logger.error(f"Order not found: {dispute.payment_intent}")
