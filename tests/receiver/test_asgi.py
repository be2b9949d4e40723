"""The ASGI front (harness/receiver/asgi.py): webhooks of one loop iteration share a
transaction, everything else runs the WSGI app unchanged in a thread pool."""
from __future__ import annotations

import asyncio
import json

import pytest

from harness.receiver import ReceiverConfig
from harness.receiver.app import MAX_BODY, ReceiverApp
from harness.receiver.asgi import LoopBatch, ReceiverASGI
from harness.receiver.outbox import OutboxWorker

from simulator.signing import generate_header

from .support import (API_HEADERS, SECRET, AppClient, asgi_scope as scope, call_asgi as call, count_transactions, event,
                      payment_intent, signed)

WEBHOOK = "/api/v1/webhooks/stripe/"


@pytest.fixture
def make_asgi(sqlite_database):
    made = []

    def make(**overrides) -> ReceiverASGI:
        values = dict(webhook_secret=SECRET, mock_stripe=True, database_url=sqlite_database[0])
        values.update(overrides)
        app = ReceiverApp(ReceiverConfig(**values), start_worker=False)
        asgi = ReceiverASGI(app, threads=2)
        made.append(asgi)
        return asgi

    yield make
    for asgi in made:
        asgi.close()


def create_orders(asgi, n):
    client = AppClient(asgi.app)
    return [client.create_order() for _ in range(n)]


async def deliver_together(asgi, events):
    """Every event's webhook started in the same loop iteration, as a server parsing
    several connections' requests from one poll would."""
    return await asyncio.gather(*(call(asgi, "POST", WEBHOOK, *signed(evt)) for evt in events))


def test_webhooks_of_one_loop_iteration_share_one_transaction(make_asgi):
    asgi = make_asgi()
    assert asgi.webhook.groupable
    orders = create_orders(asgi, 5)
    count_transactions(asgi.app.db)
    answers = asyncio.run(deliver_together(asgi, [event("payment_intent.succeeded", payment_intent(o)) for o in orders]))
    assert [(status, body) for status, _, body in answers] == [(200, {"received": True, "result": "processed"})] * 5
    assert asgi.app.db.transactions == 1
    OutboxWorker(asgi.app.config, asgi.app.db).drain()
    client = AppClient(asgi.app)
    for order in orders:
        view = client.get_order(order["id"])
        assert view["status"] == "paid" and len(view["allocations"]) == 1 and len(view["commissions"]) == 1


def test_a_duplicate_in_the_same_batch_has_no_second_effect(make_asgi):
    asgi = make_asgi()
    order = create_orders(asgi, 1)[0]
    evt = event("payment_intent.succeeded", payment_intent(order))
    answers = asyncio.run(deliver_together(asgi, [evt, evt, evt]))
    assert sorted(body["result"] for _, _, body in answers) == ["duplicate", "duplicate", "processed"]
    assert OutboxWorker(asgi.app.config, asgi.app.db).drain() == 2  # one allocation, one commission


@pytest.fixture
def table_db(make_asgi):
    """The receiver's database with a table ``t (n)`` and its transactions counted."""
    db = make_asgi().app.db
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    count_transactions(db)
    return db


def test_a_failing_job_fails_alone_and_the_rest_of_its_batch_commits(table_db):
    db = table_db
    batch = LoopBatch(db)

    def job(n):
        def fn(tx):
            tx.execute("INSERT INTO t (n) VALUES (?)", (n,))
            if n == 2:
                raise ValueError("job 2 fails")
            return n
        return fn

    async def run():
        return await asyncio.gather(*(batch.submit(job(n)) for n in range(4)), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert outcomes[:2] == [0, 1] and outcomes[3] == 3
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "job 2 fails"
    assert sorted(r[0] for r in db.read("SELECT n FROM t")) == [0, 1, 3]
    assert db.transactions == 1 + 4  # the failed group, then each job replayed alone


def test_a_batch_larger_than_the_cap_is_split(table_db):
    db = table_db
    batch = LoopBatch(db)
    n = LoopBatch.MAX_GROUP + 3

    async def run():
        return await asyncio.gather(*(batch.submit(lambda tx, i=i: tx.execute("INSERT INTO t VALUES (?)", (i,)))
                                      for i in range(n)))

    asyncio.run(run())
    assert db.read("SELECT COUNT(*) FROM t")[0][0] == n
    assert db.transactions == 2


def test_signature_and_payload_errors_answer_400_without_a_transaction(make_asgi):
    asgi = make_asgi()
    order = create_orders(asgi, 1)[0]
    count_transactions(asgi.app.db)
    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)), secret="whsec_wrong")
    assert asyncio.run(call(asgi, "POST", WEBHOOK, body, headers))[::2] == (400, {"error": "Invalid signature"})
    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
    assert asyncio.run(call(asgi, "POST", WEBHOOK, body))[::2] == (400, {"error": "Invalid signature"})  # no header
    junk = b"{not json"
    good = {"Stripe-Signature": generate_header(junk, SECRET), "Content-Type": "application/json"}
    assert asyncio.run(call(asgi, "POST", WEBHOOK, junk, good))[::2] == (400, {"error": "Invalid payload"})
    assert asgi.app.db.transactions == 0


