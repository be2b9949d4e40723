"""The Stripe API routes the simulator answers, as data: (method, path, action).

``{id}`` is one path segment. The action names the handler in ``handlers`` and the backend
method it calls. A method or path not listed here is Stripe's 404 "Unrecognized request URL".
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

from simulator.api import handlers

ROUTES = [
    ("POST", "/v1/payment_intents", "create_payment_intent"),
    ("GET", "/v1/payment_intents", "list_payment_intents"),
    ("GET", "/v1/payment_intents/{id}", "retrieve_payment_intent"),
    ("POST", "/v1/payment_intents/{id}", "update_payment_intent"),
    ("POST", "/v1/payment_intents/{id}/confirm", "confirm_payment_intent"),
    ("POST", "/v1/payment_intents/{id}/capture", "capture_payment_intent"),
    ("POST", "/v1/payment_intents/{id}/cancel", "cancel_payment_intent"),
    ("GET", "/v1/charges", "list_charges"),
    ("GET", "/v1/charges/{id}", "retrieve_charge"),
    ("POST", "/v1/refunds", "create_refund"),
    ("GET", "/v1/refunds", "list_refunds"),
    ("GET", "/v1/refunds/{id}", "retrieve_refund"),
    ("GET", "/v1/disputes", "list_disputes"),
    ("GET", "/v1/disputes/{id}", "retrieve_dispute"),
    ("POST", "/v1/disputes/{id}", "update_dispute"),
    ("POST", "/v1/disputes/{id}/close", "close_dispute"),
    ("POST", "/v1/payment_methods", "create_payment_method"),
    ("GET", "/v1/payment_methods/{id}", "retrieve_payment_method"),
    ("GET", "/v1/balance_transactions/{id}", "retrieve_balance_transaction"),
    ("POST", "/v1/checkout/sessions", "create_checkout_session"),
    ("GET", "/v1/checkout/sessions", "list_checkout_sessions"),
    ("GET", "/v1/checkout/sessions/{id}", "retrieve_checkout_session"),
    ("GET", "/v1/checkout/sessions/{id}/line_items", "list_checkout_session_line_items"),
    ("POST", "/v1/checkout/sessions/{id}/expire", "expire_checkout_session"),
    # Not a Stripe route: the simulator's stand-in for a customer paying on the hosted page.
    ("POST", "/v1/test_helpers/checkout/sessions/{id}/complete", "complete_checkout_session"),
    ("GET", "/v1/account", "retrieve_account"),
    ("GET", "/v1/events", "list_events"),
    ("GET", "/v1/events/{id}", "retrieve_event"),
    ("POST", "/v1/webhook_endpoints", "create_webhook_endpoint"),
    ("GET", "/v1/webhook_endpoints", "list_webhook_endpoints"),
    ("GET", "/v1/webhook_endpoints/{id}", "retrieve_webhook_endpoint"),
    ("POST", "/v1/webhook_endpoints/{id}", "update_webhook_endpoint"),
    ("DELETE", "/v1/webhook_endpoints/{id}", "delete_webhook_endpoint"),
]

# What each state-changing action answers: ``expand`` paths are checked against it before
# the action runs (``simulator.backend.expand.check_paths``).
ANSWER_KINDS = {
    "create_payment_intent": "payment_intent", "update_payment_intent": "payment_intent",
    "confirm_payment_intent": "payment_intent", "capture_payment_intent": "payment_intent",
    "cancel_payment_intent": "payment_intent", "create_refund": "refund", "update_dispute": "dispute",
    "close_dispute": "dispute", "create_payment_method": "payment_method",
    "create_checkout_session": "checkout.session", "expire_checkout_session": "checkout.session",
    "complete_checkout_session": "checkout.session", "create_webhook_endpoint": "webhook_endpoint",
    "update_webhook_endpoint": "webhook_endpoint", "delete_webhook_endpoint": "webhook_endpoint",
}


class Route(NamedTuple):
    method: str
    path: str
    action: str
    handler: Callable


class Router:
    """Matches a method and a path against the table, segment by segment."""

    def __init__(self, table=ROUTES):
        self.routes: list[Route] = []
        self._static: dict[tuple[str, str], Route] = {}
        self._by_length: dict[int, list[tuple[tuple[str, ...], Route]]] = {}
        for method, path, action in table:
            route = Route(method, path, action, getattr(handlers, action))
            self.routes.append(route)
            segments = tuple(path.strip("/").split("/"))
            if "{id}" in segments:
                self._by_length.setdefault(len(segments), []).append((segments, route))
            else:
                self._static[(method, path)] = route

    def match(self, method: str, path: str) -> Optional[tuple[Route, Optional[str]]]:
        route = self._static.get((method, path))
        if route is not None:
            return route, None
        if path.endswith("/"):
            return None
        parts = path.lstrip("/").split("/")
        for segments, route in self._by_length.get(len(parts), ()):
            if route.method != method:
                continue
            found = None
            for want, got in zip(segments, parts):
                if want == "{id}":
                    if not got:
                        break
                    found = got
                elif want != got:
                    break
            else:
                return route, found
        return None
