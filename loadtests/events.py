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

import base64
import re
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Dict, Iterator, List, Tuple

from simulator.clock import Clock
from simulator.rng import SeededRandom

PLACEHOLDER_INTENT = "pi_3LoadPrototypeIntnt0Zz"   # shaped like a real id so related ids derive from it
PLACEHOLDER_ORDER = "00000000-load-test-order-placeholder"
# Object ids only: "card_declined" and friends are codes, not ids, so no card_ prefix here.
# re_ (refunds) and dp_ (disputes) too: a dispute id repeated across orders would be answered
# as the same dispute by any receiver that keys disputes by id.
# pi_ and cs_test_ too, for Checkout: its session makes an intent of its own (the order's
# intent, the placeholder, is matched first and swapped for the order's).
_ID = re.compile(r"\b(?:(?:evt|ch|py|pm|txn|req|cus|iar|seti|re|dp|pi|mandate)_|cs_test_)[A-Za-z0-9]{14,}\b")
RANDOM_TAIL = 8  # the random part of an id; the rest (time stamp, account segment) stays

# prototype name -> the steps played on the intent, in order: a card name confirms with that
# test card; "refund:partial" refunds ``partial_refund(amount)``, "refund:rest" what is left;
# "cancel" cancels the intent. Events are kept in the order recorded.
SCENARIOS: Dict[str, Tuple[str, ...]] = {
    "success": ("pm_card_visa",),
    "generic_decline": ("pm_card_chargeDeclined",),
    "insufficient_funds": ("pm_card_chargeDeclinedInsufficientFunds",),
    # A declined first attempt, then the customer pays with another card on the same intent.
    "retry_after_decline": ("pm_card_chargeDeclined", "pm_card_visa"),
    "refund_partial": ("pm_card_visa", "refund:partial"),
    # Two refunds up to the full amount: two charge.refunded (cumulative amount_refunded).
    "refund_full": ("pm_card_visa", "refund:partial", "refund:rest"),
    # The dispute test card: paid, then charge.dispute.created (+ funds_withdrawn).
    "dispute": ("pm_card_createDispute",),
    "cancel": ("cancel",),
    # Checkout paid by ACH Direct Debit (a delayed method, usd only): completed unpaid, then
    # the bank's answer. The session carries the order in client_reference_id and metadata.
    "checkout_async_paid": ("checkout:pm_usBankAccount_success",),
    "checkout_async_failed": ("checkout:pm_usBankAccount_insufficientFunds",),
}


