"""Indexed collections and Stripe list pagination.

Every object gets a sequence number at creation; a collection keeps ids by sequence, a
``seq`` map for O(1) cursor lookup, the creation times (non-decreasing, for ``created``
filters by bisection) and per-filter indexes (e.g. charges by ``payment_intent``, events by
``type``) as sorted lists of sequence numbers. A list request is a handful of bisections and
one slice, never a scan, so the 20,000th payment lists as fast as the first.

Objects can be dropped (retention, the payments cap, a deleted endpoint): ``discard`` leaves
a tombstone (``None``) at the object's sequence number, which list pages step over, and the
collection renumbers itself once tombstones outnumber live objects, so dropping is O(1)
amortized and memory follows what is kept, not what was ever made.

Each collection also says what changed since the end of the last action (``flush(changes)``):
that is what the durable state journal writes, so any collection registered in the
backend is persisted without code of its own.
"""
from __future__ import annotations

import bisect
from typing import Callable, Iterable, Optional, Sequence

from simulator import jsoncodec
from simulator.errors import InvalidRequestError
from simulator.objects import clone

# Every action encodes the objects it changed and every event's object, and decodes them
# again when read: with the stdlib that was a fifth of the server's CPU per payment; orjson
# (simulator.jsoncodec) does it 5-10x faster. Text round-trips to equal values either way.
compact_dumps = jsoncodec.dumps_text
compact_loads = jsoncodec.loads

DEFAULT_LIMIT = 10
# Tombstones tolerated beyond the live count before a collection renumbers itself.
REBUILD_SLACK = 4096


