"""The end-of-run checks: did the target do the right thing with every event it got?

- each order ended in the state its events imply (``order_state``);
- a paid order has exactly one allocation and one commission, an unpaid one none
  (``exactly_once``);
- every forged or stale signature got 400 (``forged_accepted``), every signed body that
  is not JSON 400 (``invalid_json``);
- a refund, dispute, cancel or redelivered (injected-failure) flow's order shows what its
  events imply (``refund``, ``dispute``, ``cancel``, ``redelivery``);
- the money adds up (``money``, ``loadtests.money``);
- no request got a 5xx beyond the failures the run injected (``server_error``);
- everything sent could be checked (``unverified``).

Allocations and commissions come from the target's task worker a moment after the webhook
answers, so an order that is not there yet is polled until ``timeout``; an order that
already has two allocations is wrong for good and is not waited for.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Tuple

from loadtests.ledger import Expectations
from loadtests.money import check_money
from loadtests.verdict import Failure

OK, WAIT, BAD = "ok", "wait", "bad"
EXAMPLES = 3  # examples quoted per failure line

Fetch = Callable[[str], Tuple[Optional[dict], str]]  # order id -> (order json or None, error)

PAID_STATUSES = ("paid", "refunded")  # Stripe took the money (a refund does not take tokens back)
# The failure kind of a flow whose order ends in the wrong state (each its own exit code).
STATE_KIND = {"refund_partial": "refund", "refund_full": "refund", "dispute": "dispute", "cancel": "cancel",
              "injected_failure": "redelivery", "amount_mismatch": "money", "checkout_async": "money"}


def judge_order(rec: dict, order: dict) -> Tuple[str, str, str]:
    """(verdict, failure kind, why) for one order against what its flow expects.

    Whether the order must hold one allocation or none follows from what was sent when the
    flow completed (the load test knows whether Stripe took the money), and from the
    order's own status when the flow was cut short.
    """
    verdict, kind, why = _judge_status(rec, order)
    if (verdict == WAIT and kind == "order_state") or (kind == "exactly_once" and rec.get("kind") in ("amount_mismatch", "checkout_async")):
        # A short payment or a failed bank debit that allocates breaks the money rule
        # "nothing for an unpaid order".
        kind = STATE_KIND.get(rec.get("kind"), kind)
    if verdict != OK or not rec.get("complete"):
        return verdict, kind, why
    return _judge_checks(rec, order)


def _judge_checks(rec: dict, order: dict) -> Tuple[str, str, str]:
    """What a complete flow's order must show besides its status (refunded amount, disputes)."""
    checks = rec.get("checks") or {}
    kind = STATE_KIND.get(rec.get("kind"), "order_state")
    if "amount_refunded" in checks and "amount_refunded" in order:
        # A target that does not show amount_refunded is judged on its status only
        # (reported as not checked by the money summary).
        if order.get("amount_refunded") != checks["amount_refunded"]:
            return WAIT, kind, "status %s with amount_refunded %s, expected %s (%s flow)" % (
                order.get("status"), order.get("amount_refunded"), checks["amount_refunded"], rec.get("kind"))
    if "disputes" in checks:
        disputes = order.get("disputes")
        count = len(disputes) if isinstance(disputes, list) else None
        if count is None or count != checks["disputes"]:
            verdict = BAD if count is not None and count > checks["disputes"] else WAIT
            return verdict, kind, "status %s with %s dispute(s), expected %d (%s flow)" % (
                order.get("status"), "no list of" if count is None else count, checks["disputes"], rec.get("kind"))
    return OK, "", ""


