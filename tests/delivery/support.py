"""Test doubles for delivery tests: a backend with the pinned event interface, and a
webhook receiver built on the official SDK's ``stripe.Webhook.construct_event``."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Callable, Optional

import stripe

SECRET = "whsec_delivery_tests_0123456789"


class FakeBackend:
    """Only what the engine consumes: listeners, events, endpoints, secrets, acknowledgements."""

    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.RLock()
        self.events: dict = {}
        self.webhook_endpoints: dict = {}
        self._secrets: dict = {}
        self._listeners: list = []
        self._n = 0

    def add_event_listener(self, fn) -> None:
        self._listeners.append(fn)

    def add_endpoint(self, url, secret=SECRET, enabled_events=("*",), endpoint_id=None) -> str:
        self._n += 1
        eid = endpoint_id or "we_test%d" % self._n
        self.webhook_endpoints[eid] = {"id": eid, "object": "webhook_endpoint", "url": url,
                                       "enabled_events": list(enabled_events), "status": "enabled",
                                       "secret": secret, "api_version": None}
        self._secrets[eid] = [secret]
        return eid

    def roll_secret(self, eid, new_secret) -> None:
        self._secrets[eid] = [new_secret] + self._secrets[eid]

    def active_secrets(self, eid):
        return list(self._secrets.get(eid, []))

    def update_webhook_endpoint(self, eid, params):
        ep = self.webhook_endpoints[eid]
        if params.get("disabled") in ("true", True):
            ep["status"] = "disabled"
        return ep

    def acknowledge_webhook(self, event_id):
        with self.lock:
            ev = self.events[event_id].event
            ev["pending_webhooks"] = max(0, ev["pending_webhooks"] - 1)

    def record_event(self, type_, obj=None, delay=0.0, payment_intent=None):
        with self.lock:
            self._n += 1
            n = self._n
        obj = obj or {"id": "pi_test%d" % n, "object": "payment_intent", "amount": 2000, "livemode": False}
        now = self.clock.now()
        subs = [e for e in self.webhook_endpoints.values()
                if e["status"] == "enabled" and ("*" in e["enabled_events"] or type_ in e["enabled_events"])]
        event = {"id": "evt_test%05d" % n, "object": "event", "api_version": "2025-08-27.basil",
                 "created": int(now), "data": {"object": obj}, "livemode": False,
                 "pending_webhooks": len(subs), "request": {"id": None, "idempotency_key": None}, "type": type_}
        record = SimpleNamespace(event=event, available_at=now + delay,
                                 payment_intent=payment_intent or obj.get("id"), object_ids=[obj.get("id")])
        with self.lock:
            self.events[event["id"]] = record
        for fn in list(self._listeners):
            fn(record)
        return record


class Receiver:
    """A keep-alive HTTP receiver on 127.0.0.1:0 that verifies with the official SDK.

    ``respond(event_or_None, index)`` may return a status to force (e.g. 500) for the
    index-th request; by default 200 when ``construct_event`` accepts, 400 otherwise, with
    the SDK's error message as the body.
    """

    def __init__(self, secret: str = SECRET, respond: Optional[Callable] = None, delay: float = 0.0,
                 port: int = 0):
        self.secret = secret
        self.respond = respond
        self.delay = delay
        self.requests: list = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this, Nagle + delayed ACK adds 40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def do_POST(self):
                outer._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/webhooks/stripe/" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        header = h.headers.get("Stripe-Signature")
        arrived = time.monotonic()
        if self.delay:
            threading.Event().wait(self.delay)  # a slow receiver, on purpose (the attempt timeout test)
        entry = {"body": body, "signature": header, "headers": dict(h.headers), "path": h.path,
                 "arrived": arrived}
        try:
            event = stripe.Webhook.construct_event(body, header, self.secret)
            entry.update(accepted=True, error=None, event_id=event["id"], type=event["type"])
        except stripe.SignatureVerificationError as exc:
            entry.update(accepted=False, error="SignatureVerificationError: %s" % exc.user_message, event_id=None, type=None)
        except ValueError as exc:
            entry.update(accepted=False, error="ValueError: %s" % exc, event_id=None, type=None)
        with self.cond:
            index = len(self.requests)
        status = 200 if entry["accepted"] else 400
        if self.respond is not None:
            forced = self.respond(entry, index)
            if forced is not None:
                status = forced
        entry["status"] = status
        # Recorded before answering, so a sender that saw the response also sees it here.
        with self.cond:
            self.requests.append(entry)
            self.cond.notify_all()
        out = (json.dumps({"received": True}) if status == 200 else (entry["error"] or "forced %d" % status)).encode()
        try:
            h.send_response(status)
            if 300 <= status < 400:
                h.send_header("Location", "http://127.0.0.1:1/elsewhere")
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(out)))
            h.end_headers()
            h.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True  # the sender gave up (the attempt-timeout test)

    def wait_count(self, n: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("receiver got %d requests, expected %d: %r" % (
                        len(self.requests), n, [(r.get("event_id"), r["status"], r["error"]) for r in self.requests]))
                self.cond.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
