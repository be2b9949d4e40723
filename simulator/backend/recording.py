"""Recording events and handing them to listeners in order, outside the state lock."""
from __future__ import annotations

import collections
import fnmatch
import logging
import threading
from typing import Callable, Optional

from simulator.errors import InvalidRequestError, ResourceMissingError

from . import params as P
from .events import EventRecord
from .lists import Index, compact_dumps

log = logging.getLogger(__name__)


def related_ids(obj: dict) -> tuple[Optional[str], tuple]:
    """(payment intent id, ids the object concerns) for an event's object."""
    kind = obj.get("object")
    intent = obj["id"] if kind == "payment_intent" else obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    ids = [obj.get("id")]
    for key in ("charge", "payment_intent", "latest_charge", "payment_method", "balance_transaction"):
        value = obj.get(key)
        if isinstance(value, str):
            ids.append(value)
    return intent, tuple(dict.fromkeys(i for i in ids if i))


class EventsMixin:
    def _init_events(self) -> None:
        self._listeners: list[Callable[[EventRecord], None]] = []
        self._pending: collections.deque = collections.deque()
        self._dispatch_lock = threading.RLock()
        self._dispatching = threading.local()
        # By payment intent too: the payments cap drops a payment's events with it.
        self._events = Index("event", "/v1/events", keys=("type", "payment_intent"))
        self._subscribers: Optional[dict[str, int]] = None

    def _reset_events(self) -> None:
        self._events.clear()
        self._pending.clear()
        self._subscribers = None
        self._tx_events.clear()
        self._tx_acks.clear()

    @property
    def events(self) -> dict[str, EventRecord]:
        """Event id -> EventRecord, in recording order."""
        return self._events.objects

    def add_event_listener(self, fn: Callable[[EventRecord], None]) -> None:
        self._listeners.append(fn)

    def remove_event_listener(self, fn: Callable[[EventRecord], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    # -- recording --------------------------------------------------------------
    def record_event(self, type: str, obj: dict, previous_attributes: Optional[dict] = None,
                     request: Optional[dict] = None, delay: float = 0.0) -> EventRecord:
        with self.lock:
            now = self.clock.now()
            intent, ids = related_ids(obj)
            if intent:
                event_id = self.related_id("evt", intent)
            else:
                event_id = self.new_id("evt")
            record = EventRecord(
                event_id, type, int(now), compact_dumps(obj), previous_attributes=previous_attributes,
                request=request, available_at=now + max(0.0, float(delay)), payment_intent=intent,
                object_ids=ids, pending_webhooks=self._subscriber_count(type),
                seq=self._event_n)
            self._event_n += 1
            self._events.add(record, obj_id=event_id, created=record.created, type=type, payment_intent=intent)
            self._pending.append(record)
            self._tx_events.append(record)
        return record

    def _dispatch_pending(self) -> None:
        if not self._pending or getattr(self._dispatching, "active", False):
            return
        with self._dispatch_lock:
            self._dispatching.active = True
            try:
                while True:
                    try:
                        record = self._pending.popleft()
                    except IndexError:
                        return
                    for fn in list(self._listeners):
                        try:
                            fn(record)
                        except Exception:  # a broken listener must not break the API
                            log.exception("event listener %r failed on %s", fn, record.id)
                    # In recording order: the delivery engine's checkpoint covers events up to here.
                    self._dispatched_n = record.seq + 1
            finally:
                self._dispatching.active = False

    # -- webhook counting ---------------------------------------------------------
    def _subscriptions_changed(self) -> None:
        self._subscribers = None

    def _subscriber_count(self, type: str) -> int:
        if self._subscribers is None:
            self._subscribers = {}
        count = self._subscribers.get(type)
        if count is None:
            count = sum(1 for ep in self.webhook_endpoints.values()
                        if ep["status"] == "enabled"
                        and ("*" in ep["enabled_events"] or type in ep["enabled_events"]))
            self._subscribers[type] = count
        return count

    def acknowledge_webhook(self, event_id: str) -> int:
        """One endpoint got the event (2xx): count ``pending_webhooks`` down, never below 0."""
        with self.lock:
            record = self._events.objects.get(event_id)
            if record is None:
                raise ResourceMissingError("No such event: '%s'" % event_id)
            if record.pending_webhooks > 0:
                record.pending_webhooks -= 1
                self._tx_acks[event_id] = record.pending_webhooks
            return record.pending_webhooks

    # -- API ------------------------------------------------------------------------
    def retrieve_event(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_event", params)
        with self.lock:
            record = self._events.objects.get(id)
            if record is None:
                raise ResourceMissingError("No such event: '%s'" % id)
            return record.event

    def list_events(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_events", params)
        if "type" in p and "types" in p:
            raise InvalidRequestError("You may only specify one of these parameters: type, types.",
                                      param="types")
        with self.lock:
            wanted = None
            if "type" in p:
                wanted = self._match_types(p["type"])
            elif p.get("types"):
                wanted = [t for pattern in p["types"] for t in self._match_types(pattern)]
            if wanted is not None and not wanted:
                return {"object": "list", "data": [], "has_more": False, "url": "/v1/events"}
            return self._events.page(p, {"type": wanted} if wanted is not None else None,
                                     render=lambda rec: rec.event)

    def _match_types(self, pattern: str) -> list[str]:
        if "*" not in pattern:
            return [pattern]
        return [t for t in self._events.by["type"] if fnmatch.fnmatchcase(t, pattern)]

    # -- snapshot -------------------------------------------------------------------
    def _events_state(self) -> list:
        return [rec.to_state() for rec in self._events.objects.values()]

    def _restore_events(self, states: list) -> None:
        self._events.clear()
        self._pending.clear()
        for seq, state in enumerate(states):
            record = EventRecord.from_state(state, seq)
            self._events.add(record, obj_id=record.id, created=record.created, type=record.type,
                             payment_intent=record.payment_intent)
        self._event_n = self._dispatched_n = len(states)