class Index:
    live = ()  # objects decoded for the action under way: only a CompactIndex keeps any

    def __init__(self, object_name: str, url: str, keys: Iterable[str] = ()):
        self.object_name = object_name
        self.url = url
        self.keys = tuple(keys)
        self.clear()

    def clear(self) -> None:
        self.objects: dict[str, dict] = {}
        self.order: list[str] = []
        self.seq: dict[str, int] = {}
        self.created: list[float] = []
        self.by: dict[str, dict[str, list[int]]] = {key: {} for key in self.keys}
        self.dead = 0  # tombstones in ``order``
        self.rebuilds = 0
        self._dirty: dict[str, None] = {}  # ids handed out to change since the last flush
        self._gone: list[str] = []  # ids discarded since the last flush

    def __contains__(self, obj_id: str) -> bool:
        return obj_id in self.objects

    def __len__(self) -> int:
        return len(self.objects)

    def get(self, obj_id: str) -> Optional[dict]:
        """The stored object itself, to change (under the backend lock)."""
        obj = self.objects.get(obj_id)
        if obj is not None:
            self._dirty[obj_id] = None  # it may change: the journal writes it at flush
        return obj

    def read(self, obj_id: str) -> Optional[dict]:
        """A copy of the object, to hand out."""
        obj = self.objects.get(obj_id)
        return None if obj is None else clone(obj)

    def _export(self, obj_id: str, render: Callable):
        obj = self.objects.get(obj_id)
        return None if obj is None else render(obj)

    def _peek(self, obj_id: str):
        return self.objects.get(obj_id)

    def values(self) -> list:
        return [self.read(i) for i in self.order if i is not None and i in self.objects]

    def flush(self, changes: Optional[list] = None) -> None:
        """End of an action: ``changes`` (when given) gets ``(id, json text)`` for each object
        that may have changed and ``(id, None)`` for each one dropped."""
        if changes is not None:
            for obj_id in self._dirty:
                obj = self.objects.get(obj_id)
                if obj is not None:
                    changes.append((obj_id, compact_dumps(obj)))
            changes.extend((obj_id, None) for obj_id in self._gone)
        self._dirty.clear()
        self._gone.clear()

    def add(self, obj, obj_id: Optional[str] = None, created: Optional[float] = None,
            **keys: Optional[str]) -> None:
        if obj_id is None:
            obj_id = obj["id"]
        seq = len(self.order)
        self.objects[obj_id] = obj
        self.order.append(obj_id)
        self.seq[obj_id] = seq
        # Creation times only go forward (the clock never does), so bisection is valid.
        if created is None:
            created = obj.get("created", 0)
        if self.created and created < self.created[-1]:
            created = self.created[-1]
        self.created.append(created)
        for key, value in keys.items():
            if value is not None:
                self.by[key].setdefault(value, []).append(seq)
        self._dirty[obj_id] = None

    def by_key_of(self, obj_id: str, key: str = "parent") -> Optional[str]:
        """The value ``obj_id`` is indexed under for ``key`` (None: not indexed)."""
        seq = self.seq.get(obj_id)
        for value, seqs in self.by.get(key, {}).items():
            i = bisect.bisect_left(seqs, seq) if seq is not None else -1
            if 0 <= i < len(seqs) and seqs[i] == seq:
                return value
        return None

    def ids_with(self, key: str, value: str) -> list:
        """Ids of the objects indexed under ``key`` = ``value``, oldest first."""
        order = self.order
        return [order[seq] for seq in self.by[key].get(value, []) if order[seq] is not None]

    def add_key(self, key: str, value: str, obj_id: str) -> None:
        """Index an object under a filter value it gained after creation."""
        seqs = self.by[key].setdefault(value, [])
        seq = self.seq[obj_id]
        pos = bisect.bisect_left(seqs, seq)
        if pos == len(seqs) or seqs[pos] != seq:
            seqs.insert(pos, seq)

    def remove(self, obj_id: str) -> None:
        """A deleted object (webhook endpoints)."""
        self.discard(obj_id)

    def discard(self, obj_id: str) -> bool:
        """Drop an object: O(1), a tombstone stays at its sequence number until the next
        renumbering. Its entries in ``by`` go then too (list pages skip them meanwhile)."""
        seq = self.seq.pop(obj_id, None)
        if seq is None:
            return False
        del self.objects[obj_id]
        self._dirty.pop(obj_id, None)
        self._gone.append(obj_id)
        self.order[seq] = None
        self.dead += 1
        if self.dead > len(self.objects) + REBUILD_SLACK:
            self._rebuild()
        return True

    def _rebuild(self) -> None:
        """Renumber without the tombstones (O(live), once per as many drops: O(1) amortized)."""
        order, created = self.order, self.created
        live = [s for s, i in enumerate(order) if i is not None]
        remap = dict(zip(live, range(len(live))))
        self.order = [order[s] for s in live]
        self.created = [created[s] for s in live]
        self.seq = dict(zip(self.order, range(len(self.order))))
        for key, values in self.by.items():
            kept = {}
            for value, seqs in values.items():
                moved = [remap[s] for s in seqs if s in remap]
                if moved:
                    kept[value] = moved
            self.by[key] = kept
        self.dead = 0
        self.rebuilds += 1

    def cursor_seq(self, obj_id: str, param: str) -> int:
        seq = self.seq.get(obj_id)
        if seq is None or obj_id not in self.objects:
            raise InvalidRequestError("No such %s: '%s'" % (self.object_name, obj_id), param=param,
                                      code="resource_missing")
        return seq

    def page(self, params: dict, filters: Optional[dict[str, object]] = None,
             render: Callable[[dict], dict] = lambda obj: obj,
             where: Optional[Callable[[dict], bool]] = None) -> dict:
        """One page of Stripe's list shape, newest first.

        ``params`` are validated list params (limit, starting_after, ending_before, created);
        ``filters`` maps an indexed key to a value or a list of values (any of them).
        """
        limit = params.get("limit") or DEFAULT_LIMIT
        lo, hi = 0, len(self.order)
        created = params.get("created")
        if created:
            lo, hi = self._created_bounds(created, lo, hi)
        after, before = params.get("starting_after"), params.get("ending_before")
        if after is not None:
            hi = min(hi, self.cursor_seq(after, "starting_after"))
        if before is not None and after is None:
            lo = max(lo, self.cursor_seq(before, "ending_before") + 1)

        sources: list[Sequence[int]] = []
        if filters:
            (key, value), *rest = filters.items()
            if rest:
                raise ValueError("one indexed filter per list request")
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in dict.fromkeys(values):
                seqs = self.by[key].get(v)
                if seqs:
                    sources.append(seqs)
        else:
            sources.append(range(len(self.order)))

        if where is not None:
            return self._page_where(sources, lo, hi, limit, before is not None and after is None,
                                    render, where)
        picked: list[int] = []
        total = 0
        ascending = before is not None and after is None
        order = self.order
        for seqs in sources:
            i_lo = bisect.bisect_left(seqs, lo)
            i_hi = bisect.bisect_left(seqs, hi)
            if self.dead:
                # Tombstones in range: walk from the page's end, counting only live objects,
                # until one more than a page is found (enough to know has_more).
                taken = []
                for i in (range(i_lo, i_hi) if ascending else range(i_hi - 1, i_lo - 1, -1)):
                    s = seqs[i]
                    if order[s] is not None:
                        taken.append(s)
                        if len(taken) > limit:
                            break
                total += len(taken)
                picked.extend(taken)
                continue
            total += max(0, i_hi - i_lo)
            if ascending:
                picked.extend(seqs[i_lo:min(i_hi, i_lo + limit)])
            else:
                picked.extend(seqs[max(i_lo, i_hi - limit):i_hi])
        picked.sort()
        if before is not None and after is None:
            picked = picked[:limit]
        else:
            picked = picked[-limit:]
        picked.reverse()
        data = []
        for seq in picked:
            obj = self._export(order[seq], render)
            if obj is not None:
                data.append(obj)
        return {"object": "list", "data": data, "has_more": total > limit, "url": self.url}

    def _page_where(self, sources, lo, hi, limit, ascending, render, where) -> dict:
        """A second filter on top of an indexed one: walks the indexed subset only."""
        seqs = sorted(set(s for src in sources
                          for s in src[bisect.bisect_left(src, lo):bisect.bisect_left(src, hi)]))
        if not ascending:
            seqs.reverse()
        matched = []
        for seq in seqs:
            if self.order[seq] is None:
                continue
            obj = self._peek(self.order[seq])
            if obj is not None and where(obj):
                matched.append(self.order[seq])
                if len(matched) > limit:
                    break
        has_more = len(matched) > limit
        matched = matched[:limit]
        if ascending:
            matched.reverse()
        return {"object": "list", "data": [self._export(i, render) for i in matched],
                "has_more": has_more, "url": self.url}

    def _created_bounds(self, created: dict, lo: int, hi: int) -> tuple[int, int]:
        times = self.created
        if "eq" in created:
            lo = max(lo, bisect.bisect_left(times, created["eq"]))
            hi = min(hi, bisect.bisect_right(times, created["eq"]))
        if "gt" in created:
            lo = max(lo, bisect.bisect_right(times, created["gt"]))
        if "gte" in created:
            lo = max(lo, bisect.bisect_left(times, created["gte"]))
        if "lt" in created:
            hi = min(hi, bisect.bisect_left(times, created["lt"]))
        if "lte" in created:
            hi = min(hi, bisect.bisect_right(times, created["lte"]))
        return lo, max(lo, hi)


