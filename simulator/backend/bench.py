"""Backend-only throughput: create+confirm pairs straight on ``StripeBackend``.

``python -m simulator.backend.bench [--payments 20000]`` prints pairs/s overall and for the
first and last 10% (CPU time of this process, so other load on a shared machine skews it
less than wall time), the last/first ratio, and peak memory. The end-to-end target (HTTP +
SDK) is measured by the API benchmark; this one shows what the data structures cost.
"""
from __future__ import annotations

import argparse
import resource
import time
from typing import Optional

from simulator.clock import Clock
from simulator.rng import SeededRandom

from .backend import StripeBackend


def run(payments: int, seed: int = 1, with_listener: bool = True) -> dict:
    backend = StripeBackend(SeededRandom(seed), Clock())
    backend.create_webhook_endpoint({"url": "https://bench.test/hook", "enabled_events": ["*"]})
    if with_listener:
        # What the delivery engine does at least: read each event once.
        backend.add_event_listener(lambda record: record.event)
    costs = []
    clock = time.process_time
    wall = time.perf_counter()
    for i in range(payments):
        start = clock()
        req = {"id": "req_bench%d" % i, "idempotency_key": None}
        pi = backend.create_payment_intent(
            {"amount": "2000", "currency": "usd", "metadata": {"order_id": str(i)}}, request=req)
        backend.confirm_payment_intent(pi["id"], {"payment_method": "pm_card_visa"}, request=req)
        costs.append(clock() - start)
    wall = time.perf_counter() - wall
    tenth = max(1, payments // 10)
    first, last = sum(costs[:tenth]), sum(costs[-tenth:])
    return {"payments": payments, "pairs_per_s_cpu": payments / sum(costs),
            "pairs_per_s_wall": payments / wall, "first_10pct_per_s": tenth / first,
            "last_10pct_per_s": tenth / last, "last_over_first": first / last,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "events": len(backend.events)}


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.backend.bench", description=__doc__)
    parser.add_argument("--payments", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.payments, args.seed)
    for key, value in result.items():
        print("%-20s %s" % (key, "%.3f" % value if isinstance(value, float) else value))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
