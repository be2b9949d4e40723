"""``posx-harness load``: load-test a POSX webhook with Locust, headless, with a verdict.

Runs ``loadtests/locustfile.py`` in Locust (one process, or a master and ``--workers N``
workers on this machine) and exits with its verdict: 0, or the code of the most serious
failed check (see docs/BENCHMARKS.md, "Exit codes"). Without ``--target`` it serves the
reference receiver under gunicorn (2 workers, temporary SQLite database, mock Stripe) on a
free 127.0.0.1 port for the length of the run.
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

LOCUSTFILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "loadtests", "locustfile.py")
DEFAULTS = {"users": 10, "spawn_rate": None, "rate": 0.0, "duration": "10s", "mix": None, "stop_timeout": 3,
            "prefill_orders": None, "check_rps": None, "check_fail_ratio": None, "check_p95_ms": None,
            "check_p99_ms": None, "invariants_timeout": None}
# option dest -> the locustfile's flag (passed on only when set here, so LOCUST_* variables still work)
PASSTHROUGH = {"mix": "--mix", "prefill_orders": "--prefill-orders", "check_rps": "--check-rps",
               "check_fail_ratio": "--check-fail-ratio", "check_p95_ms": "--check-p95-ms",
               "check_p99_ms": "--check-p99-ms", "invariants_timeout": "--invariants-timeout",
               "webhook_secret": "--webhook-secret", "api_token": "--api-token", "site_code": "--site-code",
               "tier_id": "--tier-id", "quantity": "--quantity", "bulk_orders_path": "--bulk-orders-path", "seed": "--seed",
               "presigned": "--presigned", "kinds_in_turn": "--kinds-in-turn", "check_report": "--check-report", "orders_file": "--orders-file"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loadtests.presets import names

    parser.add_argument("--target", help="base URL of the POSX target (default: serve the reference receiver)")
    from harness.receiver.flavors import FLAVORS

    parser.add_argument("--flavor", default="reference", choices=sorted(FLAVORS), metavar="FLAVOR",
                        help="flavour of the embedded receiver (only without --target): reference, guide, "
                             "or one flaw-* at a time")
    parser.add_argument("--preset", choices=names(), help="a named profile (loadtests/presets/*.yaml); flags win")
    parser.add_argument("-u", "--users", type=int, default=None, help="concurrent users (default 10)")
    parser.add_argument("-r", "--spawn-rate", type=float, default=None, help="users started per second (default: all at once)")
    parser.add_argument("--rate", type=float, default=None, help="payment flows per second over all users (0 = unpaced)")
    parser.add_argument("-t", "--duration", default=None, help="run time, Locust's format: 30s, 5m, 1h30m (default 10s)")
    parser.add_argument("--mix", default=None, help="kind weights, e.g. success=70,decline=10,duplicate=10,forged=2")
    parser.add_argument("--kinds-in-turn", action="store_const", const="true", default=None,
                        help="send the mix's kinds in turn (spread by weight), not at random: a short run "
                             "covers every kind")
    parser.add_argument("--workers", type=int, default=0, help="run a local master and N worker processes")
    parser.add_argument("--stop-timeout", type=float, default=None, help="seconds users get to finish their flow at the end")
    parser.add_argument("--prefill-orders", type=int, default=None, help="orders each process makes before it starts")
    parser.add_argument("--presigned", type=int, default=None, help="pre-sign this many flows per process (benchmark baseline)")
    parser.add_argument("--seed", type=int, default=None)
    checks = parser.add_argument_group("checks (exit codes in docs/BENCHMARKS.md)")
    checks.add_argument("--check-rps", type=float, default=None, help="minimum webhook requests/s")
    checks.add_argument("--check-fail-ratio", type=float, default=None, help="maximum webhook failure ratio (0..1)")
    checks.add_argument("--check-p95-ms", type=float, default=None, help="maximum webhook p95 in ms")
    checks.add_argument("--check-p99-ms", type=float, default=None, help="maximum webhook p99 in ms")
    checks.add_argument("--no-check-invariants", dest="check_invariants", action="store_false",
                        help="skip the order/forged/5xx invariants at the end")
    checks.add_argument("--invariants-timeout", type=float, default=None)
    checks.add_argument("--check-report", default=None, help="write the verdict as JSON here")
    target = parser.add_argument_group("target settings (with --target)")
    target.add_argument("--webhook-secret", default=None, help="the target's STRIPE_WEBHOOK_SECRET")
    target.add_argument("--api-token", default=None)
    target.add_argument("--site-code", default=None)
    target.add_argument("--tier-id", default=None)
    target.add_argument("--quantity", type=int, default=None, help="quantity of new orders (default 2)")
    target.add_argument("--bulk-orders-path", default=None)
    target.add_argument("--orders-file", default=None, help="orders made ahead, JSON lines (workers split them)")
    reports = parser.add_argument_group("reports")
    reports.add_argument("--html", default=None, help="Locust's HTML report")
    reports.add_argument("--csv", default=None, help="prefix of Locust's CSV files")
    reports.add_argument("--verbose", action="store_true", help="Locust's periodic stats, not only the summary")


def resolve(args: argparse.Namespace) -> Dict:
    """Command-line values over preset values over defaults."""
    from loadtests.presets import load

    values = dict(DEFAULTS)
    if args.preset:
        preset = load(args.preset)
        preset.pop("description", None)
        values.update(preset)
    for key, value in vars(args).items():
        if value is not None and not key.startswith("_"):
            values[key] = value
    if values.get("spawn_rate") is None:
        values["spawn_rate"] = values["users"]
    return values


def locust_command(values: Dict, host: str, role: str = "local", master_port: int = 0) -> List[str]:
    cmd = [sys.executable, "-m", "locust", "-f", LOCUSTFILE]
    if role == "worker":
        return cmd + ["--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)]
    cmd += ["--headless", "--host", host, "-u", str(values["users"]), "-r", str(values["spawn_rate"]),
            "-t", str(values["duration"]), "--stop-timeout", str(values["stop_timeout"]),
            "--flow-rate", str(values.get("rate") or 0)]
    if not values.get("verbose"):
        cmd.append("--only-summary")
    if role == "master":
        cmd += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
                "--expect-workers", str(values["workers"])]
    for key, flag in PASSTHROUGH.items():
        if values.get(key) is not None:
            cmd += [flag, str(values[key])]
    if values.get("check_invariants") is False:
        cmd += ["--check-invariants", "false"]
    if values.get("html"):
        cmd += ["--html", values["html"]]
    if values.get("csv"):
        cmd += ["--csv", values["csv"]]
    return cmd


def run_locust(values: Dict, host: str, env: Optional[Dict] = None) -> int:
    from harness.receiver.server import free_port

    env = dict(os.environ if env is None else env)
    # The project's packages must import in every Locust process, wherever it is started from.
    root = os.path.dirname(os.path.dirname(LOCUSTFILE))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    workers = int(values.get("workers") or 0)
    if not workers:
        return subprocess.call(locust_command(values, host), env=env)
    port = free_port()
    master = subprocess.Popen(locust_command(values, host, "master", port), env=env)
    procs = [subprocess.Popen(locust_command(values, host, "worker", port), env=env) for _ in range(workers)]
    try:
        code = master.wait()
    finally:
        if master.poll() is None:
            master.terminate()
            master.wait(10)
        deadline = time.monotonic() + 15
        for proc in procs:  # workers quit when the master tells them to; stop stragglers
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait(10)
    return code


def run(args: argparse.Namespace) -> int:
    from loadtests.mix import MixError, parse_mix
    from loadtests.presets import PresetError

    try:
        values = resolve(args)
        if values.get("mix"):
            parse_mix(values["mix"])
        duration_seconds(str(values["duration"]))
    except (PresetError, MixError, ValueError) as exc:
        print("posx-harness load: %s" % exc, file=sys.stderr)
        return 2
    if values.get("check_report") and os.path.exists(values["check_report"]):
        os.remove(values["check_report"])  # a report left by an earlier run must not stand for this one
    from simulator.delivery.alert_report import load_alerts

    with load_alerts() as alert_lines:  # the guide's three alert rules, printed at the end (issue 17)
        code = run_locust(values, values["target"].rstrip("/")) if values.get("target") else run_embedded(values)
    print("\n".join(alert_lines), flush=True)
    return settle_verdict(values.get("check_report"), code)


def settle_verdict(path, code: int) -> int:
    """``--check-report`` rewritten from the run's ``Verdict``, whose exit code this returns:
    the report and the exit code are one object's (a report Locust never wrote: its code)."""
    import json

    from harness.engine.verdict import Verdict

    if not path or not os.path.exists(path):
        return code
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    keys = ("command", "outcome", "verdict", "exit_code", "summary_line", "failures", "message", "seconds")
    verdict = Verdict.of_failures(doc["failures"], doc["exit_code"], details={k: v for k, v in doc.items()
                                                                              if k not in keys})
    if verdict.summary_line() != doc["summary_line"] or code != verdict.exit_code:
        print("posx-harness load: Locust exited %d, its checks say %r; exiting with the checks' %d"
              % (code, doc["summary_line"], verdict.exit_code), file=sys.stderr)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(verdict.to_json())
    return verdict.exit_code