def partial_refund(amount: int) -> int:
    """The first refund of the refund flows: a third of the amount (at least 1)."""
    return max(1, amount // 3)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    body: bytes


def _base62(rng: SeededRandom, length: int) -> bytes:
    """``length`` id characters from a single draw (one lock, no per-character Python loop):
    base64 of random bits with ``+`` and ``/`` mapped to letters, so the alphabet is
    Stripe's 62 characters (two of them drawn a little more often)."""
    nbytes = -(-length * 3 // 4)
    raw = rng.randint(0, 256 ** nbytes - 1).to_bytes(nbytes, "big")
    return base64.b64encode(raw, altchars=b"Az")[:length]


class _Prototype:
    """One payment's events as format strings with a field at every id: a copy is one
    ``%`` per event, done in C."""

    def __init__(self, events: List[dict]):
        import json

        literals = re.compile("|".join([re.escape(PLACEHOLDER_INTENT), re.escape(PLACEHOLDER_ORDER), _ID.pattern]))
        texts = [(ev["type"], json.dumps(ev, separators=(",", ":"))) for ev in events]
        found = {m.group(0) for _, text in texts for m in literals.finditer(text)}
        # Field 0 is the intent, 1 the order, then every other id.
        self.tokens = sorted(found - {PLACEHOLDER_INTENT, PLACEHOLDER_ORDER})
        index = {PLACEHOLDER_INTENT: 0, PLACEHOLDER_ORDER: 1}
        index.update((t, i + 2) for i, t in enumerate(self.tokens))
        # Per event: (type, body as a bytes %-format, field holding the event's id). Bytes,
        # so a copy is formatted in C and never re-encoded.
        self.formats: Dict[str, Tuple[bytes, int]] = {}
        for etype, text in texts:
            # A type recorded again (the second refund's charge.refunded) is "type#2".
            n = 2
            key = etype
            while key in self.formats:
                key, n = "%s#%d" % (etype, n), n + 1
            parts, fields, at = [], [], 0
            for m in literals.finditer(text):
                parts.append(text[at:m.start()].replace("%", "%%"))
                parts.append("%s")
                fields.append(index[m.group(0)])
                at = m.end()
            parts.append(text[at:].replace("%", "%%"))
            self.formats[key] = ("".join(parts).encode("utf-8"), fields)
        self.stem = PLACEHOLDER_INTENT[3:20]
        # Per id: (kept head, its stem-sharing tail length or None, characters drawn).
        self.renewals = []
        for t in self.tokens:
            prefix, _, rest = t.partition("_")
            if rest.startswith(self.stem):
                # Without a stem to share (the order's intent is not Stripe-shaped) the id is
                # drawn whole, so the placeholder's stem never leaks into an event.
                self.renewals.append(((prefix + "_").encode(), len(rest) - len(self.stem), len(rest)))
            else:
                self.renewals.append((t[:-RANDOM_TAIL].encode(), None, RANDOM_TAIL))
        self.random_chars = sum(r[2] for r in self.renewals)

    def instantiate(self, order, rng: SeededRandom) -> "Events":
        pi = order.payment_intent
        order_stem = pi[3:20].encode() if pi.startswith("pi_3") and len(pi) >= 20 else None
        values = [pi.encode(), order.id.encode()]
        fresh = _base62(rng, self.random_chars)
        at = 0
        for head, tail, drawn in self.renewals:
            if tail is None:
                values.append(head + fresh[at:at + drawn])
            elif order_stem:
                values.append(head + order_stem + fresh[at:at + tail])
            else:
                values.append(head + fresh[at:at + drawn])
            at += drawn
        return Events(self.formats, values)


class Events(Mapping):
    """One payment's events for one order, type -> ``Event``; a body is only formatted
    when a flow asks for it (a forged flow sends one event of four)."""

    def __init__(self, formats: Dict[str, Tuple[bytes, List[int]]], values: List[bytes]):
        self._formats = formats
        self._values = values
        self._made: Dict[str, Event] = {}

    def __getitem__(self, etype: str) -> Event:
        event = self._made.get(etype)
        if event is None:
            fmt, fields = self._formats[etype]
            values = self._values
            # The envelope's first id is the event's own ({"id":"evt_...).
            event = self._made[etype] = Event(values[fields[0]].decode("ascii"), etype.partition("#")[0],
                                              fmt % tuple([values[i] for i in fields]))
        return event

    def __iter__(self) -> Iterator[str]:
        return iter(self._formats)

    def __len__(self) -> int:
        return len(self._formats)


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

    def warm_up(self, amount: int, currency: str, scenarios=None) -> None:
        """Play the scenarios (default: all) now (~0.05-0.1 s each), not in the first flows
        of the run. ``scenarios``: names, or (name, amount) for another amount."""
        for scenario in SCENARIOS if scenarios is None else scenarios:
            name, at = scenario if isinstance(scenario, tuple) else (scenario, amount)
            self._prototype(name, at, currency)

    def success(self, order) -> "Events":
        return self._prototype("success", order.amount, order.currency).instantiate(order, self.rng)

    def retry_after_decline(self, order) -> "Events":
        return self._prototype("retry_after_decline", order.amount, order.currency).instantiate(order, self.rng)

    def decline(self, order, decline_code: str) -> "Events":
        return self._prototype(decline_code, order.amount, order.currency).instantiate(order, self.rng)

    def short_payment(self, order, short_by: int = 1) -> "Events":
        """A success whose intent received ``short_by`` less than the order's amount."""
        return self._prototype("success", order.amount - short_by, order.currency).instantiate(order, self.rng)

    def scenario(self, name: str, order) -> "Events":
        """Any scenario of ``SCENARIOS`` by name (refunds, dispute, cancel)."""
        return self._prototype(name, order.amount, order.currency).instantiate(order, self.rng)


def play(scenario: str, amount: int, currency: str, rng: SeededRandom) -> List[dict]:
    """Pay a placeholder intent on a private backend; return the events it records."""
    from simulator.backend import StripeBackend
    from simulator.errors import StripeError

    backend = StripeBackend(rng, Clock())
    records = []
    backend.add_event_listener(records.append)
    steps = SCENARIOS[scenario]
    if not steps[0].startswith("checkout:"):
        backend.adopt_payment_intent(PLACEHOLDER_INTENT, amount, currency, {"order_id": PLACEHOLDER_ORDER})
    for step in steps:
        if step.startswith("checkout:"):
            session = backend.create_checkout_session({
                "mode": "payment", "payment_method_types": ["us_bank_account"],
                "line_items": [{"quantity": 1, "price_data": {"currency": currency, "unit_amount": amount,
                                                              "product_data": {"name": "POSX order"}}}],
                "client_reference_id": PLACEHOLDER_ORDER, "metadata": {"order_id": PLACEHOLDER_ORDER},
                "payment_intent_data": {"metadata": {"order_id": PLACEHOLDER_ORDER}},
                "success_url": "https://posx.example/paid"})
            backend.complete_checkout_session(session["id"], {"payment_method": step.partition(":")[2]})
        elif step == "cancel":
            backend.cancel_payment_intent(PLACEHOLDER_INTENT, {})
        elif step == "refund:partial":
            backend.create_refund({"payment_intent": PLACEHOLDER_INTENT, "amount": partial_refund(amount)})
        elif step == "refund:rest":
            backend.create_refund({"payment_intent": PLACEHOLDER_INTENT})
        else:
            try:
                backend.confirm_payment_intent(PLACEHOLDER_INTENT, {"payment_method": step})
            except StripeError:
                pass  # a decline raises after recording its events, as the API answers 402
    events = []
    for record in records:
        event = dict(record.event)
        # A delivered event counts the endpoint it is being delivered to.
        event["pending_webhooks"] = max(1, int(event.get("pending_webhooks") or 0))
        events.append(event)
    return events
