"""API keys: only test-mode secret keys (``sk_test_...``) are accepted, like a test account.

The key arrives as ``Authorization: Bearer <key>`` or as the user of HTTP basic auth (what
``curl -u sk_test_...:`` sends). The key is returned so idempotency keys can be scoped by it.
"""
from __future__ import annotations

import base64
import binascii
from typing import Optional

from simulator.errors import AuthenticationError

NO_KEY = ("You did not provide an API key. You need to provide your API key in the Authorization header, "
          "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
          "https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")


def redact(key: str) -> str:
    """Stripe shows only the prefix and the last four characters of a bad key."""
    if len(key) <= 12:
        return key[:3] + "*" * max(0, len(key) - 3)
    prefix = key[:8] if key[2:3] == "_" else key[:3]
    return prefix + "*" * (len(key) - len(prefix) - 4) + key[-4:]


def api_key_from(authorization: Optional[str]) -> str:
    """The secret key the request authenticates with, or an ``AuthenticationError`` saying why not."""
    if not authorization or not authorization.strip():
        raise AuthenticationError(NO_KEY)
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == "bearer":
        key = credentials
    elif scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise AuthenticationError("Invalid Authorization header: the Basic credentials are not valid "
                                      "base64. Send your secret key as the user name (e.g. curl -u sk_test_...:).") from None
        key = decoded.partition(":")[0]
    else:
        raise AuthenticationError("Invalid Authorization header: use 'Authorization: Bearer sk_test_...' "
                                  "(or HTTP Basic auth with the key as the user name).")
    if not key:
        raise AuthenticationError(NO_KEY)
    return check_key(key)


def check_key(key: str) -> str:
    if key.startswith("sk_test_") and len(key) > len("sk_test_"):
        return key
    if key.startswith(("pk_test_", "pk_live_")):
        raise AuthenticationError(
            "This API call cannot be made with a publishable API key (%s). Please use a secret API key "
            "(sk_test_...). See https://stripe.com/docs/keys." % redact(key))
    if key.startswith(("sk_live_", "rk_live_")):
        raise AuthenticationError(
            "Invalid API Key provided: %s. This is a live-mode key; the simulator is a test-mode Stripe "
            "and only accepts test-mode secret keys (sk_test_...). Never send live keys to it." % redact(key))
    if key.startswith("rk_test_"):
        raise AuthenticationError(
            "Invalid API Key provided: %s. Restricted keys are not supported by the simulator; use a "
            "test-mode secret key (sk_test_...)." % redact(key))
    raise AuthenticationError("Invalid API Key provided: %s. The simulator accepts any test-mode secret key: "
                              "it must start with sk_test_." % redact(key))
