"""The backend's side of durable state: what one action changed, as one journal line, and
how such lines are applied again at a restart.

An action's changes are known when the outermost hold of the state lock ends: the objects
of every registered collection it touched (``Index.flush(changes)`` gives their JSON text,
which the store makes anyway), the events it recorded, webhook acknowledgements, events
dropped, and keys set in the side tables (``TrackedDict``). The line embeds the objects'
text as it is (no second encoding) and is written under the lock, so lines are in the
order the state really changed: replaying them gives back a state the simulator was in.

Line format (one JSON object a line; every key optional):

    {"t": simulated now, "r": {account, id stem} (a reset: forget everything first),
     "o": [[collection, id, object | null (dropped)], ...],
     "e": [[event number, [id, type, created, available_at, payment_intent, [ids],
            pending_webhooks, request id, idempotency key, api_version], object, previous], ...],
     "a": [[event id, pending_webhooks], ...], "x": [dropped event ids],
     "d": [[table, key, value] | [table, key] (removed), ...], "dd": {table: whole table}}

A snapshot (compaction) is written as lines of the same kind, so one reader loads both.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Optional

from .events import EventRecord
from .lists import CompactIndex, compact_dumps

SIDE_TABLES = ("pm_cards", "line_items", "session_intent_data", "endpoint_secrets")


class TrackedDict(dict):
    """A dict that remembers which keys were set or removed since ``touched`` was cleared."""

    __slots__ = ("touched",)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.touched: dict = {}

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        self.touched[key] = None

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        self.touched[key] = None

    def pop(self, key, *default):
        self.touched[key] = None
        return dict.pop(self, key, *default)

    def setdefault(self, key, default=None):
        self.touched[key] = None
        return dict.setdefault(self, key, default)


def _s(value) -> str:
    return compact_dumps(value)


def event_entry(rec: EventRecord) -> str:
    meta = [rec.id, rec.type, rec.created, rec.available_at, rec.payment_intent, list(rec.object_ids),
            rec.pending_webhooks, rec._request[0], rec._request[1], rec.api_version]
    return "[%d,%s,%s,%s]" % (rec.seq, _s(meta), rec._object_json,
                              "null" if rec._previous_json is None else rec._previous_json)


def event_from_entry(entry: list) -> EventRecord:
    n, meta, obj, prev = entry
    (eid, etype, created, available_at, intent, ids, pending, req_id, idem, api_version) = meta
    rec = EventRecord(eid, etype, created, compact_dumps(obj),
                      request={"id": req_id, "idempotency_key": idem}, available_at=available_at,
                      payment_intent=intent, object_ids=tuple(ids), pending_webhooks=pending, seq=n,
                      api_version=api_version)
    rec._previous_json = None if prev is None else compact_dumps(prev)
    return rec


class JournalingMixin:
    def _init_journaling(self) -> None:
        # The journal (simulator.persistence.Journal) or None: no state file, no cost but a check.
        self.journal = None
        self._tx_count = 0
        self._tx_events: list = []
        self._tx_acks: dict = {}
        self._tx_reset = False
        self._event_n = 0        # events ever recorded (the next one's number), across compactions
        self._dispatched_n = 0   # events handed to every listener (the delivery engine) so far
        self._jlocal = threading.local()  # .line: this thread's last queued journal line

    def attach_journal(self, journal) -> None:
        """From now on each action writes its changes to ``journal`` before it returns."""
        with self.lock:
            self._clear_tx()
            self.journal = journal

    def detach_journal(self) -> None:
        with self.lock:
            self.journal = None

    def meta(self) -> dict:
        return {"started_at": self.started_at, "acct": self._acct, "account": self.account}

    def _clear_tx(self) -> None:
        # Runs as every action's lock is released, reads included: only indexes the action
        # touched are flushed (a call per clean index was half a retrieve's API time).
        from .catalog import COLLECTIONS
        for name in COLLECTIONS:
            index = getattr(self, name)
            if index.live or index._dirty or index._gone:
                index.flush()
        for index in (getattr(self, "generic", None) or {}).values():
            if index.live or index._dirty or index._gone:
                index.flush()
        events = self._events
        if events._gone or events._dirty:
            events._gone.clear()
            events._dirty.clear()  # events are journaled from _tx_events, not as dirty objects
        if self._tx_events:
            self._tx_events.clear()
        if self._tx_acks:
            self._tx_acks.clear()
        self._tx_reset = False
        for name in SIDE_TABLES:
            touched = getattr(self, name).touched
            if touched:
                touched.clear()

    # -- the end of an action ----------------------------------------------------------
    def _store_changes(self) -> None:
        """Runs under the lock as its outermost hold ends."""
        self._tx_count += 1
        if self._limits_on and not (self._tx_count & self._limits_every):
            self._enforce_limits()
        journal = self.journal
        if journal is None:
            self._clear_tx()
            return
        line = self._tx_line()
        if line is not None:
            # Queued in state order under the lock; written once the lock is free (_after_hold).
            self._jlocal.line = journal.queue(line)

    def _after_hold(self) -> None:
        """Runs once the lock is free, before the action returns: its journal line is written
        (and fsynced with ``--fsync always``), then events go to listeners (deliveries)."""
        journal = self.journal
        if journal is not None:
            number = getattr(self._jlocal, "line", 0)
            if number:
                self._jlocal.line = 0
                journal.flush_through(number)
                if journal.sync_each:
                    journal.sync()
        self._dispatch_pending()

    def _tx_line(self) -> Optional[bytes]:
        from .catalog import COLLECTIONS
        parts = []
        objs = []
        for name in COLLECTIONS:
            changes: list = []
            getattr(self, name).flush(changes)
            if changes:
                q = '"%s"' % name
                for obj_id, text in changes:
                    objs.append("[%s,%s,%s]" % (q, _s(obj_id), "null" if text is None else text))
        # Collections made at run time (a generic store: ``self.generic``, name -> CompactIndex
        # with a ``parent`` key) are journaled as "generic/<name>", with the parent.
        for name, index in (getattr(self, "generic", None) or {}).items():
            changes = []
            index.flush(changes)
            if changes:
                q = _s("generic/" + name)
                parent_of = getattr(index, "by_key_of", None)
                for obj_id, text in changes:
                    parent = parent_of(obj_id) if (text is not None and parent_of is not None) else None
                    objs.append("[%s,%s,%s,%s]" % (q, _s(obj_id), "null" if text is None else text, _s(parent)))
        if self._tx_reset:
            parts.append('"r":' + _s(self.meta()))
            self._tx_reset = False
        if objs:
            parts.append('"o":[' + ",".join(objs) + "]")
        if self._tx_events:
            parts.append('"e":[' + ",".join(event_entry(r) for r in self._tx_events) + "]")
            self._tx_events.clear()
        if self._tx_acks:
            parts.append('"a":' + _s([[k, v] for k, v in self._tx_acks.items()]))
            self._tx_acks.clear()
        self._events._dirty.clear()
        gone = self._events._gone
        if gone:
            parts.append('"x":' + _s(gone))
            gone.clear()
        tables = []
        for name in SIDE_TABLES:
            table = getattr(self, name)
            if table.touched:
                for key in table.touched:
                    if key in table:
                        tables.append([name, key, table[key]])
                    else:
                        tables.append([name, key])
                table.touched.clear()
        if tables:
            parts.append('"d":' + _s(tables))
        if not parts:
            return None
        return ("{\"t\":%r,%s}\n" % (self.clock.now(), ",".join(parts))).encode("utf-8")

    # -- restart ---------------------------------------------------------------------------
    def apply_line(self, rec: dict) -> None:
        """Apply one journal or snapshot line (a restart; no journal attached)."""
        from .catalog import COLLECTIONS
        if "r" in rec:
            self._forget_all(rec["r"])
        for entry in rec.get("o", ()):
            coll, obj_id, obj = entry[0], entry[1], entry[2]
            if coll.startswith("generic/"):
                self._apply_generic(coll[len("generic/"):], obj_id, obj, entry[3] if len(entry) > 3 else None)
                continue
            if coll not in COLLECTIONS:
                continue  # a collection this version does not have
            index = getattr(self, coll)
            if obj is None:
                index.discard(obj_id)
            elif obj_id in index.objects:
                index.objects[obj_id] = compact_dumps(obj) if isinstance(index, CompactIndex) else obj
                for key, value in self._key_fns[coll](obj).items():
                    if value is not None:
                        index.add_key(key, value, obj_id)
            else:
                self._add(coll, obj)
        for entry in rec.get("e", ()):
            ev = event_from_entry(entry)
            if ev.id in self._events.objects:
                continue
            self._events.add(ev, obj_id=ev.id, created=ev.created, type=ev.type, payment_intent=ev.payment_intent)
            self._event_n = max(self._event_n, ev.seq + 1)
        for event_id, pending in rec.get("a", ()):
            ev = self._events.objects.get(event_id)
            if ev is not None:
                ev.pending_webhooks = pending
        for event_id in rec.get("x", ()):
            self._events.discard(event_id)
        for entry in rec.get("d", ()):
            table = getattr(self, entry[0], None)
            if isinstance(table, TrackedDict):
                if len(entry) == 3:
                    dict.__setitem__(table, entry[1], entry[2])
                else:
                    dict.pop(table, entry[1], None)
        for name, values in (rec.get("dd") or {}).items():
            if name in SIDE_TABLES:
                setattr(self, name, TrackedDict(values))
        if "n" in rec:
            self._event_n = max(self._event_n, rec["n"])
        self._clear_tx()
        self._subscriptions_changed()

    def _apply_generic(self, name: str, obj_id: str, obj, parent) -> None:
        make = getattr(self, "_generic_index", None)
        if make is None:
            return  # written by a version with a generic store; this one has none
        index = make(name)
        if obj is None:
            index.discard(obj_id)
        elif obj_id in index.objects:
            index.objects[obj_id] = compact_dumps(obj)
        elif parent is not None:
            index.add(obj, obj_id=obj_id, parent=parent)
        else:
            index.add(obj, obj_id=obj_id)
        index.flush()

    def _forget_all(self, meta: dict) -> None:
        from .catalog import COLLECTIONS
        for name in COLLECTIONS:
            getattr(self, name).clear()
        self._reset_events()
        self._reset_retention()
        self._init_state()
        self.started_at = meta["started_at"]
        self._acct = meta["acct"]
        self.account = meta["account"]

    @contextlib.contextmanager
    def dispatch_paused(self):
        """No event reaches a listener meanwhile; yields how many already did (in order)."""
        with self._dispatch_lock:
            yield self._dispatched_n

    def redispatch_from(self, number: int) -> int:
        """Hand events numbered ``number`` and later (not yet acknowledged by every endpoint)
        to the listeners again: what the delivery engine's checkpoint did not cover."""
        with self.lock:
            again = [r for r in self._events.objects.values() if r.seq >= number and r.pending_webhooks > 0]
            self._pending.extend(again)
        self._dispatch_pending()
        return len(again)

    def after_restart(self, lines: int) -> None:
        """A fresh id stream: the same seed must not mint the ids it minted before the restart."""
        from simulator.rng import SeededRandom
        with self.lock:
            self.rng = SeededRandom((self._rng_seed or 0) * 1000003 + lines * 7919 + self._event_n)
            self._dispatched_n = self._event_n

    # -- compaction ---------------------------------------------------------------------------
    def capture_view(self) -> dict:
        """What a snapshot needs, taken under the lock in O(objects) C-level copies (a few ms
        for 100,000 objects): stored objects are immutable JSON text, so the copies can be
        written out later without the lock, while requests go on."""
        from .catalog import COLLECTIONS
        with self.lock:
            collections = []
            for name in COLLECTIONS:
                index = getattr(self, name)
                if isinstance(index, CompactIndex):
                    collections.append((name, dict(index.objects)))
                else:
                    collections.append((name, {k: compact_dumps(v) for k, v in index.objects.items()}))
            generic = []
            for name, index in (getattr(self, "generic", None) or {}).items():
                parent_of = getattr(index, "by_key_of", None)
                parents = {k: parent_of(k) for k in index.objects} if parent_of is not None else {}
                generic.append((name, dict(index.objects), parents))
            return {
                "meta": compact_dumps(self.meta()), "t": self.clock.now(), "n": self._event_n,
                "collections": collections, "generic": generic, "events": list(self._events.objects.values()),
                "tables": {name: compact_dumps(getattr(self, name)) for name in SIDE_TABLES},
            }

    @staticmethod
    def view_lines(view: dict, chunk: int = 256):
        """The snapshot's lines (bytes), from a captured view; runs without the lock."""
        yield ('{"r":%s,"t":%r,"n":%d}\n' % (view["meta"], view["t"], view["n"])).encode()
        for name, objects in view["collections"]:
            q = '"%s"' % name
            batch = []
            for obj_id, text in objects.items():
                batch.append("[%s,%s,%s]" % (q, _s(obj_id), text))
                if len(batch) >= chunk:
                    yield ('{"o":[%s]}\n' % ",".join(batch)).encode()
                    batch = []
            if batch:
                yield ('{"o":[%s]}\n' % ",".join(batch)).encode()
        for name, objects, parents in view.get("generic", ()):
            q = _s("generic/" + name)
            items = list(objects.items())
            for i in range(0, len(items), chunk):
                yield ('{"o":[%s]}\n' % ",".join("[%s,%s,%s,%s]" % (q, _s(k), t, _s(parents.get(k)))
                                                 for k, t in items[i:i + chunk])).encode()
        events = view["events"]
        for i in range(0, len(events), chunk):
            yield ('{"e":[%s]}\n' % ",".join(event_entry(r) for r in events[i:i + chunk])).encode()
        yield ('{"dd":{%s}}\n' % ",".join('"%s":%s' % kv for kv in view["tables"].items())).encode()
