"""Benchmark: what ``--state-file`` costs. Four concurrent SDK clients pay (create + confirm)
against ``stripe-sim serve`` in memory and with ``--state-file``, in the same run,
alternating (memory, state file, memory, state file, ...) so both see the same neighbours.

Checks (issue 15): no 5xx (any error answer stops a client and fails the run), the state
file's payments/s at least 80% of the in-memory rate, and its last 10% of payments at least
90% as fast as its first 10% (the cost of a request does not grow with the state). Both
are also given as server CPU per pair, which the neighbours' load on a shared machine
skews far less than the wall-clock rates.

    .venv/bin/python tests/bench/bench_durable.py --payments 5000
    .venv/bin/python tests/bench/bench_durable.py --payments 5000 --fsync always

Exit code 0 when every check holds, 1 otherwise (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.bench_payments import (client_worker, cpu_windows, process_cpu, rates,  # noqa: E402
                                         serve_command, start_listening)

TARGET_SHARE = 0.8
TARGET_RATIO = 0.9


def start_server(extra: list) -> tuple[subprocess.Popen, str]:
    return start_listening(serve_command("--seed", "1", *extra), timeout=60)


def run_once(label: str, extra: list, payments: int, clients: int, threads: int) -> dict:
    proc, url = start_server(extra)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    share = [payments // clients + (1 if i < payments % clients else 0) for i in range(clients)]
    start_at = time.time() + 3.0  # time for the spawned clients to import stripe
    procs = [ctx.Process(target=client_worker, args=(url, n, threads, start_at, out)) for n in share]
    try:
        for c in procs:
            c.start()
        cpu0 = process_cpu(proc.pid)
        samples, sampling = [], threading.Event()

        def sample() -> None:
            # (time, server CPU): CPU per pair in the first and last 10% shows whether a request
            # costs more as the state grows, whatever the neighbours on the machine are doing.
            while not sampling.wait(0.1):
                samples.append((time.time(), process_cpu(proc.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        times, errors = [], []
        for _ in procs:
            done, errs, _cpu = out.get(timeout=3600)
            times.extend(done)
            errors.extend(errs)
        cpu = process_cpu(proc.pid) - cpu0
        sampling.set()
        sampler.join()
        for c in procs:
            c.join()
    finally:
        for c in procs:
            if c.is_alive():
                c.kill()
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    if errors:
        return {"label": label, "errors": errors}
    r = rates(times, start_at)
    window = cpu_windows(times, samples) or (float("nan"), float("nan"), float("nan"))
    r.update(label=label, errors=[], server_cpu_ms=cpu * 1000 / max(1, r["pairs"]), cpu_first=window[0],
             cpu_last=window[1], cpu_ratio=window[2])
    print("  %-10s %5d pairs in %5.1f s: %4.0f pairs/s; wall first 10%% %4.0f/s, last 10%% %4.0f/s "
          "(last/first %.2f); server CPU %.2f ms/pair, first 10%% %.2f ms, last 10%% %.2f ms (first/last %.2f)"
          % (label, r["pairs"], r["seconds"], r["overall"], r["first10"], r["last10"], r["ratio"],
             r["server_cpu_ms"], r["cpu_first"], r["cpu_last"], r["cpu_ratio"]), flush=True)
    return r


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--payments", type=int, default=5000, help="create+confirm pairs per run (default 5000)")
    p.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    p.add_argument("--threads", type=int, default=1, help="threads per client process (default 1)")
    p.add_argument("--rounds", type=int, default=2, help="memory/state-file pairs of runs (default 2)")
    p.add_argument("--fsync", default="1000", help="the state file's --fsync (default 1000 ms)")
    args = p.parse_args(argv)
    if args.payments < args.clients * args.threads * 10:
        p.error("--payments must be at least 10 per client thread")
    print("stripe-sim serve, %d client process(es) x %d thread(s), %d payments a run, %d round(s); "
          "state file with --fsync %s" % (args.clients, args.threads, args.payments, args.rounds, args.fsync),
          flush=True)
    memory, durable, failed = [], [], []
    sizes = []
    for _ in range(args.rounds):
        memory.append(run_once("memory", [], args.payments, args.clients, args.threads))
        tmp = tempfile.mkdtemp(prefix="bench-durable-")
        try:
            durable.append(run_once("state-file", ["--state-file", os.path.join(tmp, "st.json"),
                                                   "--fsync", args.fsync],
                                    args.payments, args.clients, args.threads))
            sizes.append(sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    for r in memory + durable:
        if r["errors"]:
            failed.append("%s: %d client(s) stopped on an error; first: %s" % (r["label"], len(r["errors"]),
                                                                                r["errors"][0]))
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed))
        return 1
    mem_rate = sum(r["overall"] for r in memory) / len(memory)
    dur_rate = sum(r["overall"] for r in durable) / len(durable)
    share = dur_rate / mem_rate
    worst_ratio = min(r["ratio"] for r in durable)
    worst_cpu_ratio = min(r["cpu_ratio"] for r in durable)
    mem_cpu = sum(r["server_cpu_ms"] for r in memory) / len(memory)
    dur_cpu = sum(r["server_cpu_ms"] for r in durable) / len(durable)
    print("in memory: %.0f pairs/s; state file: %.0f pairs/s = %.0f%% (target >= %.0f%%)"
          % (mem_rate, dur_rate, share * 100, TARGET_SHARE * 100))
    print("state file last/first 10%%: wall clock worst %.2f, server CPU per pair (first/last) worst %.2f "
          "(target >= %.2f)" % (worst_ratio, worst_cpu_ratio, TARGET_RATIO))
    print("server CPU per pair: memory %.2f ms, state file %.2f ms (+%.0f%%)"
          % (mem_cpu, dur_cpu, (dur_cpu / mem_cpu - 1) * 100))
    print("state files at the end: %.1f MB (snapshot + journal + engine), no 5xx"
          % (max(sizes) / 1e6))
    print("load average at the end: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    ok = share >= TARGET_SHARE and worst_ratio >= TARGET_RATIO
    print("RESULT: %s" % ("targets met" if ok else "targets MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
