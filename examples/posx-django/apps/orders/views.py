"""The POSX order API: create an order (and its PaymentIntent), read it back, list the tiers.
Same routes and JSON as the harness's reference receiver (docs/CONTRACT.md)."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse

from . import stripe_api
from .http import ApiError, api_view, authenticate, json_body
from .models import Order


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def order_view(order: Order) -> dict:
    return {
        "id": str(order.id), "status": order.status,
        "tier_id": order.tier_id, "quantity": order.quantity,
        "amount": order.amount, "currency": order.currency, "tokens": order.tokens,
        "amount_refunded": order.amount_refunded, "payment_error": order.payment_error,
        "site_code": order.site_code, "referrer": order.referrer,
        "paid_at": _iso(order.paid_at), "refunded_at": _iso(order.refunded_at),
        "payment_method": order.payment_method,
        "stripe_payment_intent_id": order.stripe_payment_intent_id,
        "allocations": [{"id": a.id, "tokens": a.tokens, "created_at": _iso(a.created_at)}
                        for a in order.allocations.order_by("id")],
        "commissions": [{"id": c.id, "beneficiary": c.beneficiary, "rate_bps": c.rate_bps, "amount": c.amount,
                         "created_at": _iso(c.created_at)} for c in order.commissions.order_by("id")],
        "disputes": [{"id": d.id, "charge": d.charge, "amount": d.amount, "reason": d.reason, "status": d.status,
                      "created_at": _iso(d.created_at)} for d in order.disputes.order_by("created_at")],
        "created_at": _iso(order.created_at),
    }


def _validate(request):
    site_code = request.headers.get("X-Site-Code")
    codes = settings.POSX_SITE_CODES
    if not site_code:
        raise ApiError(400, "Missing X-Site-Code header (one of: %s)" % ", ".join(codes))
    if site_code not in codes:
        raise ApiError(400, "Unknown site code %r (one of: %s)" % (site_code, ", ".join(codes)))
    data = json_body(request)
    if not isinstance(data, dict):
        raise ApiError(400, 'The body must be a JSON object like {"tier_id": "...", "quantity": 1}')
    tier_id = data.get("tier_id")
    tier = settings.POSX_TIERS.get(tier_id) if isinstance(tier_id, str) else None
    if tier is None:
        raise ApiError(400, "Unknown tier_id %r (one of: %s)" % (tier_id, ", ".join(settings.POSX_TIERS)))
    quantity = data.get("quantity")
    top = settings.POSX_MAX_QUANTITY
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= top:
        raise ApiError(400, "quantity must be an integer from 1 to %d, got %r" % (top, quantity))
    referrer = data.get("referrer")
    if referrer is not None and (not isinstance(referrer, str) or not referrer or len(referrer) > 200):
        raise ApiError(400, "referrer must be a non-empty string of at most 200 characters")
    return site_code, tier_id, tier, quantity, referrer


@api_view("POST")
def create_order(request):
    from apps.webhooks.services import apply_pending

    authenticate(request)
    site_code, tier_id, tier, quantity, referrer = _validate(request)
    order_id = uuid.uuid4()
    amount = tier["price"] * quantity
    # The intent is made before the order row exists: no transaction is held over the network
    # call, and an event for it that wins the race is kept, then applied just below.
    pi = stripe_api.create_payment_intent(order_id, amount, tier["currency"],
                                          {"order_id": str(order_id), "site_code": site_code, "tier_id": tier_id})
    with transaction.atomic():
        order = Order.objects.create(
            id=order_id, site_code=site_code, tier_id=tier_id, quantity=quantity, amount=amount,
            currency=tier["currency"], tokens=tier["tokens"] * quantity, referrer=referrer,
            stripe_payment_intent_id=pi["id"], client_secret=pi["client_secret"])
        apply_pending(order)
    order.refresh_from_db()
    return JsonResponse({"id": str(order.id), "status": order.status, "amount": order.amount,
                         "currency": order.currency, "tier_id": order.tier_id, "quantity": order.quantity,
                         "tokens": order.tokens, "stripe_payment_intent_id": order.stripe_payment_intent_id,
                         "client_secret": order.client_secret}, status=201)


@api_view("GET")
def order_detail(request, order_id: str):
    authenticate(request)
    try:
        pk = uuid.UUID(order_id)
    except ValueError:
        raise ApiError(404, "Order %s not found" % order_id)
    order = Order.objects.filter(pk=pk).first()
    if order is None:
        raise ApiError(404, "Order %s not found" % order_id)
    return JsonResponse(order_view(order))


@api_view("GET")
def list_tiers(request):
    return JsonResponse({"data": [{"id": k, "price": v["price"], "tokens": v["tokens"], "currency": v["currency"]}
                                  for k, v in settings.POSX_TIERS.items()],
                         "site_codes": list(settings.POSX_SITE_CODES),
                         "commission_rate_bps": settings.POSX_COMMISSION_RATE_BPS})


@api_view("GET")
def health(request):
    Order.objects.exists()
    return JsonResponse({"status": "ok", "variant": settings.POSX_VARIANT})
