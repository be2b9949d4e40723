"""The webhook state machine in-process, on SQLite and PostgreSQL: arrival order, duplicates,
kept events, exactly-once tasks."""
from __future__ import annotations

import itertools
import json
import os
import threading

import pytest

from harness.receiver.db import Database
from harness.receiver.outbox import OutboxWorker

from .support import charge, dispute, event, payment_events, payment_intent, wait_until


def drain(client) -> int:
    return OutboxWorker(client.app.config, client.app.db).drain()


def final(client, order_id):
    drain(client)
    return client.get_order(order_id)


def assert_paid_once(view):
    assert view["status"] == "paid", view
    assert view["payment_method"] == "stripe" and view["paid_at"]
    assert len(view["allocations"]) == 1, view["allocations"]
    assert len(view["commissions"]) == 1, view["commissions"]


def test_every_permutation_of_a_payments_events_pays_once(make_client):
    client = make_client()
    names = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"]
    for perm in itertools.permutations(names):
        order = client.create_order()
        events = payment_events(order)
        for name in perm:
            status, body = client.deliver(events[name])
            assert status == 200, (perm, name, body)
        view = final(client, order["id"])
        assert_paid_once(view)
        assert view["allocations"][0]["tokens"] == 100
        assert view["commissions"][0]["amount"] == order["amount"] // 10


@pytest.mark.parametrize("sequence, expected", [
    (["failed", "succeeded"], "paid"),            # a retry with another card pays
    (["succeeded", "failed"], "paid"),            # a stale failure does not undo a payment
    (["failed", "failed"], "failed"),
    (["canceled"], "canceled"),
    (["succeeded", "canceled"], "paid"),          # canceled after paid does not unpay
    (["refunded", "succeeded"], "refunded"),      # an early refund is not lost
    (["succeeded", "refunded"], "refunded"),
    (["charge_failed"], "failed"),
])
def test_final_state_does_not_depend_on_arrival_order(make_client, sequence, expected):
    client = make_client()
    order = client.create_order()
    makers = {
        "succeeded": lambda: event("payment_intent.succeeded", payment_intent(order)),
        "failed": lambda: event("payment_intent.payment_failed", payment_intent(order, "requires_payment_method")),
        "charge_failed": lambda: event("charge.failed", charge(order, "failed")),
        "canceled": lambda: event("payment_intent.canceled", payment_intent(order, "canceled")),
        "refunded": lambda: event("charge.refunded", charge(order, refunded=True, amount_refunded=order["amount"])),
    }
    for name in sequence:
        assert client.deliver(makers[name]())[0] == 200
    view = final(client, order["id"])
    assert view["status"] == expected
    paid = "succeeded" in sequence or "refunded" in sequence
    assert len(view["allocations"]) == (1 if paid else 0)
    assert len(view["commissions"]) == (1 if paid else 0)


def test_duplicate_event_has_no_second_effect(make_client):
    client = make_client()
    order = client.create_order()
    evt = event("payment_intent.succeeded", payment_intent(order))
    assert client.deliver(evt) == (200, {"received": True, "result": "processed"})
    drain(client)
    for _ in range(3):
        assert client.deliver(evt) == (200, {"received": True, "result": "duplicate"})
    assert_paid_once(final(client, order["id"]))


def test_dispute_is_recorded_and_the_admin_notified(make_client, caplog):
    client = make_client()
    order = client.create_order()
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    dp = dispute(order)
    with caplog.at_level("WARNING", logger="posx.receiver"):
        assert client.deliver(event("charge.dispute.created", dp))[0] == 200
        assert client.deliver(event("charge.dispute.created", dp))[0] == 200  # another event, same dispute
    view = final(client, order["id"])
    assert view["status"] == "paid"
    assert [(d["id"], d["reason"], d["status"]) for d in view["disputes"]] == [(dp["id"], "fraudulent", "needs_response")]
    assert sum("Admin notification: Dispute %s" % dp["id"] in r.getMessage() for r in caplog.records) == 1


def test_event_for_an_unknown_order_is_kept_and_applied_when_the_order_appears(make_client):
    client = make_client()
    app = client.app
    # The intent id the next order will get is unknown, so address the event by order id:
    # create the order first in the mock, then replay its events before the row exists.
    order = client.create_order()
    ghost = dict(order, id="00000000-0000-4000-8000-%012d" % 7, stripe_payment_intent_id="pi_ghost_%s" % order["id"][:8])
    evt = event("payment_intent.succeeded", payment_intent(ghost))
    assert client.deliver(evt) == (200, {"received": True, "result": "pending"})
    assert client.deliver(evt) == (200, {"received": True, "result": "duplicate"})
    assert app.db.read("SELECT COUNT(*) FROM pending_events")[0][0] == 1
    # Now the order appears (as an order created with that id and intent would).
    from harness.receiver import store
    with app.db.transaction() as tx:
        row = dict(store.get_order(tx, order["id"]), id=ghost["id"], stripe_payment_intent_id=ghost["stripe_payment_intent_id"])
        store.insert_order(tx, row)
        store.apply_pending(tx, row)
    assert app.db.read("SELECT COUNT(*) FROM pending_events")[0][0] == 0
    assert_paid_once(final(client, ghost["id"]))


def test_kept_event_is_applied_by_the_worker_sweep(make_client):
    client = make_client()
    app = client.app
    order = client.create_order()
    ghost_pi = "pi_sweep_%s" % order["id"][:8]
    evt = event("charge.succeeded", charge(dict(order, id="not-yet", stripe_payment_intent_id=ghost_pi)))
    assert client.deliver(evt)[1]["result"] == "pending"
    # The order row appears without the creation path applying the kept event (the race the
    # sweep exists for): only the worker can pick it up.
    with app.db.transaction() as tx:
        tx.execute("UPDATE orders SET stripe_payment_intent_id = ? WHERE id = ?", (ghost_pi, order["id"]))
    assert OutboxWorker(app.config, app.db).sweep_pending() == 1
    assert_paid_once(final(client, order["id"]))


