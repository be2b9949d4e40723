"""Bounded memory: Stripe's event retention on the simulated clock, and a cap on payments.

* **Event retention** (``event_retention`` seconds, Stripe's is 30 days): events created
  longer ago than that are dropped, as Stripe stops listing them.
* **Payments cap** (``max_payments``): when more payment intents are kept than that, the
  oldest *finished* ones are dropped with everything that belongs to them: charges,
  refunds, disputes, checkout sessions (any collection indexed by ``payment_intent``),
  their balance transactions, the payment method when no customer holds it, and their
  events. Finished means nothing about it can still change or still be waited for: the
  intent ``succeeded`` or ``canceled``, no dispute open, no refund pending, every event
  already due and acknowledged by every endpoint (``pending_webhooks == 0``). An unfinished
  payment is never dropped, however old: an answer the client can still ask for (a confirm,
  a capture, a dispute to answer, a webhook still on its way) never points at a dropped
  object. What is dropped is whole: no kept object refers to a dropped one, except a list
  cursor a client kept from before (a 400 ``resource_missing``, as for a deleted object).

Both run inside an action, at the end of every ``2 ** k``-th hold of the state lock, so the
drops are journaled with it; each run costs what it drops (amortized O(1) a payment).
"""
from __future__ import annotations

from typing import Optional

DAY = 86400
STRIPE_EVENT_RETENTION = 30 * DAY
FINISHED = ("succeeded", "canceled")
DISPUTE_CLOSED = ("won", "lost", "warning_closed")
REFUND_OPEN = ("pending", "requires_action")


