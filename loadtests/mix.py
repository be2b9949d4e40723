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
    "refund_partial": "a success, then a refund of a third: refund.created + charge.refunded (the order stays paid)",
    "refund_full": "a success, then two refunds up to the whole amount, their charge.refunded in either order "
                   "(the order ends refunded)",
    "dispute": "a payment with the dispute test card: paid, then charge.dispute.created (delivered twice) and "
               "charge.dispute.funds_withdrawn (the order shows one dispute)",
    "cancel": "payment_intent.created then payment_intent.canceled (the order ends canceled, nothing allocated)",
    "invalid_json": "a correctly signed body that is not JSON (a cut event, plain text): must get 400, never 5xx",
    "checkout_async": "Checkout paid by bank debit (usd): completed unpaid, then the bank's answer, success or "
                      "failure at even odds (the order stays unpaid until it, then ends paid or failed)",
    "amount_mismatch": "a payment whose amount received is one cent short of the order's (the order must end "
                       "payment_mismatch, nothing allocated)",
    "injected_failure": "with the target's fault hooks (/_posx/faults): arm a failure or a crash of the next "
                        "webhook call, then a success; every delivery answered 5xx or cut is redelivered as "
                        "Stripe does, and every order must still end right",
}

# Only with a target that answers its fault hooks (GET /_posx/faults).
NEEDS_FAULT_HOOKS = ("injected_failure",)

DEFAULT_MIX: Dict[str, int] = {
    "success": 40,
    "decline": 6,
    "insufficient_funds": 5,
    "duplicate": 8,
    "concurrent_duplicate": 8,
    "out_of_order": 7,
    "forged": 2,
    "stale": 2,
    "refund_partial": 5,
    "refund_full": 4,
    "dispute": 4,
    "cancel": 4,
    "invalid_json": 2,
    "checkout_async": 3,
    "amount_mismatch": 2,
    "injected_failure": 3,
}

# The mix of the first load tests (before refunds, disputes, cancels, invalid JSON and
# injected failures): the benchmark keeps it, so its figures stay comparable run to run.
PAYMENTS_MIX: Dict[str, int] = {
    "success": 55, "decline": 8, "insufficient_funds": 7, "duplicate": 10, "concurrent_duplicate": 8,
    "out_of_order": 8, "forged": 2, "stale": 2,
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


def in_turn(weights: Mapping[str, int]) -> list:
    """The kinds spread evenly by weight (``a=2,b=1`` -> ``a, b, a``): one pass is one of each
    draw of the mix, so a short run in turn sends every kind."""
    slots = [((j + 0.5) / w, n, kind) for n, (kind, w) in enumerate(weights.items()) for j in range(w)]
    return [kind for _, _, kind in sorted(slots)]


def without(weights: Mapping[str, int], kinds) -> Dict[str, int]:
    """The mix with ``kinds`` at weight 0 (what a target cannot take, e.g. without fault hooks)."""
    return {k: (0 if k in kinds else w) for k, w in weights.items()}
