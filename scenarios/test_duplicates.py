"""Stripe may deliver an event more than once, even at the same instant: one effect only."""
import pytest

pytestmark = pytest.mark.scenario

ONCE = dict(status="paid", paid_at=True, allocations=1, commissions=1)


@pytest.mark.tags("duplicates")
def test_sequential_duplicates_allocate_once(posx):
    order = posx.create_order()
    posx.pay(order, card="4242", faults=["duplicate:3"])
    posx.expect(order, **ONCE)
    posx.expect_deliveries(order, type="payment_intent.succeeded", count=3, status="2xx")


@pytest.mark.tags("duplicates", "concurrency")
def test_concurrent_burst_of_one_event_allocates_once(posx):
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.deliver(order, types=["payment_intent.succeeded"], faults=["duplicate_concurrent:8"])
    posx.expect(order, **ONCE)
    posx.expect_deliveries(order, type="payment_intent.succeeded", count=8, status="2xx")


@pytest.mark.tags("duplicates", "concurrency")
def test_concurrent_success_events_allocate_once(posx):
    """charge.succeeded and payment_intent.succeeded both mean paid; arriving together, in
    bursts, they must still pay the order once."""
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.deliver_concurrently(order, ["payment_intent.succeeded", "charge.succeeded"], copies=6)
    posx.expect(order, **ONCE)
    posx.expect_deliveries(order, status="2xx")


@pytest.mark.tags("duplicates", "refund")
def test_duplicate_refund_events(posx):
    order = posx.create_order()
    posx.pay(order, card="4242")
    posx.refund(order, faults=["duplicate:2"])
    posx.expect(order, status="refunded", allocations=1, commissions=1)


@pytest.mark.tags("duplicates", "concurrency")
def test_concurrent_distinct_success_events_allocate_once(posx):
    """Many different events that each mean paid, all at the same instant."""
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.deliver_concurrently(order, ["payment_intent.succeeded", "charge.succeeded"], copies=6, distinct=True)
    posx.expect(order, **ONCE)
    posx.expect_deliveries(order, status="2xx")
