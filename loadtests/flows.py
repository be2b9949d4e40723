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
from typing import Dict, List, Optional, Tuple

from loadtests.events import partial_refund
from loadtests.mix import KINDS

# In concurrent_duplicate: deliveries of payment_intent.succeeded and of charge.succeeded
# that land at the same instant (two events meaning "paid", each delivered more than once).
CONCURRENT_INTENT_COPIES = 3
CONCURRENT_CHARGE_COPIES = 2

VALID, FORGED, STALE = "valid", "forged", "stale"
INVALID_JSON = "invalid_json"  # correctly signed, but the body is not JSON

# injected_failure arms one of these on the target's fault hooks before its success flow:
# answer 500 to the next calls (Stripe redelivers), or crash mid-processing (the worker dies
# after the order update is written, before the commit; the delivery is cut, Stripe
# redelivers). A crash is what loses the event in a receiver that marks it first.
#
# The target takes one of each armed fault per call and an injected 500 answers before the
# crash point, so a crash armed while failures are pending would be spent on a call that
# never reaches it: a crash disarms pending failures. Crashes are drawn twice as often, as
# they are what catches a lost event.
INJECTIONS = ({"fail_next": 1}, {"crash_next": 1, "fail_next": 0}, {"crash_next": 1, "fail_next": 0})


@dataclass(slots=True)
class Send:
    event_id: str
    event_type: str
    body: bytes
    signing: str = VALID          # valid | forged | stale
    concurrent: bool = False      # part of a burst fired at once
    redelivery: bool = False
    header: Optional[str] = None  # set when pre-signed
    malformed: bool = False       # signed, but not JSON: must get 400

    @property
    def name(self) -> str:
        """The request name in Locust's stats: grouped by what is being tested."""
        if self.malformed:
            return "webhook invalid JSON"
        if self.signing != VALID:
            return "webhook %s signature" % self.signing
        if self.concurrent:
            return "webhook %s (concurrent)" % self.event_type
        if self.redelivery:
            return "webhook %s (redelivery)" % self.event_type
        return "webhook %s" % self.event_type

    @property
    def expected_status(self) -> int:
        return 200 if self.signing == VALID and not self.malformed else 400

    @property
    def rejection(self) -> Optional[str]:
        """What a send that must be refused is (recorded and checked at the end), else None."""
        return INVALID_JSON if self.malformed else (None if self.signing == VALID else self.signing)


@dataclass(slots=True)
class Flow:
    kind: str
    order_id: str
    expect: str                       # the order's final status once every send is answered
    possible: Tuple[str, ...]         # statuses allowed while the flow is incomplete
    steps: List[List[Send]] = field(default_factory=list)
    # What the order must show besides its status once complete: "amount_refunded" (minor
    # units), "disputes" (how many).
    checks: Dict[str, int] = field(default_factory=dict)
    inject: Optional[dict] = None     # the fault-hook spec armed before step ``inject_before``
    inject_before: int = 0

    @property
    def sends(self) -> List[Send]:
        return [s for step in self.steps for s in step]


