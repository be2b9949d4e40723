"""The guide's three alert rules at the end of ``posx-harness run`` and ``posx-harness load``.

The figures are made where the deliveries happen (pytest-xdist workers with their own
simulators; Locust's master) and read back by the command that started them, through a
directory or file named in the environment; the rules are ``simulator.delivery.stats``'s.
The verdicts inform (the guide's alerting, on this run's traffic); the exit code stays the
suite's or the thresholds'.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Iterator, Optional

from simulator.delivery import stats as S

RUN_ENV = "POSX_HARNESS_ALERTS_DIR"
LOAD_ENV = "POSX_HARNESS_ALERTS_FILE"
NOTE = "  (the guide's alerting on this run's deliveries; informative, the exit code is the suite's)"


# -- posx-harness run: every honest delivery of the run, per target URL --------------------
def dump_run_samples(engine) -> Optional[str]:
    """Called as a harness simulator stops: its delivery samples, per URL, into RUN_ENV's directory."""
    directory = os.environ.get(RUN_ENV)
    log = getattr(engine, "log", None)
    if not directory or log is None or not os.path.isdir(directory):
        return None
    by_url = {url: [[s["t"], s["status"], s["ms"]] for s in S.samples(entries)]
              for url, entries in S.by_url(log.entries()).items()}
    fd, path = tempfile.mkstemp(prefix="sim-", suffix=".json", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(by_url, f)
    return path


def run_verdicts(directory: str) -> list[str]:
    merged: dict = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                part = json.load(f)
        except (OSError, ValueError):
            continue
        for url, rows in part.items():
            merged.setdefault(url, []).extend(rows)
    if not merged:
        return ["alert rules: no webhook deliveries were recorded in this run"]
    lines = []
    for url, rows in sorted(merged.items()):
        entries = [{"sent_at": t, "status": status, "latency_ms": ms, "honest": True,
                    "outcome": "succeeded" if status is not None and 200 <= status < 300 else "failed"}
                   for t, status, ms in rows]
        st = S.endpoint_stats(entries, now=0.0, window=None, buckets=1)
        lines += S.format_verdicts("%s (%d deliveries)" % (url, st["attempts"]), st["alerts"])
    return lines + [NOTE]


class RunAlerts:
    """Around ``pytest.main``: ``start()`` names a directory the workers inherit; ``finish()``
    reads what they left, removes it and returns the verdict lines."""

    def __init__(self, directory: str, previous: Optional[str]):
        self.directory, self.previous = directory, previous

    @classmethod
    def start(cls) -> "RunAlerts":
        directory = tempfile.mkdtemp(prefix="posx-alerts-")
        alerts = cls(directory, os.environ.get(RUN_ENV))
        os.environ[RUN_ENV] = directory
        return alerts

    def finish(self) -> list[str]:
        if self.previous is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = self.previous
        try:
            return run_verdicts(self.directory)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


# -- posx-harness load: Locust's webhook requests ----------------------------------------
def dump_load_figures(totals, server_errors: int) -> None:
    """Called by the load test's verdict (master or single process) with its webhook totals."""
    path = os.environ.get(LOAD_ENV)
    if not path:
        return
    n = totals.num_requests
    figures = {"attempts": n, "failed": totals.num_failures, "server_errors": int(server_errors or 0),
               "failure_rate": (totals.num_failures / n) if n else None}
    for p in S.PERCENTILES:
        figures["p%d_ms" % p] = totals.get_response_time_percentile(p / 100.0) if n else None
    with open(path, "w", encoding="utf-8") as f:
        json.dump(figures, f)


def load_verdicts(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            figures = json.load(f)
    except (OSError, ValueError):
        return ["alert rules: the load test reported no figures"]
    return S.format_verdicts("the target's webhook (%d requests)" % figures["attempts"], S.evaluate(figures)) + [
        NOTE.replace("suite's", "thresholds'")]


@contextlib.contextmanager
def load_alerts() -> Iterator[list]:
    lines: list = []
    with tempfile.TemporaryDirectory(prefix="posx-alerts-") as directory:
        path = os.path.join(directory, "load.json")
        previous = os.environ.get(LOAD_ENV)
        os.environ[LOAD_ENV] = path
        try:
            yield lines
        finally:
            if previous is None:
                os.environ.pop(LOAD_ENV, None)
            else:
                os.environ[LOAD_ENV] = previous
            lines.extend(load_verdicts(path))
