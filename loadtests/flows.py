"""One payment flow per task: which events go out, how they are signed, what they must cause.

``plan(kind, order, factory, rng)`` returns a ``Flow``: its steps in order (each step is
one or more sends fired at the same moment) and the final state the order must reach. The
events themselves come from ``factory`` (realistic basil payloads, see
``loadtests.events``); a flow only decides order, repetition, concurrency and signing.
Bodies are serialised once per event by the factory: a redelivery sends the same bytes
with a fresh signature, as Stripe does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from loadtests.mix import KINDS

# In concurrent_duplicate: deliveries of payment_intent.succeeded and of charge.succeeded
# that land at the same instant (two events meaning "paid", each delivered more than once).
CONCURRENT_INTENT_COPIES = 3
CONCURRENT_CHARGE_COPIES = 2

VALID, FORGED, STALE = "valid", "forged", "stale"


@dataclass(slots=True)
class Send:
    event_id: str
    event_type: str
    body: bytes
    signing: str = VALID          # valid | forged | stale
    concurrent: bool = False      # part of a burst fired at once
    redelivery: bool = False
    header: Optional[str] = None  # set when pre-signed

    @property
    def name(self) -> str:
        """The request name in Locust's stats: grouped by what is being tested."""
        if self.signing != VALID:
            return "webhook %s signature" % self.signing
        if self.concurrent:
            return "webhook %s (concurrent)" % self.event_type
        if self.redelivery:
            return "webhook %s (redelivery)" % self.event_type
        return "webhook %s" % self.event_type

    @property
    def expected_status(self) -> int:
        return 200 if self.signing == VALID else 400


@dataclass(slots=True)
class Flow:
    kind: str
    order_id: str
    expect: str                       # the order's final status once every send is answered
    possible: Tuple[str, ...]         # statuses allowed while the flow is incomplete
    steps: List[List[Send]] = field(default_factory=list)

    @property
    def sends(self) -> List[Send]:
        return [s for step in self.steps for s in step]


def _send(event, **kw) -> Send:
    """``event``: a ``loadtests.events.Event`` (id, type, body bytes)."""
    return Send(event.id, event.type, event.body, **kw)


def _again(send: Send, **kw) -> Send:
    """Another delivery of the same event: same id, same bytes, signed when sent."""
    return Send(send.event_id, send.event_type, send.body, **kw)


def _one_by_one(sends: List[Send]) -> List[List[Send]]:
    return [[s] for s in sends]


def plan(kind: str, order, factory, rng) -> Flow:
    if kind not in KINDS:
        raise ValueError("unknown flow kind %r" % kind)
    if kind in ("success", "duplicate", "concurrent_duplicate"):
        ev = factory.success(order)
        created, ch_ok, pi_ok, ch_upd = (_send(ev[t]) for t in (
            "payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"))
        if kind == "success":
            steps = _one_by_one([created, ch_ok, pi_ok, ch_upd])
        elif kind == "duplicate":
            # Stripe retries what it did not see acknowledged, and may deliver twice anyway.
            steps = _one_by_one([created, ch_ok, pi_ok, _again(pi_ok, redelivery=True),
                                 _again(ch_ok, redelivery=True), ch_upd, _again(pi_ok, redelivery=True)])
        else:
            # Both "paid" events of one payment, each delivered more than once, all at once:
            # the receiver must allocate once however the deliveries interleave.
            burst = ([_again(pi_ok, concurrent=True) for _ in range(CONCURRENT_INTENT_COPIES)]
                     + [_again(ch_ok, concurrent=True) for _ in range(CONCURRENT_CHARGE_COPIES)])
            rng.shuffle(burst)
            steps = [[created], burst, [ch_upd]]
        return Flow(kind, order.id, "paid", ("pending", "paid"), steps)
    if kind in ("decline", "insufficient_funds"):
        ev = factory.decline(order, "generic_decline" if kind == "decline" else "insufficient_funds")
        sends = [_send(ev[t]) for t in ("payment_intent.created", "charge.failed", "payment_intent.payment_failed")]
        return Flow(kind, order.id, "failed", ("pending", "failed"), _one_by_one(sends))
    if kind == "out_of_order":
        # A declined first attempt, then a paid retry on the same intent; Stripe does not
        # promise order, so the receiver must reach "paid" whatever order they land in.
        ev = factory.retry_after_decline(order)
        sends = [_send(ev[t]) for t in ("charge.failed", "payment_intent.payment_failed",
                                         "charge.succeeded", "payment_intent.succeeded")]
        rng.shuffle(sends)
        return Flow(kind, order.id, "paid", ("pending", "failed", "paid"), _one_by_one(sends))
    # forged / stale: a payment event for a real, unpaid order that must change nothing.
    ev = factory.success(order)
    send = _send(ev["payment_intent.succeeded"], signing=FORGED if kind == "forged" else STALE)
    return Flow(kind, order.id, "pending", ("pending",), [[send]])
