"""Benchmark of the load test itself: how fast Locust drives the reference receiver, what
signing as it goes costs, and what wrk does with the same requests.

    .venv/bin/python tests/bench/bench_load.py [--duration 10] [--users 16] [--repeat 2]

(It lives with the other benchmarks, not in ``loadtests``: it serves the harness's reference
receiver, and ``loadtests`` imports nothing from ``harness``.)

Serves the reference receiver (gunicorn, 2 workers, SQLite, no fault hooks) and seeds
fresh orders straight into its database for every run, then a minimal receiver (gunicorn
with uvicorn's worker, signature check only) where the load generator is the bottleneck. Against each:

- Locust, the payments mix (``loadtests.mix.PAYMENTS_MIX``: the first load tests' default,
  kept so the figures compare across sessions), every event signed when sent;
- Locust, the same mix pre-signed before the start (``--presigned``): the ceiling;
- wrk with the same kind of pre-signed requests (flows flattened, one connection per user).

Invariants are checked on the reference runs only (the minimal receiver keeps nothing).

Prints a Markdown table and the signing-overhead ratios (signed-as-sent / pre-signed, per
pair of runs made back to back, per receiver). Figures go to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET = "whsec_loadbench_" + "c" * 24

# Each wrk thread sends its own slice of the requests (its index comes from setup()).
WRK_LUA = r"""
local next_index = 0
function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
end
local requests, count, at = {}, 0, 0
function init(args)
  local threads = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == index then
      local tab = line:find("\t", 1, true)
      count = count + 1
      requests[count] = wrk.format("POST", "/api/v1/webhooks/stripe/", {
        ["Content-Type"] = "application/json; charset=utf-8",
        ["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        ["Stripe-Signature"] = line:sub(1, tab - 1)}, line:sub(tab + 1))
    end
    n = n + 1
  end
end
function request()
  at = at % count + 1
  return requests[at]
end
"""


async def minimal_app(scope, receive, send):
    """The least a receiver can do: check the signature, answer. An ASGI app under uvicorn's
    gunicorn worker (~35 us of server CPU per request here, gthread ~200 us), so that in the
    client-bound runs the load generator, not the target, sets the pace."""
    from simulator.signing import SignatureVerificationError, verify_header

    if scope["type"] != "http":
        return
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    signature = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"stripe-signature"), None)
    try:
        verify_header(b"".join(chunks), signature, SECRET)
        status, answer = 200, b'{"received":true}'
    except SignatureVerificationError:
        status, answer = 400, b'{"error":"Invalid signature"}'
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]})
    await send({"type": "http.response.body", "body": answer})


class MinimalReceiver:
    def __init__(self, workdir: str):
        from harness.receiver.server import free_port

        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = os.path.join(workdir, "minimal.log")
        self.proc = None

    def __enter__(self):
        import requests

        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2",
                                          "-k", "uvicorn_worker.UvicornWorker", "--pythonpath", BENCH_DIR,
                                          "-b", "127.0.0.1:%d" % self.port, "bench_load:minimal_app"],
                                         env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.post(self.url, data=b"{}", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.05)  # polling readiness with a deadline
        raise RuntimeError("the minimal receiver did not answer (log: %s)" % self.log)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def fake_orders(count: int, path: str) -> None:
    """Orders for the minimal receiver, which keeps none: ids only have to look right."""
    import uuid

    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(count):
            fh.write(json.dumps({"id": str(uuid.uuid4()), "stripe_payment_intent_id": "pi_mock_" + uuid.uuid4().hex[:24],
                                 "amount": 1000, "currency": "usd"}) + "\n")


def seed_orders(config, db, count: int, path: str) -> None:
    from harness.receiver.orders import bulk_create_orders
    from loadtests.orders import write_orders_file

    write_orders_file(bulk_create_orders(config, db, count), path)


def locust_run(url: str, orders_path: str, workdir: str, name: str, users: int, duration: int,
               presigned: int = 0, invariants: bool = True) -> Dict:
    from harness.cli.load import locust_command
    from loadtests.mix import PAYMENTS_MIX, format_mix

    report = os.path.join(workdir, name + ".json")
    values = {"users": users, "spawn_rate": users, "duration": "%ds" % duration, "stop_timeout": 2, "rate": 0,
              "webhook_secret": SECRET, "orders_file": orders_path, "check_report": report,
              "presigned": presigned or None, "seed": 1, "check_invariants": invariants,
              "mix": format_mix(PAYMENTS_MIX)}
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(locust_command(values, url), env=env, capture_output=True, text=True, timeout=duration + 180)
    with open(report, encoding="utf-8") as fh:
        verdict = json.load(fh)
    row = dict(verdict["webhook"], tool="locust " + name, exit_code=out.returncode)
    cpu = verdict.get("generator_cpu_s")
    # Locust's CPU per webhook request, from the start of the users to their stop.
    row["cpu_us_per_request"] = round(cpu / row["requests"] * 1e6, 1) if cpu and row["requests"] else None
    row["verdict"] = [f["kind"] for f in verdict["failures"]]
    if verdict["failures"]:
        row["messages"] = [f["message"][:400] for f in verdict["failures"]]
    elif out.returncode:
        # Locust's own non-zero code: keep its error lines so the figure can be explained.
        row["locust_errors"] = [l for l in (out.stdout + out.stderr).splitlines()
                                if "Error" in l or "Traceback" in l or "Exception" in l][:10]
    return row


def wrk_requests(url: str, orders_path: str, path: str) -> int:
    """The payments mix's requests, pre-signed, flattened, one per line: signature TAB body."""
    from simulator.rng import SeededRandom
    from loadtests.events import EventFactory
    from loadtests.flows import plan
    from loadtests.mix import PAYMENTS_MIX
    from loadtests.orders import read_orders_file
    from loadtests.signer import Signer

    rng = SeededRandom(2)
    factory, signer = EventFactory(rng.child()), Signer(SECRET, rng.child())
    kinds = [k for k, w in PAYMENTS_MIX.items() for _ in range(w)]
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for order in read_orders_file(orders_path):
            for send in plan(rng.choice(kinds), order, factory, rng).sends:
                fh.write("%s\t%s\n" % (signer.header(send), send.body.decode("utf-8")))
                n += 1
    return n


def wrk_run(url: str, requests_path: str, workdir: str, users: int, duration: int) -> Dict:
    script = os.path.join(workdir, "mix.lua")
    with open(script, "w", encoding="utf-8") as fh:
        fh.write(WRK_LUA)
    threads = 2
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % users, "-d%ds" % duration, "--latency", "-s", script,
                          url, "--", requests_path, str(threads)], capture_output=True, text=True,
                         timeout=duration + 180).stdout
    field = lambda pattern: re.search(pattern, out).group(1)  # noqa: E731
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"tool": "wrk", "rps": float(field(r"Requests/sec:\s+([\d.]+)")),
            "requests": int(field(r"(\d+) requests in")),
            "p50_ms": _ms(field(r"50%\s+([\d.]+\w+)")), "p95_ms": None, "p90_ms": _ms(field(r"90%\s+([\d.]+\w+)")),
            "p99_ms": _ms(field(r"99%\s+([\d.]+\w+)")), "failures": int(non2xx.group(1)) if non2xx else 0}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return round(float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 3)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--users", type=int, default=16, help="Locust users = wrk connections")
    parser.add_argument("--repeat", type=int, default=2, help="pairs of (signed, pre-signed) Locust runs")
    parser.add_argument("--orders", type=int, default=30000,
                        help="orders seeded per run (default 30000); a run that uses them all falls back to creating "
                             "orders through the API, which the minimal receiver refuses")
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--receivers", default="reference,minimal",
                        help="which receivers: reference (realistic) and/or minimal (the generator is the bottleneck)")
    args = parser.parse_args(argv)

    from harness.receiver.config import ReceiverConfig
    from harness.receiver.db import Database
    from harness.receiver.server import GunicornReceiver

    workdir = tempfile.mkdtemp(prefix="posx-loadbench-")
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True,
                            database_url="sqlite:///%s" % os.path.join(workdir, "receiver.sqlite3"))
    db = Database(config.database_url)
    db.migrate()
    rows: List[Dict] = []
    ratios: Dict[str, List[float]] = {}
    cpu_ratios: Dict[str, List[float]] = {}
    wanted = [r.strip() for r in args.receivers.split(",") if r.strip()]
    targets = []
    if "reference" in wanted:
        targets.append(("reference", GunicornReceiver(config, workers=2, log_path=os.path.join(workdir, "receiver.log"))))
    if "minimal" in wanted:
        targets.append(("minimal", MinimalReceiver(workdir)))
    for label, server in targets:
        reference = label == "reference"

        def orders(name):
            path = os.path.join(workdir, "orders-%s-%s.jsonl" % (label, name))
            if reference:
                seed_orders(config, db, args.orders, path)
            else:
                fake_orders(args.orders, path)
            return path

        with server:
            for n in range(args.repeat):
                pair = {}
                for mode, presigned in (("signed as sent", 0), ("pre-signed", args.orders)):
                    row = locust_run(server.url, orders(mode + str(n)), workdir, "%s, %s #%d" % (label, mode, n + 1),
                                     args.users, args.duration, presigned, invariants=reference)
                    rows.append(row)
                    pair[mode] = row
                    print(json.dumps(row), flush=True)
                signed, presigned = pair["signed as sent"], pair["pre-signed"]
                ratios.setdefault(label, []).append(signed["rps"] / presigned["rps"])
                if signed["cpu_us_per_request"] and presigned["cpu_us_per_request"]:
                    # The rate a CPU-bound generator reaches is 1 / its CPU per request.
                    cpu_ratios.setdefault(label, []).append(
                        presigned["cpu_us_per_request"] / signed["cpu_us_per_request"])
            if not args.no_wrk and shutil.which("wrk"):
                requests_path = os.path.join(workdir, "requests-%s.tsv" % label)
                wrk_requests(server.url, orders("wrk"), requests_path)
                row = wrk_run(server.url, requests_path, workdir, args.users, args.duration)
                row["tool"] = "wrk, %s, pre-signed" % label
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    print("| run | requests | req/s | generator CPU us/req | p50 ms | p95 ms | p99 ms | verdict |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print("| %s | %d | %.0f | %s | %s | %s | %s | %s |" % (
            r["tool"], r["requests"], r["rps"], r.get("cpu_us_per_request") or "-", r["p50_ms"],
            r.get("p95_ms") if r.get("p95_ms") is not None
            else "(p90 %s)" % r.get("p90_ms"), r["p99_ms"],
            ("exit %s %s" % (r["exit_code"], ",".join(r["verdict"]) or "pass")) if "exit_code" in r
            else "%d non-2xx (forged/stale by design)" % r["failures"]))
    print()
    for label, values in ratios.items():
        print("%s receiver: req/s signed-as-sent / pre-signed = %s (median %.3f)"
              % (label, ", ".join("%.3f" % r for r in values), statistics.median(values)))
    for label, values in cpu_ratios.items():
        print("%s receiver: generator CPU per request, pre-signed / signed-as-sent = %s (median %.3f)"
              % (label, ", ".join("%.3f" % r for r in values), statistics.median(values)))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
