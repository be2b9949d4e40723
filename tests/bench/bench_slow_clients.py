"""Benchmark: how the simulator answers while slow and idle clients hold connections open.

Opens ``--slow`` clients that send a request line and one header and then nothing, and
``--idle`` keep-alive connections that made one request and wait, against a
``SimulatorServer`` in this process; then times ``GET /_sim/health`` and PaymentIntent
create+confirm pairs through the official SDK (``--samples`` of each: median and max).
Targets (issue 19): health under 100 ms, a pair under 1 s, with 200 slow and 1,000 idle.

    .venv/bin/python tests/bench/bench_slow_clients.py
    .venv/bin/python tests/bench/bench_slow_clients.py --slow 16 --idle 0 --server waitress

Exit code 0 when both targets are met, 1 otherwise (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEALTH_TARGET_S = 0.100
PAIR_TARGET_S = 1.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--slow", type=int, default=200)
    p.add_argument("--idle", type=int, default=1000)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--server", default=None, help="SimulatorServer(server=...); default: its default")
    p.add_argument("--timeout", type=float, default=30.0, help="per request (a stalled front shows as a timeout)")
    args = p.parse_args(argv)

    import requests
    import stripe

    from simulator.core import Simulator
    from simulator.server import SimulatorServer
    from tests.slowclients import close_all, idle_keepalive_clients, stalled_clients

    kwargs = {"server": args.server} if args.server else {}
    load = os.getloadavg()[0]
    with SimulatorServer(Simulator(seed=19, delivery=False), **kwargs) as server:
        print("front: %s; %d slow + %d idle clients; %d samples; %d cores, load %.2f"
              % (server.server_kind, args.slow, args.idle, args.samples, os.cpu_count(), load), flush=True)
        slow = idle = None
        health, pairs, failures = [], [], []
        try:
            opened = time.monotonic()
            slow = stalled_clients(server.port, args.slow)
            try:
                idle = idle_keepalive_clients(server.port, args.idle)
            except OSError as exc:  # a front that cannot hold them: part of the figures
                failures.append("idle clients: %r" % (exc,))
            print("opened in %.2f s" % (time.monotonic() - opened), flush=True)
            client = stripe.StripeClient("sk_test_bench_slow", base_addresses={"api": server.url},
                                         max_network_retries=0, http_client=stripe.RequestsClient(timeout=args.timeout))
            session = requests.Session()
            for _ in range(args.samples):
                started = time.perf_counter()
                try:
                    assert session.get(server.url + "/_sim/health", timeout=args.timeout).status_code == 200
                    health.append(time.perf_counter() - started)
                except Exception as exc:
                    failures.append("health: %r" % (exc,))
                    break
                started = time.perf_counter()
                try:
                    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd",
                                                                  "payment_method": "pm_card_visa"})
                    assert client.v1.payment_intents.confirm(pi.id).status == "succeeded"
                    pairs.append(time.perf_counter() - started)
                except Exception as exc:
                    failures.append("pair: %r" % (exc,))
                    break
        finally:
            close_all(slow, idle)

    def show(name, values, target):
        if not values:
            print("%s: no answer" % name)
            return False
        print("%s: median %.1f ms, max %.1f ms (target < %.0f ms)"
              % (name, statistics.median(values) * 1e3, max(values) * 1e3, target * 1e3))
        return max(values) < target

    ok = show("GET /_sim/health", health, HEALTH_TARGET_S) & show("create+confirm pair", pairs, PAIR_TARGET_S)
    for failure in failures:
        print("FAILED " + failure)
    return 0 if ok and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
