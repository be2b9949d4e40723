"""Benchmark: how long the scenario suite takes to fail a broken target, against a passing run.

Each run is ``posx-harness run`` as a team points it at an external target: ``--target-url``
and no profile (the fault hooks are found at ``/_posx/faults/``), api mode, one process, the
external default timeout (10 s per expectation). The target is the reference receiver served
under gunicorn (2 workers, fault hooks on, SQLite), its Stripe API base the run's simulator:

- ``reference``: the correct receiver, the run passes;
- ``flaw-double-allocate``: every paid order gets two allocations, so most scenarios fail.

Before expectations failed fast, each failed one waited the whole timeout (the issue saw
510 s against 30 s). Target: the failing run takes at most 2x the passing one.

    .venv/bin/python tests/bench/bench_verdict.py                   # both flavours, the whole suite
    .venv/bin/python tests/bench/bench_verdict.py --select "-t payment"

Exit 0 when the ratio is met, 1 otherwise (a benchmark, not a test). Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "whsec_bench_verdict_0123456789abcdef"
TOKEN = "posx-test-token"
TARGET_RATIO = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_against(flavor: str, select: list, tmp: str) -> dict:
    from harness.receiver.config import ReceiverConfig
    from harness.receiver.server import GunicornReceiver

    sim_port = free_port()
    config = ReceiverConfig(webhook_secret=SECRET, stripe_api_base="http://127.0.0.1:%d" % sim_port, flavor=flavor,
                            enable_fault_hooks=True, database_url="sqlite:///%s" % os.path.join(tmp, flavor + ".sqlite3"))
    report = os.path.join(tmp, flavor + ".json")
    env = dict(os.environ)
    for name in ("PYTEST_XDIST_WORKER", "POSX_TARGET_URL", "POSX_PROFILE", "STRIPE_WEBHOOK_SECRET", "POSX_TAGS"):
        env.pop(name, None)
    with GunicornReceiver(config, workers=2, log_path=os.path.join(tmp, flavor + ".log")) as receiver:
        cmd = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())", "run",
               "--target-url", receiver.url, "--webhook-secret", SECRET, "--sim-port", str(sim_port),
               "--api-token", TOKEN, "--json-report", report, *select]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT))
        seconds = time.monotonic() - start
    doc = json.loads(Path(report).read_text())
    return {"flavor": flavor, "seconds": round(seconds, 1), "exit_code": proc.returncode,
            "summary": doc["summary_line"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", default="", help="selection passed to posx-harness run, e.g. \"-t payment\"")
    args = parser.parse_args(argv)
    select = shlex.split(args.select)
    with tempfile.TemporaryDirectory(prefix="bench-verdict-") as tmp:
        passing = run_against("reference", select, tmp)
        failing = run_against("flaw-double-allocate", select, tmp)
    ratio = failing["seconds"] / max(passing["seconds"], 1e-6)
    result = {"passing": passing, "failing": failing, "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO,
              "cpus": os.cpu_count()}
    print(json.dumps(result))
    ok = passing["exit_code"] == 0 and failing["exit_code"] == 1 and ratio <= TARGET_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
