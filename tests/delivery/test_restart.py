"""Nothing lost on restart: a real ``stripe-sim serve`` subprocess with a state file keeps
events, endpoints and pending retries across a stop and start, and delivery resumes."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import requests

from tests.delivery.support import Receiver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Only the serve command, so the test does not depend on sibling sub-commands being importable.
SERVE = ("import sys; from simulator.commands import dispatch; "
         "sys.exit(dispatch('stripe-sim', 'serve', {'serve': ('simulator.cli.serve', 'serve')}, sys.argv[1:]))")
API = {"Authorization": "Bearer sk_test_restart"}


class Serve:
    def __init__(self, state_file):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", "0", "--seed", "3", "--time-scale", "0",
             "--state-file", state_file],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
                return
        self.proc.kill()
        raise AssertionError("serve did not start:\n" + "".join(self.lines) + self.proc.stdout.read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        self.lines.append(out)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


def _poll(fn, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.05)  # polling a subprocess over HTTP, bounded by the deadline
    raise AssertionError("timed out waiting for %s; last: %r" % (what, last))


def test_pending_retries_survive_a_restart_and_are_delivered(tmp_path):
    state = str(tmp_path / "state.json")
    # Bound but not listening: connections are refused, and no other process can take the port.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    hook = "http://127.0.0.1:%d/webhooks/stripe/" % port
    first = Serve(state)
    try:
        ep = requests.post(first.url + "/v1/webhook_endpoints", headers=API,
                           data={"url": hook, "enabled_events[]": "*"}).json()
        secret = ep["secret"]
        pi = requests.post(first.url + "/v1/payment_intents", headers=API,
                           data={"amount": "2000", "currency": "usd", "payment_method": "pm_card_visa",
                                 "confirm": "true", "payment_method_types[]": "card"}).json()
        assert pi["status"] == "succeeded", pi

        r = requests.post(first.url + "/_sim/deliveries/wait",
                          json={"filters": {"outcome": "failed"}, "count": 3, "timeout": 15})
        assert r.status_code == 200, r.text
        log = r.json()
        assert {e["error"].split(":")[0] for e in log["data"]} == {"connection_refused"}
        assert first.stop() == 0
    finally:
        first.kill()
    assert os.path.exists(state)

    second = Serve(state)
    holder.close()
    receiver = Receiver(secret=secret, port=port)
    try:
        # The endpoint and events came back ...
        events = requests.get(second.url + "/v1/events", headers=API).json()["data"]
        types = sorted(e["type"] for e in events)
        assert types == sorted(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                "charge.updated"])
        assert [e["pending_webhooks"] for e in events] == [1, 1, 1, 1], events
        # ... and so did the retries: due 600 simulated s after the first attempt. (charge.updated,
        # due 3 s after the payment, may already have been tried again: a restarted frozen clock
        # starts at the new process's wall time.)
        status = requests.get(second.url + "/_sim/deliveries/status").json()
        assert status["pending"] == 4, status
        requests.post(second.url + "/_sim/clock", json={"advance": 600})
        got = receiver.wait_count(4, timeout=15)
        assert all(r["accepted"] for r in got), [r["error"] for r in got]
        assert sorted(r["type"] for r in got) == types
        delivered = requests.post(second.url + "/_sim/deliveries/wait",
                                  json={"filters": {"outcome": "succeeded"}, "count": 4, "timeout": 15}).json()["data"]
        retried = {e["event_type"]: e["attempt"] for e in delivered}
        assert retried["payment_intent.created"] == retried["charge.succeeded"] == 2
        assert retried["payment_intent.succeeded"] == 2
        _poll(lambda: all(e["pending_webhooks"] == 0 for e in
                          requests.get(second.url + "/v1/events", headers=API).json()["data"]),
              what="pending_webhooks to reach 0")
        assert second.stop() == 0
    finally:
        second.kill()
        receiver.close()
