"""An endpoint that fails one delivery in five (500), fed real payments on a simulator whose
clock only moves when the test says so: the figures then hold still while they are compared."""
from __future__ import annotations

import http.server
import itertools
import threading
import time
from contextlib import contextmanager

import stripe

from simulator.core import Simulator
from simulator.server import SimulatorServer


class FlakyReceiver:
    """Answers 500 to every fifth POST (the 5th, 10th, ...), 200 otherwise."""

    def __init__(self, every: int = 5):
        counter = itertools.count(1)
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    n = next(counter)
                status = 500 if n % every == 0 else 200
                body = b"boom" if status == 500 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_port

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def settle(sim, timeout: float = 15.0) -> None:
    """Until nothing is due now: no queued or in-flight attempt (parked future retries may stay)."""
    deadline = time.monotonic() + timeout
    while True:
        s = sim.engine.status()
        due = s["next_due"] is not None and s["next_due"] <= sim.clock.now()
        if s["queued"] == 0 and s["pending"] == s["parked"] and not due:
            return
        assert time.monotonic() < deadline, "deliveries did not settle: %s" % s
        time.sleep(0.02)  # poll interval of the condition above


@contextmanager
def flaky_endpoint(control_token=None):
    sim = Simulator(seed=31, time_scale=0)  # frozen: time moves only by clock.advance
    receiver = FlakyReceiver()
    server = SimulatorServer(sim, control_token=control_token).start()
    try:
        client = stripe.StripeClient("sk_test_monitoring", base_addresses={"api": server.url})
        ep = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
        yield sim, server, client, ep
    finally:
        server.stop()
        sim.close()
        receiver.close()


def pay(client, n: int) -> None:
    for _ in range(n):
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd",
                                                 "payment_method": "pm_card_visa", "confirm": True})
