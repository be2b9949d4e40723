"""SQLite unavailable for longer than the receiver will wait: another process holds an
exclusive lock on the database file past the receiver's 30 s ``busy_timeout``.

The webhook must answer 5xx (so Stripe retries) with nothing written; once the lock is
released the retry is applied exactly once. Marked slow: it waits out the busy timeout.
"""
from __future__ import annotations

import os
import sqlite3

import pytest
import requests

from harness.receiver.app import WEBHOOK_PATH
from loadtests.events import EventFactory
from loadtests.orders import Order
from simulator.rng import SeededRandom
from simulator.signing import generate_header
from tests.faults.support import API_HEADERS, SECRET, TOKEN, gunicorn_receiver, wait_until

pytestmark = pytest.mark.slow


def test_database_locked_past_busy_timeout_then_retry(tmp_path):
    with gunicorn_receiver("sqlite", str(tmp_path), workers=1, threads=2, outbox_threads=0) as srv:
        r = requests.post(srv.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                          headers=API_HEADERS, timeout=10)
        assert r.status_code == 201, r.text
        order = r.json()
        event = EventFactory(SeededRandom()).success(
            Order(order["id"], order["stripe_payment_intent_id"], order["amount"]))["payment_intent.succeeded"]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        path = os.path.join(str(tmp_path), "posx.sqlite3")
        holder = sqlite3.connect(path, isolation_level=None, timeout=5)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            r = requests.post(srv.url + WEBHOOK_PATH, data=event.body, timeout=120,
                              headers=dict(headers, **{"Stripe-Signature": generate_header(event.body, SECRET)}))
            assert r.status_code >= 500, "Stripe must be told to retry: %s %s" % (r.status_code, r.text)
            seen = holder.execute("SELECT status FROM orders WHERE id = ?", (order["id"],)).fetchall()
            assert seen == [("pending",)]
            assert holder.execute("SELECT COUNT(*) FROM webhook_events").fetchone() == (0,)
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        def retry():
            resp = requests.post(srv.url + WEBHOOK_PATH, data=event.body, timeout=60,
                                 headers=dict(headers, **{"Stripe-Signature": generate_header(event.body, SECRET)}))
            assert resp.status_code in (200, 500, 503), resp.text
            return resp.json() if resp.status_code == 200 else None

        assert wait_until(retry, 30, "the retry to be accepted")["result"] == "processed"
        for _ in range(2):
            assert retry()["result"] == "duplicate"
        requests.post(srv.url + "/_posx/outbox/drain/", timeout=30).raise_for_status()
        view = requests.get(srv.url + "/api/v1/orders/%s/" % order["id"], headers={"Authorization": "Bearer " + TOKEN},
                            timeout=10).json()
        assert view["status"] == "paid" and len(view["allocations"]) == 1 and len(view["commissions"]) == 1, view
