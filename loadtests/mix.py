"""The traffic mix: which kinds of payment flow the load test sends, and how often.

A mix is written ``success=70,decline=10,forged=2``: a weight per kind, kinds left out get
weight 0. Each kind is one task of the Locust user (see ``loadtests.flows`` for what each
sends and the final state it expects).
"""
from __future__ import annotations

from typing import Dict, Mapping

# Kind -> one-line description (also the order in reports and --help).
KINDS: Dict[str, str] = {
    "success": "a 4242 payment: payment_intent.created, charge.succeeded, payment_intent.succeeded, charge.updated",
    "decline": "a 0002 card: charge.failed + payment_intent.payment_failed (generic_decline)",
    "insufficient_funds": "a 9995 card: charge.failed + payment_intent.payment_failed (insufficient_funds)",
    "duplicate": "a success whose events Stripe redelivers (same event ids, fresh signatures)",
    "concurrent_duplicate": "a success whose payment_intent.succeeded and charge.succeeded arrive, several "
                            "times each, at the same instant",
    "out_of_order": "a declined first attempt then a paid retry on the same intent, its four events shuffled",
    "forged": "a payment_intent.succeeded signed with the wrong secret (must get 400)",
    "stale": "a payment_intent.succeeded correctly signed 10 minutes ago (must get 400)",
}

DEFAULT_MIX: Dict[str, int] = {
    "success": 55,
    "decline": 8,
    "insufficient_funds": 7,
    "duplicate": 10,
    "concurrent_duplicate": 8,
    "out_of_order": 8,
    "forged": 2,
    "stale": 2,
}


class MixError(ValueError):
    """A mix string that cannot be used; the message names the bad part."""


def parse_mix(text: str) -> Dict[str, int]:
    """``"success=70,decline=10"`` -> ``{"success": 70, "decline": 10, <others>: 0}``."""
    if text is None or not str(text).strip():
        return dict(DEFAULT_MIX)
    weights = {kind: 0 for kind in KINDS}
    seen = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise MixError("mix entry %r is not kind=weight (e.g. success=70)" % part)
        if name not in KINDS:
            raise MixError("unknown kind %r in the mix; known kinds: %s" % (name, ", ".join(KINDS)))
        if name in seen:
            raise MixError("kind %r appears twice in the mix" % name)
        try:
            weight = int(value.strip())
        except ValueError:
            raise MixError("weight of %r must be a whole number, got %r" % (name, value.strip())) from None
        if weight < 0:
            raise MixError("weight of %r must be >= 0, got %d" % (name, weight))
        seen.add(name)
        weights[name] = weight
    if not any(weights.values()):
        raise MixError("the mix %r gives every kind weight 0: nothing to send" % text)
    return weights


def format_mix(weights: Mapping[str, int]) -> str:
    return ",".join("%s=%d" % (k, w) for k, w in weights.items() if w)
