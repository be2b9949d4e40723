"""Benchmark: signed webhook deliveries per second, and the delay from recording an event to
its delivery.

Setup: the delivery engine in this process over a minimal backend that records realistic
events (the observed charge.succeeded payload from tests/reference/, fresh ids);
the receiver is a trivial keep-alive HTTP server in its own process (asyncio, answers 200
without verifying: the bench measures the sender). Same run, as a baseline for the ratio:
one ``requests.post`` per delivery (how a naive sender, and localstripe, sends).

    .venv/bin/python tests/bench/bench_delivery.py                 # defaults: 20000 events
    .venv/bin/python tests/bench/bench_delivery.py --events 5000 --latency-events 300

Targets: >= 2,000 signed deliveries/s; p50 record-to-delivery < 10 ms (localstripe: 1.5 s,
a fixed sleep). Exit 0 when both are met, 1 otherwise (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATE = 2000.0
TARGET_P50_MS = 10.0
SECRET = "whsec_bench_0123456789abcdef"


# ---------------------------------------------------------------- the trivial receiver

def receiver_main(port_out, ready) -> None:
    import asyncio

    response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"received\":true}"[:-1]
    response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"received\":1}\n"

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(response)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port_out.value = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- a minimal backend

class BenchBackend:
    def __init__(self, clock, url, payload):
        self.clock = clock
        self.lock = threading.RLock()
        self.events = {}
        self.webhook_endpoints = {"we_bench": {"id": "we_bench", "url": url, "enabled_events": ["*"],
                                               "status": "enabled"}}
        self._listeners = []
        self._payload = payload
        self._n = 0

    def add_event_listener(self, fn):
        self._listeners.append(fn)

    def active_secrets(self, eid):
        return [SECRET]

    def acknowledge_webhook(self, event_id):
        with self.lock:
            self.events[event_id].event["pending_webhooks"] -= 1

    def update_webhook_endpoint(self, eid, params):
        self.webhook_endpoints[eid]["status"] = "disabled"

    def record(self):
        with self.lock:
            self._n += 1
            n = self._n
        event = dict(self._payload)
        event["id"] = "evt_bench%08d" % n
        event["data"] = {"object": dict(self._payload["data"]["object"], id="ch_bench%08d" % n)}
        event["pending_webhooks"] = 1
        record = SimpleNamespace(event=event, available_at=self.clock.now(), payment_intent=None,
                                 object_ids=(event["data"]["object"]["id"],))
        with self.lock:
            self.events[event["id"]] = record
        for fn in self._listeners:
            fn(record)
        return record


def load_payload() -> dict:
    from tests import reference
    return reference.load("observed_charge_succeeded")["payload"]


# ---------------------------------------------------------------- measurements

def throughput(url, payload, events, workers, concurrency):
    from simulator.clock import Clock
    from simulator.delivery import DeliveryEngine
    from simulator.rng import SeededRandom

    clock = Clock()
    backend = BenchBackend(clock, url, payload)
    engine = DeliveryEngine(backend, clock, SeededRandom(1), workers=workers, endpoint_concurrency=concurrency,
                            max_log=None)
    engine.start()
    # warm the connections
    for _ in range(50):
        backend.record()
    engine.wait_idle(30)
    engine.log.clear()
    start = time.perf_counter()
    for _ in range(events):
        backend.record()
    engine.wait_idle(600)
    elapsed = time.perf_counter() - start
    log = engine.log.entries()
    engine.stop()
    ok = sum(1 for e in log if e["status"] == 200)
    assert ok == events, "only %d of %d deliveries got a 200" % (ok, events)
    return events / elapsed


def latency(url, payload, events):
    """Record one event at a time; time until its attempt is logged (a full round trip, so an
    upper bound on record-to-arrival)."""
    from simulator.clock import Clock
    from simulator.delivery import DeliveryEngine
    from simulator.rng import SeededRandom

    clock = Clock()
    backend = BenchBackend(clock, url, payload)
    engine = DeliveryEngine(backend, clock, SeededRandom(1), workers=4)
    engine.start()
    backend.record()
    engine.wait_idle(10)
    delays = []
    for _ in range(events):
        t0 = time.perf_counter()
        rec = backend.record()
        engine.wait_for(event=rec.event["id"], timeout=10)
        delays.append((time.perf_counter() - t0) * 1000.0)
    engine.stop()
    delays.sort()
    return {"p50": statistics.median(delays), "p90": delays[int(len(delays) * 0.9)],
            "p99": delays[int(len(delays) * 0.99)], "max": delays[-1]}


def naive_baseline(url, payload, events):
    """One requests.post per delivery, signing each: the ratio's denominator."""
    import requests

    from simulator import signing
    from simulator.delivery.transport import BASE_HEADERS

    start = time.perf_counter()
    for n in range(events):
        event = dict(payload, id="evt_naive%08d" % n)
        body = json.dumps(event, indent=2).encode()
        headers = dict(BASE_HEADERS, **{"Stripe-Signature": signing.generate_header(body, SECRET)})
        r = requests.post(url, data=body, headers=headers, timeout=30)
        assert r.status_code == 200
    return events / (time.perf_counter() - start)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--latency-events", type=int, default=500)
    ap.add_argument("--baseline-events", type=int, default=1000)
    ap.add_argument("--configs", default="8x1,8x2,8x4", help="workers x per-endpoint concurrency, comma separated")
    args = ap.parse_args(argv)

    ctx = mp.get_context("spawn")
    port, ready = ctx.Value("i", 0), ctx.Event()
    proc = ctx.Process(target=receiver_main, args=(port, ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(20):
            print("receiver did not start", file=sys.stderr)
            return 1
        url = "http://127.0.0.1:%d/webhooks/stripe/" % port.value
        payload = load_payload()
        body_size = len(json.dumps(payload, indent=2))
        print("machine: %d cores (os.cpu_count), python %s; event body %d bytes; receiver: asyncio, own process"
              % (os.cpu_count(), sys.version.split()[0], body_size))
        baseline = naive_baseline(url, payload, args.baseline_events)
        print("baseline  requests.post per delivery: %8.0f deliveries/s (%d events)" % (baseline, args.baseline_events))
        best = 0.0
        for cfg in args.configs.split(","):
            w, c = (int(x) for x in cfg.split("x"))
            rate = throughput(url, payload, args.events, w, c)
            best = max(best, rate)
            print("engine    workers=%d concurrency/endpoint=%d: %8.0f deliveries/s (%d events)  %.1fx baseline"
                  % (w, c, rate, args.events, rate / baseline))
        lat = latency(url, payload, args.latency_events)
        print("latency   record -> delivered (round trip), %d events one at a time: p50 %.2f ms  p90 %.2f ms  "
              "p99 %.2f ms  max %.2f ms" % (args.latency_events, lat["p50"], lat["p90"], lat["p99"], lat["max"]))
        met = best >= TARGET_RATE and lat["p50"] < TARGET_P50_MS
        print("targets   >= %.0f/s: %s   p50 < %.0f ms: %s" % (
            TARGET_RATE, "met" if best >= TARGET_RATE else "MISSED", TARGET_P50_MS,
            "met" if lat["p50"] < TARGET_P50_MS else "MISSED"))
        return 0 if met else 1
    finally:
        proc.terminate()
        proc.join(5)


if __name__ == "__main__":
    sys.exit(main())
