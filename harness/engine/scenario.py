"""``Posx``: the helper every scenario talks to (the ``posx`` fixture).

It creates orders on the target, pays them on the simulator, delivers the events with
faults, and waits until the target shows a state. Each scenario works on its own orders,
so scenarios run in parallel. A failed expectation raises ``ScenarioFailure`` with what was
expected, what the target showed and the delivery log of that order's payment; a check the
target cannot show raises ``Unsupported`` (reported as skipped, never as passed).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from harness.engine import target as t
from harness.engine.options import HarnessOptions
from harness.engine.report import ScenarioFailure, failure_report
from harness.engine.stripe_side import Attempt, StripeSide
from harness.engine.waiting import hold, poll

COUNT_CAPS = {"allocations": t.ALLOCATIONS, "commissions": t.COMMISSIONS, "disputes": t.DISPUTES,
              "paid_at": t.PAID_AT}
# Fail fast: an expectation fails the moment it can no longer hold; the timeout is only for
# what may still arrive. An order never leaves these statuses (Stripe cannot pay a canceled
# intent or un-refund a charge; a mismatch waits for a person, docs/CONTRACT.md "Money").
FINAL_STATUSES = frozenset({"canceled", "refunded", "payment_mismatch"})
# Counts only grow: more than expected stays more than expected.
COUNTS = ("allocations", "commissions", "disputes")
# An honest event answered only 5xx cannot change the order until Stripe retries it; the
# first test-mode retry comes 10 simulated minutes later (0.6 s at the session's time
# scale), so the order gets this long after such an answer before the expectation fails.
SERVER_ERROR_GRACE = 1.5


@dataclass
class Tracked:
    order: t.Order
    intents: list = field(default_factory=list)
    event_ids: list = field(default_factory=list)   # every event the scenario delivered for it
    sent: set = field(default_factory=set)


class Posx:
    def __init__(self, target: t.Target, stripe: StripeSide, options: HarnessOptions, name: str = "scenario"):
        self.target = target
        self.stripe = stripe
        self.options = options
        self.name = name
        self.secret = options.secret
        self.endpoint = stripe.endpoint(target.webhook_url, self.secret)
        self._tracked: dict[str, Tracked] = {}
        self._seeds = itertools.count(options.seed or 0)
        self._refused_since: dict = {}

    # -- orders -------------------------------------------------------------------------------
    def create_order(self, quantity: int = 1, tier: Optional[str] = None, paid_before_created=None) -> t.Order:
        """A new order on the target. ``paid_before_created=card``: its intent is paid and the
        events delivered while the target is still creating the order (api mode only)."""
        early: dict = {}
        if paid_before_created is not None:
            if self.options.mode != "api":
                raise t.Unsupported(t.API_MODE, "an event before its order exists can only be staged in api mode "
                                                "(the target must create its intent on the simulator)")
            self.stripe.arm_on_next_intent(lambda rec: self._pay_early(rec, paid_before_created, early))
        try:
            order = self.target.create_order(quantity=quantity, tier=tier or self.options.tier)
        finally:
            self.stripe.disarm()
        if not order.payment_intent:
            raise t.TargetError("the target's new order %s names no payment intent (stripe_payment_intent_id)" % order.id)
        if self.options.mode == "inject":
            if not self.stripe.knows_intent(order.payment_intent):
                self.stripe.adopt(order.payment_intent, order.amount or 1000, order.currency or "usd",
                                  {"order_id": order.id})
        elif not self.stripe.knows_intent(order.payment_intent):
            raise t.Misconfigured(
                "order %s has payment intent %s, which the simulator never made: the target's Stripe API base "
                "is not the simulator (%s). Configure the target's STRIPE_API_BASE as this address and pin the "
                "simulator's port with %s PORT, or run with %s inject"
                % (order.id, order.payment_intent, self.stripe.api_url, self.options.flag("sim_port"),
                   self.options.flag("mode")))
        tr = self._tracked[order.id] = Tracked(order, [order.payment_intent])
        if paid_before_created is not None:
            if "error" in early:
                raise early["error"]
            if "records" not in early:
                raise t.TargetError("the target created order %s without creating a payment intent on the simulator"
                                    % order.id)
            for rec in early["records"]:
                tr.sent.add(rec.id)
                tr.event_ids.append(rec.id)
        return order

    def _pay_early(self, record, card, box: dict) -> None:
        try:
            pi = record.payment_intent or record.object["id"]
            self.stripe.confirm(pi, card)
            # Events recorded inside a listener reach listeners (and so capture) only after it
            # returns: take them from the record instead.
            records = self.stripe.records_of(pi)
            trigger, count = self.stripe.deliver(records, self.endpoint, (), seed=next(self._seeds))
            box["records"] = records
            self.stripe.wait_attempts(trigger, count, timeout=self.options.timeout)
        except Exception as exc:  # raised again in the scenario's thread
            box["error"] = exc

    def tracked(self, order: t.Order) -> Tracked:
        return self._tracked[order.id]

    # -- Stripe-side actions ------------------------------------------------------------------
    def pay(self, order: t.Order, card="4242", faults=(), deliver: bool = True) -> Attempt:
        """Pay the order's intent with a test card; deliver its events (with ``faults``)."""
        attempt = self.stripe.confirm(order.payment_intent, card)
        if deliver:
            self.deliver(order, faults=faults)
        return attempt

    def cancel(self, order: t.Order, faults=(), deliver: bool = True) -> Attempt:
        attempt = self.stripe.cancel(order.payment_intent)
        if attempt.error is not None:
            raise t.TargetError("cancelling %s failed on the simulator: %s" % (order.payment_intent, attempt.error))
        if deliver:
            self.deliver(order, faults=faults)
        return attempt

    def refund(self, order: t.Order, faults=(), amount: Optional[int] = None, deliver: bool = True) -> Attempt:
        attempt = self.stripe.refund(order.payment_intent, amount)
        if attempt.error is not None:
            raise t.TargetError("refunding %s failed on the simulator: %s" % (order.payment_intent, attempt.error))
        if deliver:
            self.deliver(order, faults=faults)
        return attempt

    def checkout(self, order: t.Order, card="4242", faults=(), deliver: bool = True) -> Attempt:
        """Pay the order through a Checkout Session (its own intent, tied by client_reference_id)."""
        attempt = self.stripe.checkout(order.id, order.amount or 1000, order.currency or "usd", card)
        if attempt.error is not None:
            raise t.TargetError("the checkout session failed on the simulator: %s" % attempt.error)
        tr = self.tracked(order)
        for rec in attempt.records:
            pi = getattr(rec, "payment_intent", None)
            if pi and pi not in tr.intents:
                tr.intents.append(pi)
        if deliver:
            self.deliver(order, faults=faults)
        return attempt

    # -- delivery -----------------------------------------------------------------------------
    def records(self, order: t.Order, types: Optional[Sequence[str]] = None) -> list:
        tr = self.tracked(order)
        out = []
        for pi in tr.intents:
            out.extend(self.stripe.records_of(pi))
        if types is not None:
            out = [r for r in out if r.event["type"] in types]
        return out

    def unsent(self, order: t.Order) -> list:
        tr = self.tracked(order)
        return [r for r in self.records(order) if r.id not in tr.sent]

    def deliver(self, order: t.Order, types: Optional[Sequence[str]] = None, faults=(),
                order_of_types: Optional[Sequence[str]] = None, records: Optional[Sequence] = None,
                lane: int = 0, wait: bool = True) -> tuple[str, int]:
        """Deliver the order's events and wait for the target's answers.

        Without ``types``/``records``: the events not delivered yet. ``types``: those types
        again (a redelivery). ``order_of_types``: one at a time, in exactly that order.
        """
        tr = self.tracked(order)
        if records is None:
            records = self.records(order, types) if (types or order_of_types) else self.unsent(order)
        if order_of_types:
            by_type = {}
            for r in records:
                by_type.setdefault(r.event["type"], r)
            missing = [ty for ty in order_of_types if ty not in by_type]
            if missing:
                raise t.TargetError("no %s event recorded for order %s" % (", ".join(missing), order.id))
            last = None
            for ty in order_of_types:
                last = self.deliver(order, records=[by_type[ty]], faults=faults, lane=lane, wait=True)
            return last
        records = list(records)
        if not records:
            raise t.TargetError("nothing to deliver for order %s" % order.id)
        endpoint = self.endpoint if lane == 0 else self.stripe.endpoint(self.target.webhook_url, self.secret, lane)
        trigger, count = self.stripe.deliver(records, endpoint, faults, seed=next(self._seeds))
        for r in records:
            tr.sent.add(r.id)
            if r.id not in tr.event_ids:
                tr.event_ids.append(r.id)
        if wait:
            self.wait_delivered(order, trigger, count)
        return trigger, count

    def wait_delivered(self, order: t.Order, trigger: str, count: int, attempt: int = 1) -> None:
        from simulator.delivery.log import DeliveryTimeout

        try:
            # An attempt may take the whole delivery timeout before it counts as failed.
            self.stripe.wait_attempts(trigger, count, timeout=self.options.timeout + self.stripe.engine.timeout,
                                      attempt=attempt)
        except DeliveryTimeout:
            raise ScenarioFailure(self._report("deliveries to the target did not finish", {
                "attempts": "%d attempt(s) #%d answered" % (count, attempt)}, self._safe_view(order), order,
                reason="the target did not answer within %.0f s" % self.options.timeout))

    def deliver_concurrently(self, order: t.Order, types: Sequence[str], copies: int = 4,
                             distinct: bool = False) -> None:
        """Each type as a burst of ``copies`` at once, every type on its own lane at the same time.

        ``distinct``: every copy is a separate event (a fresh id, as for the same change seen at
        another API version), so deduplicating by event id is not enough: only a lock on the
        order keeps them from each seeing it unpaid.
        """
        pending = []
        faults = ["duplicate_concurrent:%d" % copies] + (["other_api_version"] if distinct else [])
        for lane, ty in enumerate(types):
            recs = self.records(order, [ty])
            if not recs:
                raise t.TargetError("no %s event recorded for order %s" % (ty, order.id))
            pending.append(self.deliver(order, records=recs[:1], faults=faults, lane=lane, wait=False))
        for trigger, count in pending:
            self.wait_delivered(order, trigger, count)

    def retry_failed(self, order: t.Order, attempt: int = 2) -> None:
        """Let Stripe's retry schedule run: advance simulated time to the retries and wait for them."""
        failed = [e for e in self.delivery_log(order) if e.get("outcome") == "failed" and e.get("attempt") == attempt - 1
                  and e.get("expect") == "accept"]
        if not failed:
            raise ScenarioFailure(self._report("nothing to retry", {"failed deliveries": "at least one"},
                                               self._safe_view(order), order))
        self.stripe.advance_to_next_retry()
        wanted = {(e["event_id"], e.get("copy")) for e in failed}

        def retried():
            got = {(e["event_id"], e.get("copy")) for e in self.delivery_log(order) if e.get("attempt") == attempt}
            return wanted <= got, got

        result = poll(retried, self.options.timeout + self.stripe.engine.timeout)
        if not result.ok:
            raise ScenarioFailure(self._report("Stripe's retry did not reach the target",
                                               {"retries": "%d attempt(s) #%d" % (len(wanted), attempt)},
                                               self._safe_view(order), order))

    # -- target fault hooks -------------------------------------------------------------------
    def fail_next_webhooks(self, count: int = 1) -> None:
        self.target.fail_next_webhooks(count)

    def crash_next_webhooks(self, count: int = 1) -> None:
        self.target.crash_next_webhooks(count)

    def delay_next_webhooks(self, count: int = 1, milliseconds: Optional[int] = None) -> None:
        """Make the target answer late, past the simulator's delivery timeout by default."""
        if milliseconds is None:
            milliseconds = int(self.stripe.engine.timeout * 1000) + 500
        self.target.delay_next_webhooks(count, milliseconds)

    # -- expectations -------------------------------------------------------------------------
    def view(self, order: t.Order) -> t.OrderView:
        return self.target.get_order(order.id)

    def _safe_view(self, order: t.Order) -> Any:
        try:
            return self.view(order).summary()
        except Exception as exc:  # the report must still print
            return "could not read the order: %s" % exc

    def delivery_log(self, order: t.Order) -> list[dict]:
        return self.stripe.entries(self.tracked(order).event_ids)

    def expect(self, order: t.Order, status=None, paid_at: Optional[bool] = None, allocations: Optional[int] = None,
               commissions: Optional[int] = None, disputes: Optional[int] = None,
               timeout: Optional[float] = None) -> t.OrderView:
        """Wait until the order shows all of this; counts must then stay put for the settle time."""
        wanted = {k: v for k, v in (("status", status), ("paid_at", paid_at), ("allocations", allocations),
                                    ("commissions", commissions), ("disputes", disputes)) if v is not None}
        unsupported = [k for k in wanted if k in COUNT_CAPS and not self.target.has(COUNT_CAPS[k])]
        checks = {k: v for k, v in wanted.items() if k not in unsupported}

        lost: dict = {}

        def probe():
            view = self.view(order)
            if all(_meets(view, k, v) for k, v in checks.items()):
                return True, view
            lost["why"] = _cannot_hold(view, checks) or self._refused_honest_event(order)
            return False, view

        result = poll(probe, self.options.timeout if timeout is None else timeout, give_up=lambda: lost.get("why"))
        if not result.ok:
            raise ScenarioFailure(self._report("order %s did not reach the expected state" % order.id, wanted,
                                               _shown(result.seen), order, reason=result.reason))
        counted = [k for k in checks if k in ("allocations", "commissions", "disputes")]
        if counted and self.options.settle > 0:
            steady = hold(probe, self.options.settle)
            if not steady.ok:
                raise ScenarioFailure(self._report("order %s reached the expected state, then left it" % order.id,
                                                   wanted, _shown(steady.seen), order, reason=steady.reason))
        if unsupported:
            raise t.Unsupported(COUNT_CAPS[unsupported[0]], "; ".join(
                self.target.why_missing(COUNT_CAPS[k]) for k in unsupported)
                + " (checked what it can show: %s)" % (", ".join(checks) or "nothing"))
        return result.seen

    def _refused_honest_event(self, order: t.Order) -> Optional[str]:
        """An honest event of this order answered only 5xx for SERVER_ERROR_GRACE seconds."""
        import time

        by_event: dict = {}
        for e in self.delivery_log(order):
            if e.get("expect") == "accept":
                by_event.setdefault(e.get("event_id"), []).append(e)
        for event_id, entries in by_event.items():
            statuses = [e.get("status") for e in entries]
            if any(st is not None and 200 <= int(st) < 300 for st in statuses):
                continue
            last = entries[-1]
            if last.get("status") is not None and int(last["status"]) >= 500:
                since = self._refused_since.setdefault((event_id, len(entries)), time.monotonic())
                if time.monotonic() - since >= SERVER_ERROR_GRACE:
                    return "the target answered %s to %s %s, which must get 2xx, and did not take it on a retry " \
                           "within %.1f s" % (last["status"], event_id, last.get("event_type"), SERVER_ERROR_GRACE)
        return None

    def expect_deliveries(self, order: t.Order, type: Optional[str] = None, status=None,
                          outcome: Optional[str] = None, count: Optional[int] = None,
                          fault: Optional[str] = None, attempt: Optional[int] = None) -> list[dict]:
        """Check the delivery log of this order: every matching attempt got ``status``
        (a code, a list, or "2xx"/"4xx"/"5xx") / ``outcome``; ``count`` of them."""
        entries = [e for e in self.delivery_log(order)
                   if (type is None or e.get("event_type") == type)
                   and (attempt is None or e.get("attempt") == attempt)
                   and (fault is None or any(f == fault or f.startswith(fault + ":") for f in e.get("faults") or ()))]
        problems = []
        if count is not None and len(entries) != count:
            problems.append("%d matching attempt(s), expected %d" % (len(entries), count))
        if not entries and count != 0:
            problems.append("no matching attempt")
        for e in entries:
            if status is not None and not _status_matches(e.get("status"), status):
                problems.append("%s %s answered %s" % (e["event_id"], e["event_type"], e.get("status") or e.get("error")))
            if outcome is not None and e.get("outcome") != outcome:
                problems.append("%s %s outcome %s" % (e["event_id"], e["event_type"], e.get("outcome")))
        if problems:
            wanted = {k: v for k, v in (("type", type), ("fault", fault), ("attempt", attempt), ("status", status),
                                        ("outcome", outcome), ("count", count)) if v is not None}
            raise ScenarioFailure(self._report("the deliveries of order %s were not answered as expected" % order.id,
                                               wanted, self._safe_view(order), order, reason="; ".join(problems[:5])))
        return entries

    def _report(self, title: str, expected: dict, shown: Any, order: t.Order, reason: str = "") -> str:
        tr = self._tracked.get(order.id)
        return failure_report(title, expected, shown, self.delivery_log(order) if tr else None, order_id=order.id,
                              payment_intent=", ".join(tr.intents) if tr else order.payment_intent, reason=reason,
                              target=self.target.describe())


