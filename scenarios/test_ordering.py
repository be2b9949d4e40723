"""Stripe does not guarantee delivery order: the order must converge whatever the order."""
import itertools

import pytest

pytestmark = pytest.mark.scenario

SUCCESS_EVENTS = ("payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated")
FAILURE_TYPES = ("charge.failed", "payment_intent.payment_failed")
PERMUTATIONS = list(itertools.permutations(SUCCESS_EVENTS))


def _short(perm):
    return "-".join({"payment_intent.created": "created", "charge.succeeded": "charge",
                     "payment_intent.succeeded": "pi", "charge.updated": "updated"}[t] for t in perm)


@pytest.mark.tags("ordering")
@pytest.mark.parametrize("perm", PERMUTATIONS, ids=[_short(p) for p in PERMUTATIONS])
def test_every_order_of_a_payments_events(posx, perm):
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.deliver(order, order_of_types=perm)
    posx.expect(order, status="paid", paid_at=True, allocations=1, commissions=1)


DECLINE_EVENTS = ("payment_intent.created", "charge.failed", "payment_intent.payment_failed")
DECLINE_PERMUTATIONS = list(itertools.permutations(DECLINE_EVENTS))


@pytest.mark.tags("ordering", "decline")
@pytest.mark.parametrize("perm", DECLINE_PERMUTATIONS,
                         ids=["-".join(t.split(".")[-1] for t in p) for p in DECLINE_PERMUTATIONS])
def test_every_order_of_a_declines_events(posx, perm):
    order = posx.create_order()
    posx.pay(order, card="0002", deliver=False)
    posx.deliver(order, order_of_types=perm)
    posx.expect(order, status="failed", paid_at=False, allocations=0, commissions=0)


@pytest.mark.tags("ordering", "duplicates")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_duplicated_and_late_delivery(posx, seed):
    """Stripe's worst day: a seeded shuffle, every event twice, charge.updated a minute late."""
    order = posx.create_order()
    posx.pay(order, card="4242",
             faults=["shuffle:%d" % seed, "duplicate:2", "delay:seconds=60,type=charge.updated"])
    posx.expect(order, status="paid", paid_at=True, allocations=1, commissions=1)
    posx.expect_deliveries(order, count=8, status="2xx")


@pytest.mark.tags("ordering", "decline")
def test_stale_failure_after_success_keeps_the_payment(posx):
    order = posx.create_order()
    posx.pay(order, card="0002", deliver=False)       # a declined first attempt, its events late
    failures = [r for r in posx.unsent(order) if r.type in FAILURE_TYPES]
    posx.pay(order, card="4242", deliver=False)
    successes = [r for r in posx.unsent(order) if r.type not in FAILURE_TYPES]
    posx.deliver(order, records=successes)
    posx.expect(order, status="paid", allocations=1)
    posx.deliver(order, records=failures)             # the stale payment_failed / charge.failed
    posx.expect(order, status="paid", paid_at=True, allocations=1, commissions=1)


@pytest.mark.tags("ordering", "refund")
def test_refund_arriving_before_the_payment(posx):
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.refund(order, deliver=False)
    posx.deliver(order, order_of_types=["charge.refunded", "payment_intent.succeeded", "charge.succeeded"])
    posx.expect(order, status="refunded")


@pytest.mark.tags("ordering", "race")
def test_event_before_its_order_exists(posx):
    """The payment's events arrive while the target is still creating the order."""
    order = posx.create_order(paid_before_created="4242")
    posx.expect(order, status="paid", paid_at=True, allocations=1, commissions=1)
