"""``POST /api/v1/webhooks/stripe/``: verify with the SDK, then one transaction (services.py).

``POSX_VARIANT=guide`` serves the guide's view as written instead (guide.py), so the gate
can show what it catches in it on this same stack.
"""
from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import guide, services
from .events import read_event

log = logging.getLogger("apps.webhooks")


@csrf_exempt
def stripe_webhook_view(request):
    if settings.POSX_VARIANT == "guide":
        return guide.stripe_webhook_view(request)
    if request.method != "POST":
        return JsonResponse({"error": "Use POST for the Stripe webhook"}, status=405, headers={"Allow": "POST"})
    payload = request.body
    sig_header = request.META.get("HTTP_STRIPE_SIGNATURE")
    try:
        stripe.Webhook.construct_event(payload, sig_header, settings.STRIPE_WEBHOOK_SECRET,
                                       tolerance=settings.STRIPE_SIGNATURE_TOLERANCE)
    except stripe.SignatureVerificationError as exc:
        log.error("Signature verification failed: %s", exc)
        return JsonResponse({"error": "Invalid signature"}, status=400)
    except (ValueError, TypeError, AttributeError) as exc:
        # Not JSON (ValueError), or JSON that is not an event object (the SDK's constructor
        # fails on a list or a string): signed, but unusable.
        log.error("Invalid payload: %s", exc)
        return JsonResponse({"error": "Invalid payload"}, status=400)
    try:
        event = json.loads(payload)  # a plain dict: a missing field is None, not an AttributeError
        facts = read_event(event)
    except (ValueError, RecursionError) as exc:
        log.error("Invalid payload: %s", exc)
        return JsonResponse({"error": "Invalid payload"}, status=400)
    log.info("Received Stripe webhook: %s", facts.type)
    log.info("Event ID: %s", facts.event_id)
    if facts.fact is None:
        log.info("Ignored event: %s", facts.type)
        return JsonResponse({"received": True, "result": "ignored"})
    return JsonResponse({"received": True, "result": services.process(facts, event)})
