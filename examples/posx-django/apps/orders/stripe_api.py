"""PaymentIntents through the official SDK, at ``STRIPE_API_BASE`` when set (the harness's
simulator in a gate), or made locally with ``MOCK_STRIPE=true`` (no network at all)."""
from __future__ import annotations

import logging
import secrets
import threading
import uuid

from django.conf import settings

from .http import ApiError

log = logging.getLogger("apps.orders")
_clients = {}
_lock = threading.Lock()


def client():
    """One ``StripeClient`` per (key, API base): tests point the settings elsewhere at run time."""
    import stripe

    key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
    with _lock:
        if key not in _clients:
            kwargs = {"base_addresses": {"api": settings.STRIPE_API_BASE.rstrip("/")}} if settings.STRIPE_API_BASE else {}
            _clients[key] = stripe.StripeClient(settings.STRIPE_SECRET_KEY, max_network_retries=2, **kwargs)
        return _clients[key]


def create_payment_intent(order_id, amount: int, currency: str, metadata: dict) -> dict:
    if settings.MOCK_STRIPE:
        pi_id = "pi_mock_" + uuid.uuid4().hex[:24]
        return {"id": pi_id, "client_secret": "%s_secret_%s" % (pi_id, secrets.token_hex(12))}
    import stripe

    c = client()
    service = getattr(c, "v1", c).payment_intents
    try:
        pi = service.create(params={
            "amount": amount, "currency": currency, "metadata": metadata,
            "payment_method_types": ["card"], "description": "POSX order %s" % order_id,
        }, options={"idempotency_key": "posx-order-%s" % order_id})
    except stripe.StripeError as exc:
        log.error("Stripe error creating a PaymentIntent for order %s: %s", order_id, exc)
        raise ApiError(502, "Stripe error: %s" % (exc.user_message or str(exc))) from exc
    return {"id": pi.id, "client_secret": pi.client_secret}
