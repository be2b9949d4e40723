"""Served for real: gunicorn with 2 worker processes, on SQLite and PostgreSQL.

Concurrent duplicate bursts and a worker crash mid-processing followed by Stripe's retry
must end with exactly one allocation and one commission per paid order.
"""
from __future__ import annotations

import threading

import pytest
import requests

from harness.receiver import GunicornReceiver, collect_stats
from harness.receiver.db import Database

from .support import API_HEADERS, charge, event, payment_intent, signed, wait_until

WEBHOOK = "/api/v1/webhooks/stripe/"


@pytest.fixture
def serve(make_config, tmp_path):
    started = []

    def start(worker_class: str = "asgi", workers_override: int = 2, threads_override: int = 4,
              **overrides) -> GunicornReceiver:
        config = make_config(**dict({"enable_fault_hooks": True}, **overrides))
        srv = GunicornReceiver(config, workers=workers_override, threads=threads_override,
                               extra_args=["--worker-class", worker_class],
                               log_path=str(tmp_path / ("gunicorn-%d.log" % len(started))))
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.stop()


def create_orders(srv, n):
    return [requests.post(srv.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                          headers=API_HEADERS, timeout=10).json() for _ in range(n)]


def settled(srv, order_ids):
    """Each order's view once the outbox has nothing left to run."""
    db = Database(srv.config.database_url, srv.config.database_schema)
    try:
        wait_until(lambda: collect_stats(db)["outbox_ready"] == 0, what="the outbox to drain")
    finally:
        db.close()
    return [requests.get(srv.url + "/api/v1/orders/%s/" % oid, headers=API_HEADERS, timeout=10).json() for oid in order_ids]


def burst(url, deliveries):
    """Send every (body, headers) at once from its own thread; the status codes."""
    barrier = threading.Barrier(len(deliveries))
    codes = [None] * len(deliveries)

    def send(i, body, headers):
        with requests.Session() as session:
            barrier.wait()
            codes[i] = session.post(url + WEBHOOK, data=body, headers=headers, timeout=30).status_code

    threads = [threading.Thread(target=send, args=(i, b, h)) for i, (b, h) in enumerate(deliveries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


# asgi without fault hooks: on SQLite, webhooks run inline in the event loop, batched per
# loop iteration; with hooks (or on PostgreSQL) they run the WSGI app in the worker's pool.
@pytest.mark.parametrize("worker_class, hooks", [("asgi", False), ("asgi", True), ("gthread", True)],
                         ids=["asgi-inline", "asgi-pool", "gthread"])
def test_concurrent_duplicate_bursts_allocate_once(serve, worker_class, hooks):
    srv = serve(worker_class=worker_class, enable_fault_hooks=hooks)
    orders = create_orders(srv, 4)
    for order in orders:
        succeeded = signed(event("payment_intent.succeeded", payment_intent(order)))
        charged = signed(event("charge.succeeded", charge(order)))
        # The same event 8 times, plus a different event for the same payment 4 times.
        codes = burst(srv.url, [succeeded] * 8 + [charged] * 4)
        assert codes == [200] * 12
    for view in settled(srv, [o["id"] for o in orders]):
        assert view["status"] == "paid"
        assert len(view["allocations"]) == 1, view
        assert len(view["commissions"]) == 1, view
    db = Database(srv.config.database_url, srv.config.database_schema)
    try:
        assert db.read("SELECT COUNT(*) FROM webhook_events")[0][0] == 8  # 2 distinct events per order
    finally:
        db.close()


def deliver_until_accepted(srv, evt, attempts=20):
    """Stripe's retries: a dead worker's connection error, then again until 200."""
    body, headers = signed(evt)
    outcomes = []
    for _ in range(attempts):
        try:
            r = requests.post(srv.url + WEBHOOK, data=body, headers=headers, timeout=10)
            outcomes.append(r.status_code)
            if r.status_code == 200:
                return outcomes
        except requests.ConnectionError:
            outcomes.append("connection error")
    return outcomes


@pytest.mark.parametrize("flavor", ["reference", "guide"])
def test_worker_crash_mid_processing_then_retry(serve, flavor):
    srv = serve(flavor=flavor)
    order = create_orders(srv, 1)[0]
    assert requests.post(srv.url + "/_posx/faults", json={"crash_next": 1}, timeout=10).json()["crash_next"] == 1
    outcomes = deliver_until_accepted(srv, event("payment_intent.succeeded", payment_intent(order)))
    assert outcomes[0] == "connection error" and outcomes[-1] == 200, outcomes
    view = settled(srv, [order["id"]])[0]
    if flavor == "reference":
        assert view["status"] == "paid"
        assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1
    else:
        # The guide committed "paid" before starting its tasks and its mark made the retry a
        # duplicate: the buyer paid and never gets tokens.
        assert view["status"] == "paid"
        assert view["allocations"] == [] and view["commissions"] == []
    # The server survived its worker's death and still answers.
    assert requests.get(srv.url + "/health", timeout=10).status_code == 200


def test_fault_counters_are_shared_by_the_workers(serve):
    srv = serve()
    order = create_orders(srv, 1)[0]
    requests.post(srv.url + "/_posx/faults", json={"fail_next": 5, "fail_status": 503}, timeout=10)
    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
    # Fresh connections, so both workers take calls; together they fail exactly 5.
    codes = burst(srv.url, [(body, headers)] * 12)
    assert sorted(codes) == [200] * 7 + [503] * 5
    assert settled(srv, [order["id"]])[0]["status"] == "paid"


def test_stalled_clients_do_not_starve_the_asgi_worker(serve):
    """Half-sent requests wait in the event loop, not in a thread: with one worker and a
    one-thread pool, twelve stalled clients must not stop /health or a webhook from being
    answered (under gthread each of them held a request thread)."""
    import socket
    srv = serve(workers_override=1, threads_override=1, enable_fault_hooks=False)
    order = create_orders(srv, 1)[0]
    stalled = []
    try:
        for n in range(12):
            sock = socket.create_connection((srv.host, srv.port), timeout=5)
            path = "/health" if n % 2 else WEBHOOK
            # Headers promise 1,000 bytes of body; 10 arrive, then nothing.
            sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: 1000\r\n\r\n{\"id\": \"ev" % path).encode())
            stalled.append(sock)
        assert requests.get(srv.url + "/health", timeout=5).status_code == 200
        body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
        answer = requests.post(srv.url + WEBHOOK, data=body, headers=headers, timeout=5)
        assert answer.status_code == 200 and answer.json()["result"] == "processed"
    finally:
        for sock in stalled:
            sock.close()
