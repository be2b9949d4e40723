"""The backend's core: the state lock, id minting, collections, reset and snapshot.

At the end of each outermost hold of the lock (one API action) the backend stores the
objects it changed as JSON text and, when a journal is attached (``--state-file``), writes
one line with exactly those changes (``journaling.JournalingMixin``) before the action
returns: durable state costs what the action changed, never the size of the state.
"""
from __future__ import annotations

import base64
import hashlib
import threading
from typing import Optional

from simulator.clock import Clock
from simulator.errors import ResourceMissingError
from simulator.objects import builders, clone
from simulator.rng import ALPHANUMERIC, SeededRandom

from .journaling import JournalingMixin, TrackedDict
from .catalog import COLLECTIONS
from .lists import CompactIndex, Index, compact_dumps
from .retention import RetentionMixin

BILLING_POOL = 512
_PAIRS = [a + b for b in ALPHANUMERIC for a in ALPHANUMERIC]
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(number: int) -> str:
    out = ""
    while True:
        number, rem = divmod(number, 62)
        out = _B62[rem] + out
        if not number:
            return out


class StateLock:
    """A re-entrant lock with hooks for the end of a thread's outermost hold.

    ``on_last_release`` runs while the lock is still held (the backend stores the objects
    an action changed); ``after_release`` runs once it is free (events recorded meanwhile
    go to listeners then, so listeners never run under the state lock, yet run before the
    action returns).
    """

    def __init__(self, on_last_release, after_release):
        self._lock = threading.RLock()
        self._local = threading.local()
        self._on_last_release = on_last_release
        self._after_release = after_release

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        ok = self._lock.acquire(blocking, timeout)
        if ok:
            self._local.depth = getattr(self._local, "depth", 0) + 1
        return ok

    def release(self) -> None:
        outermost = self._local.depth == 1
        try:
            if outermost:
                self._on_last_release()
        finally:
            self._local.depth -= 1
            self._lock.release()
        if outermost:
            self._after_release()

    def held(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    def depth(self) -> int:
        return getattr(self._local, "depth", 0)

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()


class BackendState(JournalingMixin, RetentionMixin):
    def __init__(self, rng: Optional[SeededRandom] = None, clock: Optional[Clock] = None):
        self._parent_rng = rng if rng is not None else SeededRandom()
        self.clock = clock if clock is not None else Clock()
        self.lock = StateLock(self._store_changes, self._after_hold)
        # The backend's own stream, fixed at construction: reset() replays it from the start,
        # so a reset backend mints the same ids as a fresh one, whatever else drew meanwhile.
        self._rng_seed = self._parent_rng.child().seed
        self.rng = SeededRandom(self._rng_seed)
        self._key_fns = {}
        for name, (obj_name, url, key_fn) in COLLECTIONS.items():
            # Endpoints stay plain dicts: the delivery engine reads them directly.
            kind = Index if name == "webhook_endpoints_index" else CompactIndex
            setattr(self, name, kind(obj_name, url, keys=key_fn({}).keys()))
            self._key_fns[name] = key_fn
        self._init_events()
        self._init_journaling()
        self._init_retention()
        self._init_state()

    # -- lifecycle -------------------------------------------------------------
    def _init_state(self) -> None:
        self.started_at = int(self.clock.now())
        self._acct = self.token(10)
        self.account = builders.account("acct_1%s%s" % (self.token(5), self._acct), self.started_at)
        # Side tables (not API objects); TrackedDict notes the keys set, so the journal writes them.
        self.pm_cards: dict[str, str] = TrackedDict()            # payment method id -> card number
        self.line_items: dict[str, list] = TrackedDict()         # checkout session id -> line items
        self.session_intent_data: dict[str, dict] = TrackedDict()
        self.endpoint_secrets: dict[str, list] = TrackedDict()   # endpoint id -> [[secret, expires_at|None], ...]
        self._billing_pool: list[dict] = []
        self._init_generic()  # the generic store's collections (simulator.backend.generic)
        self._tx_reset = True  # the journal writes the account and id stem first

    def reset(self) -> None:
        """Forget every object and event; listeners stay registered."""
        with self.lock:
            for name in COLLECTIONS:
                getattr(self, name).clear()
            self._reset_events()
            self._reset_retention()
            self.rng = SeededRandom(self._rng_seed)
            self._init_state()

    @property
    def webhook_endpoints(self) -> dict[str, dict]:
        """Endpoint id -> endpoint dict (including ``secret``), for the delivery engine."""
        return self.webhook_endpoints_index.objects

    def _add(self, collection: str, obj: dict) -> dict:
        getattr(self, collection).add(obj, **self._key_fns[collection](obj))
        return obj

    def _answer(self, obj: dict) -> dict:
        """The answer for an object of a compact collection changed by this action.

        When this action's hold of the lock is the outermost one, the object is detached
        from the store as the hold ends (the store keeps its JSON text and decodes a new dict
        next time), so it can be handed out as it is; under a caller's own hold it is copied.
        """
        return obj if self.lock.depth() == 1 else clone(obj)

    def _read(self, collection: str, id: str, name: str, param: str = "id") -> dict:
        """A copy of an object for an answer (no decode/encode round trip of the stored one)."""
        obj = getattr(self, collection).read(id) if isinstance(id, str) else None
        if obj is None:
            raise ResourceMissingError("No such %s: '%s'" % (name, id), param=param)
        return obj

    def _page_filtered(self, index: Index, p: dict, keys: tuple) -> dict:
        """A list page filtered by the indexed ``keys`` given in ``p`` (first one via the index)."""
        given = {k: p[k] for k in keys if p.get(k)}
        filters = dict([next(iter(given.items()))]) if given else None
        where = None
        if len(given) > 1:
            where = lambda obj: all(obj.get(k) == v for k, v in given.items())  # noqa: E731
        return index.page(p, filters, render=clone, where=where)

    # -- ids and values -----------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def _stamp(self) -> str:
        # Real ids carry a time-derived segment and the account's segment.
        return base62(int(self.clock.now()))[-5:].rjust(5, "0")

    def token(self, n: int) -> str:
        """``n`` random alphanumerics from one draw (drawing per character is 20x slower)."""
        value = self.rng.randint(0, 62 ** n - 1)
        out = []
        for _ in range(n // 2):
            value, rem = divmod(value, 3844)
            out.append(_PAIRS[rem])
        if n % 2:
            out.append(ALPHANUMERIC[value % 62])
        return "".join(out)

    def receipt_url(self, charge_id: str) -> str:
        # Derived, not drawn: as long as a real one, unique per charge, and free.
        digest = hashlib.sha512(("%s:%s" % (self._acct, charge_id)).encode()).digest()
        return "https://pay.stripe.com/receipts/payment/" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def digits(self, n: int) -> str:
        return str(self.rng.randint(0, 10 ** n - 1)).zfill(n)

    def new_id(self, prefix: str) -> str:
        return "%s_1%s%s%s" % (prefix, self._stamp(), self._acct, self.token(8))

    def new_intent_id(self) -> str:
        return "pi_3%s%s%s%s" % (self._stamp(), self._acct, self.digits(1), self.token(7))

    def related_id(self, prefix: str, intent_id: Optional[str]) -> str:
        """Objects of a payment share the intent's id stem, as in real Stripe ids."""
        if not intent_id or not intent_id.startswith("pi_3") or len(intent_id) < 20:
            return self.new_id(prefix)
        return "%s_%s%s" % (prefix, intent_id[3:20], self.token(7))

    def fingerprint(self, number: str) -> str:
        digest = hashlib.sha256(("%s:%s" % (self._acct, number)).encode()).digest()
        return "".join(ALPHANUMERIC[b % 62] for b in digest[:16])

    def fake_billing(self, email: Optional[str] = None) -> dict:
        """A customer's billing details from the seeded faker.

        Faker costs ~200 us a person, a tenth of the time budget of a payment, so the
        first ``BILLING_POOL`` people are made by faker and later payments draw one of
        them again (returning customers), keeping the 20,000th payment as fast as the first.
        """
        if len(self._billing_pool) < BILLING_POOL:
            fake = self.rng.faker
            name = fake.name()
            person = {
                "name": name,
                "email": "%s@%s" % (name.lower().replace(" ", ".").replace("'", ""),
                                    fake.free_email_domain()),
                "phone": None,
                "address": {"city": fake.city(), "country": "US", "line1": fake.street_address(),
                            "line2": None, "postal_code": fake.postcode(), "state": fake.state_abbr()},
            }
            self._billing_pool.append(person)
        else:
            person = self._billing_pool[self.rng.randint(0, BILLING_POOL - 1)]
        billing = builders.billing_details(person)
        if email:
            billing["email"] = email
        return billing

    # -- snapshot -------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The whole state as JSON-ready values, copied under the lock: requests that run while
        the caller encodes it cannot change it (that was a 500 under load)."""
        import json
        with self.lock:
            return {
                "version": 1,
                "started_at": self.started_at,
                "acct": self._acct,
                "account": clone(self.account),
                "collections": {name: getattr(self, name).values() for name in COLLECTIONS},
                "pm_cards": dict(self.pm_cards),
                "line_items": json.loads(compact_dumps(self.line_items)),
                "session_intent_data": json.loads(compact_dumps(self.session_intent_data)),
                "endpoint_secrets": json.loads(compact_dumps(self.endpoint_secrets)),
                "events": self._events_state(),
                "generic": {name: [[oid, index.read(oid), index.by_key_of(oid)] for oid in index.order
                                   if oid in index] for name, index in self.generic.items()},
            }

    def restore(self, state: dict) -> None:
        import json
        state = json.loads(json.dumps(state))  # own copy: the caller keeps theirs
        with self.lock:
            if state.get("version") != 1:
                raise ValueError("unsupported backend snapshot version %r" % state.get("version"))
            for name in COLLECTIONS:
                getattr(self, name).clear()
                for obj in state["collections"].get(name, []):
                    self._add(name, obj)
            self.started_at = state["started_at"]
            self._acct = state["acct"]
            self.account = state["account"]
            self.pm_cards = TrackedDict(state["pm_cards"])
            self.line_items = TrackedDict(state["line_items"])
            self.session_intent_data = TrackedDict(state["session_intent_data"])
            self.endpoint_secrets = TrackedDict(state["endpoint_secrets"])
            self._restore_events(state["events"])
            self._init_generic()
            for name, rows in state.get("generic", {}).items():
                index = self._generic_index(name)
                for oid, obj, parent in rows:
                    index.add(obj, obj_id=oid, parent=parent)
            self._subscriptions_changed()
