"""What ``stripe-sim listen`` needs from a running simulator: a relay through the simulator.

The Stripe CLI does not receive webhooks from Stripe over HTTP: it holds a connection open
to Stripe, gets each event over it and POSTs it to ``--forward-to`` itself. Here the same
shape, with only outbound calls from the CLI (so it works against a simulator in a
container too):

1. ``POST /_sim/listen`` opens a session: a real webhook endpoint (``we_...``) whose URL is
   the simulator's own relay route ``/_listen/<session>``, signed with a secret derived from
   the forward URL (stable for the same simulator and URL, so a ``.env`` keeps working).
2. The delivery engine delivers to that endpoint like to any other (signing, retries,
   the delivery log, the dashboard's figures). The relay route verifies the signature,
   queues the request and holds the engine's attempt open...
3. ...while the CLI long-polls ``GET /_sim/listen/<session>/next``, forwards the exact body
   and ``Stripe-Signature`` to the developer's URL, and reports the answer with
   ``POST /_sim/listen/<session>/answers/<id>``; the relay answers the engine with it.
4. ``DELETE /_sim/listen/<session>`` (Ctrl-C) removes the endpoint.

No CLI polling: the relay answers 503 at once, the engine records a failure and retries
on Stripe's schedule, as Stripe would with a laptop that went to sleep.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import secrets as _secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from simulator.signing import SignatureVerificationError, verify_header

RELAY_PREFIX = "/_listen"
ANSWER_WAIT = 25.0        # under the engine's 30 s attempt timeout
POLL_GRACE = 15.0         # no poll for this long: the CLI is gone, answer 503 at once


class ListenError(ValueError):
    def __init__(self, message: str, field: str = "forward_to"):
        super().__init__(message)
        self.field = field


def normalise_url(url) -> str:
    """The Stripe CLI takes ``localhost:8000/hook`` as well as a full URL."""
    if not isinstance(url, str) or not url.strip():
        raise ListenError("forward_to must be a URL such as http://localhost:8000/api/v1/webhooks/stripe/")
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ListenError("forward_to must be an http:// or https:// URL with a host, got %r" % url)
    try:
        parts.port
    except ValueError:
        raise ListenError("forward_to has a bad port: %r" % url) from None
    return url


@dataclass
class Item:
    id: str
    body: bytes
    signature: str
    event_id: Optional[str]
    event_type: Optional[str]
    done: threading.Event = field(default_factory=threading.Event)
    taken: bool = False
    answer: Optional[dict] = None


@dataclass
class Session:
    id: str
    endpoint_id: str
    forward_to: str
    secret: str
    events: list
    opened_at: float
    queue: deque = field(default_factory=deque)
    items: dict = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)
    last_poll: float = field(default_factory=time.monotonic)
    closed: bool = False

    def public(self) -> dict:
        return {"id": self.id, "object": "listen_session", "webhook_endpoint": self.endpoint_id,
                "forward_to": self.forward_to, "secret": self.secret, "enabled_events": list(self.events)}


class ListenHub:
    """Sessions of ``stripe-sim listen`` on one Simulator."""

    def __init__(self, sim):
        self.sim = sim
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self._ids = itertools.count(1)
        # The key the secrets derive from: pinned by STRIPE_SIM_LISTEN_KEY, else by the seed,
        # else random per simulator process (stable while it runs).
        pinned = os.environ.get("STRIPE_SIM_LISTEN_KEY")
        if pinned:
            self._key = pinned.encode()
        elif getattr(sim, "seed", None) is not None:
            self._key = ("stripe-sim-listen:%s" % sim.seed).encode()
        else:
            self._key = _secrets.token_bytes(32)

    def secret_for(self, forward_to: str) -> str:
        return "whsec_" + hmac.new(self._key, forward_to.encode(), hashlib.sha256).hexdigest()[:48]

    def open(self, forward_to: str, events, relay_base: str) -> Session:
        forward_to = normalise_url(forward_to)
        events = list(events or ["*"])
        if not all(isinstance(e, str) and e for e in events):
            raise ListenError("events must be a list of event types such as [\"payment_intent.succeeded\"]", "events")
        sid = "lis_" + _secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        secret = self.secret_for(forward_to)
        params = {"url": relay_base.rstrip("/") + RELAY_PREFIX + "/" + sid, "enabled_events": events,
                  "description": "stripe-sim listen --forward-to %s" % forward_to, "secret": secret,
                  "metadata": {"stripe_sim_listen": sid, "forward_to": forward_to[:500]}}
        ep = self.sim.backend.create_webhook_endpoint(params)  # StripeError (bad event type...) -> 400
        session = Session(sid, ep["id"], forward_to, secret, events, self.sim.clock.now())
        with self._lock:
            self.sessions[sid] = session
        return session

    def get(self, sid: str) -> Optional[Session]:
        return self.sessions.get(sid)

    def close(self, sid: str) -> bool:
        with self._lock:
            session = self.sessions.pop(sid, None)
        if session is None:
            return False
        with session.cond:
            session.closed = True
            for item in session.items.values():
                if not item.done.is_set():
                    item.answer = {"status": 503, "body": "stripe-sim listen stopped"}
                    item.done.set()
            session.cond.notify_all()
        try:
            self.sim.backend.delete_webhook_endpoint(session.endpoint_id)
        except Exception:
            pass  # already deleted through the API
        return True

    # -- the relay side (the engine's attempt) ------------------------------------------
    def relay(self, sid: str, body: bytes, signature: Optional[str]) -> tuple[int, str]:
        session = self.get(sid)
        if session is None:
            return 410, "no stripe-sim listen session %s (it was stopped)" % sid
        try:
            verify_header(body, signature or "", session.secret)
        except SignatureVerificationError as exc:
            return 400, "signature check failed: %s" % exc
        if time.monotonic() - session.last_poll > POLL_GRACE:
            return 503, "stripe-sim listen is not connected (no poll for %.0f s)" % (time.monotonic() - session.last_poll)
        event_id = event_type = None
        try:
            import json

            parsed = json.loads(body)
            event_id, event_type = parsed.get("id"), parsed.get("type")
        except (ValueError, AttributeError):
            pass
        item = Item("dlv_%d" % next(self._ids), body, signature or "", event_id, event_type)
        with session.cond:
            session.items[item.id] = item
            session.queue.append(item)
            session.cond.notify_all()
        answered = item.done.wait(ANSWER_WAIT)
        with session.cond:
            session.items.pop(item.id, None)
            if not answered and not item.taken:
                try:
                    session.queue.remove(item)
                except ValueError:
                    pass
        if not answered:
            return (504 if item.taken else 503), ("stripe-sim listen did not answer within %.0f s" % ANSWER_WAIT)
        a = item.answer or {}
        status = a.get("status")
        if not isinstance(status, int) or not 100 <= status <= 599:
            # The developer's server could not be reached: a gateway error, with why.
            return 502, "stripe-sim listen could not POST to %s: %s" % (session.forward_to, a.get("error") or "no answer")
        return status, str(a.get("body") or "")[:500]

    # -- the CLI side -------------------------------------------------------------------
    def next_item(self, sid: str, wait: float) -> Optional[Item]:
        session = self.get(sid)
        if session is None:
            raise KeyError(sid)
        deadline = time.monotonic() + wait
        with session.cond:
            while True:
                session.last_poll = time.monotonic()
                if session.closed:
                    raise KeyError(sid)
                if session.queue:
                    item = session.queue.popleft()
                    item.taken = True
                    return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                session.cond.wait(min(remaining, POLL_GRACE / 3))

    def answer(self, sid: str, item_id: str, answer: dict) -> bool:
        session = self.get(sid)
        if session is None:
            raise KeyError(sid)
        with session.cond:
            session.last_poll = time.monotonic()
            item = session.items.get(item_id)
        if item is None:
            return False
        item.answer = answer
        item.done.set()
        return True


def hub_of(sim) -> ListenHub:
    hub = getattr(sim, "_listen_hub", None)
    if hub is None:
        with _HUB_LOCK:
            hub = getattr(sim, "_listen_hub", None)
            if hub is None:
                hub = ListenHub(sim)
                sim._listen_hub = hub
    return hub


_HUB_LOCK = threading.Lock()
