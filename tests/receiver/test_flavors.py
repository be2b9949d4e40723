"""Each flaw of the guide, switched on alone, is caught by a check that the reference passes."""
from __future__ import annotations

import json
import time

import pytest

from harness.receiver import store
from harness.receiver.flavors import FLAVORS
from harness.receiver.outbox import OutboxWorker

from .support import charge, event, payment_intent


def drain(client):
    return OutboxWorker(client.app.config, client.app.db).drain()


def arm(client, **spec):
    status, body = client.request("POST", "/_posx/faults", json.dumps(spec).encode())
    assert status == 200, body


def crash_then_retry(client):
    """Stripe's view of a crash mid-processing: the attempt fails, the retry comes."""
    order = client.create_order()
    evt = event("payment_intent.succeeded", payment_intent(order))
    arm(client, crash_next=1)
    assert client.deliver(evt) == (500, {"error": "Injected crash"})
    assert client.deliver(evt)[0] == 200
    drain(client)
    return client.get_order(order["id"])


@pytest.fixture
def hooks_client(make_client):
    def make(flavor):
        return make_client(flavor=flavor, enable_fault_hooks=True, crash_mode="raise")
    return make


def test_reference_survives_a_crash_mid_processing(hooks_client):
    view = crash_then_retry(hooks_client("reference"))
    assert view["status"] == "paid"
    assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1


def test_marking_before_processing_loses_the_event_on_a_crash(hooks_client):
    view = crash_then_retry(hooks_client("flaw-mark-before-process"))
    assert view["status"] == "pending"  # the retry was answered as a duplicate: lost for good
    assert view["allocations"] == []


@pytest.mark.parametrize("flavor", ["flaw-tasks-outside-tx", "guide"])
def test_tasks_outside_the_transaction_are_lost_on_a_crash(hooks_client, flavor):
    # The crash point is "order updated, tasks not yet enqueued": for these flavours the
    # update has already committed, and the retry is a duplicate (guide) or finds the order
    # paid (already paid: nothing to start). Paid, never allocated.
    view = crash_then_retry(hooks_client(flavor))
    assert view["status"] == "paid"
    assert view["allocations"] == [] and view["commissions"] == []


@pytest.mark.parametrize("flavor, result, status", [
    ("reference", "pending", "paid"),
    ("flaw-drop-unknown-order", "dropped", "pending"),
    ("guide", "dropped", "pending"),
])
def test_event_before_its_order(make_client, flavor, result, status):
    client = make_client(flavor=flavor)
    order = client.create_order()
    late_pi = "pi_late_%s" % order["id"][:8]
    evt = event("payment_intent.succeeded", payment_intent(dict(order, id="unknown", stripe_payment_intent_id=late_pi)))
    assert client.deliver(evt)[1]["result"] == result
    with client.app.db.transaction() as tx:  # the order row learns its intent id afterwards
        tx.execute("UPDATE orders SET stripe_payment_intent_id = ? WHERE id = ?", (late_pi, order["id"]))
    OutboxWorker(client.app.config, client.app.db).sweep_pending()
    drain(client)
    assert client.get_order(order["id"])["status"] == status


@pytest.mark.parametrize("flavor, expected", [("reference", "paid"), ("flaw-stale-failure-overrides", "failed"),
                                              ("guide", "failed")])
def test_stale_failure_after_success(make_client, flavor, expected):
    client = make_client(flavor=flavor)
    order = client.create_order()
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    client.deliver(event("payment_intent.payment_failed", payment_intent(order, "requires_payment_method")))
    assert client.get_order(order["id"])["status"] == expected


@pytest.mark.parametrize("flavor, expected", [("reference", 400), ("flaw-no-signature-tolerance", 200)])
def test_replayed_old_signature(make_client, flavor, expected):
    client = make_client(flavor=flavor)
    order = client.create_order()
    status, body = client.deliver(event("payment_intent.succeeded", payment_intent(order)), timestamp=int(time.time()) - 3600)
    assert status == expected, body
    if expected == 400:
        assert body == {"error": "Invalid signature"}


@pytest.mark.parametrize("flavor, allocations", [("reference", 1), ("flaw-no-lock", 2)])
def test_two_success_events_racing_for_one_order(make_client, monkeypatch, flavor, allocations):
    """Replays the race deterministically: the second event runs to completion between the
    first one's read of the order and its write."""
    client = make_client(flavor=flavor)
    order = client.create_order()
    first = event("payment_intent.succeeded", payment_intent(order))
    second = event("charge.succeeded", charge(order))
    real_unlocked = store.find_order_unlocked
    real_locked = store.find_order
    raced = []

    def interleave():
        if not raced:
            raced.append(True)
            assert client.deliver(second)[0] == 200

    def unlocked(db, facts):
        snapshot = real_unlocked(db, facts)
        interleave()
        return snapshot

    def locked(tx, facts, lock=True):
        # The reference reads under its lock; the racer can only run before that read
        # (SQLite: a second connection would wait for this transaction's write lock).
        return real_locked(tx, facts, lock)

    monkeypatch.setattr(store, "find_order_unlocked", unlocked)
    monkeypatch.setattr(store, "find_order", locked)
    if flavor == "reference":
        interleave()  # the racer finishes first; the locked read then sees it paid
    assert client.deliver(first)[0] == 200
    drain(client)
    view = client.get_order(order["id"])
    assert view["status"] == "paid"
    assert len(view["allocations"]) == allocations


def test_guide_handles_only_its_required_event_types(make_client):
    client = make_client(flavor="guide")
    order = client.create_order()
    assert client.deliver(event("payment_intent.canceled", payment_intent(order)))[1]["result"] == "ignored"
    assert client.deliver(event("charge.refunded", charge(order)))[1]["result"] == "ignored"
    assert client.deliver(event("charge.succeeded", charge(order)))[1]["result"] == "processed"
    assert client.deliver(event("payment_intent.succeeded", payment_intent(order)))[1]["result"] == "processed"


def test_every_flaw_variant_is_known_and_differs_from_the_reference():
    assert FLAVORS["reference"] == frozenset()
    for name, flags in FLAVORS.items():
        if name != "reference":
            assert flags, name
