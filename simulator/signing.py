"""Stripe webhook signatures: make them exactly as Stripe does, and check them.

A ``Stripe-Signature`` header is ``t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]``
where each ``v1`` is HMAC-SHA256 keyed with the whole ``whsec_...`` string (UTF-8) over
``"<t>.<raw body>"``, in lowercase hex. One ``v1`` is sent per active secret of the
endpoint (several while a secret is being rolled); test mode adds a ``v0`` that no
receiver should trust.

Everything here works on the exact bytes that go on the wire: sign what you send.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Iterable, Optional, Sequence, Union

EXPECTED_SCHEME = "v1"
TEST_MODE_SCHEME = "v0"
DEFAULT_TOLERANCE = 300  # seconds; the official SDKs' default

Payload = Union[bytes, bytearray, str]


class SignatureVerificationError(Exception):
    """The signature header is absent, malformed, does not match, or is too old."""

    def __init__(self, message: str, sig_header: Optional[str] = None, payload: Optional[bytes] = None):
        super().__init__(message)
        self.message = message
        self.sig_header = sig_header
        self.payload = payload


def _as_bytes(payload: Payload) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return bytes(payload)


def compute_signature(secret: str, timestamp: int, payload: Payload) -> str:
    """The ``v1`` value for ``payload`` signed at ``timestamp`` with ``secret``."""
    signed = b"%d." % int(timestamp) + _as_bytes(payload)
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def generate_header(
    payload: Payload,
    secrets: Union[str, Sequence[str]],
    timestamp: Optional[int] = None,
    *,
    include_v0: bool = False,
    v0_secret: Optional[str] = None,
) -> str:
    """Build the ``Stripe-Signature`` header Stripe would send for ``payload``.

    ``secrets`` is one secret or the endpoint's active secrets (newest first), one ``v1``
    each. ``include_v0`` adds the test-mode ``v0`` signature, made with a secret that no
    receiver knows (Stripe's own v0 is not verifiable either).
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    t = int(time.time()) if timestamp is None else int(timestamp)
    parts = ["t=%d" % t]
    parts.extend("%s=%s" % (EXPECTED_SCHEME, compute_signature(s, t, payload)) for s in secrets)
    if include_v0:
        parts.append("%s=%s" % (TEST_MODE_SCHEME, compute_signature(v0_secret or "whsec_v0_test_mode", t, payload)))
    return ",".join(parts)


def parse_header(header: str) -> tuple[int, dict[str, list[str]]]:
    """Split a header into its timestamp and the signatures of each scheme.

    Raises ``SignatureVerificationError`` if there is no integer ``t``.
    """
    timestamp: Optional[int] = None
    schemes: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
                break
        else:
            schemes.setdefault(key, []).append(value)
    if timestamp is None:
        raise SignatureVerificationError("Unable to extract timestamp and signatures from header", header)
    return timestamp, schemes


def verify_header(
    payload: Payload,
    header: Optional[str],
    secret: Union[str, Iterable[str], None],
    tolerance: Optional[int] = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> int:
    """Check ``header`` against ``payload``; return the signed timestamp.

    ``secret`` may be several secrets (a receiver that is itself rolling). Comparison is
    constant-time. Signatures older than ``tolerance`` seconds are rejected; pass
    ``tolerance=None`` to skip the age check.
    """
    body = _as_bytes(payload)
    if not header:
        raise SignatureVerificationError("No Stripe-Signature header value was provided", header, body)
    secrets = [secret] if isinstance(secret, str) else list(secret or [])
    secrets = [s for s in secrets if s and s.strip()]
    if not secrets:
        raise SignatureVerificationError("No webhook secret was provided; it should start with whsec_", header, body)
    timestamp, schemes = parse_header(header)
    candidates = schemes.get(EXPECTED_SCHEME, [])
    if not candidates:
        raise SignatureVerificationError(
            "No signatures found with expected scheme %s" % EXPECTED_SCHEME, header, body
        )
    matched = False
    for s in secrets:
        expected = compute_signature(s, timestamp, body)
        for candidate in candidates:
            # Keep looping after a match so the time taken does not depend on which one matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureVerificationError(
            "No signatures found matching the expected signature for payload", header, body
        )
    current = time.time() if now is None else now
    if tolerance is not None and timestamp < current - tolerance:
        raise SignatureVerificationError("Timestamp outside the tolerance zone (%d)" % timestamp, header, body)
    return timestamp


def construct_event(
    payload: Payload,
    header: Optional[str],
    secret: Union[str, Iterable[str]],
    tolerance: Optional[int] = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> dict:
    """Verify, then parse the body as JSON; ``ValueError`` for a valid signature on bad JSON."""
    verify_header(payload, header, secret, tolerance=tolerance, now=now)
    try:
        event = json.loads(_as_bytes(payload))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("Invalid payload: %s" % exc) from exc
    if not isinstance(event, dict):
        raise ValueError("Invalid payload: the body is not a JSON object")
    return event


def redact_secret(secret: Optional[str]) -> str:
    """``whsec_abcd…wxyz`` for logs: enough to tell secrets apart, never the whole one."""
    if not secret:
        return "<none>"
    if len(secret) <= 14:
        return secret[:6] + "…"
    return "%s…%s" % (secret[:10], secret[-4:])
