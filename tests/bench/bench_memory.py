"""Benchmark: memory stays bounded with the payments cap, at a flat rate, through the backend
(no HTTP). Each payment is create + confirm (pm_card_visa) on ``StripeBackend``, with a
webhook endpoint whose deliveries a listener acknowledges at once (what a healthy receiver
does, so payments finish); the simulated clock moves ``--step`` seconds a payment, so event
retention (30 days) drops old events too.

Reports, for every tenth of the run: payments/s (CPU time of this process, so the
neighbours on a shared machine skew it less), resident memory, payments kept. Then the
last/first tenth rate ratio and the peak RSS against the limit. ``--per-payment N`` first
measures memory per kept payment without a cap (RSS growth over N payments / N).

    .venv/bin/python tests/bench/bench_memory.py --payments 1000000 --max-payments 20000
    .venv/bin/python tests/bench/bench_memory.py --payments 200000 --state-file /tmp/st.json

Exit code 0 when peak RSS < --limit-mb and last/first >= 0.9 (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from simulator.clock import Clock  # noqa: E402
from simulator.core import Simulator  # noqa: E402

TARGET_RATIO = 0.9


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def make(max_payments, state_file=None, fsync="never"):
    clock = Clock(time_scale=0, start=1_750_000_000)
    sim = Simulator(seed=1, clock=clock, delivery=False)
    backend = sim.backend
    backend.set_limits(max_payments=max_payments, event_retention=30 * 86400)
    backend.create_webhook_endpoint({"url": "https://bench.test/hook", "enabled_events": ["*"]})
    # A receiver that answers every delivery 2xx at once: events are acknowledged.
    backend.add_event_listener(lambda record: backend.acknowledge_webhook(record.id))
    store = None
    if state_file:
        from simulator.persistence import DurableStore
        store = DurableStore(sim, state_file, fsync=fsync).open()
    return sim, store


def pay(backend, clock, i: int, step: float) -> None:
    req = {"id": "req_bench%d" % i, "idempotency_key": None}
    pi = backend.create_payment_intent({"amount": "2000", "currency": "usd", "metadata": {"order_id": str(i)}},
                                       request=req)
    backend.confirm_payment_intent(pi["id"], {"payment_method": "pm_card_visa"}, request=req)
    clock.advance(step)


def per_payment(n: int, step: float) -> float:
    sim, _ = make(None)
    gc.collect()
    before = rss_mb()
    for i in range(n):
        pay(sim.backend, sim.clock, i, step)
    gc.collect()
    grown = rss_mb() - before
    kept = len(sim.backend.payment_intents)
    print("memory per kept payment (no cap, %d payments, %d events): %.1f KB (RSS +%.0f MB)"
          % (kept, len(sim.backend.events), grown * 1000 / kept, grown), flush=True)
    sim.close()
    return grown * 1000 / kept


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--payments", type=int, default=1_000_000)
    p.add_argument("--max-payments", type=int, default=20_000, help="the cap (default 20000)")
    p.add_argument("--step", type=float, default=5.0, help="simulated seconds a payment (default 5)")
    p.add_argument("--limit-mb", type=float, default=2000.0)
    p.add_argument("--per-payment", type=int, default=0, help="first measure memory per payment over N")
    p.add_argument("--state-file", help="also journal to this state file (a fresh one)")
    p.add_argument("--fsync", default="never")
    args = p.parse_args(argv)
    print("backend only: %d payments, cap %d, %.0f simulated s a payment, event retention 30 days%s"
          % (args.payments, args.max_payments, args.step,
             ", journaled to %s (fsync %s)" % (args.state_file, args.fsync) if args.state_file else ""), flush=True)
    if args.per_payment:
        per_payment(args.per_payment, args.step)
    sim, store = make(args.max_payments, args.state_file, args.fsync)
    backend, clock = sim.backend, sim.clock
    tenth = max(1, args.payments // 10)
    windows = []
    peak = rss_mb()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for i in range(args.payments):
        pay(backend, clock, i, args.step)
        if (i + 1) % tenth == 0:
            cpu = time.process_time()
            rate = tenth / max(cpu - cpu0, 1e-9)
            cpu0 = cpu
            now_rss = rss_mb()
            peak = max(peak, now_rss)
            windows.append(rate)
            print("  %8d payments: %5.0f payments/s (CPU), RSS %6.0f MB, kept %6d payments / %7d events, "
                  "dropped %d payments / %d events%s"
                  % (i + 1, rate, now_rss, len(backend.payment_intents), len(backend.events),
                     backend.dropped["payments"], backend.dropped["events"],
                     (", state files %.0f MB" % (sum(os.path.getsize(os.path.join(os.path.dirname(args.state_file), f))
                                                     for f in os.listdir(os.path.dirname(args.state_file))
                                                     if f.startswith(os.path.basename(args.state_file))) / 1e6)
                      if args.state_file else "")), flush=True)
    wall = time.perf_counter() - wall0
    peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    ratio = windows[-1] / windows[0]
    print("wall %.0f s; first tenth %.0f/s, last tenth %.0f/s, last/first %.2f (target >= %.2f); "
          "peak RSS %.0f MB (limit %.0f)" % (wall, windows[0], windows[-1], ratio, TARGET_RATIO, peak, args.limit_mb))
    if store is not None:
        print("store: %s" % store.status())
        store.close(compact=False)
    sim.close()
    ok = peak < args.limit_mb and ratio >= TARGET_RATIO
    print("RESULT: %s" % ("targets met" if ok else "targets MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
