"""The money invariants at the end of a load run (docs/CONTRACT.md, "Money").

Checked on the last state read of every order whose flow was judged right, so a count
already reported (a double allocation, a missing one) is not reported twice:

- the tokens allocated to a paid order (status ``paid`` or ``refunded``: a refund does not
  take tokens back) equal the tokens it sold (``order.tokens``); summed, the tokens
  allocated equal the tokens sold in paid orders;
- its commissions equal ``floor(amount x rate_bps / 10000)`` (the target's
  ``commission_rate_bps`` from ``GET /api/v1/tiers/``);
- no order's ``amount_refunded`` exceeds its ``amount``;
- an order that is not paid has no allocation and no commission.

A field the target does not show (``tokens``, ``amount_refunded``, the rate) leaves its rule
unchecked; the summary names what was not checked.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from loadtests.verdict import Failure

PAID_STATUSES = ("paid", "refunded")
EXAMPLES = 3


def commission_due(amount: int, rate_bps: int) -> int:
    """The contract's rounding: integer division, the fraction of a cent is never paid out."""
    return amount * rate_bps // 10000


def _sum(rows, field: str) -> Optional[int]:
    total = 0
    for row in rows or []:
        value = row.get(field) if isinstance(row, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        total += value
    return total


def check_money(orders: Dict[str, dict], rate_bps: Optional[int]) -> Tuple[List[Failure], dict]:
    """``orders``: order id -> the order as ``GET /api/v1/orders/<id>/`` showed it last."""
    problems: List[str] = []
    totals = {"orders_paid": 0, "tokens_sold": 0, "tokens_allocated": 0, "commission_due": 0,
              "commission_paid": 0, "amount_paid": 0, "amount_refunded": 0}
    unchecked = set()
    for order_id, order in orders.items():
        status = order.get("status")
        amount = order.get("amount")
        allocations = order.get("allocations") or []
        commissions = order.get("commissions") or []
        refunded = order.get("amount_refunded")
        if "amount_refunded" not in order:
            unchecked.add("refunds (the orders show no amount_refunded)")
        elif isinstance(refunded, int) and isinstance(amount, int):
            totals["amount_refunded"] += refunded
            if refunded > amount or refunded < 0:
                problems.append("order %s: amount_refunded %d for an amount of %d (refunds never exceed payments)"
                                % (order_id, refunded, amount))
        if status not in PAID_STATUSES:
            if allocations or commissions:
                problems.append("order %s: status %s (not paid) with %d allocation(s), %d commission(s)"
                                % (order_id, status, len(allocations), len(commissions)))
            continue
        totals["orders_paid"] += 1
        if isinstance(amount, int):
            totals["amount_paid"] += amount
        tokens, allocated = order.get("tokens"), _sum(allocations, "tokens")
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            unchecked.add("tokens (the orders show no tokens)")
        elif allocated is None:
            problems.append("order %s: its allocation(s) show no tokens" % order_id)
        else:
            totals["tokens_sold"] += tokens
            totals["tokens_allocated"] += allocated
            if allocated != tokens:
                problems.append("order %s: %d token(s) allocated, the order sold %d (tier tokens x quantity)"
                                % (order_id, allocated, tokens))
        paid_out = _sum(commissions, "amount")
        if rate_bps is None:
            unchecked.add("commissions (GET /api/v1/tiers/ shows no commission_rate_bps)")
        elif not isinstance(amount, int) or paid_out is None:
            problems.append("order %s: no integer amount on the order or its commission(s)" % order_id)
        else:
            due = commission_due(amount, rate_bps)
            totals["commission_due"] += due
            totals["commission_paid"] += paid_out
            if paid_out != due:
                problems.append("order %s: commission %d, expected floor(%d x %d / 10000) = %d"
                                % (order_id, paid_out, amount, rate_bps, due))
    summary = dict(totals, rate_bps=rate_bps, not_checked=sorted(unchecked), wrong=len(problems))
    if not problems:
        return [], summary
    message = ("%d problem(s) in the money of %d settled orders (threshold: none; tokens allocated %d vs sold %d, "
               "commissions %d vs due %d, refunded %d of %d paid), e.g. %s"
               % (len(problems), len(orders), totals["tokens_allocated"], totals["tokens_sold"],
                  totals["commission_paid"], totals["commission_due"], totals["amount_refunded"],
                  totals["amount_paid"], "; ".join(problems[:EXAMPLES])))
    return [Failure("money", message)], summary