def _meets(view: t.OrderView, key: str, want: Any) -> bool:
    have = getattr(view, key)
    if key == "status":
        return have in want if isinstance(want, (tuple, list, set, frozenset)) else have == want
    if key == "paid_at":
        return bool(have) == bool(want)
    return have == want


def _cannot_hold(view: t.OrderView, checks: dict) -> Optional[str]:
    """Why the expected state can no longer come, or None while it still may."""
    for key in COUNTS:
        if key in checks and getattr(view, key) is not None and getattr(view, key) > checks[key]:
            return "%s is %d, more than the %d expected, and a count never goes down" % (
                key, getattr(view, key), checks[key])
    if "status" in checks and view.status in FINAL_STATUSES and not _meets(view, "status", checks["status"]):
        return "status %r is final: the order cannot reach %r from it" % (view.status, checks["status"])
    return None


def _shown(view: Any) -> Any:
    if isinstance(view, t.OrderView):
        shown = view.summary()
        if view.http_status != 200:
            shown = {"http_status": view.http_status, "body": view.raw}
        return shown
    return view


def _status_matches(have: Optional[int], want) -> bool:
    if isinstance(want, (list, tuple, set)):
        return any(_status_matches(have, w) for w in want)
    if have is None:
        return False
    if isinstance(want, str) and len(want) == 3 and want.endswith("xx"):
        return str(have)[0] == want[0]
    return int(have) == int(want)
