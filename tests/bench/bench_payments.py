"""Benchmark: PaymentIntent create+confirm pairs per second through the official SDK.

The realistic setup: ``stripe-sim serve`` in its own process, and the application side as a
few client processes (like a web app's workers), each with a few threads sharing one
``StripeClient`` (keep-alive sessions per thread, as stripe-python does). Each pair is
``payment_intents.create(amount, currency, payment_method=pm_card_visa)`` then
``payment_intents.confirm(id)`` and is checked to have succeeded.

Reports the overall rate, the rate of the first and of the last 10% of pairs (by completion
order) and their ratio: a ratio near 1 means the simulator does not slow down as its state
grows. Targets: >= 420 pairs/s (10x localstripe's 42/s) and last/first >= 0.9.

    .venv/bin/python tests/bench/bench_payments.py --payments 20000
    .venv/bin/python tests/bench/bench_payments.py --in-process --payments 2000   # quick look

Exit code 0 when both targets are met, 1 otherwise (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATE = 420.0
TARGET_RATIO = 0.9


def client_worker(url: str, payments: int, threads: int, start_at: float, out) -> None:
    """One client process: ``threads`` threads share the payments; sends back completion times."""
    import threading

    import stripe

    client = stripe.StripeClient("sk_test_bench_payments", base_addresses={"api": url}, max_network_retries=0)
    done: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(count: int) -> None:
        mine = []
        try:
            for _ in range(count):
                pi = client.v1.payment_intents.create(params={
                    "amount": 1000, "currency": "usd", "payment_method": "pm_card_visa"})
                pi = client.v1.payment_intents.confirm(pi.id)
                if pi.status != "succeeded":
                    raise AssertionError("payment %s ended %s" % (pi.id, pi.status))
                mine.append(time.time())
        except Exception as exc:  # reported to the parent, which fails the run
            with lock:
                errors.append(repr(exc))
        with lock:
            done.extend(mine)

    shares = [payments // threads + (1 if i < payments % threads else 0) for i in range(threads)]
    pause = start_at - time.time()
    if pause > 0:
        time.sleep(pause)  # a common start line for every client process, not a wait on a condition
    workers = [threading.Thread(target=run, args=(n,)) for n in shares]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((done, errors, usage.ru_utime + usage.ru_stime))


# `stripe-sim serve`, through its module so the bench does not depend on the entry point being installed.
SERVE_CODE = ("import argparse, sys; from simulator.cli import serve; p = argparse.ArgumentParser(); "
              "serve.add_arguments(p); sys.exit(serve.run(p.parse_args(sys.argv[1:])))")


def serve_command(*args: str) -> list:
    return [sys.executable, "-c", SERVE_CODE, "--port", "0", *args]


def start_listening(cmd: list, timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """Start ``cmd`` and return it with the URL it prints once it listens."""
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"listening on (http://[^\s]+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise SystemExit("stripe-sim serve did not start:\n" + "".join(lines))


def start_server_process(seed: int, kind: str, canned: bool = False) -> tuple[subprocess.Popen, str]:
    if canned:
        return start_listening([sys.executable, str(Path(__file__).resolve()), "--serve-canned"])
    return start_listening(serve_command("--seed", str(seed), "--server", kind))


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_canned() -> None:
    """The ceiling: the default front answering every request with a canned PaymentIntent, no simulator."""
    import json
    import signal
    import threading

    from simulator.core import Simulator
    from simulator.server import SimulatorServer

    sim = Simulator(seed=1, delivery=False)
    pi = sim.backend.create_payment_intent({"amount": "1000", "currency": "usd", "payment_method": "pm_card_visa"},
                                           request={"id": "req_canned", "idempotency_key": None})
    created = json.dumps(pi).encode()
    confirmed = json.dumps(sim.backend.confirm_payment_intent(pi["id"], {}, request={
        "id": "req_canned", "idempotency_key": None})).encode()

    def app(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        body = confirmed if environ.get("PATH_INFO", "").endswith("/confirm") else created
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                  ("Request-Id", "req_canned")])
        return [body]

    holder = SimulatorServer(sim)
    server, serve = holder._build_loop(app)
    threading.Thread(target=serve, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("canned server listening on http://127.0.0.1:%d" % holder.port, flush=True)
    stop.wait()
    server.stop()


def cpu_windows(times: list[float], samples: list[tuple[float, float]]):
    """Server CPU ms per pair in the first and the last 10% of pairs, from the CPU samples."""
    if len(samples) < 4:
        return None
    import bisect

    stamps = [t for t, _ in samples]

    def cpu_at(t: float) -> float:
        i = min(max(bisect.bisect_left(stamps, t), 1), len(samples) - 1)
        (t0, c0), (t1, c1) = samples[i - 1], samples[i]
        return c0 + (c1 - c0) * (min(max(t, t0), t1) - t0) / max(t1 - t0, 1e-9)

    times = sorted(times)
    tenth = max(1, len(times) // 10)
    first = (cpu_at(times[tenth - 1]) - cpu_at(samples[0][0])) * 1000 / tenth
    last = (cpu_at(times[-1]) - cpu_at(times[-tenth - 1])) * 1000 / tenth
    if first <= 0 or last <= 0:
        return None
    return first, last, first / last


def rates(times: list[float], t0: float) -> dict:
    times = sorted(times)
    n = len(times)
    tenth = max(1, n // 10)
    first = tenth / max(times[tenth - 1] - t0, 1e-9)
    last = tenth / max(times[-1] - times[-tenth - 1], 1e-9) if n > tenth else first
    return {"pairs": n, "seconds": times[-1] - t0, "overall": n / (times[-1] - t0),
            "first10": first, "last10": last, "ratio": last / first}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--payments", type=int, default=20000, help="create+confirm pairs in total (default 20000)")
    p.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    p.add_argument("--threads", type=int, default=2, help="threads per client process (default 2)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--in-process", action="store_true",
                   help="serve from a SimulatorServer thread in this process instead of `stripe-sim serve`")
    p.add_argument("--server", default="loop", choices=("loop", "waitress", "werkzeug"),
                   help="the HTTP front SimulatorServer uses (default loop)")
    p.add_argument("--canned", action="store_true",
                   help="the ceiling: clients against the default front answering canned PaymentIntents (no simulator)")
    p.add_argument("--serve-canned", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help="benchmark an already running simulator at this URL")
    args = p.parse_args(argv)
    if args.serve_canned:
        serve_canned()
        return 0
    if args.payments < args.clients * args.threads * 10:
        p.error("--payments must be at least 10 per client thread")

    proc = server = None
    if args.url:
        url = args.url
    elif args.in_process:
        from simulator.core import Simulator
        from simulator.server import SimulatorServer

        server = SimulatorServer(Simulator(seed=args.seed), server=args.server).start()
        url = server.url
    else:
        proc, url = start_server_process(args.seed, args.server, canned=args.canned)
    setup = "in-process SimulatorServer" if args.in_process else ("stripe-sim serve (separate process)"
                                                                   if not args.url else url)
    if args.canned:
        setup = "CANNED responses (ceiling, no simulator), loop front"
    elif not args.url:
        setup += ", %s" % args.server
    print("server: %s at %s; clients: %d process(es) x %d thread(s); %d payments"
          % (setup, url, args.clients, args.threads, args.payments), flush=True)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    share = [args.payments // args.clients + (1 if i < args.payments % args.clients else 0)
             for i in range(args.clients)]
    start_at = time.time() + 3.0  # time for the spawned clients to import stripe
    clients = [ctx.Process(target=client_worker, args=(url, n, args.threads, start_at, out)) for n in share]
    try:
        for c in clients:
            c.start()
        server_pid = proc.pid if proc is not None else os.getpid()
        server_cpu0 = process_cpu(server_pid)
        samples, sampling = [], threading.Event()

        def sample() -> None:
            # (time, server CPU) pairs: CPU per pair within the first and last 10% windows shows
            # whether the server slows down as state grows, whatever the neighbours are doing.
            while not sampling.wait(0.1):
                samples.append((time.time(), process_cpu(server_pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        times, errors, client_cpu = [], [], 0.0
        for _ in clients:
            done, errs, cpu = out.get(timeout=3600)
            times.extend(done)
            errors.extend(errs)
            client_cpu += cpu
        server_cpu = process_cpu(server_pid) - server_cpu0
        sampling.set()
        sampler.join()
        for c in clients:
            c.join()
    finally:
        for c in clients:
            if c.is_alive():
                c.kill()
        if server is not None:
            server.stop()
            server.sim.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    if errors:
        print("FAILED: %d client thread(s) stopped on an error; first: %s" % (len(errors), errors[0]))
        return 1
    r = rates(times, start_at)
    print("pairs: %d in %.1f s" % (r["pairs"], r["seconds"]))
    print("overall: %.0f pairs/s (target >= %.0f)" % (r["overall"], TARGET_RATE))
    print("first 10%%: %.0f pairs/s; last 10%%: %.0f pairs/s; last/first = %.2f (target >= %.2f)"
          % (r["first10"], r["last10"], r["ratio"], TARGET_RATIO))
    window = cpu_windows(times, samples)
    if window is not None:
        print("server CPU per pair: first 10%% %.2f ms, last 10%% %.2f ms; first/last = %.2f "
              "(>= 0.9: no slow-down as state grows)" % window)
    if not args.in_process and not args.url:
        # On a shared machine the wall-clock rate depends on the neighbours; CPU per pair does not.
        print("CPU per pair: server %.2f ms, clients %.2f ms (clients include their start-up)"
              % (server_cpu * 1000 / r["pairs"], client_cpu * 1000 / r["pairs"]))
        print("load average at the end: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    ok = r["overall"] >= TARGET_RATE and r["ratio"] >= TARGET_RATIO
    print("RESULT: %s" % ("targets met" if ok else "targets MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
