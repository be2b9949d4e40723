"""The Stripe side of a scenario: the in-process simulator, driven directly.

A scenario pays an intent, captures the events that payment records (instead of letting
them go out on their own), and hands them to the simulator's delivery engine with the
faults it wants, towards the target's webhook URL. The target is an ad-hoc endpoint of the
engine (URL + the target's secret), so nothing reaches it that a scenario did not send.
What this module needs from the simulator is small: ``backend`` actions, ``backend.events``,
``engine.capture()/deliver()/wait_for()/log`` and ``clock.advance``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from simulator.delivery import faults as F

CARD_ALIASES = {"success": "4242", "decline": "0002", "generic_decline": "0002",
                "insufficient_funds": "9995", "dispute": "0259"}
# A second ad-hoc endpoint with the same URL and one extra (unknown) secret: its deliveries
# carry two v1 signatures, one valid, so the receiver accepts them; being another endpoint
# it has its own lane, which is how two *different* events reach the target at once.
# Stripe publishes no delivery timeout (its CLI waits 30 s). The bundled receiver answers in
# milliseconds, so a short one keeps the timeout scenario quick; a deploy over the network
# gets more room.
DELIVERY_TIMEOUT = 2.0
EXTERNAL_DELIVERY_TIMEOUT = 10.0
DECOY_SECRET = "whsec_posx_harness_parallel_lane_decoy"


def card_token(card) -> str:
    """``"4242"``, ``"4000000000000002"``, ``"decline"`` or ``"pm_card_visa"`` -> a pm_card_... id."""
    from simulator.backend.bank_debits import is_bank_token
    from simulator.backend.cards import BY_NUMBER, BY_TOKEN

    text = CARD_ALIASES.get(str(card).strip(), str(card).strip()).replace(" ", "")
    if is_bank_token(text):
        return text  # an ACH test payment method (Checkout only: it completes unpaid, settles later)
    found = BY_TOKEN.get(text) or next(
        (c for number, c in BY_NUMBER.items() if number == text or (len(text) == 4 and number.endswith(text))), None)
    if found is None:
        raise ValueError("unknown test card %r (use a Stripe test card number, its last 4 digits, or pm_card_...)" % card)
    return next((tok for tok in found.tokens if tok.startswith("pm_")), text)


@dataclass
class Attempt:
    """What came back from a payment action: the records it produced and any Stripe error."""
    records: list
    error: Optional[Exception] = None
    result: Optional[dict] = None


class StripeSide:
    def __init__(self, sim, api_url: str):
        self.sim = sim
        self.api_url = api_url
        self.backend = sim.backend
        self.engine = ensure_engine(sim)
        self._lock = threading.Lock()
        self._armed: Optional[Callable] = None
        self._listening = False

    # -- endpoints ---------------------------------------------------------------------------
    def endpoint(self, url: str, secret: str, lane: int = 0) -> str:
        """The engine's ad-hoc endpoint for the target (lane 1 = a second, parallel lane)."""
        secrets = [secret] if lane == 0 else [DECOY_SECRET + "_%d" % lane, secret]
        return self.engine.add_target(url, secrets)

    def reset_between_scenarios(self) -> None:
        """Drop queued work and parked retries of the previous scenario; objects stay (the
        target still holds orders pointing at them, and ids must never repeat). The log stays
        too, so the dashboard shows the whole run; a scenario reads only its own payment's
        entries (``delivery_log`` filters by event id)."""
        self.engine.reset(keep_log=True)

    # -- racing the target's own order creation --------------------------------------------
    def arm_on_next_intent(self, fn: Callable) -> None:
        """Call ``fn(record)`` for the next ``payment_intent.created``, in the thread that records
        it: while the target is still waiting for its create-intent call, before its order exists."""
        with self._lock:
            self._armed = fn
            if not self._listening:
                self.backend.add_event_listener(self._on_event)
                self._listening = True

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def _on_event(self, record) -> None:
        if record.type != "payment_intent.created":
            return
        with self._lock:
            fn, self._armed = self._armed, None
        if fn is not None:
            fn(record)

    # -- payments -----------------------------------------------------------------------------
    def knows_intent(self, pi: str) -> bool:
        return pi in getattr(self.backend, "payment_intents", {})

    def adopt(self, pi: str, amount: int, currency: str, metadata: dict) -> None:
        self.backend.adopt_payment_intent(pi, amount, currency, metadata)

    def _captured(self, action: Callable[[], Optional[dict]]) -> Attempt:
        from simulator.errors import StripeError

        with self.engine.capture() as records:
            try:
                result = action()
                return Attempt(list(records), None, result)
            except StripeError as exc:
                return Attempt(list(records), exc, None)

    def confirm(self, pi: str, card) -> Attempt:
        token = card_token(card)
        return self._captured(lambda: self.backend.confirm_payment_intent(pi, {"payment_method": token}))

    def cancel(self, pi: str) -> Attempt:
        return self._captured(lambda: self.backend.cancel_payment_intent(pi, {}))

    def refund(self, pi: str, amount: Optional[int] = None) -> Attempt:
        params = {"payment_intent": pi}
        if amount is not None:
            params["amount"] = str(amount)
        return self._captured(lambda: self.backend.create_refund(params))

    def checkout(self, order_id: str, amount: int, currency: str, card) -> Attempt:
        token = card_token(card)

        def run():
            session = self.backend.create_checkout_session({
                "mode": "payment", "client_reference_id": order_id,
                "success_url": "https://posx.example/success", "metadata": {"order_id": order_id},
                "payment_intent_data": {"metadata": {"order_id": order_id}},
                "line_items": [{"quantity": "1", "price_data": {
                    "currency": currency, "unit_amount": str(amount), "product_data": {"name": "POSX order"}}}],
            })
            return self.backend.complete_checkout_session(session["id"], {"payment_method": token})

        return self._captured(run)

    def records_of(self, pi: str) -> list:
        """Every event recorded so far about this intent, in record order."""
        return [r for r in list(self.backend.events.values()) if getattr(r, "payment_intent", None) == pi]

    # -- delivery -----------------------------------------------------------------------------
    def deliver(self, records: Sequence, endpoint_id: str, faults=(), seed: Optional[int] = None) -> tuple[str, int]:
        """Hand ``records`` to the engine for one endpoint; (trigger id, first attempts to expect)."""
        specs = F.parse_faults(list(faults))
        trigger = self.engine.deliver(list(records), [endpoint_id], specs, seed=seed, origin="scenario",
                                      also_subscribers=False)
        return trigger, expected_attempts(records, specs)

    def wait_attempts(self, trigger: str, count: int, timeout: float, attempt: int = 1) -> list[dict]:
        if count <= 0:
            return []
        return self.engine.wait_for(lambda e: e.get("trigger") == trigger and e.get("attempt") == attempt,
                                    timeout=timeout, count=count)

    def entries(self, event_ids: Iterable[str]) -> list[dict]:
        wanted = set(event_ids)
        return self.engine.log.query(lambda e: e.get("event_id") in wanted)

    def advance_to_next_retry(self) -> bool:
        """Move simulated time to the next parked attempt (a retry); False if none is parked."""
        due = self.engine.status().get("next_due")
        if due is None:
            return False
        ahead = due - self.sim.clock.now()
        if ahead > 0:
            self.sim.clock.advance(ahead + 0.001)
        return True


def expected_attempts(records: Sequence, specs: Sequence) -> int:
    """How many first attempts the engine makes for these records with these faults."""
    total = 0
    for record in records:
        etype = record.event["type"] if hasattr(record, "event") else record["type"]
        copies = burst = 1
        for s in specs:
            if s.name == "duplicate" and s.applies_to(etype):
                copies = int(s.get("count"))
            elif s.name == "duplicate_concurrent" and s.applies_to(etype):
                burst = int(s.get("count"))
        total += copies * burst
    return total


def ensure_engine(sim, timeout: float = DELIVERY_TIMEOUT):
    """The simulator's delivery engine, created on first use when nothing wired one."""
    if getattr(sim, "engine", None) is None:
        from simulator.delivery import DeliveryEngine

        sim.engine = DeliveryEngine(sim.backend, sim.clock, sim.rng, workers=8, timeout=timeout)
    return sim.engine