def _judge_status(rec: dict, order: dict) -> Tuple[str, str, str]:
    status = order.get("status")
    allocations = len(order.get("allocations") or [])
    commissions = len(order.get("commissions") or [])
    counts = "%d allocation(s), %d commission(s)" % (allocations, commissions)
    complete = bool(rec.get("complete"))
    if allocations > 1 or commissions > 1:
        return BAD, "exactly_once", "status %s with %s" % (status, counts)
    paid = rec["expect"] in PAID_STATUSES if complete else status in PAID_STATUSES
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
                 pool_size: int = 16, clock=time.monotonic, sleep=time.sleep,
                 settled: Optional[Dict[str, dict]] = None) -> Tuple[List[Failure], dict]:
    """Poll every order until it is right, wrong for good, or ``timeout`` passes.

    ``settled``, when given, receives the last state read of every order judged right (what
    the money sums are checked on)."""
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
            if verdict == OK and settled is not None:
                settled[order_id] = order
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
    kinds_of = {"refund": ("refund_partial", "refund_full"), "dispute": ("dispute",), "cancel": ("cancel",),
                "redelivery": ("injected_failure",), "money": ("amount_mismatch", "checkout_async")}
    if kind in kinds_of:
        total = sum(1 for rec in expected.values() if rec.get("kind") in kinds_of[kind])
    what = {
        "exactly_once": "orders broke exactly-once (one allocation and one commission per paid order)",
        "order_state": "orders did not end in the expected state",
        "refund": "refunded orders do not show their refund (full: status refunded; partial: still paid; "
                  "amount_refunded = the refunds' sum)",
        "dispute": "disputed orders do not show exactly one dispute",
        "cancel": "orders whose intent was canceled did not end canceled",
        "redelivery": "orders whose webhook failed or crashed (injected) and was redelivered did not end paid",
        "money": "orders paid one cent short or by a failed bank debit were not left unpaid "
                 "(payment_mismatch / failed), or a bank debit's order did not end paid",
        "unverified": "orders could not be checked",
    }[kind]
    return Failure(kind, "%d of %d %s (threshold: none), e.g. %s" % (len(found), total, what, examples))


def check_forged(expectations: Expectations) -> List[Failure]:
    """Forged or stale signatures and signed bodies that are not JSON: each must get 400."""
    failures = []
    for kind, sent_kinds, what in (("forged_accepted", ("forged", "stale"), "forged or stale events were not "
                                    "rejected with 400"),
                                   ("invalid_json", ("invalid_json",), "signed bodies that are not JSON were not "
                                    "answered 400 (threshold: every one gets 400, none a 5xx)")):
        sent = [r for r in expectations.forged if r["kind"] in sent_kinds]
        wrong = [r for r in sent if r["status"] is not None and r["status"] != 400]
        if wrong:
            examples = "; ".join("%s event for order %s got %s" % (r["kind"], r["order"], r["status"])
                                 for r in wrong[:EXAMPLES])
            failures.append(Failure(kind, "%d of %d %s, e.g. %s" % (len(wrong), len(sent), what, examples)))
    return failures


def check_server_errors(expectations: Expectations) -> List[Failure]:
    """Every 5xx is a failure, except as many as the faults the run armed on the target."""
    count, injected = expectations.server_error_count, expectations.injected
    if count <= injected:
        return []
    return [Failure("server_error", "the target answered 5xx %d time(s), %d more than the %d failure(s) the run "
                    "injected (threshold: 5xx <= injected), e.g. %s"
                    % (count, count - injected, injected, "; ".join(expectations.server_error_samples[:EXAMPLES])))]


def check_all(expectations: Expectations, fetch: Fetch, timeout: float = 10.0, pool_size: int = 16,
              missing_sources: List[str] = (), rate_bps: Optional[int] = None) -> Tuple[List[Failure], dict]:
    """``rate_bps``: the target's ``commission_rate_bps`` (GET /api/v1/tiers/); None leaves
    the commission sums unchecked (said in the summary)."""
    failures: List[Failure] = []
    if missing_sources:
        failures.append(Failure("unverified", "no expectations arrived from %s; their orders were not checked"
                                % ", ".join(missing_sources)))
    settled: Dict[str, dict] = {}
    order_failures, summary = check_orders(expectations.orders, fetch, timeout=timeout, pool_size=pool_size,
                                           settled=settled)
    failures.extend(order_failures)
    money_failures, money_summary = check_money(settled, rate_bps)
    failures.extend(money_failures)
    failures.extend(check_forged(expectations))
    failures.extend(check_server_errors(expectations))
    summary.update({"orders_by_source": expectations.orders_by_source(),
                    "forged": sum(1 for r in expectations.forged if r["kind"] != "invalid_json"),
                    "invalid_json": sum(1 for r in expectations.forged if r["kind"] == "invalid_json"),
                    "server_errors": expectations.server_error_count,
                    "injected": expectations.injected, "redelivered": expectations.redelivered,
                    "by_kind": _count_kinds(expectations.orders),
                    "money": money_summary})
    return failures, summary


def _count_kinds(orders: Dict[str, dict]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for rec in orders.values():
        counts[rec.get("kind")] = counts.get(rec.get("kind"), 0) + 1
    return counts
