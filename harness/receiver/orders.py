"""Orders: creation (with a PaymentIntent made through the official SDK), bulk creation
for load tests, and the order view."""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import uuid
from typing import Dict, List, Optional

from . import store
from .flavors import flags_for

log = logging.getLogger("posx.receiver")


class OrderError(Exception):
    """Bad order input or an upstream failure: ``status`` and a message naming the problem."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class PaymentIntents:
    """Makes PaymentIntents: through ``stripe.StripeClient`` (pointed at ``STRIPE_API_BASE``)
    or, with ``MOCK_STRIPE=true``, locally without any network call."""

    def __init__(self, config):
        self.config = config
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        with self._lock:
            if self._client is None:
                import stripe
                kwargs = {}
                if self.config.stripe_api_base:
                    kwargs["base_addresses"] = {"api": self.config.stripe_api_base.rstrip("/")}
                self._client = stripe.StripeClient(self.config.stripe_secret_key, max_network_retries=2, **kwargs)
            return self._client

    def create(self, order_id: str, amount: int, currency: str, metadata: Dict[str, str], mock: Optional[bool] = None) -> Dict:
        if self.config.mock_stripe if mock is None else mock:
            pi_id = "pi_mock_" + uuid.uuid4().hex[:24]
            return {"id": pi_id, "client_secret": "%s_secret_%s" % (pi_id, secrets.token_hex(12))}
        import stripe
        client = self.client()
        service = getattr(client, "v1", client).payment_intents
        try:
            pi = service.create(params={
                "amount": amount, "currency": currency, "metadata": metadata,
                "payment_method_types": ["card"], "description": "POSX order %s" % order_id,
            }, options={"idempotency_key": "posx-order-%s" % order_id})
        except stripe.StripeError as exc:
            log.error("Stripe error creating a PaymentIntent for order %s: %s", order_id, exc)
            raise OrderError(502, "Stripe error: %s" % (exc.user_message or str(exc))) from exc
        return {"id": pi.id, "client_secret": pi.client_secret}


def validate_order_input(config, site_code: Optional[str], data) -> tuple:
    if not site_code:
        raise OrderError(400, "Missing X-Site-Code header (one of: %s)" % ", ".join(config.site_codes))
    if site_code not in config.site_codes:
        raise OrderError(400, "Unknown site code %r (one of: %s)" % (site_code, ", ".join(config.site_codes)))
    if not isinstance(data, dict):
        raise OrderError(400, "The body must be a JSON object like {\"tier_id\": \"...\", \"quantity\": 1}")
    tier_id = data.get("tier_id")
    tier = config.tiers_by_id.get(tier_id) if isinstance(tier_id, str) else None
    if tier is None:
        raise OrderError(400, "Unknown tier_id %r (one of: %s)" % (tier_id, ", ".join(config.tiers_by_id)))
    quantity = data.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= config.max_quantity:
        raise OrderError(400, "quantity must be an integer from 1 to %d, got %r" % (config.max_quantity, quantity))
    referrer = data.get("referrer")
    if referrer is not None and (not isinstance(referrer, str) or not referrer or len(referrer) > 200):
        raise OrderError(400, "referrer must be a non-empty string of at most 200 characters")
    return tier, quantity, referrer


def new_order_id() -> str:
    """A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Time-ordered on purpose: orders made together sit together in every index keyed by the
    order id (orders, outbox dedup keys, allocations, commissions), so a commit touches the
    same few rightmost leaf pages instead of one random page per index. With version 4 ids
    each paid webhook dirtied ~10 pages, and the WAL writes and checkpoint fsyncs that cost
    were the receiver's latency tail (docs/BENCHMARKS.md)."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = ((millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 68) << 64
             | 0b10 << 62 | (rand & 0x3FFF_FFFF_FFFF_FFFF))
    return str(uuid.UUID(int=value))


def create_order(config, db, intents: PaymentIntents, site_code: Optional[str], data, mock: Optional[bool] = None) -> Dict:
    tier, quantity, referrer = validate_order_input(config, site_code, data)
    order_id = new_order_id()
    amount = tier.price * quantity
    # The intent is made before the order row exists: no transaction is held over the
    # network call, and an event for the intent that wins the race is kept, then applied
    # when the row below is inserted.
    pi = intents.create(order_id, amount, tier.currency,
                        {"order_id": order_id, "site_code": site_code, "tier_id": tier.id}, mock=mock)
    now = store.now_iso()
    order = {
        "id": order_id, "site_code": site_code, "tier_id": tier.id, "quantity": quantity, "amount": amount,
        "currency": tier.currency, "tokens": tier.tokens * quantity, "referrer": referrer, "status": "pending",
        "stripe_payment_intent_id": pi["id"], "client_secret": pi["client_secret"], "payment_method": None,
        "paid_at": None, "failed_at": None, "canceled_at": None, "refunded_at": None,
        "created_at": now, "updated_at": now,
    }
    with db.transaction() as tx:
        store.insert_order(tx, order)
        store.apply_pending(tx, order, flags_for(config.flavor))
        order = store.get_order(tx, order_id)
    return order


def created_view(order: Dict) -> Dict:
    return {"id": order["id"], "status": order["status"], "amount": order["amount"], "currency": order["currency"],
            "stripe_payment_intent_id": order["stripe_payment_intent_id"], "client_secret": order["client_secret"]}


def bulk_create_orders(config, db, count: int, tier_id: Optional[str] = None, quantity: int = 1,
                       site_code: Optional[str] = None, via_stripe: bool = False,
                       intents: Optional[PaymentIntents] = None) -> List[Dict]:
    """Create ``count`` orders for load tests; local (mock) intents unless ``via_stripe``.

    Inserted in batches of 500 per transaction, so thousands take well under a second.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100000:
        raise OrderError(400, "count must be an integer from 1 to 100000, got %r" % (count,))
    site_code = site_code or config.site_codes[0]
    data = {"tier_id": tier_id or config.tiers[0].id, "quantity": quantity}
    tier, quantity, _ = validate_order_input(config, site_code, data)
    intents = intents or PaymentIntents(config)
    created: List[Dict] = []
    batch: List[Dict] = []
    now = store.now_iso()

    def flush():
        with db.transaction() as tx:
            for order in batch:
                store.insert_order(tx, order)
                store.apply_pending(tx, order, flags_for(config.flavor))
        created.extend(batch)
        batch.clear()

    for _ in range(count):
        order_id = new_order_id()
        amount = tier.price * quantity
        pi = intents.create(order_id, amount, tier.currency, {"order_id": order_id, "site_code": site_code,
                                                             "tier_id": tier.id}, mock=not via_stripe)
        batch.append({
            "id": order_id, "site_code": site_code, "tier_id": tier.id, "quantity": quantity, "amount": amount,
            "currency": tier.currency, "tokens": tier.tokens * quantity, "referrer": None, "status": "pending",
            "stripe_payment_intent_id": pi["id"], "client_secret": pi["client_secret"], "payment_method": None,
            "paid_at": None, "failed_at": None, "canceled_at": None, "refunded_at": None,
            "created_at": now, "updated_at": now,
        })
        if len(batch) >= 500:
            flush()
    if batch:
        flush()
    return [created_view(o) for o in created]
