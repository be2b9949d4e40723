"""Typed errors of the fake Stripe API.

Each carries what Stripe's error object needs; the API layer turns any of them into
Stripe's ``{"error": {...}}`` body and status code in one place (``simulator.api``).
Backend code raises these and never builds HTTP responses itself.
"""
from __future__ import annotations

from typing import Any, Optional


class StripeError(Exception):
    http_status = 400
    error_type = "api_error"

    def __init__(self, message: str, *, code: Optional[str] = None, param: Optional[str] = None,
                 decline_code: Optional[str] = None, extra: Optional[dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        # Extra members of the error object (e.g. ``payment_intent``, ``charge``,
        # ``payment_method``, ``doc_url``, ``advice_code`` on a card error).
        self.extra = dict(extra or {})

    def to_dict(self) -> dict:
        body: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code:
            body["code"] = self.code
            body.setdefault("doc_url", "https://stripe.com/docs/error-codes/%s" % self.code.replace("_", "-"))
        if self.param:
            body["param"] = self.param
        if self.decline_code:
            body["decline_code"] = self.decline_code
        body.update(self.extra)
        return {"error": body}


class InvalidRequestError(StripeError):
    """400 invalid_request_error: a malformed, unknown or missing parameter."""
    http_status = 400
    error_type = "invalid_request_error"


class ResourceMissingError(InvalidRequestError):
    """404 resource_missing: no such object."""
    http_status = 404

    def __init__(self, message: str, *, param: Optional[str] = "id", **kw):
        super().__init__(message, code="resource_missing", param=param, **kw)


class IdempotencyError(StripeError):
    """400 idempotency_error: an Idempotency-Key reused with other parameters."""
    http_status = 400
    error_type = "idempotency_error"


class AuthenticationError(StripeError):
    """401: no API key, or not a test-mode secret key."""
    http_status = 401
    error_type = "invalid_request_error"


class CardError(StripeError):
    """402 card_error: a declined card. The SDK raises ``stripe.CardError`` from it."""
    http_status = 402
    error_type = "card_error"


class StateError(InvalidRequestError):
    """400 payment_intent_unexpected_state and friends: the action does not fit the object's state."""


class PayloadTooLargeError(InvalidRequestError):
    """413: the request body is over the size limit."""
    http_status = 413
