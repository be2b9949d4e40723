"""Helpers for the receiver tests: realistic signed events, in-process WSGI and ASGI clients."""
from __future__ import annotations

import copy
import io
import itertools
import json
import time
from typing import Callable, Dict, Optional, Tuple

from simulator.signing import generate_header

SECRET = "whsec_receiver_tests_0123456789abcdef"
TOKEN = "posx-test-token"
API_HEADERS = {"Authorization": "Bearer " + TOKEN, "X-Site-Code": "NA"}
OBSERVED = "/work/shared/stripe-reference/observed-basil-sequences.json"

_ids = itertools.count(1)


def _observed() -> Dict:
    try:
        with open(OBSERVED) as f:
            return json.load(f)["objects"]
    except (OSError, ValueError, KeyError):
        return {}


OBSERVED_OBJECTS = _observed()


def new_id(prefix: str) -> str:
    return "%s_test%06d%d" % (prefix, next(_ids), int(time.time() * 1000) % 100000)


def payment_intent(order: Dict, status: str = "succeeded", **extra) -> Dict:
    obj = copy.deepcopy(OBSERVED_OBJECTS.get("payment_intent.succeeded", {"object": "payment_intent"}))
    obj.update(id=order["stripe_payment_intent_id"], amount=order["amount"], currency=order.get("currency", "usd"),
               status=status, metadata={"order_id": order["id"]},
               amount_received=order["amount"] if status == "succeeded" else 0)
    obj.update(extra)
    return obj


def charge(order: Dict, status: str = "succeeded", charge_id: Optional[str] = None, **extra) -> Dict:
    key = "charge.succeeded" if status == "succeeded" else "charge.failed"
    obj = copy.deepcopy(OBSERVED_OBJECTS.get(key, {"object": "charge"}))
    # Stripe copies the intent's metadata onto its charges; the pi id is what we rely on.
    obj.update(id=charge_id or "ch_" + order["stripe_payment_intent_id"][3:], amount=order["amount"], status=status,
               currency=order.get("currency", "usd"), captured=status == "succeeded",
               amount_captured=order["amount"] if status == "succeeded" else 0,
               payment_intent=order["stripe_payment_intent_id"], metadata={"order_id": order["id"]})
    obj.update(extra)
    return obj


def dispute(order: Dict, **extra) -> Dict:
    obj = {"id": new_id("dp"), "object": "dispute", "amount": order["amount"], "currency": "usd",
           "charge": "ch_" + order["stripe_payment_intent_id"][3:], "payment_intent": order["stripe_payment_intent_id"],
           "reason": "fraudulent", "status": "needs_response", "metadata": {}}
    obj.update(extra)
    return obj


def event(etype: str, obj: Dict, event_id: Optional[str] = None) -> Dict:
    return {"id": event_id or new_id("evt"), "object": "event", "api_version": "2025-08-27.basil",
            "created": int(time.time()), "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": etype}


def payment_events(order: Dict) -> Dict[str, Dict]:
    """The four events of a 4242 payment, as Stripe emits them."""
    return {
        "payment_intent.created": event("payment_intent.created", payment_intent(order, "requires_payment_method")),
        "charge.succeeded": event("charge.succeeded", charge(order)),
        "payment_intent.succeeded": event("payment_intent.succeeded", payment_intent(order)),
        "charge.updated": event("charge.updated", charge(order, balance_transaction="txn_" + order["id"][:8])),
    }


def signed(evt: Dict, secret: str = SECRET, timestamp: Optional[int] = None) -> Tuple[bytes, Dict[str, str]]:
    body = json.dumps(evt).encode()
    return body, {"Stripe-Signature": generate_header(body, secret, timestamp=timestamp),
                  "Content-Type": "application/json; charset=utf-8"}


class AppClient:
    """Calls a ``ReceiverApp`` in-process through WSGI: the real code path minus sockets."""

    def __init__(self, app):
        self.app = app

    def request(self, method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
                   "wsgi.input": io.BytesIO(body)}
        for k, v in (headers or {}).items():
            environ["HTTP_" + k.upper().replace("-", "_")] = v
        status = []
        chunks = self.app(environ, lambda s, h: status.append(int(s.split()[0])))
        data = b"".join(chunks)
        return status[0], (json.loads(data) if data else None)

    def create_order(self, tier_id: str = "tier_starter", quantity: int = 1, headers=None) -> Dict:
        status, body = self.request("POST", "/api/v1/orders/", json.dumps({"tier_id": tier_id, "quantity": quantity}).encode(),
                                    headers or API_HEADERS)
        assert status == 201, body
        return body

    def get_order(self, order_id: str) -> Dict:
        status, body = self.request("GET", "/api/v1/orders/%s/" % order_id, headers=API_HEADERS)
        assert status == 200, body
        return body

    def deliver(self, evt: Dict, secret: str = SECRET, timestamp: Optional[int] = None):
        body, headers = signed(evt, secret, timestamp)
        return self.request("POST", "/api/v1/webhooks/stripe/", body, headers)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last value: %r)" % (timeout, what, value))
        time.sleep(0.02)


def asgi_scope(method: str, path: str, headers=()) -> dict:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in dict(headers).items()]}


async def call_asgi(asgi, method: str, path: str, body: bytes = b"", headers=(), chunks=None):
    """One request through an ASGI app as a server would make it; (status, headers, JSON)."""
    pieces = list(chunks) if chunks is not None else [body]
    sent = []

    async def receive():
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await asgi(asgi_scope(method, path, headers), receive, send)
    assert sent and sent[0]["type"] == "http.response.start", sent
    data = b"".join(m.get("body", b"") for m in sent[1:])
    out_headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    assert int(out_headers["content-length"]) == len(data)
    return sent[0]["status"], out_headers, json.loads(data) if data else None


class AsgiResponse:
    def __init__(self, status: int, headers: Dict[str, str], payload):
        self.status_code = status
        self.headers = headers
        self._payload = payload

    def get_json(self):
        return self._payload

    def get_data(self) -> bytes:
        return json.dumps(self._payload).encode()


class AsgiClient:
    """The slice of werkzeug's test ``Client`` the receiver tests use, over an ASGI app, so
    one test can drive both the WSGI app and the ASGI front."""

    def __init__(self, asgi):
        self.asgi = asgi

    def open(self, path: str, method: str = "GET", data: bytes = b"", json_body=None, headers=None):
        import asyncio
        if json_body is not None:
            data = json.dumps(json_body).encode()
        status, out_headers, payload = asyncio.run(call_asgi(self.asgi, method, path, data or b"", headers or {}))
        return AsgiResponse(status, out_headers, payload)

    def post(self, path: str, data: bytes = b"", json=None, headers=None):
        return self.open(path, "POST", data, json, headers)


def count_transactions(db) -> None:
    """Wrap ``db.transaction`` so a test can read ``db.transactions``: how many write
    transactions ran since."""
    import contextlib
    db.transactions = 0
    real = db.transaction

    @contextlib.contextmanager
    def counted():
        db.transactions += 1
        with real() as tx:
            yield tx
    db.transaction = counted
