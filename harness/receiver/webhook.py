"""``POST /api/v1/webhooks/stripe/``: verify, parse once, one short transaction.

The reference flow:

1. Signature check on the raw bytes (``simulator.signing.verify_header``: constant-time,
   300 s tolerance). Building SDK objects with ``construct_event`` costs ~50x the check.
2. ``json.loads`` once; a body that is not a usable event is 400 ``Invalid payload``.
3. One transaction: lock the order (``FOR UPDATE`` / ``BEGIN IMMEDIATE``), insert the event
   id (a conflict = duplicate, nothing else written), apply the fact, enqueue the order's
   tasks into the outbox. A failure anywhere rolls all of it back, so Stripe's retry is
   processed as if it were the first delivery. On SQLite, webhooks that arrive together in
   one process share that transaction (``db.GroupCommit``); each is answered after the commit.
4. An event for an order not known yet is kept in ``pending_events`` and answered 200; it
   is applied when the order is created (or by the worker's sweep).

The flags of the configured flavour switch single steps to the guide's flawed versions.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Callable, Dict, Optional, Tuple

from simulator.signing import SignatureVerificationError, verify_header

from . import store
from .db import GroupCommit
from .events import HANDLED_TYPES, EventFacts, InvalidEvent, read_event
from .faults import NONE, Claimed, FaultHooks, WorkerCrash
from .flavors import GUIDE_EVENT_TYPES, IGNORED_TYPES, flags_for

log = logging.getLogger("posx.receiver")

Response = Tuple[int, Dict]

try:  # orjson parses a 2 KB event ~3x faster than the stdlib (a dependency; stay correct without it)
    import orjson
except ImportError:  # pragma: no cover
    orjson = None


def _loads(body: bytes):
    """``json.loads``, through orjson when it accepts the body. What orjson refuses (UTF-16
    bodies, NaN, ...) goes to the stdlib, so a body is parsed, or refused with the stdlib's
    error, as before. One difference: orjson reads an integer beyond 64 bits as a float;
    none of the fields the receiver reads (Stripe amounts, ids) can hold one."""
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)

# Not 3 or 4: gunicorn reads those as boot/app-load errors and shuts the whole server down.
CRASH_EXIT_CODE = 75
NO_LOCK_GAP_SECONDS = 0.02

INVALID_PAYLOAD = (400, {"error": "Invalid payload"})
INVALID_SIGNATURE = (400, {"error": "Invalid signature"})


class WebhookHandler:
    def __init__(self, config, db, faults: Optional[FaultHooks] = None):
        self.config = config
        self.db = db
        self.faults = faults if config.enable_fault_hooks else None
        self.flags = flags_for(config.flavor)
        self.secret = config.webhook_secret
        self.tolerance = None if "no_signature_tolerance" in self.flags else config.signature_tolerance
        self.handled = GUIDE_EVENT_TYPES if "guide_event_types" in self.flags else frozenset(HANDLED_TYPES)
        self.handled -= {etype for flag, etype in IGNORED_TYPES.items() if flag in self.flags}
        # Webhooks arriving together in this process share one SQLite transaction (see
        # GroupCommit). Not on PostgreSQL (row locks held across a group could deadlock with
        # another process's group), nor for the flawed flavours or with fault hooks on,
        # whose injected crash mid-transaction must concern exactly one webhook.
        self.group = GroupCommit(db) if db.dialect == "sqlite" and not self.flags and self.faults is None else None

    # -- the request -------------------------------------------------------------------
    def __call__(self, body: bytes, sig_header: Optional[str]) -> Response:
        claimed = self.faults.claim() if self.faults is not None else NONE
        if claimed.fail_status:
            log.warning("Injected fault: answering %d", claimed.fail_status)
            return claimed.fail_status, {"error": "Injected fault"}
        try:
            result = self._handle(body, sig_header, claimed)
        except WorkerCrash:
            return 500, {"error": "Injected crash"}
        if claimed.delay_ms:
            time.sleep(claimed.delay_ms / 1000.0)  # the injected slowness itself, not a wait for a condition
        return result

    def _handle(self, body: bytes, sig_header: Optional[str], claimed: Claimed) -> Response:
        response, facts = self.screen(body, sig_header)
        if response is not None:
            return response
        result = self._process(facts, body, claimed)
        if claimed.crash:
            self._crash()  # armed but the call never reached the mid-processing point
        return 200, {"received": True, "result": result}

    def screen(self, body: bytes, sig_header: Optional[str]) -> Tuple[Optional[Response], Optional[EventFacts]]:
        """Everything before the database: the signature, the parse, the type filter.
        Returns ``(response, None)`` when the answer is already known (400, or 200 ignored),
        else ``(None, facts)`` for the transaction to apply."""
        if "sdk_construct_event" in self.flags:
            bad = self._guide_construct(body, sig_header)
            if bad:
                return bad, None
        else:
            try:
                verify_header(body, sig_header, self.secret, tolerance=self.tolerance)
            except SignatureVerificationError as exc:
                log.error("Signature verification failed: %s", exc.message)
                return INVALID_SIGNATURE, None
        try:
            facts = read_event(_loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # InvalidEvent and JSONDecodeError are ValueErrors; RecursionError: arrays nested thousands deep
            log.error("Invalid payload: %s", exc)
            if "invalid_json_500" in self.flags and not isinstance(exc, InvalidEvent):
                return (500, {"error": "Internal server error"}), None  # the flaw: an unhandled parse error
            return INVALID_PAYLOAD, None
        if log.isEnabledFor(logging.INFO):  # cached by logging; skips formatting under load
            log.info("Received Stripe webhook: %s", facts.type)
            log.info("Event ID: %s", facts.event_id)
        if facts.fact is None or facts.type not in self.handled:
            log.info("Ignored event: %s", facts.type)
            return (200, {"received": True, "result": "ignored"}), None
        return None, facts

    @property
    def groupable(self) -> bool:
        """True when webhooks may share a transaction (reference flavour, SQLite, no fault
        hooks): the case where ``grouped_work`` may be run by a batching caller."""
        return self.group is not None

    def grouped_work(self, facts: EventFacts, body: bytes) -> Callable[[Any], Tuple[str, None]]:
        """The transaction body for ``facts`` as ``fn(tx) -> (result, None)``, for a caller
        that batches transactions itself (the ASGI front's per-loop-iteration group)."""
        if not self.groupable:
            raise RuntimeError("only the reference flavour on SQLite without fault hooks batches webhooks")
        now = store.now_iso()
        return lambda tx: self._in_transaction(tx, facts, body, NONE, None, now)

    def _guide_construct(self, body: bytes, sig_header: Optional[str]) -> Optional[Response]:
        import stripe
        try:
            stripe.Webhook.construct_event(body, sig_header, self.secret,
                                           tolerance=self.tolerance if self.tolerance is not None else 10 ** 12)
        except ValueError:
            return INVALID_PAYLOAD
        except stripe.SignatureVerificationError as exc:
            log.error("Signature verification failed: %s", exc)
            return INVALID_SIGNATURE
        return None

    # -- the effect --------------------------------------------------------------------
    def _process(self, facts, body: bytes, claimed: Claimed) -> str:
        flags = self.flags
        if "mark_before_process" in flags:
            # The guide's check_and_mark_processed: committed on its own, before the work.
            with self.db.transaction() as tx:
                fresh = store.record_event(tx, facts, "processed", None)
            if not fresh:
                log.info("Duplicate event: %s", facts.event_id)
                return "duplicate"
        snapshot = store.find_order_unlocked(self.db, facts) if "no_lock" in flags else None
        if snapshot is not None:
            # The guide's ORM get(), Python work and save() leave milliseconds between the check
            # and the update; modelled so black-box concurrency scenarios can see the race.
            time.sleep(NO_LOCK_GAP_SECONDS)
        now = store.now_iso()
        if self.group is not None:
            result, newly_paid_order = self.group.run(lambda tx: self._in_transaction(tx, facts, body, claimed, snapshot, now))
        else:
            with self.db.transaction() as tx:
                result, newly_paid_order = self._in_transaction(tx, facts, body, claimed, snapshot, now)
        if result != "processed":
            return result
        if "tasks_outside_tx" in flags:
            if claimed.crash:
                self._crash()
            if newly_paid_order:
                with self.db.transaction() as tx:
                    store.enqueue_tasks(tx, newly_paid_order, facts.event_id if "tasks_per_event" in flags else None)
        return "processed"

    def _in_transaction(self, tx, facts, body: bytes, claimed: Claimed, snapshot, now: str):
        """The webhook's one transaction; returns (result, order id whose tasks the flawed
        ``tasks_outside_tx`` flavour enqueues after the commit, or None)."""
        flags = self.flags
        if "no_lock" in flags:
            order = snapshot
            if order is not None and facts.fact == "paid" and order["status"] == "paid":
                log.warning("Order %s already paid", order["id"])
        else:
            order = store.find_order(tx, facts, lock=True)
        if "mark_before_process" not in flags:
            if not store.record_event(tx, facts, "processed" if order else "pending", order and order["id"], now):
                log.info("Duplicate event: %s", facts.event_id)
                return "duplicate", None
        if order is None:
            log.error("Order not found: %s", facts.payment_intent or facts.order_ref)
            if "drop_unknown_order" in flags:
                if "mark_before_process" not in flags:
                    store.set_event_status(tx, facts.event_id, "dropped", None)
                return "dropped", None
            if "mark_before_process" in flags:
                store.set_event_status(tx, facts.event_id, "pending", None)
            store.store_pending(tx, facts, body.decode("utf-8"))
            return "pending", None
        if "mark_before_process" in flags:
            store.set_event_status(tx, facts.event_id, "processed", order["id"])
        outcome = store.apply_facts(tx, order, facts, force_failure="stale_failure_overrides" in flags, now=now,
                                    flags=flags)
        if "tasks_outside_tx" not in flags:
            if claimed.crash:
                self._crash()
            if outcome.newly_paid:
                store.enqueue_tasks(tx, order["id"], facts.event_id if "tasks_per_event" in flags else None, now)
                if "double_allocate" in flags:
                    # flaw-double-allocate: a second allocation task under a key of its own.
                    tx.execute("INSERT INTO outbox (order_id, kind, dedup_key, status, attempts, created_at) "
                               "VALUES (?, 'allocate_tokens', ?, 'ready', 0, ?) ON CONFLICT (dedup_key) DO NOTHING",
                               (order["id"], "allocate_tokens:%s:again" % order["id"], now))
            return "processed", None
        return "processed", order["id"] if outcome.newly_paid else None

    def _crash(self) -> None:
        log.error("Injected crash: worker %d dies mid-processing", os.getpid())
        if self.config.crash_mode == "exit":
            for handler in logging.getLogger().handlers + log.handlers:
                handler.flush()
            os._exit(CRASH_EXIT_CODE)
        raise WorkerCrash()