def test_failed_task_is_retried_and_not_doubled(make_client):
    client = make_client()
    app = client.app
    order = client.create_order()
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    # Simulate a worker that died after its allocation committed but before the task was
    # marked done: the task is still ready, and running it again must not allocate twice.
    worker = OutboxWorker(app.config, app.db)
    with app.db.transaction() as tx:
        tx.execute("INSERT INTO allocations (order_id, task_key, tokens, created_at) VALUES (?, ?, ?, ?)",
                   (order["id"], "allocate_tokens:%s" % order["id"], 100, "2026-01-01T00:00:00Z"))
    assert worker.drain() == 2
    assert_paid_once(client.get_order(order["id"]))


@pytest.mark.parametrize("body, header_ok, error", [
    (b"not json", True, "Invalid payload"),
    (b"[]", True, "Invalid payload"),
    (json.dumps({"id": "evt_1"}).encode(), True, "Invalid payload"),
    (json.dumps({"id": "evt_1", "type": "charge.succeeded", "data": {}}).encode(), True, "Invalid payload"),
    (b"{}", False, "Invalid signature"),
])
def test_bad_webhook_input_is_a_clear_400(make_client, body, header_ok, error):
    from simulator.signing import generate_header
    from .support import SECRET
    client = make_client()
    headers = {"Stripe-Signature": generate_header(body, SECRET if header_ok else "whsec_wrong")}
    assert client.request("POST", "/api/v1/webhooks/stripe/", body, headers) == (400, {"error": error})
    assert client.app.db.read("SELECT COUNT(*) FROM webhook_events")[0][0] == 0


def test_checkout_session_completed_pays_by_client_reference(make_client):
    client = make_client()
    order = client.create_order()
    session = {"id": "cs_test_1", "object": "checkout.session", "payment_status": "unpaid", "status": "complete",
               "client_reference_id": order["id"], "payment_intent": None, "metadata": {},
               "amount_total": order["amount"], "currency": "usd"}
    assert client.deliver(event("checkout.session.completed", session))[0] == 200
    assert client.get_order(order["id"])["status"] == "pending"  # completed, not paid yet
    session = dict(session, payment_status="paid")
    assert client.deliver(event("checkout.session.completed", session))[0] == 200
    assert_paid_once(final(client, order["id"]))


def test_partial_refund_keeps_the_order_paid_and_tells_the_admin(make_client):
    client = make_client()
    order = client.create_order()
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    client.deliver(event("charge.refunded", charge(order, refunded=False, amount_refunded=100)))
    assert_paid_once(final(client, order["id"]))
    rows = client.app.db.read("SELECT kind, message FROM notifications")
    assert [r[0] for r in rows] == ["partial_refund"] and "100" in rows[0][1]


def test_the_guides_log_lines_and_never_the_secret(make_client, caplog):
    from .support import SECRET
    with caplog.at_level("INFO", logger="posx.receiver"):
        client = make_client()
        order = client.create_order()
        evt = event("payment_intent.succeeded", payment_intent(order))
        client.deliver(evt)
        client.deliver(evt)
        client.deliver(event("customer.created", {"id": "cus_1", "object": "customer"}))
        lost = dict(order, id="nope", stripe_payment_intent_id="pi_nowhere")
        client.deliver(event("payment_intent.succeeded", payment_intent(lost)))
    lines = [r.getMessage() for r in caplog.records]
    for expected in ("Received Stripe webhook: payment_intent.succeeded", "Event ID: %s" % evt["id"],
                     "Duplicate event: %s" % evt["id"], "Payment succeeded for order %s" % order["id"],
                     "Order not found: pi_nowhere", "Ignored event: customer.created"):
        assert expected in lines, expected
    assert not any(SECRET in line for line in lines)
    assert any("POSX receiver ready" in line and "whsec_rece" in line for line in lines)


def test_worker_checkpoint_folds_the_wal_back(make_client):
    client = make_client()
    for _ in range(3):
        client.create_order()
    db = client.app.db
    db.checkpoint()
    if db.dialect == "sqlite":
        busy, wal_pages, folded = db.connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and wal_pages == folded
        # Requests never checkpoint (a 400 MB safety net only): the worker does, see below.
        assert db.connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 100000


def test_checkpoint_restarts_a_wal_that_writers_keep_growing(sqlite_database):
    """Under steady writes a passive checkpoint never lets the WAL start over (frames land
    during the copy); the second pass under the writer lock must, or the WAL grows forever."""
    db, writer = Database(sqlite_database[0]), Database(sqlite_database[0])
    db.migrate()
    path = db.path + "-wal"
    stop = threading.Event()

    def write():
        while not stop.is_set():
            with writer.transaction() as tx:
                tx.execute("INSERT INTO notifications (kind, message, created_at) VALUES ('load', ?, 'now')",
                           ("x" * 3000,))  # about a page per row

    thread = threading.Thread(target=write)
    thread.start()
    try:
        wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 3 * Database.RESTART_OVER_FRAMES * 4120,
                   what="the WAL to hold a few thousand frames")
        busy, frames, copied = db.checkpoint()
    finally:
        stop.set()
        thread.join(10)
    assert busy == 0 and frames > Database.RESTART_OVER_FRAMES and copied == frames
    # Restarted: what the WAL holds now is only what was written after the checkpoint.
    _, frames_after, _ = db.connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames_after < frames, (frames_after, frames)
    writer.close()
    db.close()