class RetentionMixin:
    def _init_retention(self) -> None:
        self.max_payments: Optional[int] = None
        self.event_retention: Optional[float] = None
        self._limits_on = False
        self._limits_every = 127   # a mask: checked every 128 actions
        self._reset_retention()
        self.dropped = {"payments": 0, "events": 0}

    def _reset_retention(self) -> None:
        self._cap_pos = 0        # payment intents before this position were looked at
        self._cap_wait: list = []  # looked at: finished, waiting for webhooks / due events
        self._cap_open: list = []  # looked at: the client may still act on them
        self._cap_runs = 0
        self._ret_pos = 0
        self._ret_rebuilds = 0

    def set_limits(self, max_payments: Optional[int] = None, event_retention: Optional[float] = None,
                   every: int = 128) -> None:
        """``max_payments`` kept payment intents (None: no cap); ``event_retention`` simulated
        seconds events are kept (None: forever); checked every ``every`` actions (a power of 2)."""
        if max_payments is not None and max_payments < 0:
            raise ValueError("max_payments must be >= 0, got %r" % max_payments)
        if event_retention is not None and event_retention <= 0:
            raise ValueError("event_retention must be > 0 seconds, got %r" % event_retention)
        if every < 1 or every & (every - 1):
            raise ValueError("every must be a power of 2, got %r" % every)
        with self.lock:
            self.max_payments = max_payments
            self.event_retention = event_retention
            self._limits_every = every - 1
            self._limits_on = max_payments is not None or event_retention is not None

    def enforce_limits(self) -> dict:
        """Apply retention and the cap now (they also run on their own every few actions)."""
        with self.lock:
            before = dict(self.dropped)
            self._enforce_limits()
            return {k: self.dropped[k] - before[k] for k in before}

    # -- under the lock ------------------------------------------------------------------
    def _enforce_limits(self) -> None:
        if self.event_retention is not None:
            self._drop_old_events(self.clock.now() - self.event_retention)
        if self.max_payments is not None:
            self._drop_old_payments()

    def _drop_old_events(self, cutoff: float) -> None:
        events = self._events
        if events.rebuilds != self._ret_rebuilds:
            self._ret_rebuilds, self._ret_pos = events.rebuilds, 0
        i = self._ret_pos
        while i < len(events.order):
            eid = events.order[i]
            if eid is not None:
                if events.objects[eid].created >= cutoff:
                    break  # events are in creation order: the rest are younger
                events.discard(eid)
                self.dropped["events"] += 1
                if events.rebuilds != self._ret_rebuilds:  # renumbered: only live ones are left
                    self._ret_rebuilds, i = events.rebuilds, 0
                    continue
            i += 1
        self._ret_pos = i

    def _drop_old_payments(self) -> None:
        """Oldest first: payments seen unfinished before are looked at again (those waiting
        for webhooks or a due event every run, those a client may still act on every 32nd
        run), then the ones not yet seen, in creation order, until the cap holds."""
        intents = self.payment_intents
        excess = len(intents) - self.max_payments
        if excess <= 0:
            return
        now = self.clock.now()
        self._cap_runs += 1
        if self._cap_wait:
            excess, self._cap_wait = self._recheck(self._cap_wait, excess, now)
        if excess > 0 and self._cap_open and self._cap_runs % 32 == 0:
            excess, self._cap_open = self._recheck(self._cap_open, excess, now)
        i = self._cap_pos
        while excess > 0 and i < len(intents.order):
            pid = intents.order[i]
            i += 1
            if pid is None:
                continue
            state = self._payment_state(pid, now)
            if state == "done":
                rebuilds = intents.rebuilds
                self._drop_payment(pid)
                excess -= 1
                if intents.rebuilds != rebuilds:
                    # Renumbered without tombstones: what was looked at is the live prefix.
                    i = len(self._cap_wait) + len(self._cap_open)
            else:
                (self._cap_wait if state == "wait" else self._cap_open).append(pid)
        self._cap_pos = i

    def _recheck(self, ids: list, excess: int, now: float) -> tuple:
        intents = self.payment_intents
        kept = []
        for n, pid in enumerate(ids):
            if excess <= 0:
                kept.extend(ids[n:])
                break
            if pid not in intents.objects:
                continue
            state = self._payment_state(pid, now)
            if state == "done":
                rebuilds = intents.rebuilds
                self._drop_payment(pid)
                excess -= 1
                if intents.rebuilds != rebuilds:
                    self._cap_pos = 0  # positions moved: look at everything again (rare)
                    self._cap_wait, self._cap_open = [], []
                    return excess, []
            elif state == "wait" or ids is self._cap_wait:
                kept.append(pid)
            else:
                self._cap_wait.append(pid)  # an open one finished its part: waits for webhooks now
        return excess, kept

    def _payment_state(self, pid: str, now: float) -> str:
        """"done" (may be dropped), "wait" (finished, its webhooks or a due event pending; an
        open dispute or refund) or "open" (the client may still confirm, capture, cancel)."""
        intents = self.payment_intents
        if pid in intents.live:
            return "wait"  # being changed by the action running now
        pi = intents.read(pid)
        if pi is None or pi.get("status") not in FINISHED:
            return "open"
        for d in self._related("disputes", pid):
            if d.get("status") not in DISPUTE_CLOSED:
                return "wait"
        for r in self._related("refunds", pid):
            if r.get("status") in REFUND_OPEN:
                return "wait"
        events = self._events
        for eid in events.ids_with("payment_intent", pid):
            rec = events.objects[eid]
            if rec.pending_webhooks > 0 or rec.available_at > now:
                return "wait"
        return "done"

    def _related(self, collection: str, pid: str) -> list:
        index = getattr(self, collection, None)
        if index is None or "payment_intent" not in index.keys:
            return []
        return [o for o in (index.read(i) for i in index.ids_with("payment_intent", pid)) if o is not None]

    def _drop_payment(self, pid: str) -> None:
        from .state import COLLECTIONS
        intent = self.payment_intents.read(pid) or {}
        dropped = [pid]
        methods = {intent.get("payment_method")}
        for name in COLLECTIONS:
            index = getattr(self, name)
            if name == "payment_intents" or "payment_intent" not in index.keys:
                continue
            for obj_id in index.ids_with("payment_intent", pid):
                if name == "charges":
                    charge = index.read(obj_id) or {}
                    methods.add(charge.get("payment_method"))
                index.discard(obj_id)
                dropped.append(obj_id)
                if name == "checkout_sessions":
                    self.line_items.pop(obj_id, None)
                    self.session_intent_data.pop(obj_id, None)
        txns = self.balance_transactions
        for source in dropped:
            for txn_id in txns.ids_with("source", source):
                txns.discard(txn_id)
        self.payment_intents.discard(pid)
        pms = self.payment_methods
        for pm_id in methods:
            if isinstance(pm_id, str):
                pm = pms.read(pm_id)
                # A method a customer holds can pay again; a one-off one belongs to this payment.
                if pm is not None and not pm.get("customer"):
                    pms.discard(pm_id)
                    self.pm_cards.pop(pm_id, None)
        events = self._events
        for eid in events.ids_with("payment_intent", pid):
            events.discard(eid)
            self.dropped["events"] += 1
        self.dropped["payments"] += 1
