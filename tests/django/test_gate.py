"""``examples/posx-django/gate.sh``: the Django + Celery stack gated in one command.

Each run starts Redis if none answers, migrates, serves gunicorn (2 workers) and one Celery
worker, runs ``posx-harness run`` against it and stops what it started. Kept lean: the
SQLite run is the whole suite; PostgreSQL runs the scenarios where the database's locking
and rollback matter; the guide variant only the scenarios that show its three main flaws.
"""
from __future__ import annotations

import json
import re

import pytest

from .support import EXAMPLE, GATE, PG_URL, clean_env, pid_alive, postgres_unavailable, redis_unavailable, run

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(autouse=True)
def _needs_redis():
    reason = redis_unavailable()
    if reason:
        pytest.skip("Django gate skipped: " + reason)


def gate(tmp_path, *args, **env):
    report = tmp_path / "report.json"
    proc = run(["bash", str(GATE), *args], cwd=str(EXAMPLE), env=clean_env(POSX_GATE_REPORT=str(report), **env))
    output = proc.stdout + proc.stderr
    doc = json.loads(report.read_text()) if report.exists() else None
    # What the gate started is gone once it returns.
    pids = [int(p) for p in re.findall(r"(?:gunicorn|Celery worker) \(pid (\d+)\)", output)]
    assert len(pids) == 2, output[-3000:]
    assert not [p for p in pids if pid_alive(p)], "gate.sh left processes running: %s" % pids
    return proc.returncode, output, doc


def outcomes(doc) -> dict:
    return {s["name"]: s["outcome"] for s in doc["scenarios"]}


def assert_all_ran_and_passed(code, output, doc):
    assert doc is not None, output[-3000:]
    s = doc["summary"]
    assert code == 0, output[-5000:]
    assert s["failed"] == 0 and s["error"] == 0, s
    assert s.get("not_checked", 0) == 0 and s["skipped"] == 0, "every scenario must run: %s" % s
    assert s["passed"] == s["total"] > 0


def test_gate_passes_on_sqlite_with_every_scenario_run(tmp_path):
    code, output, doc = gate(tmp_path)
    assert_all_ran_and_passed(code, output, doc)
    names = outcomes(doc)
    assert len(names) >= 69, "the whole suite runs"
    assert "fault hooks: fail_next, crash_next, delay_next" in output, "the harness found the drop-in's hooks"
    assert names["test_recovery.py::test_stripe_retry_finishes_the_job_once[after_crash_mid_processing]"] == "passed"
    assert "PASS" in output


@pytest.mark.postgres
def test_gate_passes_on_postgresql(tmp_path):
    reason = postgres_unavailable()
    if reason:
        pytest.skip("PostgreSQL gate skipped: " + reason)
    code, output, doc = gate(tmp_path, "-t", "duplicates", "-t", "recovery", "-t", "payment", DATABASE_URL=PG_URL)
    assert_all_ran_and_passed(code, output, doc)
    assert "schema posx_django_gate_" in output
    names = outcomes(doc)
    assert any("concurrent_distinct_success_events" in n for n in names)
    assert any("after_crash_mid_processing" in n for n in names)


def test_guide_variant_fails_naming_its_flaws(tmp_path):
    code, output, doc = gate(tmp_path, "--timeout", "5", "-k",
                             "concurrent_distinct or concurrent_success or after_crash or stale_failure_after_success",
                             POSX_VARIANT="guide")
    assert code == 1, output[-3000:]
    assert doc["summary"]["skipped"] == 0 and doc["summary"].get("not_checked", 0) == 0
    failed = [n for n, o in outcomes(doc).items() if o == "failed"]
    for flaw, scenario in (("double allocation under concurrent duplicates", "concurrent_distinct_success_events"),
                           ("the event lost by marking before processing", "after_crash_mid_processing"),
                           ("the stale failure that un-pays", "stale_failure_after_success")):
        assert any(scenario in n for n in failed), (scenario, failed)
        assert flaw in output, flaw
    assert "FAIL" in output
