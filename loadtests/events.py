"""Realistic basil events for the load test, made by the simulator's own backend.

Running the simulator's payment logic for every flow would make event building, not the
target, the bottleneck. So each kind of payment is played once on an in-process
``StripeBackend`` with placeholder ids (a *prototype*: the exact events that payment
records, serialised and cut at every id), and each flow gets a copy in which every id is
swapped: the intent becomes the order's ``stripe_payment_intent_id``, ``metadata.order_id``
the order's id, and every other id (event, charge, payment method, balance transaction,
request) a fresh one of the same shape (a new random tail). Objects of one payment keep
sharing the intent's id stem, as real Stripe ids do.

Prototypes are per (amount, currency), made on first use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Tuple

from simulator.clock import Clock
from simulator.rng import ALPHANUMERIC, SeededRandom

PLACEHOLDER_INTENT = "pi_3LoadPrototypeIntnt0Zz"   # shaped like a real id so related ids derive from it
PLACEHOLDER_ORDER = "00000000-load-test-order-placeholder"
# Object ids only: "card_declined" and friends are codes, not ids, so no card_ prefix here.
_ID = re.compile(r"\b(?:evt|ch|py|pm|txn|req|cus|iar|seti)_[A-Za-z0-9]{14,}\b")
RANDOM_TAIL = 8  # the random part of an id; the rest (time stamp, account segment) stays

# prototype name -> (card per confirm attempt); events are kept in the order recorded.
SCENARIOS: Dict[str, Tuple[str, ...]] = {
    "success": ("pm_card_visa",),
    "generic_decline": ("pm_card_chargeDeclined",),
    "insufficient_funds": ("pm_card_chargeDeclinedInsufficientFunds",),
    # A declined first attempt, then the customer pays with another card on the same intent.
    "retry_after_decline": ("pm_card_chargeDeclined", "pm_card_visa"),
}


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    body: bytes


def _base62(rng: SeededRandom, length: int) -> str:
    """``length`` base62 characters from a single draw (one lock, not one per character)."""
    n = rng.randint(0, 62 ** length - 1)
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(ALPHANUMERIC[r])
    return "".join(out)


class _Prototype:
    """One payment's events as text cut at every id, so a copy is one join, not a search."""

    def __init__(self, events: List[dict]):
        import json

        literals = re.compile("|".join([re.escape(PLACEHOLDER_INTENT), re.escape(PLACEHOLDER_ORDER), _ID.pattern]))
        # per event: (type, [text, token, text, token, ..., text])
        self.pieces: List[Tuple[str, List[str]]] = []
        tokens = set()
        for ev in events:
            text = json.dumps(ev, separators=(",", ":"))
            parts, at = [], 0
            for m in literals.finditer(text):
                parts.extend((text[at:m.start()], m.group(0)))
                tokens.add(m.group(0))
                at = m.end()
            parts.append(text[at:])
            self.pieces.append((ev["type"], parts))
        tokens -= {PLACEHOLDER_INTENT, PLACEHOLDER_ORDER}
        self.tokens = sorted(tokens)
        self.stem = PLACEHOLDER_INTENT[3:20]
        # Enough fresh characters for every id, whichever way each is renewed.
        self.random_chars = sum(max(RANDOM_TAIL, len(t)) for t in self.tokens)

    def instantiate(self, order, rng: SeededRandom) -> Dict[str, Event]:
        pi = order.payment_intent
        order_stem = pi[3:20] if pi.startswith("pi_3") and len(pi) >= 20 else None
        mapping = {PLACEHOLDER_INTENT: pi, PLACEHOLDER_ORDER: order.id}
        fresh = _base62(rng, self.random_chars)
        at = 0
        for token in self.tokens:
            prefix, _, rest = token.partition("_")
            if order_stem and rest.startswith(self.stem):
                n = len(rest) - len(self.stem)
                mapping[token] = "%s_%s%s" % (prefix, order_stem, fresh[at:at + n])
            else:
                n = RANDOM_TAIL
                mapping[token] = token[:-n] + fresh[at:at + n]
            at += n
        out: Dict[str, Event] = {}
        for etype, parts in self.pieces:
            filled = list(parts)
            for i in range(1, len(filled), 2):
                filled[i] = mapping[filled[i]]
            body = "".join(filled)
            event_id = body[7:body.index('"', 7)]  # the envelope starts {"id":"evt_...
            out[etype] = Event(event_id, etype, body.encode("utf-8"))
        return out


class EventFactory:
    def __init__(self, rng: SeededRandom):
        self.rng = rng
        self._prototypes: Dict[Tuple[str, int, str], _Prototype] = {}

    def _prototype(self, scenario: str, amount: int, currency: str) -> _Prototype:
        key = (scenario, amount, currency)
        proto = self._prototypes.get(key)
        if proto is None:
            proto = self._prototypes[key] = _Prototype(play(scenario, amount, currency, self.rng.child()))
        return proto

    def success(self, order) -> Dict[str, Event]:
        return self._prototype("success", order.amount, order.currency).instantiate(order, self.rng)

    def retry_after_decline(self, order) -> Dict[str, Event]:
        return self._prototype("retry_after_decline", order.amount, order.currency).instantiate(order, self.rng)

    def decline(self, order, decline_code: str) -> Dict[str, Event]:
        return self._prototype(decline_code, order.amount, order.currency).instantiate(order, self.rng)


def play(scenario: str, amount: int, currency: str, rng: SeededRandom) -> List[dict]:
    """Pay a placeholder intent on a private backend; return the events it records."""
    from simulator.backend import StripeBackend
    from simulator.errors import StripeError

    backend = StripeBackend(rng, Clock())
    records = []
    backend.add_event_listener(records.append)
    backend.adopt_payment_intent(PLACEHOLDER_INTENT, amount, currency, {"order_id": PLACEHOLDER_ORDER})
    for card in SCENARIOS[scenario]:
        try:
            backend.confirm_payment_intent(PLACEHOLDER_INTENT, {"payment_method": card})
        except StripeError:
            pass  # a decline raises after recording its events, as the API answers 402
    events = []
    for record in records:
        event = dict(record.event)
        # A delivered event counts the endpoint it is being delivered to.
        event["pending_webhooks"] = max(1, int(event.get("pending_webhooks") or 0))
        events.append(event)
    return events
