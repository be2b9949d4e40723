"""``stripe-sim demo``: four test cards through the official SDK, webhooks verified on arrival.

Everything runs in this process: the simulator on a free port, a small webhook receiver
that checks every delivery with the official SDK's ``stripe.Webhook.construct_event``, and
the SDK client. The table shows, per card, what the API answered, the events Stripe would
record (in order) and how many of them reached the receiver with a valid signature.
Exit 0 when every card behaved as Stripe's test card does and every event arrived signed.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# card number -> (label, what Stripe does with it)
CARDS = [
    ("4242424242424242", "succeeds"),
    ("4000000000000002", "declined: generic_decline"),
    ("4000000000009995", "declined: insufficient_funds"),
    ("4000000000000259", "succeeds, then disputed"),
]
EXPECTED_EVENTS = {
    "4242424242424242": ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"],
    "4000000000000002": ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"],
    "4000000000009995": ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"],
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=4242, help="seed for ids (default 4242)")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for deliveries (default 15)")


class Receiver:
    """A webhook endpoint that verifies each delivery as a real integration would."""

    def __init__(self):
        self.secret = None
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                import stripe

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                entry = {"verified": False}
                try:
                    event = stripe.Webhook.construct_event(body, self.headers.get("Stripe-Signature", ""),
                                                           receiver.secret)
                    entry.update(verified=True, id=event.id, type=event.type)
                    status = 200
                except (ValueError, stripe.SignatureVerificationError) as exc:
                    entry["error"] = str(exc)
                    status = 400
                except Exception as exc:  # reported as a problem, never a traceback on the console
                    entry["error"] = "receiver failed: %r" % exc
                    status = 500
                with receiver.lock:
                    receiver.received.append(entry)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/webhooks/stripe" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def verified_ids(self) -> set:
        with self.lock:
            return {e["id"] for e in self.received if e["verified"]}

    def failures(self) -> list:
        with self.lock:
            return [e for e in self.received if not e["verified"]]


def _pay(client, number: str):
    import stripe

    pm = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "payment_method": pm.id,
                                                  "metadata": {"demo_card": number[-4:]}})
    try:
        pi = client.v1.payment_intents.confirm(pi.id)
        return pi.id, pi.status, None
    except stripe.CardError as exc:
        return pi.id, "declined", exc.error.decline_code


def run(args: argparse.Namespace) -> int:
    import stripe

    from simulator.core import Simulator
    from simulator.server import SimulatorServer

    # Time runs 20x so the charge.updated Stripe sends ~3 s after a payment comes in ~0.15 s.
    sim = Simulator(seed=args.seed, time_scale=20.0)
    problems: list[str] = []
    rows = []
    try:
        with SimulatorServer(sim) as server, Receiver() as receiver:
            client = stripe.StripeClient("sk_test_demo", base_addresses={"api": server.url}, max_network_retries=0)
            endpoint = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
            receiver.secret = endpoint.secret
            print("simulator: %s   webhook receiver: %s" % (server.url, receiver.url))
            for number, expect in CARDS:
                pi_id, status, decline = _pay(client, number)
                rows.append({"card": number[-4:], "number": number, "expect": expect, "pi": pi_id,
                             "status": status if decline is None else "declined (%s)" % decline,
                             "decline": decline})
            # Everything recorded for these payments must arrive, verified.
            wanted = lambda: {rec.event["id"] for rec in list(sim.backend.events.values())  # noqa: E731
                              if rec.payment_intent in {r["pi"] for r in rows}}
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                expected_ids = wanted()
                if expected_ids and expected_ids <= receiver.verified_ids() and _disputes_in(sim, rows):
                    break
                time.sleep(0.05)  # polling the receiver with a deadline
            events_by_pi: dict[str, list] = {}
            for rec in list(sim.backend.events.values()):
                events_by_pi.setdefault(rec.payment_intent, []).append(rec.event)
            verified = receiver.verified_ids()
            for row in rows:
                evs = events_by_pi.get(row["pi"], [])
                row["events"] = [e["type"] for e in evs]
                row["delivered"] = sum(1 for e in evs if e["id"] in verified)
                problems.extend(_check(row))
            for bad in receiver.failures():
                problems.append("a delivery failed signature verification: %s" % bad.get("error"))
    finally:
        sim.close()
    _print_table(rows)
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print("  - " + p)
        return 1
    print("\nOK: every card behaved like Stripe's test card; all %d events arrived with valid signatures."
          % sum(r["delivered"] for r in rows))
    return 0


def _disputes_in(sim, rows) -> bool:
    disputed = [r["pi"] for r in rows if r["number"] == "4000000000000259"]
    return all(any(rec.payment_intent == pi and rec.event["type"] == "charge.dispute.created"
                   for rec in list(sim.backend.events.values())) for pi in disputed)


def _check(row: dict) -> list[str]:
    out = []
    card, events = row["card"], row["events"]
    expected = EXPECTED_EVENTS.get(row["number"])
    if row["number"] == "4000000000000259":
        if row["status"] != "succeeded" or "charge.dispute.created" not in events:
            out.append("%s: expected a succeeded payment then charge.dispute.created, got %s %s"
                       % (card, row["status"], events))
    elif expected is not None and events != expected:
        out.append("%s: events %s, expected %s" % (card, events, expected))
    if row["number"] == "4242424242424242" and row["status"] != "succeeded":
        out.append("%s: status %s, expected succeeded" % (card, row["status"]))
    if row["number"] in ("4000000000000002", "4000000000009995"):
        want = "generic_decline" if row["number"].endswith("0002") else "insufficient_funds"
        if row["decline"] != want:
            out.append("%s: decline code %s, expected %s" % (card, row["decline"], want))
    if row["delivered"] != len(events):
        out.append("%s: %d of %d events reached the receiver with a valid signature"
                   % (card, row["delivered"], len(events)))
    return out


def _print_table(rows: list[dict], events_width: int = 64) -> None:
    """One row per card; the event list wraps within its column so the table fits a terminal."""
    import textwrap

    headers = ("card", "Stripe test card", "API answer", "delivered+verified", "events recorded (in order)")
    table = []
    for r in rows:
        events = textwrap.wrap(", ".join(r.get("events", [])), events_width) or [""]
        first = (r["card"], r["expect"], r["status"], "%d/%d" % (r.get("delivered", 0), len(r.get("events", []))))
        table.append(first + (events[0],))
        table.extend(("", "", "", "", more) for more in events[1:])
    widths = [max([len(h)] + [len(line[i]) for line in table]) for i, h in enumerate(headers)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for line in table:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    sys.stdout.flush()


__all__ = ["add_arguments", "run"]
