"""A receiver worker dies mid-delivery; the simulator's own retry schedule brings the event
back; the order ends paid with exactly one allocation and one commission, and every event
the simulator recorded is delivered in the end.

Real processes: the reference receiver under gunicorn (2 workers), the simulator's
delivery engine in this process with a frozen clock, stepped past the 10-minute first
retry of Stripe's test-mode schedule once the failure is on record.

* crash hook: the worker ``os._exit``s after writing the order's update and before the
  commit (the receiver's ``crash_next`` fault) -- a death in the middle of the transaction;
* SIGKILL: the worker has committed and is holding the answer (``delay_next``); the test
  kills every worker pid with -9 -- the effect is done, Stripe never heard so.
"""
from __future__ import annotations

import pytest
import requests

from harness.receiver.app import WEBHOOK_PATH
from simulator.core import Simulator
from tests.faults.support import (API_HEADERS, SECRET, TOKEN, child_pids, gunicorn_receiver, kill9,
                                  postgres_unavailable, wait_until)

RETRY_GAP = 601  # simulated seconds: past the test-mode schedule's first retry (10 min)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def receiver(request, tmp_path):
    if request.param == "postgresql" and postgres_unavailable():
        pytest.skip("PostgreSQL test skipped: " + postgres_unavailable())
    with gunicorn_receiver(request.param, str(tmp_path), outbox_poll_interval=0.02) as srv:
        yield srv


@pytest.fixture
def stripe_side():
    sim = Simulator(seed=21, time_scale=0)
    yield sim
    sim.close()


def _order(srv):
    r = requests.post(srv.url + "/api/v1/orders/", json={"tier_id": "tier_growth", "quantity": 2},
                      headers=API_HEADERS, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def _view(srv, order_id):
    return requests.get(srv.url + "/api/v1/orders/%s/" % order_id, headers={"Authorization": "Bearer " + TOKEN},
                        timeout=10).json()


def _prepare(srv, sim):
    """An order on the receiver, its intent adopted by the simulator, an endpoint to the receiver."""
    order = _order(srv)
    b = sim.backend
    b.create_webhook_endpoint({"url": srv.url + WEBHOOK_PATH, "enabled_events": ["*"], "secret": SECRET})
    b.adopt_payment_intent(order["stripe_payment_intent_id"], order["amount"], "usd", {"order_id": order["id"]})
    sim.engine.wait_for(type="payment_intent.created", outcome="succeeded", timeout=15)
    return order


def _all_delivered_and_settled(srv, sim, order):
    sim.engine.wait_idle(timeout=30)
    undelivered = [eid for eid in sim.backend.events
                   if not sim.engine.log.query(event=eid, outcome="succeeded")]
    assert undelivered == [], "events never delivered: %s\n%s" % (undelivered, sim.engine.log.render())
    view = wait_until(lambda: (lambda v: v if v["status"] == "paid" and v["allocations"] and v["commissions"]
                                else None)(_view(srv, order["id"])), 20, "the order to be paid and its tasks run")
    assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1, view
    assert view["allocations"][0]["tokens"] == 550 * 2
    # The whole table, not just this order's view: nothing doubled anywhere.
    stats = requests.get(srv.url + "/_posx/stats/", timeout=10).json()
    assert stats["orders_with_multiple_allocations"] == 0 and stats["orders_with_multiple_commissions"] == 0, stats
    assert stats["allocations"] == 1 and stats["commissions"] == 1 and stats["pending_events"] == 0, stats
    return view


def test_worker_crash_mid_transaction_then_stripes_retry(receiver, stripe_side):
    srv, sim = receiver, stripe_side
    order = _prepare(srv, sim)
    # Both "paid" events crash their worker in the middle of their transaction.
    assert requests.post(srv.url + "/_posx/faults/", json={"crash_next": 2}, timeout=10).json()["crash_next"] == 2
    sim.backend.confirm_payment_intent(order["stripe_payment_intent_id"], {"payment_method": "pm_card_visa"})
    failed = sim.engine.wait_for(outcome="failed", count=2, timeout=30)
    assert {e["event_type"] for e in failed} == {"charge.succeeded", "payment_intent.succeeded"}, failed
    assert all(e["status"] is None for e in failed), "the worker answered instead of dying: %s" % failed
    assert _view(srv, order["id"])["status"] == "pending", "a crashed transaction left the order paid"
    sim.clock.advance(RETRY_GAP)
    view = _all_delivered_and_settled(srv, sim, order)
    retried = sim.engine.log.query(type="payment_intent.succeeded", outcome="succeeded")
    assert retried and retried[0]["attempt"] == 2, retried
    assert view["status"] == "paid"


def test_sigkill_after_commit_before_the_answer_then_stripes_retry(receiver, stripe_side):
    srv, sim = receiver, stripe_side
    order = _prepare(srv, sim)
    # /health answered as soon as one worker was up; the other may still be booting.
    workers = wait_until(lambda: (lambda p: p if len(p) == 2 else None)(child_pids(srv.proc.pid)), 20,
                         "gunicorn's two workers")
    # The first "paid" event is processed and committed, then its answer is held for 20 s.
    requests.post(srv.url + "/_posx/faults/", json={"delay_next": 1, "delay_ms": 20000}, timeout=10).raise_for_status()
    sim.backend.confirm_payment_intent(order["stripe_payment_intent_id"], {"payment_method": "pm_card_visa"})
    wait_until(lambda: _view(srv, order["id"])["status"] == "paid", 15, "the held event to commit")
    kill9(workers)
    failed = sim.engine.wait_for(outcome="failed", timeout=30)
    assert failed[0]["event_type"] in ("charge.succeeded", "payment_intent.succeeded"), failed
    wait_until(lambda: len([p for p in child_pids(srv.proc.pid) if p not in workers]) == 2, 30,
               "gunicorn to replace the killed workers")
    sim.clock.advance(RETRY_GAP)
    _all_delivered_and_settled(srv, sim, order)
    # The retry of the killed delivery found its event id already committed: a duplicate.
    again = sim.engine.log.query(event=failed[0]["event_id"], outcome="succeeded")
    assert again and again[0]["attempt"] == 2 and b"duplicate" in again[0]["response_head"].encode(), again
