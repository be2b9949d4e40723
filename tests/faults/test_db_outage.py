"""The database goes away for a moment under a receiver served by gunicorn.

The receiver reaches PostgreSQL through a TCP proxy this test controls. While the
database is unreachable the webhook answers 5xx (so Stripe retries) and nothing is
half-written -- checked on a direct connection, including when the link is cut in the
middle of the event's transaction (the proxy drops it on the order's UPDATE). Once the
database is back, the retry is applied exactly once and the duplicates after it are no-ops.
"""
from __future__ import annotations

import json

import pytest
import requests

from harness.receiver.app import WEBHOOK_PATH
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import GunicornReceiver
from loadtests.events import EventFactory
from loadtests.orders import Order
from simulator.rng import SeededRandom
from simulator.signing import generate_header
from tests.faults.support import (API_HEADERS, PG_URL, SECRET, TOKEN, CuttableProxy, child_pids, drop_schema, kill9,
                                  new_schema, postgres_unavailable, wait_until)

pytestmark = pytest.mark.postgres


@pytest.fixture
def stack(tmp_path):
    reason = postgres_unavailable()
    if reason:
        pytest.skip("PostgreSQL test skipped: " + reason)
    proxy = CuttableProxy()
    schema = new_schema()
    host = PG_URL.split("@")[-1].split("/")[0]
    url = PG_URL.replace(host, "127.0.0.1:%d" % proxy.port) + "?sslmode=disable"
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url=url, database_schema=schema,
                            enable_fault_hooks=True, outbox_poll_interval=0.02)
    srv = GunicornReceiver(config, workers=2, threads=2, log_path=str(tmp_path / "gunicorn.log"))
    try:
        srv.start()
        yield srv, proxy, schema
    finally:
        srv.stop()
        proxy.close()
        drop_schema(schema)


def direct(schema, sql, params=()):
    """Read the truth on a connection that does not go through the proxy."""
    import psycopg
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute('SET search_path TO "%s"' % schema)
        return conn.execute(sql, params).fetchall()


def written_for(schema, order, event_id):
    return {
        "status": direct(schema, "SELECT status FROM orders WHERE id = %s", (order["id"],))[0][0],
        "event": direct(schema, "SELECT COUNT(*) FROM webhook_events WHERE event_id = %s", (event_id,))[0][0],
        "pending_events": direct(schema, "SELECT COUNT(*) FROM pending_events")[0][0],
        "outbox": direct(schema, "SELECT COUNT(*) FROM outbox WHERE order_id = %s", (order["id"],))[0][0],
        "allocations": direct(schema, "SELECT COUNT(*) FROM allocations WHERE order_id = %s", (order["id"],))[0][0],
        "commissions": direct(schema, "SELECT COUNT(*) FROM commissions WHERE order_id = %s", (order["id"],))[0][0],
    }


def paid_event(order):
    events = EventFactory(SeededRandom()).success(Order(order["id"], order["stripe_payment_intent_id"],
                                                        order["amount"], "usd"))
    return events["payment_intent.succeeded"]


def deliver(srv, event):
    body = event.body
    return requests.post(srv.url + WEBHOOK_PATH, data=body, timeout=30,
                         headers={"Stripe-Signature": generate_header(body, SECRET),
                                  "Content-Type": "application/json; charset=utf-8"})


def retry_until_accepted(srv, event, limit=10):
    """Stripe's retries after the outage; a worker may need one failed call to notice its
    connection died, so a few 5xx are allowed, never a 4xx."""
    answers = []
    for _ in range(limit):
        r = deliver(srv, event)
        answers.append(r.status_code)
        assert r.status_code == 200 or r.status_code >= 500, (answers, r.text)
        if r.status_code == 200:
            return r.json(), answers
    raise AssertionError("the receiver never recovered after the database came back: %s" % answers)


def make_order(srv):
    r = requests.post(srv.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 3},
                      headers=API_HEADERS, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def settled(srv, schema, order, event):
    view = wait_until(lambda: (lambda v: v if v.get("allocations") and v.get("commissions") else None)(
        requests.get(srv.url + "/api/v1/orders/%s/" % order["id"], headers={"Authorization": "Bearer " + TOKEN},
                     timeout=10).json()), 30, "the outbox to allocate and pay commission")
    assert view["status"] == "paid"
    for _ in range(2):  # later redeliveries are duplicates with no second effect
        r = deliver(srv, event)
        assert r.status_code == 200 and r.json()["result"] == "duplicate", r.text
    state = written_for(schema, order, event.id)
    assert state == {"status": "paid", "event": 1, "pending_events": 0, "outbox": 2, "allocations": 1,
                     "commissions": 1}, state


def test_database_down_before_the_event(stack):
    srv, proxy, schema = stack
    order = make_order(srv)
    event = paid_event(order)
    proxy.cut()
    r = deliver(srv, event)
    assert r.status_code >= 500, "Stripe must be told to retry: %s %s" % (r.status_code, r.text)
    assert isinstance(json.loads(r.text).get("error"), str)
    assert written_for(schema, order, event.id) == {"status": "pending", "event": 0, "pending_events": 0, "outbox": 0,
                                                    "allocations": 0, "commissions": 0}
    proxy.restore()
    result, answers = retry_until_accepted(srv, event)
    assert result["result"] == "processed", (result, answers)
    settled(srv, schema, order, event)


def test_database_cut_in_the_middle_of_the_transaction(stack):
    srv, proxy, schema = stack
    order = make_order(srv)
    event = paid_event(order)
    proxy.cut_on(b"UPDATE orders")  # after the lock and the event id insert, before the commit
    r = deliver(srv, event)
    assert r.status_code >= 500, "Stripe must be told to retry: %s %s" % (r.status_code, r.text)
    assert proxy.cuts >= 1, "the proxy never saw the order's UPDATE"
    assert written_for(schema, order, event.id) == {"status": "pending", "event": 0, "pending_events": 0, "outbox": 0,
                                                    "allocations": 0, "commissions": 0}, "half-written"
    proxy.restore()
    result, answers = retry_until_accepted(srv, event)
    assert result["result"] == "processed", (result, answers)
    settled(srv, schema, order, event)


def test_a_worker_rebooting_during_the_outage_does_not_stop_the_server(stack):
    """gunicorn stops the whole server when a worker fails to boot; a worker replaced while
    the database is away must boot anyway and answer 5xx until it is back."""
    srv, proxy, schema = stack
    order = make_order(srv)
    event = paid_event(order)
    workers = wait_until(lambda: (lambda p: p if len(p) == 2 else None)(child_pids(srv.proc.pid)), 20,
                         "gunicorn's two workers")
    proxy.cut()
    kill9(workers[:1])
    # Either the new worker boots without its database and says so, or the master gives up.
    with open(srv.log_path, "rb") as log:
        log.seek(0, 2)
        wait_until(lambda: srv.proc.poll() is not None or b"Database unavailable at start" in log.read(), 30,
                   "the replacement worker to boot while the database is away")
    for _ in range(4):  # whichever worker answers, it answers, and with a 5xx
        r = deliver(srv, event)
        assert r.status_code >= 500, r.text
    assert srv.proc.poll() is None, "the gunicorn master exited: a worker failed to boot"
    proxy.restore()
    result, answers = retry_until_accepted(srv, event)
    assert result["result"] == "processed", (result, answers)
    settled(srv, schema, order, event)
