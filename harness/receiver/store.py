"""Order rows and what events do to them, inside a caller's transaction.

Every function takes an open ``Tx``; none commits. The webhook handler, the order API and
the outbox worker compose them into their own single transactions.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime, timezone
from typing import Dict, FrozenSet, List, Optional

from .events import EventFacts, derive_status, mismatch, read_event

log = logging.getLogger("posx.receiver")

ORDER_COLUMNS = ("id", "site_code", "tier_id", "quantity", "amount", "currency", "tokens", "referrer", "status",
                 "stripe_payment_intent_id", "client_secret", "payment_method", "paid_at", "failed_at",
                 "canceled_at", "refunded_at", "created_at", "updated_at", "amount_refunded", "payment_error")
_SELECT_ORDER = "SELECT %s FROM orders" % ", ".join(ORDER_COLUMNS)

TASK_KINDS = ("allocate_tokens", "calculate_commissions")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def as_order(row) -> Optional[Dict]:
    return None if row is None else dict(zip(ORDER_COLUMNS, row))


def insert_order(tx, order: Dict) -> None:
    cols = [c for c in ORDER_COLUMNS if c in order]
    tx.execute("INSERT INTO orders (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
               [order[c] for c in cols])


def get_order(tx, order_id: str, lock: bool = False) -> Optional[Dict]:
    return as_order(tx.one(_SELECT_ORDER + " WHERE id = ?" + (tx.for_update if lock else ""), (order_id,)))


def find_order(tx, facts: EventFacts, lock: bool = True) -> Optional[Dict]:
    """The order an event concerns: by ``metadata.order_id`` first, then by intent id."""
    suffix = tx.for_update if lock else ""
    if facts.order_ref:
        row = tx.one(_SELECT_ORDER + " WHERE id = ?" + suffix, (facts.order_ref,))
        if row is not None:
            return as_order(row)
    if facts.payment_intent:
        return as_order(tx.one(_SELECT_ORDER + " WHERE stripe_payment_intent_id = ?" + suffix, (facts.payment_intent,)))
    return None


def find_order_unlocked(db, facts: EventFacts) -> Optional[Dict]:
    """The flawed read: a snapshot outside the transaction that will act on it."""
    if facts.order_ref:
        rows = db.read(_SELECT_ORDER + " WHERE id = ?", (facts.order_ref,))
        if rows:
            return as_order(rows[0])
    if facts.payment_intent:
        rows = db.read(_SELECT_ORDER + " WHERE stripe_payment_intent_id = ?", (facts.payment_intent,))
        if rows:
            return as_order(rows[0])
    return None


def record_event(tx, facts: EventFacts, status: str, order_id: Optional[str], now: Optional[str] = None) -> bool:
    """Insert the event id; False if it was already there (a duplicate)."""
    return tx.execute(
        "INSERT INTO webhook_events (event_id, event_type, status, order_id, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (event_id) DO NOTHING", (facts.event_id, facts.type, status, order_id, now or now_iso())) == 1


def set_event_status(tx, event_id: str, status: str, order_id: Optional[str]) -> None:
    tx.execute("UPDATE webhook_events SET status = ?, order_id = ? WHERE event_id = ?", (status, order_id, event_id))


@dataclasses.dataclass
class Outcome:
    status: str
    newly_paid: bool = False
    changed: bool = False


# The order's fields an event can change (besides the derived status).
PAYMENT_FIELDS = ("payment_method", "paid_at", "failed_at", "canceled_at", "refunded_at", "amount_refunded",
                  "payment_error")


def apply_facts(tx, order: Dict, facts: EventFacts, force_failure: bool = False, now: Optional[str] = None,
                flags: FrozenSet[str] = frozenset()) -> Outcome:
    """Record the event's fact on ``order`` (already locked, or a stale snapshot for the
    flawed flavours) and write the derived status. ``flags``: the flavour's flaws that
    change the money rules (see flavors.py); empty for the reference."""
    now = now or now_iso()
    fields = {k: order.get(k) for k in PAYMENT_FIELDS}
    fields["amount_refunded"] = fields["amount_refunded"] or 0
    newly_paid = False
    fact = facts.fact
    if fact == "checkout_unpaid" and "checkout_unpaid_pays" in flags:
        fact = "paid"  # the flaw: a delayed method's "completed" read as money received
    if fact in ("paid", "refunded") and not fields["paid_at"] and not fields["payment_error"]:
        # A refund implies the payment happened: an early charge.refunded pays too. Either
        # way the money received must be the order's, or nothing is paid (the contract's
        # mismatch rule); a mismatch stays until a person decides.
        error = None if "ignore_amount" in flags else mismatch(order["amount"], order["currency"], facts)
        if error:
            fields["payment_error"] = error
            notify_admin(tx, "payment_mismatch", order["id"], "Payment for order %s not accepted (%s, event %s)"
                         % (order["id"], error, facts.event_id))
        else:
            fields["paid_at"] = now
            fields["payment_method"] = "stripe"
            newly_paid = True
    if fact == "refunded":
        # charge.refunded carries the charge's cumulative amount_refunded: keep the largest
        # seen, so a duplicate or an older event neither adds twice nor lowers it.
        refunded = min(max(fields["amount_refunded"], facts.amount_refunded or 0), order["amount"])
        grew = refunded > fields["amount_refunded"]
        fields["amount_refunded"] = refunded
        full = refunded >= order["amount"]
        if fields["paid_at"] and not fields["refunded_at"] and (full or "partial_refund_refunds" in flags):
            fields["refunded_at"] = now
        if grew and not full:
            notify_admin(tx, "partial_refund", order["id"],
                         "Partial refund on order %s: %d of %d refunded" % (order["id"], refunded, order["amount"]))
    elif fact == "failed" and not fields["failed_at"]:
        fields["failed_at"] = now
    elif fact == "canceled" and not fields["canceled_at"]:
        fields["canceled_at"] = now
    elif fact == "dispute":
        record_dispute(tx, order, facts)
    status = derive_status(fields["paid_at"], fields["failed_at"], fields["canceled_at"], fields["refunded_at"],
                           fields["payment_error"])
    if force_failure and fact == "failed":
        status = "failed"
    changed = status != order["status"] or any(fields[k] != order.get(k) for k in fields)
    if changed:
        tx.execute("UPDATE orders SET status = ?, payment_method = ?, paid_at = ?, failed_at = ?, canceled_at = ?, "
                   "refunded_at = ?, amount_refunded = ?, payment_error = ?, updated_at = ? WHERE id = ?",
                   (status, fields["payment_method"], fields["paid_at"], fields["failed_at"], fields["canceled_at"],
                    fields["refunded_at"], fields["amount_refunded"], fields["payment_error"], now, order["id"]))
    if newly_paid:
        log.info("Payment succeeded for order %s", order["id"])
    if status != order["status"]:
        log.info("Order status updated: %s (order %s)", status, order["id"])
    return Outcome(status, newly_paid, changed)


def record_dispute(tx, order: Dict, facts: EventFacts) -> None:
    obj = facts.obj
    dispute_id = obj.get("id") if isinstance(obj.get("id"), str) else facts.event_id
    charge = obj.get("charge")
    charge = charge.get("id") if isinstance(charge, dict) else charge
    amount = obj.get("amount") if isinstance(obj.get("amount"), int) else None
    inserted = tx.execute(
        "INSERT INTO disputes (id, order_id, charge_id, amount, reason, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        (dispute_id, order["id"], charge if isinstance(charge, str) else None, amount,
         str(obj.get("reason") or ""), str(obj.get("status") or ""), now_iso()))
    if inserted:
        notify_admin(tx, "dispute", order["id"], "Dispute %s (%s) opened on order %s, charge %s" % (
            dispute_id, obj.get("reason"), order["id"], charge))


def notify_admin(tx, kind: str, order_id: Optional[str], message: str) -> None:
    tx.execute("INSERT INTO notifications (kind, order_id, message, created_at) VALUES (?, ?, ?, ?)",
               (kind, order_id, message, now_iso()))
    log.warning("Admin notification: %s", message)


def enqueue_tasks(tx, order_id: str, event_id: Optional[str] = None, now: Optional[str] = None) -> None:
    """One task per kind per order (``event_id`` given: per event, the flawed keying)."""
    now = now or now_iso()
    params = []
    for kind in TASK_KINDS:
        key = "%s:%s" % (kind, order_id) if event_id is None else "%s:%s:%s" % (kind, order_id, event_id)
        params.extend((order_id, kind, key, now))
    tx.execute("INSERT INTO outbox (order_id, kind, dedup_key, status, attempts, created_at) VALUES "
               + ", ".join(["(?, ?, ?, 'ready', 0, ?)"] * len(TASK_KINDS)) + " ON CONFLICT (dedup_key) DO NOTHING", params)


def store_pending(tx, facts: EventFacts, payload: str) -> None:
    tx.execute("INSERT INTO pending_events (event_id, event_type, order_ref, payment_intent_id, payload, received_at) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
               (facts.event_id, facts.type, facts.order_ref, facts.payment_intent, payload, now_iso()))


def apply_pending(tx, order: Dict, flags: FrozenSet[str] = frozenset()) -> List[str]:
    """Apply the kept events of ``order`` (locked by the caller) and forget them."""
    rows = tx.all("SELECT event_id, payload FROM pending_events WHERE order_ref = ? OR payment_intent_id = ? "
                  "ORDER BY received_at" + tx.for_update, (order["id"], order["stripe_payment_intent_id"]))
    applied = []
    for event_id, payload in rows:
        if tx.execute("DELETE FROM pending_events WHERE event_id = ?", (event_id,)) != 1:
            continue  # another transaction took it
        facts = read_event(json.loads(payload))
        outcome = apply_facts(tx, order, facts, flags=flags)
        if outcome.newly_paid:
            enqueue_tasks(tx, order["id"])
        order = get_order(tx, order["id"])
        set_event_status(tx, event_id, "processed", order["id"])
        log.info("Applied kept event %s (%s) to order %s", event_id, facts.type, order["id"])
        applied.append(event_id)
    return applied


def order_view(tx_or_db, order: Dict) -> Dict:
    """The order as ``GET /api/v1/orders/<id>/`` shows it."""
    q = tx_or_db.all if hasattr(tx_or_db, "all") else tx_or_db.read
    allocations = [{"id": r[0], "tokens": r[1], "created_at": r[2]}
                   for r in q("SELECT id, tokens, created_at FROM allocations WHERE order_id = ? ORDER BY id", (order["id"],))]
    commissions = [{"id": r[0], "beneficiary": r[1], "rate_bps": r[2], "amount": r[3], "created_at": r[4]}
                   for r in q("SELECT id, beneficiary, rate_bps, amount, created_at FROM commissions WHERE order_id = ? "
                              "ORDER BY id", (order["id"],))]
    disputes = [{"id": r[0], "charge": r[1], "amount": r[2], "reason": r[3], "status": r[4], "created_at": r[5]}
                for r in q("SELECT id, charge_id, amount, reason, status, created_at FROM disputes WHERE order_id = ? "
                           "ORDER BY created_at", (order["id"],))]
    return {
        "id": order["id"],
        "status": order["status"],
        "amount": order["amount"],
        "currency": order["currency"],
        "tier_id": order["tier_id"],
        "quantity": order["quantity"],
        "tokens": order["tokens"],
        "amount_refunded": order.get("amount_refunded") or 0,
        "payment_error": order.get("payment_error"),
        "site_code": order["site_code"],
        "paid_at": order["paid_at"],
        "payment_method": order["payment_method"],
        "stripe_payment_intent_id": order["stripe_payment_intent_id"],
        "allocations": allocations,
        "commissions": commissions,
        "disputes": disputes,
        "created_at": order["created_at"],
    }
