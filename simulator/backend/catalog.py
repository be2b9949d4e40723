"""The backend's collections: attribute name -> (object name, list URL, index keys of an object).

Its own module so the state class and its mixins (journaling, retention) all read it
without importing each other in a circle.
"""
from __future__ import annotations

COLLECTIONS = {
    "payment_intents": ("payment_intent", "/v1/payment_intents",
                        lambda o: {"customer": o.get("customer")}),
    "charges": ("charge", "/v1/charges",
                lambda o: {"payment_intent": o.get("payment_intent"), "customer": o.get("customer"),
                           "transfer_group": o.get("transfer_group")}),
    "payment_methods": ("payment_method", "/v1/payment_methods", lambda o: {}),
    "balance_transactions": ("balance_transaction", "/v1/balance_transactions",
                             lambda o: {"source": o.get("source")}),
    "refunds": ("refund", "/v1/refunds",
                lambda o: {"charge": o.get("charge"), "payment_intent": o.get("payment_intent")}),
    "disputes": ("dispute", "/v1/disputes",
                 lambda o: {"charge": o.get("charge"), "payment_intent": o.get("payment_intent")}),
    "checkout_sessions": ("checkout.session", "/v1/checkout/sessions",
                          lambda o: {"payment_intent": o.get("payment_intent"),
                                     "customer": o.get("customer")}),
    "webhook_endpoints_index": ("webhook_endpoint", "/v1/webhook_endpoints", lambda o: {}),
}