def scenarios_for(kinds, amount: int):
    """The event prototypes (``EventFactory.warm_up`` names) the given kinds use for an
    order of ``amount``: a run plays only what its mix sends."""
    own = {"decline": "generic_decline", "insufficient_funds": "insufficient_funds",
           "out_of_order": "retry_after_decline", "refund_partial": "refund_partial",
           "refund_full": "refund_full", "dispute": "dispute", "cancel": "cancel",
           "amount_mismatch": ("success", amount - 1)}
    if "checkout_async" in kinds:
        return sorted({own.get(k, "success") for k in kinds if k != "checkout_async"}
                      | {"checkout_async_paid", "checkout_async_failed"}, key=str)
    return sorted({own.get(k, "success") for k in kinds}, key=str)


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
    if kind in ("refund_partial", "refund_full"):
        ev = factory.scenario(kind, order)
        sends = [_send(ev[t]) for t in ("payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                         "charge.updated", "refund.created", "charge.refunded")]
        if kind == "refund_partial":
            return Flow(kind, order.id, "paid", ("pending", "paid"), _one_by_one(sends),
                        checks={"amount_refunded": partial_refund(order.amount)})
        # The second refund's charge.refunded (cumulative: the whole amount) may land before
        # the first's: an older, smaller amount_refunded must not lower or add to it.
        second = [_send(ev["refund.created#2"]), _send(ev["charge.refunded#2"])]
        tail = [sends.pop(), *second] if rng.random() < 0.5 else [*second, sends.pop()]
        return Flow(kind, order.id, "refunded", ("pending", "paid", "refunded"), _one_by_one(sends + tail),
                    checks={"amount_refunded": order.amount})
    if kind == "dispute":
        ev = factory.scenario("dispute", order)
        dispute = _send(ev["charge.dispute.created"])
        sends = [_send(ev[t]) for t in ("payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                         "charge.updated")]
        sends += [dispute, _again(dispute, redelivery=True), _send(ev["charge.dispute.funds_withdrawn"])]
        return Flow(kind, order.id, "paid", ("pending", "paid"), _one_by_one(sends), checks={"disputes": 1})
    if kind == "cancel":
        ev = factory.scenario("cancel", order)
        canceled = _send(ev["payment_intent.canceled"])
        sends = [_send(ev["payment_intent.created"]), canceled, _again(canceled, redelivery=True)]
        return Flow(kind, order.id, "canceled", ("pending", "canceled"), _one_by_one(sends))
    if kind == "checkout_async":
        # A delayed payment method: checkout.session.completed says unpaid, which must not
        # pay; the bank's answer (success or failure) comes after it, as Stripe sends them.
        paid = rng.random() < 0.5
        ev = factory.scenario("checkout_async_paid" if paid else "checkout_async_failed", order)
        answer = (("charge.succeeded", "payment_intent.succeeded", "checkout.session.async_payment_succeeded")
                  if paid else ("charge.failed", "payment_intent.payment_failed", "checkout.session.async_payment_failed"))
        sends = [_send(ev[t]) for t in ("payment_intent.created", "charge.pending", "payment_intent.processing",
                                         "checkout.session.completed") + answer]
        return Flow(kind, order.id, "paid" if paid else "failed", ("pending", "paid" if paid else "failed"),
                    _one_by_one(sends))
    if kind == "amount_mismatch":
        # Stripe took less than the order costs (a tampered client changed the intent):
        # the contract says not paid, payment_mismatch, nothing allocated, and 2xx.
        ev = factory.short_payment(order)
        sends = [_send(ev[t]) for t in ("payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                         "charge.updated")]
        return Flow(kind, order.id, "payment_mismatch", ("pending", "payment_mismatch"), _one_by_one(sends))
    if kind == "invalid_json":
        # Correctly signed bytes that are not JSON: the receiver must answer 400 (Stripe
        # would retry a 5xx for three days) and change nothing.
        body = factory.success(order)["payment_intent.succeeded"]
        cut = rng.choice(("half", "trailing", "text"))
        if cut == "half":
            data = body.body[:len(body.body) // 2]
        elif cut == "trailing":
            data = body.body + b"}"
        else:
            data = b"payment_intent.succeeded " + order.id.encode()
        send = Send(body.id, body.type, data, malformed=True)
        return Flow(kind, order.id, "pending", ("pending",), [[send]])
    if kind == "injected_failure":
        # payment_intent.succeeded is the one event that pays here (an integration that
        # subscribes to it alone), so an event the receiver loses is not masked by
        # charge.succeeded. The fault is armed just before it goes out.
        ev = factory.success(order)
        sends = [_send(ev[t]) for t in ("payment_intent.created", "payment_intent.succeeded", "charge.updated")]
        return Flow(kind, order.id, "paid", ("pending", "paid"), _one_by_one(sends),
                    inject=dict(rng.choice(INJECTIONS)), inject_before=1)
    # forged / stale: a payment event for a real, unpaid order that must change nothing.
    ev = factory.success(order)
    send = _send(ev["payment_intent.succeeded"], signing=FORGED if kind == "forged" else STALE)
    return Flow(kind, order.id, "pending", ("pending",), [[send]])