def test_a_body_in_several_chunks_is_read_whole(make_asgi):
    asgi = make_asgi()
    order = create_orders(asgi, 1)[0]
    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
    chunks = [body[i:i + 100] for i in range(0, len(body), 100)]
    status, _, answer = asyncio.run(call(asgi, "POST", WEBHOOK, headers=headers, chunks=chunks))
    assert (status, answer) == (200, {"received": True, "result": "processed"})


def test_an_oversized_body_is_413_by_its_length_or_by_what_arrives(make_asgi):
    asgi = make_asgi()
    status, _, answer = asyncio.run(call(asgi, "POST", WEBHOOK, b"{}", {"Content-Length": str(MAX_BODY + 1)}))
    assert status == 413 and str(MAX_BODY) in answer["error"]
    chunks = [b"x" * (1 << 16)] * ((MAX_BODY >> 16) + 2)  # chunked: no Content-Length to go by
    status, _, answer = asyncio.run(call(asgi, "POST", WEBHOOK, chunks=chunks))
    assert status == 413
    # Chunked too, but all of it arrived before the app asked: one message, still refused.
    status, _, answer = asyncio.run(call(asgi, "POST", WEBHOOK, b"x" * (MAX_BODY + 1)))
    assert status == 413


def test_a_client_gone_before_its_body_gets_no_answer_and_changes_nothing(make_asgi):
    asgi = make_asgi()
    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(asgi(scope("POST", WEBHOOK), receive, send))
    assert sent == []


def test_the_order_api_runs_the_wsgi_app_with_the_request_headers(make_asgi):
    asgi = make_asgi()
    body = json.dumps({"tier_id": "tier_starter", "quantity": 2}).encode()
    status, headers, order = asyncio.run(call(asgi, "POST", "/api/v1/orders/", body,
                                              dict(API_HEADERS, **{"Content-Type": "application/json"})))
    assert status == 201 and order["status"] == "pending" and headers["content-type"] == "application/json"
    status, _, view = asyncio.run(call(asgi, "GET", "/api/v1/orders/%s/" % order["id"], headers=API_HEADERS))
    assert status == 200 and view["id"] == order["id"]
    status, _, answer = asyncio.run(call(asgi, "POST", "/api/v1/orders/", body, {"X-Site-Code": "NA"}))
    assert status == 401 and "Bearer" in answer["error"]
    status, _, answer = asyncio.run(call(asgi, "GET", "/nowhere"))
    assert (status, answer) == (404, {"error": "Not found: /nowhere"})
    status, _, answer = asyncio.run(call(asgi, "GET", WEBHOOK))
    assert status == 405


@pytest.mark.parametrize("overrides", [{"flavor": "guide"}, {"flavor": "flaw-no-lock"}, {"enable_fault_hooks": True}],
                         ids=["guide", "flaw-no-lock", "fault-hooks"])
def test_flawed_flavours_and_fault_hooks_never_take_the_batched_path(make_asgi, overrides):
    asgi = make_asgi(**overrides)
    assert not asgi.webhook.groupable
    with pytest.raises(RuntimeError, match="only the reference flavour"):
        asgi.webhook.grouped_work(None, b"")
    order = create_orders(asgi, 1)[0]
    answers = asyncio.run(deliver_together(asgi, [event("payment_intent.succeeded", payment_intent(order))]))
    assert answers[0][0] == 200 and answers[0][2]["result"] == "processed"


def test_an_unexpected_error_on_the_batched_path_is_a_json_500(make_asgi, caplog):
    asgi = make_asgi()
    order = create_orders(asgi, 1)[0]

    def broken(facts, body):
        raise RuntimeError("disk on fire")
    asgi.webhook.grouped_work = broken
    status, headers, answer = asyncio.run(call(asgi, "POST", WEBHOOK,
                                               *signed(event("payment_intent.succeeded", payment_intent(order)))))
    assert (status, answer, headers["content-type"]) == (500, {"error": "Internal server error"}, "application/json")
    assert any("disk on fire" in (r.exc_text or "") for r in caplog.records)


def test_lifespan_shutdown_closes_the_app(make_asgi):
    asgi = make_asgi()
    closed = []
    real_close = asgi.app.close
    asgi.app.close = lambda: (closed.append(True), real_close())
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(asgi({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"] and closed == [True]