def run_embedded(values: Dict) -> int:
    """Serve the reference receiver (gunicorn, 2 workers, temp SQLite) for the run.

    Its orders are seeded straight into its database first (the receiver's own
    ``bulk_create_orders``, local intents) and handed to Locust as an orders file; past
    those, users make more through ``POST /api/v1/orders/``. The fault hooks are on only
    when the mix has ``injected_failure`` (the default mix has): with them on, every webhook
    first claims its faults in a write transaction of its own, which is measured as the
    receiver's cost, so a speed run gives a mix without it.
    """
    from harness.receiver.config import ReceiverConfig
    from harness.receiver.db import Database
    from harness.receiver.orders import bulk_create_orders
    from harness.receiver.server import GunicornReceiver
    from loadtests.mix import parse_mix
    from loadtests.orders import write_orders_file

    with tempfile.TemporaryDirectory(prefix="posx-load-") as tmp:
        secret = values.get("webhook_secret") or "whsec_load_" + secrets.token_hex(16)
        hooks = parse_mix(values.get("mix")).get("injected_failure", 0) > 0
        config = ReceiverConfig(webhook_secret=secret, mock_stripe=True, flavor=values.get("flavor") or "reference",
                                database_url="sqlite:///%s" % os.path.join(tmp, "receiver.sqlite3"),
                                enable_fault_hooks=hooks)
        db = Database(config.database_url)
        db.migrate()
        orders_path = os.path.join(tmp, "orders.jsonl")
        write_orders_file(bulk_create_orders(config, db, orders_to_seed(values), quantity=int(values.get("quantity") or 2)),
                          orders_path)
        db.close()
        receiver = GunicornReceiver(config, workers=2, log_path=os.path.join(tmp, "receiver.log"))
        receiver.start()
        print("posx-harness load: reference receiver (%s) on %s" % (config.flavor, receiver.url), file=sys.stderr)
        try:
            return run_locust(dict(values, webhook_secret=secret, orders_file=orders_path), receiver.url)
        finally:
            receiver.stop()


SEEDED_FLOWS_PER_SECOND = 400  # more than this machine's receiver takes; the API covers the rest


def orders_to_seed(values: Dict) -> int:
    """Enough orders for the run: one per flow, at the paced rate or a generous guess."""
    if values.get("prefill_orders"):
        return int(values["prefill_orders"])
    seconds = duration_seconds(str(values.get("duration") or "10s"))
    rate = float(values.get("rate") or 0) or SEEDED_FLOWS_PER_SECOND
    return max(100, min(100_000, int(rate * seconds * 1.2) + 10 * int(values.get("users") or 1)))


def duration_seconds(text: str) -> int:
    """Locust's run-time format: ``90``, ``30s``, ``5m``, ``1h30m``."""
    import re

    if text.strip().isdigit():
        return int(text)
    parts = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*", text)
    if not parts or not any(parts.groups()):
        raise ValueError("run time %r is not like 30s, 5m or 1h30m" % text)
    h, m, s = (int(g or 0) for g in parts.groups())
    return h * 3600 + m * 60 + s
