"""The verdict: invariants over orders, forged events and 5xx; thresholds; exit codes."""
from __future__ import annotations

import itertools

import pytest

from loadtests.invariants import BAD, OK, WAIT, check_all, check_orders, judge_order
from loadtests.ledger import Expectations, Ledger
from loadtests.verdict import EXIT_CODES, Failure, exit_code_for
from tests.loadtests.isolated import run_isolated


def order(status, allocations=0, commissions=0):
    return {"status": status, "allocations": [{}] * allocations, "commissions": [{}] * commissions}


PAID_FLOW = {"kind": "success", "expect": "paid", "possible": ["paid", "pending"], "complete": True}
DECLINE_FLOW = {"kind": "decline", "expect": "failed", "possible": ["failed", "pending"], "complete": True}


@pytest.mark.parametrize("rec,got,verdict,kind", [
    (PAID_FLOW, order("paid", 1, 1), OK, ""),
    (PAID_FLOW, order("paid", 2, 1), BAD, "exactly_once"),
    (PAID_FLOW, order("paid", 1, 2), BAD, "exactly_once"),
    (PAID_FLOW, order("paid", 0, 0), WAIT, "exactly_once"),      # the outbox has not run yet
    (PAID_FLOW, order("failed", 1, 1), WAIT, "order_state"),     # a stale failure un-paid it
    (DECLINE_FLOW, order("failed"), OK, ""),
    (DECLINE_FLOW, order("failed", 1, 1), BAD, "exactly_once"),  # tokens for a payment that never happened
    (dict(PAID_FLOW, complete=False), order("pending"), OK, ""),  # cut short before anything landed
    (dict(PAID_FLOW, complete=False), order("paid", 0, 0), WAIT, "exactly_once"),
    (dict(PAID_FLOW, complete=False), order("pending", 1, 0), BAD, "exactly_once"),
])
def test_judge_order(rec, got, verdict, kind):
    v, k, why = judge_order(rec, got)
    assert (v, k) == (verdict, kind)
    assert bool(why) == (verdict != OK)


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


def test_check_orders_waits_for_the_outbox_then_passes():
    polls = itertools.count()
    clock = FakeClock()

    def fetch(oid):
        return (order("paid", 1, 1) if next(polls) >= 2 else order("paid")), ""

    failures, summary = check_orders({"o1": PAID_FLOW}, fetch, timeout=5, clock=clock, sleep=clock.sleep)
    assert failures == [] and summary["orders"] == 1


def test_check_orders_reports_each_kind_once_with_examples():
    expected = {"a": PAID_FLOW, "b": PAID_FLOW, "c": DECLINE_FLOW, "d": PAID_FLOW}
    answers = {"a": (order("paid", 2, 2), ""), "b": (order("failed", 1, 1), ""), "c": (order("failed"), ""),
               "d": (None, "GET answered 404")}
    clock = FakeClock()
    failures, summary = check_orders(expected, answers.__getitem__, timeout=2, clock=clock, sleep=clock.sleep)
    by_kind = {f.kind: f.message for f in failures}
    assert set(by_kind) == {"exactly_once", "order_state", "unverified"}
    assert "1 of 4" in by_kind["exactly_once"] and "order a" in by_kind["exactly_once"]
    assert "order b" in by_kind["order_state"] and "expected paid" in by_kind["order_state"]
    assert "404" in by_kind["unverified"]
    assert clock.t >= 2  # it did wait for b and d before giving up


def test_exactly_once_breach_is_not_waited_for():
    clock = FakeClock()
    failures, _ = check_orders({"a": PAID_FLOW}, lambda oid: (order("paid", 2, 1), ""), timeout=30,
                               clock=clock, sleep=clock.sleep)
    assert [f.kind for f in failures] == ["exactly_once"] and clock.t == 0


def test_forged_5xx_and_missing_workers():
    w1, w2 = Ledger("w1"), Ledger("w2")
    w1.expect("o1", "forged", "pending", ["pending"])
    w1.forged_sent("k1", "o1", "forged")
    w1.forged_answered("k1", 400)
    w2.expect("o2", "stale", "pending", ["pending"])
    w2.forged_sent("k2", "o2", "stale")
    w2.forged_answered("k2", 200)
    w2.server_error("webhook charge.succeeded", 503)
    exp = Expectations()
    for ledger in (w1, w2):
        exp.add(Ledger.from_dict(ledger.to_dict()))  # as they travel from a worker to the master
    failures, summary = check_all(exp, lambda oid: (order("pending"), ""), timeout=1, missing_sources=["w3"])
    kinds = {f.kind: f.message for f in failures}
    assert set(kinds) == {"forged_accepted", "server_error", "unverified"}
    assert "stale event for order o2 got 200" in kinds["forged_accepted"]
    assert "503" in kinds["server_error"] and "w3" in kinds["unverified"]
    assert summary["orders_by_source"] == {"w1": 1, "w2": 1}


def test_exit_code_is_the_most_serious_failure():
    assert exit_code_for([]) == 0
    assert exit_code_for([Failure("rps", ""), Failure("p99", "")]) == EXIT_CODES["p99"]
    assert exit_code_for([Failure("rps", ""), Failure("exactly_once", "")]) == EXIT_CODES["exactly_once"]
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    assert not {1, 2} & set(EXIT_CODES.values())  # Locust's own codes stay Locust's


THRESHOLD_SNIPPET = """
import json
from locust.env import Environment
from loadtests.thresholds import Thresholds, check_thresholds, webhook_totals

def stats_with(times_ms, failures=0, other=()):
    stats = Environment().stats
    for t in times_ms:
        stats.log_request("POST", "webhook payment_intent.succeeded", t, 10)
    for _ in range(failures):
        stats.log_error("POST", "webhook charge.succeeded", "500")
        stats.log_request("POST", "webhook charge.succeeded", 5, 10)
    for t in other:
        stats.log_request("POST", "orders: bulk", t, 10)
    return stats

out = {}
totals = webhook_totals(stats_with([5] * 98 + [400, 900], other=[5000] * 50))
out["only_webhooks"] = totals.num_requests
out["p95_ok"] = [f.kind for f in check_thresholds(totals, Thresholds(p95_ms=50))]
out["p99"] = [(f.kind, f.message) for f in check_thresholds(totals, Thresholds(p99_ms=100, fail_ratio=0.0))]
totals = webhook_totals(stats_with([50] * 10, failures=5))
out["all"] = [(f.kind, f.message) for f in check_thresholds(
    totals, Thresholds(rps=1e9, fail_ratio=0.1, p95_ms=10, p99_ms=10))]
totals = webhook_totals(stats_with([]))
out["none_unset"] = [f.kind for f in check_thresholds(totals, Thresholds())]
out["none_set"] = [f.kind for f in check_thresholds(totals, Thresholds(rps=1))]
print(json.dumps(out))
"""


def test_thresholds_on_locust_stats():
    out = run_isolated(THRESHOLD_SNIPPET)
    # Only webhook requests count: order creation is the harness's own traffic.
    assert out["only_webhooks"] == 100
    assert out["p95_ok"] == []
    assert [k for k, _ in out["p99"]] == ["p99"] and "--check-p99-ms 100" in out["p99"][0][1]
    assert [k for k, _ in out["all"]] == ["rps", "fail_ratio", "p95", "p99"]
    assert "--check-fail-ratio" in out["all"][1][1]
    assert out["none_unset"] == [] and out["none_set"] == ["rps"]
