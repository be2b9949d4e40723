"""The end-of-run checks: did the target do the right thing with every event it got?

- each order ended in the state its events imply (``order_state``);
- a paid order has exactly one allocation and one commission, an unpaid one none
  (``exactly_once``);
- every forged or stale signature got 400 (``forged_accepted``);
- no request got a 5xx (``server_error``);
- everything sent could be checked (``unverified``).

Allocations and commissions come from the target's task worker a moment after the webhook
answers, so an order that is not there yet is polled until ``timeout``; an order that
already has two allocations is wrong for good and is not waited for.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Tuple

from loadtests.ledger import Expectations
from loadtests.verdict import Failure

OK, WAIT, BAD = "ok", "wait", "bad"
EXAMPLES = 3  # examples quoted per failure line

Fetch = Callable[[str], Tuple[Optional[dict], str]]  # order id -> (order json or None, error)


def judge_order(rec: dict, order: dict) -> Tuple[str, str, str]:
    """(verdict, failure kind, why) for one order against what its flow expects.

    Whether the order must hold one allocation or none follows from what was sent when the
    flow completed (the load test knows whether Stripe took the money), and from the
    order's own status when the flow was cut short.
    """
    status = order.get("status")
    allocations = len(order.get("allocations") or [])
    commissions = len(order.get("commissions") or [])
    counts = "%d allocation(s), %d commission(s)" % (allocations, commissions)
    complete = bool(rec.get("complete"))
    if allocations > 1 or commissions > 1:
        return BAD, "exactly_once", "status %s with %s" % (status, counts)
    paid = rec["expect"] == "paid" if complete else status == "paid"
    if not paid and (allocations or commissions):
        return BAD, "exactly_once", "%s but %s" % (
            "a %s flow that never paid" % rec.get("kind") if complete else "status %s" % status, counts)
    wanted = [rec["expect"]] if complete else rec.get("possible") or [rec["expect"]]
    if status not in wanted:
        return WAIT, "order_state", "status %s, expected %s (%s flow)" % (status, " or ".join(wanted), rec.get("kind"))
    if paid and (allocations != 1 or commissions != 1):
        return WAIT, "exactly_once", "paid with %s" % counts
    return OK, "", ""


def check_orders(expected: Dict[str, dict], fetch: Fetch, timeout: float = 10.0, poll: float = 0.25,
                 pool_size: int = 16, clock=time.monotonic, sleep=time.sleep) -> Tuple[List[Failure], dict]:
    """Poll every order until it is right, wrong for good, or ``timeout`` passes."""
    pending = dict(expected)
    problems: Dict[str, Dict[str, str]] = {}  # kind -> order id -> why
    deadline = clock() + timeout
    last_why: Dict[str, Tuple[str, str]] = {}
    while pending:
        for order_id, (order, error) in _fetch_all(list(pending), fetch, pool_size).items():
            rec = pending[order_id]
            if order is None:
                last_why[order_id] = ("unverified", "could not be read: %s" % error)
                continue
            verdict, kind, why = judge_order(rec, order)
            if verdict == WAIT:
                last_why[order_id] = (kind, why)
                continue
            del pending[order_id]
            last_why.pop(order_id, None)
            if verdict == BAD:
                problems.setdefault(kind, {})[order_id] = why
        if not pending or clock() >= deadline:
            break
        sleep(poll)
    for order_id in pending:
        kind, why = last_why[order_id]
        problems.setdefault(kind, {})[order_id] = why + " after waiting %.0f s" % timeout
    failures = [_summarise(kind, found, expected) for kind, found in problems.items()]
    return failures, {"orders": len(expected), "wrong": {k: len(v) for k, v in problems.items()}}


def _fetch_all(order_ids: List[str], fetch: Fetch, pool_size: int) -> Dict[str, Tuple[Optional[dict], str]]:
    try:
        from gevent.pool import Pool
    except ImportError:  # pragma: no cover - locust always brings gevent
        return {oid: fetch(oid) for oid in order_ids}
    pool = Pool(pool_size)
    results = pool.map(fetch, order_ids)
    return dict(zip(order_ids, results))


def _summarise(kind: str, found: Dict[str, str], expected: Dict[str, dict]) -> Failure:
    total = len(expected)
    examples = "; ".join("order %s (%s flow from %s): %s" % (oid, expected[oid].get("kind"),
                                                            expected[oid].get("source", "?"), why)
                         for oid, why in list(found.items())[:EXAMPLES])
    what = {
        "exactly_once": "orders broke exactly-once (one allocation and one commission per paid order)",
        "order_state": "orders did not end in the expected state",
        "unverified": "orders could not be checked",
    }[kind]
    return Failure(kind, "%d of %d %s, e.g. %s" % (len(found), total, what, examples))


def check_forged(expectations: Expectations) -> List[Failure]:
    accepted = [r for r in expectations.forged if r["status"] is not None and r["status"] != 400]
    if not accepted:
        return []
    examples = "; ".join("%s event for order %s got %s" % (r["kind"], r["order"], r["status"]) for r in accepted[:EXAMPLES])
    return [Failure("forged_accepted", "%d of %d forged or stale events were not rejected with 400, e.g. %s"
                    % (len(accepted), len(expectations.forged), examples))]


def check_server_errors(expectations: Expectations) -> List[Failure]:
    count = expectations.server_error_count
    if not count:
        return []
    return [Failure("server_error", "the target answered 5xx %d time(s), e.g. %s"
                    % (count, "; ".join(expectations.server_error_samples[:EXAMPLES])))]


def check_all(expectations: Expectations, fetch: Fetch, timeout: float = 10.0, pool_size: int = 16,
              missing_sources: List[str] = ()) -> Tuple[List[Failure], dict]:
    failures: List[Failure] = []
    if missing_sources:
        failures.append(Failure("unverified", "no expectations arrived from %s; their orders were not checked"
                                % ", ".join(missing_sources)))
    order_failures, summary = check_orders(expectations.orders, fetch, timeout=timeout, pool_size=pool_size)
    failures.extend(order_failures)
    failures.extend(check_forged(expectations))
    failures.extend(check_server_errors(expectations))
    summary.update({"orders_by_source": expectations.orders_by_source(),
                    "forged": len(expectations.forged),
                    "server_errors": expectations.server_error_count})
    return failures, summary
