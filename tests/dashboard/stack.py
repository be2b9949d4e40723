"""A real delivery stack for the dashboard tests: the simulator on a socket with its delivery
engine, the reference receiver (SQLite) registered as a webhook endpoint through Stripe's own
API call, and a hostile endpoint that answers 400 with HTML, to prove the page escapes it."""
from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from harness.receiver.config import ReceiverConfig
from harness.receiver.server import ReceiverServer, free_port
from simulator.core import Simulator
from simulator.server import SimulatorServer

HOSTILE_BODY = b'<b id="injected">owned</b><script>document.title="pwned"</script>'
POSX_HEADERS = {"Authorization": "Bearer posx-test-token", "X-Site-Code": "NA"}


class _Hostile(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(400)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(HOSTILE_BODY)))
        self.end_headers()
        self.wfile.write(HOSTILE_BODY)

    def log_message(self, *args):
        pass


@dataclass
class Stack:
    sim: Simulator
    server: SimulatorServer
    receiver: ReceiverServer
    api: requests.Session
    endpoint: dict
    hostile: dict

    @property
    def dashboard(self) -> str:
        return self.server.url + "/_sim/dashboard/"

    @property
    def log(self):
        return self.sim.engine.log

    def fail_next(self, n: int) -> None:
        r = requests.post(self.receiver.url + "/_posx/faults/", json={"fail_next": n}, timeout=5)
        r.raise_for_status()

    def pay(self, card: str = "pm_card_visa") -> str:
        """An order on the receiver (which makes its intent on the simulator), then paid: the
        payment's events go out to the registered endpoints for real."""
        order = requests.post(self.receiver.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                              headers=POSX_HEADERS, timeout=10)
        assert order.status_code == 201, order.text
        pi = order.json()["stripe_payment_intent_id"]
        self.api.post(f"{self.server.url}/v1/payment_intents/{pi}/confirm", data={"payment_method": card}, timeout=10)
        return pi

    def wait(self, timeout: float = 10.0, **filters) -> list:
        return self.sim.engine.wait_for(timeout=timeout, **filters)


@contextmanager
def delivery_stack(tmp_path, control_token=None):
    sim = Simulator(seed=7)
    server = SimulatorServer(sim, control_token=control_token).start()
    hostile_srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=hostile_srv.serve_forever, daemon=True).start()
    receiver = None
    try:
        api = requests.Session()
        api.headers["Authorization"] = "Bearer sk_test_dashboard"
        port = free_port()
        endpoint = api.post(server.url + "/v1/webhook_endpoints", data=[
            ("url", f"http://127.0.0.1:{port}/api/v1/webhooks/stripe/"), ("enabled_events[]", "*")], timeout=10).json()
        hostile = api.post(server.url + "/v1/webhook_endpoints", data=[
            ("url", f"http://127.0.0.1:{hostile_srv.server_port}/hook"),
            ("enabled_events[]", "payment_intent.succeeded")], timeout=10).json()
        config = ReceiverConfig(webhook_secret=endpoint["secret"], stripe_api_base=server.url,
                                database_url=f"sqlite:///{tmp_path}/receiver.sqlite3", enable_fault_hooks=True)
        receiver = ReceiverServer(config, port=port).start()
        yield Stack(sim, server, receiver, api, endpoint, hostile)
    finally:
        if receiver is not None:
            receiver.stop()
        hostile_srv.shutdown()
        hostile_srv.server_close()
        server.stop()
        sim.close()
