"""The outbox's set-based batch must have exactly the effects of running each task alone."""
from __future__ import annotations

import logging

from harness.receiver import store
from harness.receiver.outbox import BATCH, MAX_ATTEMPTS, OutboxWorker

# (referrer, site_code, amount, tokens): a referrer, none, and an empty one (falls back to the house)
ORDERS = [("ref_alice", "NA", 1000, 100), (None, "EU", 5000, 550), ("", "APAC", 50001, 6000)]


def _seed(app, prefix: str):
    ids = []
    with app.db.transaction() as tx:
        for n, (referrer, site, amount, tokens) in enumerate(ORDERS):
            order_id = "%s-%d" % (prefix, n)
            store.insert_order(tx, {"id": order_id, "site_code": site, "tier_id": "tier_x", "quantity": 1,
                                    "amount": amount, "currency": "usd", "tokens": tokens, "referrer": referrer,
                                    "status": "paid", "stripe_payment_intent_id": "pi_%s" % order_id,
                                    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
            store.enqueue_tasks(tx, order_id)
            ids.append(order_id)
    return ids


def _effects(app, ids):
    marks = ", ".join("?" * len(ids))
    allocations = app.db.read("SELECT order_id, task_key, tokens FROM allocations WHERE order_id IN (%s) "
                              "ORDER BY order_id" % marks, ids)
    commissions = app.db.read("SELECT order_id, task_key, beneficiary, rate_bps, amount FROM commissions "
                              "WHERE order_id IN (%s) ORDER BY order_id" % marks, ids)
    return [tuple(r) for r in allocations], [tuple(r) for r in commissions]


def _strip(rows, prefix):
    return [tuple(str(v).replace(prefix, "X") for v in row) for row in rows]


def test_set_based_batch_matches_one_task_at_a_time(make_client, caplog):
    app = make_client().app
    worker = OutboxWorker(app.config, app.db)
    one_ids = _seed(app, "one")
    while worker._run(1):
        pass
    set_ids = _seed(app, "set")
    with caplog.at_level(logging.INFO, logger="posx.receiver"):
        assert worker._run_set(BATCH) == 2 * len(ORDERS)
    one, batch = _effects(app, one_ids), _effects(app, set_ids)
    assert [_strip(rows, "one") for rows in one] == [_strip(rows, "set") for rows in batch]
    # The figures themselves, not only their agreement.
    assert [r[2] for r in batch[0]] == [100, 550, 6000]
    assert [(r[2], r[4]) for r in batch[1]] == [("ref_alice", 100), ("house:EU", 500), ("house:APAC", 5000)]
    assert app.db.read("SELECT COUNT(*) FROM outbox WHERE status = 'ready'")[0][0] == 0
    lines = [r.getMessage() for r in caplog.records]
    assert "Allocated 550 tokens for order set-1" in lines
    assert "Commission of 5000 to house:APAC for order set-2" in lines


def test_a_bad_task_in_a_batch_fails_alone_and_the_rest_run(make_client):
    app = make_client().app
    ids = _seed(app, "bad")
    with app.db.transaction() as tx:
        tx.execute("INSERT INTO outbox (order_id, kind, dedup_key, status, attempts, created_at) "
                   "VALUES ('no-such-order', 'allocate_tokens', 'allocate_tokens:no-such-order', 'ready', 0, 'x')")
    # The six good tasks, then the bad one's attempts until it is dead (as before batching).
    assert OutboxWorker(app.config, app.db).run_batch() == 2 * len(ORDERS) + MAX_ATTEMPTS
    allocations, commissions = _effects(app, ids)
    assert len(allocations) == len(commissions) == len(ORDERS)
    row = app.db.read("SELECT status, attempts, last_error FROM outbox WHERE order_id = 'no-such-order'")[0]
    assert row[0] == "dead" and row[1] == MAX_ATTEMPTS and "does not exist" in row[2]
