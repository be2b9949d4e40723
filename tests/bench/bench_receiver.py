"""Benchmark: verified webhooks per second through the reference receiver under gunicorn.

    .venv/bin/python tests/bench/bench_receiver.py [--events 100000] [--duration 10]
        [--connections 8] [--workers 2] [--database-url URL] [--worker-class asgi|gthread|sync]
        [--baseline]

Creates real orders (``bulk_create_orders``, local intents), pre-signs one distinct
``payment_intent.succeeded`` per order (a realistic body from the observed basil event),
serves the receiver with 2 gunicorn workers (``posx-harness receiver``: by default the
ASGI front on uvicorn's worker) and drives it with wrk (a Lua script that
hands each connection the next pre-built request), or Locust's FastHttpUser headless if
wrk is not installed. Afterwards it checks the invariants the speed must not cost: every
answered event paid its order, no order has two allocations or commissions.

Prints one summary line per run and exits 1 if the target (>= 2,500/s, p99 < 15 ms) is
missed, so the figures in docs/BENCHMARKS.md can be reproduced.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from harness.receiver import GunicornReceiver, ReceiverConfig, bulk_create_orders, collect_stats  # noqa: E402
from harness.receiver.db import Database  # noqa: E402
from simulator.signing import generate_header  # noqa: E402
from tests import reference  # noqa: E402

SECRET = "whsec_bench_" + "b" * 32

LUA = r"""
local reqs = {}
local n = 0
local i = 0
function init(args)
  local f = assert(io.open(args[1], "r"))
  local tid = tonumber(args[2])
  local nthreads = tonumber(args[3])
  local k = 0
  for line in f:lines() do
    if k % nthreads == tid then
      local tab = line:find("\t", 1, true)
      local sig = line:sub(1, tab - 1)
      local body = line:sub(tab + 1)
      n = n + 1
      reqs[n] = wrk.format("POST", "/api/v1/webhooks/stripe/", {["Content-Type"] = "application/json; charset=utf-8",
                                        ["Stripe-Signature"] = sig,
                                        ["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}, body)
    end
    k = k + 1
  end
  f:close()
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
"""

# wrk has no per-thread init arguments; each thread's setup() gives it its index.
LUA_SETUP = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
"""


BASELINE_APP = r'''
"""The comparison point: a minimal Flask receiver calling construct_event and writing SQLite."""
import os, sqlite3, threading
import stripe
from flask import Flask, jsonify, request

app = Flask(__name__)
SECRET = os.environ["STRIPE_WEBHOOK_SECRET"]
DB = os.environ["BASELINE_DB"]
local = threading.local()


def conn():
    c = getattr(local, "c", None)
    if c is None:
        c = local.c = sqlite3.connect(DB, timeout=30, isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
    return c


@app.post("/api/v1/webhooks/stripe/")
def webhook():
    try:
        event = stripe.Webhook.construct_event(request.get_data(), request.headers.get("Stripe-Signature"), SECRET)
    except ValueError:
        return jsonify(error="Invalid payload"), 400
    except stripe.SignatureVerificationError:
        return jsonify(error="Invalid signature"), 400
    c = conn()
    c.execute("BEGIN IMMEDIATE")
    c.execute("INSERT OR IGNORE INTO events (id) VALUES (?)", (event.id,))
    c.execute("UPDATE orders SET status = 'paid' WHERE pi = ?", (event.data.object.id,))
    c.execute("COMMIT")
    return jsonify(received=True)
'''


TRIVIAL_APPS = r'''
"""What the HTTP layer alone costs: read the body, answer {} (no signature, no database)."""


def wsgi(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})
'''


def http_ceiling(args) -> int:
    """Trivial apps under each gunicorn worker class, same events and wrk settings: the most
    webhooks/s the HTTP layer alone leaves room for on this machine."""
    from harness.cli.receiver import WORKER_CLASSES
    workdir = tempfile.mkdtemp(prefix="posx-bench-")
    with open(os.path.join(workdir, "trivial_apps.py"), "w") as f:
        f.write(TRIVIAL_APPS)
    events_path = os.path.join(workdir, "events.tsv")
    build_events([{"id": "o%d" % n, "stripe_payment_intent_id": "pi_%d" % n, "amount": 1000, "client_secret": "s"}
                  for n in range(min(args.events, 20000))], events_path)
    for worker_class, app in (("gthread", "trivial_apps:wsgi"), ("asgi", "trivial_apps:asgi")):
        with gunicorn_app(workdir, app, WORKER_CLASSES[worker_class], args.workers, args.threads,
                          log_level="error") as (proc, url):
            cpu_before = process_cpu_seconds(proc.pid)
            result = run_wrk(url, events_path, args.duration, args.connections, args.wrk_threads, workdir)
            cpu = (process_cpu_seconds(proc.pid) - cpu_before) / max(1, result["requests"]) * 1e6
            print("HTTP-CEILING class=%s rps=%.0f p50=%.2fms p99=%.2fms server_cpu_per_req=%.0fus" % (
                worker_class, result["rps"], result["p50_ms"], result["p99_ms"], cpu))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


@contextlib.contextmanager
def gunicorn_app(workdir: str, app: str, worker_class: str, workers: int, threads: int, env=None,
                 log_level: str = "warning"):
    """``app`` (module:callable in ``workdir``) under gunicorn; yields (proc, url) once it
    answers, and stops the master and its workers afterwards."""
    from gunicorn.config import Config
    from harness.receiver.server import free_port
    import requests
    port = free_port()
    no_ctl = ["--no-control-socket"] if "control_socket_disable" in Config().settings else []
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--chdir", workdir, "-w", str(workers),
                             "-k", worker_class, "--threads", str(threads), "-b", "127.0.0.1:%d" % port,
                             "--log-level", log_level, *no_ctl, app], env=env, start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("%s did not start under gunicorn" % app) from None
                time.sleep(0.05)  # polling the server's readiness with a deadline
        yield proc, url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def serve_baseline(workdir: str, orders, workers: int, threads: int, worker_class: str):
    """The baseline app under gunicorn with the same worker settings (``gunicorn_app``)."""
    with open(os.path.join(workdir, "baseline_app.py"), "w") as f:
        f.write(BASELINE_APP)
    db_path = os.path.join(workdir, "baseline.sqlite3")
    c = sqlite3.connect(db_path)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE events (id TEXT PRIMARY KEY)")
    c.execute("CREATE TABLE orders (pi TEXT PRIMARY KEY, status TEXT)")
    c.executemany("INSERT INTO orders VALUES (?, 'pending')", [(o["stripe_payment_intent_id"],) for o in orders])
    c.commit()
    c.close()
    env = dict(os.environ, STRIPE_WEBHOOK_SECRET=SECRET, BASELINE_DB=db_path)
    return gunicorn_app(workdir, "baseline_app:app", worker_class, workers, threads, env=env)


def process_cpu_seconds(root_pid: int) -> float:
    """User+system CPU of ``root_pid`` and its live children (gunicorn master + workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [root_pid]
    try:
        with open("/proc/%d/task/%d/children" % (root_pid, root_pid)) as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def payment_intent_template() -> dict:
    return reference.load("observed_sequences")["objects"]["payment_intent.succeeded"]


def build_events(orders, path: str) -> int:
    template = payment_intent_template()
    now = int(time.time())
    with open(path, "w") as f:
        for n, order in enumerate(orders):
            obj = dict(template, id=order["stripe_payment_intent_id"], amount=order["amount"],
                       amount_received=order["amount"], metadata={"order_id": order["id"]},
                       client_secret=order["client_secret"])
            event = {"id": "evt_bench_%08d" % n, "object": "event", "api_version": "2025-08-27.basil",
                     "created": now, "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
                     "request": {"id": None, "idempotency_key": None}, "type": "payment_intent.succeeded"}
            body = json.dumps(event, separators=(",", ":"))
            f.write("%s\t%s\n" % (generate_header(body.encode(), SECRET, timestamp=now), body))
    return len(orders)


def run_wrk(url: str, events_path: str, duration: int, connections: int, threads: int, workdir: str) -> dict:
    script = os.path.join(workdir, "bench.lua")
    # Each wrk thread keeps a distinct slice of the events (tid from setup()).
    body = LUA.replace("local tid = tonumber(args[2])", "local tid = tid")
    with open(script, "w") as f:
        f.write(LUA_SETUP + body)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency", "-s", script,
           url, "--", events_path, "0", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"tool": "wrk", "rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "",
            "raw": out}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_locust(url: str, events_path: str, duration: int, connections: int, workdir: str) -> dict:
    locustfile = os.path.join(workdir, "bench_locust.py")
    with open(locustfile, "w") as f:
        f.write('''
import itertools
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
LINES = [l.rstrip("\\n").split("\\t", 1) for l in open(%r)]
NEXT = itertools.cycle(LINES)
class Stripe(FastHttpUser):
    wait_time = constant(0)
    @task
    def deliver(self):
        sig, body = next(NEXT)
        self.client.post("/api/v1/webhooks/stripe/", data=body, headers={"Stripe-Signature": sig,
                         "Content-Type": "application/json"})
''' % events_path)
    csv = os.path.join(workdir, "locust")
    subprocess.run([sys.executable, "-m", "locust", "-f", locustfile, "--headless", "-u", str(connections),
                    "-r", str(connections), "-t", "%ds" % duration, "-H", url, "--csv", csv, "--only-summary"],
                   capture_output=True, text=True, timeout=duration + 120)
    import csv as csvmod
    with open(csv + "_stats.csv") as f:
        row = [r for r in csvmod.DictReader(f) if r["Name"] == "Aggregated"][0]
    return {"tool": "locust", "rps": float(row["Requests/s"]), "p50_ms": float(row["50%"]),
            "p99_ms": float(row["99%"]), "requests": int(row["Request Count"]), "non_2xx": int(row["Failure Count"]),
            "socket_errors": "", "raw": ""}


def in_process(n: int) -> int:
    """CPU per webhook through the WSGI app without HTTP, and construct_event alone, same run."""
    import io
    import logging
    import stripe
    from harness.receiver.app import ReceiverApp
    from harness.receiver.outbox import OutboxWorker
    logging.basicConfig(level=logging.WARNING)
    workdir = tempfile.mkdtemp(prefix="posx-bench-")
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s/b.sqlite3" % workdir)
    app = ReceiverApp(config, start_worker=False)
    orders = bulk_create_orders(config, app.db, n)
    path = os.path.join(workdir, "events.tsv")
    build_events(orders, path)
    lines = [line.rstrip("\n").split("\t", 1) for line in open(path)]

    def call(sig, body):
        data = body.encode()
        environ = {"PATH_INFO": "/api/v1/webhooks/stripe/", "REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(data)),
                   "wsgi.input": io.BytesIO(data), "HTTP_STRIPE_SIGNATURE": sig}
        app(environ, lambda status, headers: None)

    t = time.process_time()
    for sig, body in lines:
        call(sig, body)
    webhook = (time.process_time() - t) / n * 1e6
    t = time.process_time()
    tasks = OutboxWorker(config, app.db).drain()
    task = (time.process_time() - t) / max(1, tasks) * 1e6
    sample = lines[: min(n, 3000)]
    t = time.process_time()
    for sig, body in sample:
        stripe.Webhook.construct_event(body, sig, SECRET)
    construct = (time.process_time() - t) / len(sample) * 1e6
    app.close()
    shutil.rmtree(workdir, ignore_errors=True)
    print("IN-PROCESS cpu per webhook (verify+parse+transaction, SQLite)=%.0fus, per outbox task=%.0fus (x%d per "
          "payment), stripe construct_event alone=%.0fus; webhook+tasks / construct_event = %.2f" % (
              webhook, task, tasks // n, construct, (webhook + task * tasks / n) / construct))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100000,
                        help="distinct pre-signed events (default 100000); a run that sends more is refused, "
                             "since wrk would start over and the repeats would be cheap duplicates")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="asgi", choices=["asgi", "gthread", "sync"],
                        help="the receiver's (default asgi); the Flask baseline, being WSGI, runs under gthread then")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--database-schema", help="PostgreSQL schema (default: a fresh one, dropped afterwards)")
    parser.add_argument("--outbox-threads", type=int, default=1, help="outbox threads in each app process")
    parser.add_argument("--outbox-process", action="store_true",
                        help="run the outbox as its own process (posx-harness receiver --worker), no app threads")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--baseline", action="store_true",
                        help="also measure a minimal Flask+construct_event+SQLite receiver in the same run (ratio)")
    parser.add_argument("--tool", choices=["auto", "wrk", "locust"], default="auto")
    parser.add_argument("--target-rps", type=float, default=2500.0)
    parser.add_argument("--target-p99-ms", type=float, default=15.0)
    parser.add_argument("--in-process", action="store_true",
                        help="only measure CPU per webhook in-process (no HTTP), against construct_event alone")
    parser.add_argument("--http-ceiling", action="store_true",
                        help="only measure trivial apps under the gthread and asgi worker classes (HTTP layer alone)")
    args = parser.parse_args(argv)
    if args.http_ceiling:
        return http_ceiling(args)
    if args.in_process:
        return in_process(min(args.events, 10000))

    workdir = tempfile.mkdtemp(prefix="posx-bench-")
    url = args.database_url or "sqlite:///%s/bench.sqlite3" % workdir
    schema = args.database_schema
    if url.startswith("postgres") and not schema:
        schema = "posx_bench_%d" % os.getpid()
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url=url, database_schema=schema,
                            outbox_threads=0 if args.outbox_process else args.outbox_threads)
    db = Database(url, schema)
    db.migrate()
    t0 = time.perf_counter()
    orders = []
    while len(orders) < args.events:  # bulk_create_orders makes at most 100,000 at a time
        orders += bulk_create_orders(config, db, min(100000, args.events - len(orders)))
    events_path = os.path.join(workdir, "events.tsv")
    build_events(orders, events_path)
    print("prepared %d orders and signed events in %.1f s" % (len(orders), time.perf_counter() - t0))
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "locust"
    server = GunicornReceiver(config, workers=args.workers, threads=args.threads, log_level=args.log_level,
                              extra_args=["--worker-class", args.worker_class],
                              log_path=os.path.join(workdir, "gunicorn.log"))
    outbox = None
    if args.outbox_process:
        env = dict(os.environ, **config.to_env())
        outbox = subprocess.Popen([sys.executable, "-m", "harness.cli.receiver", "--worker", "--log-level", "warning"],
                                  env=env)
    with server:
        cpu_before = process_cpu_seconds(server.proc.pid)
        if tool == "wrk":
            result = run_wrk(server.url, events_path, args.duration, args.connections, args.wrk_threads, workdir)
        else:
            result = run_locust(server.url, events_path, args.duration, args.connections, workdir)
        result["cpu_us_per_request"] = (process_cpu_seconds(server.proc.pid) - cpu_before) / max(1, result["requests"]) * 1e6
        # Let the outbox catch up, then check nothing was lost or doubled.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and collect_stats(db)["outbox_ready"]:
            time.sleep(0.2)
    if outbox is not None:
        outbox.terminate()
        outbox.wait(10)
    baseline = None
    if args.baseline and tool == "wrk":
        with serve_baseline(workdir, orders, args.workers, args.threads,
                            "gthread" if args.worker_class == "asgi" else args.worker_class) as (proc, base_url):
            cpu_before = process_cpu_seconds(proc.pid)
            baseline = run_wrk(base_url, events_path, args.duration, args.connections, args.wrk_threads, workdir)
            baseline["cpu_us_per_request"] = (process_cpu_seconds(proc.pid) - cpu_before) / max(1, baseline["requests"]) * 1e6
    stats = collect_stats(db)
    paid = stats["orders"].get("paid", 0)
    answered = min(result["requests"] - result["non_2xx"], len(orders))
    ok_invariants = (stats["orders_with_multiple_allocations"] == 0 and stats["orders_with_multiple_commissions"] == 0
                     and stats["paid_orders_without_allocation"] == 0 and paid >= answered * 0.99)
    print(result["raw"])
    print("MACHINE cpus=%d load_avg_1m_after=%.2f python=%s" % (os.cpu_count() or 0, os.getloadavg()[0],
                                                               sys.version.split()[0]))
    print("RESULT tool=%s outbox=%s workers=%d class=%s db=%s connections=%d rps=%.0f p50=%.2fms p99=%.2fms requests=%d "
          "non2xx=%d server_cpu_per_req=%.0fus paid_orders=%d allocations=%d commissions=%d double_alloc=%d invariants=%s" % (
              result["tool"], "process" if args.outbox_process else "threads=%d" % args.outbox_threads,
              args.workers, args.worker_class,
              "postgresql" if url.startswith("postgres") else "sqlite",
              args.connections, result["rps"], result["p50_ms"], result["p99_ms"], result["requests"],
              result["non_2xx"], result["cpu_us_per_request"], paid, stats["allocations"], stats["commissions"],
              stats["orders_with_multiple_allocations"], "ok" if ok_invariants else "BROKEN"))
    if baseline is not None:
        print("BASELINE flask+construct_event+sqlite rps=%.0f p50=%.2fms p99=%.2fms server_cpu_per_req=%.0fus "
              "non2xx=%d -> receiver/baseline throughput ratio %.2f" % (
                  baseline["rps"], baseline["p50_ms"], baseline["p99_ms"], baseline["cpu_us_per_request"],
                  baseline["non_2xx"], result["rps"] / max(1.0, baseline["rps"])))
    if schema and url.startswith("postgres"):
        with db.transaction() as tx:
            tx.execute('DROP SCHEMA "%s" CASCADE' % schema)
    db.close()
    shutil.rmtree(workdir, ignore_errors=True)
    distinct = result["requests"] <= len(orders)
    if not distinct:
        print("INVALID RUN: %d requests but only %d distinct events were prepared, so some were duplicates "
              "(cheaper than a first delivery); rerun with --events %d or more" % (
                  result["requests"], len(orders), int(result["requests"] * 1.3)))
    if baseline is not None and baseline["requests"] > len(orders):
        print("note: the baseline run sent %d requests for %d distinct events (duplicates included)" % (
            baseline["requests"], len(orders)))
    met = (result["rps"] >= args.target_rps and result["p99_ms"] < args.target_p99_ms and ok_invariants
           and distinct)
    print("target (>= %.0f/s, p99 < %.0f ms): %s" % (args.target_rps, args.target_p99_ms, "MET" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