class CompactIndex(Index):
    """An Index that keeps each object as compact JSON text between actions.

    20,000 payments are a million nested dicts; as text they take a third of the memory
    and nothing for the garbage collector to walk, whose full passes otherwise grow with
    the state and slow the last payments down. An action works on live dicts (``get``
    decodes once and keeps the dict until ``flush``, which the backend calls when the
    outermost hold of its lock ends). ``read`` and list pages hand out fresh copies.
    """

    def clear(self) -> None:
        super().clear()
        self.live: dict[str, dict] = {}

    def add(self, obj, obj_id: Optional[str] = None, created: Optional[float] = None,
            **keys: Optional[str]) -> None:
        super().add(obj, obj_id, created, **keys)
        self.live[obj["id"] if obj_id is None else obj_id] = obj

    def get(self, obj_id: str) -> Optional[dict]:
        obj = self.live.get(obj_id)
        if obj is None:
            text = self.objects.get(obj_id)
            if text is None:
                return None
            obj = self.live[obj_id] = compact_loads(text)
        return obj

    def read(self, obj_id: str) -> Optional[dict]:
        obj = self.live.get(obj_id)
        if obj is not None:
            return clone(obj)
        text = self.objects.get(obj_id)
        return None if text is None else compact_loads(text)

    def _export(self, obj_id: str, render: Callable):
        return self.read(obj_id)  # already a fresh copy

    def _peek(self, obj_id: str):
        return self.read(obj_id)

    def discard(self, obj_id: str) -> bool:
        self.live.pop(obj_id, None)
        return super().discard(obj_id)

    def flush(self, changes: Optional[list] = None) -> None:
        if self.live:
            objects = self.objects
            for obj_id, obj in self.live.items():
                text = compact_dumps(obj)
                # Objects only read for an update that did not happen are not journaled.
                if changes is not None and objects.get(obj_id) != text:
                    changes.append((obj_id, text))
                objects[obj_id] = text
            self.live.clear()
        if self._gone:
            if changes is not None:
                changes.extend((obj_id, None) for obj_id in self._gone)
            self._gone.clear()
        self._dirty.clear()
