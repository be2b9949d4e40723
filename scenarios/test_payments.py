"""Each way a payment ends, as the POSX order must show it."""
import pytest

pytestmark = pytest.mark.scenario

PAID = dict(status="paid", paid_at=True, allocations=1, commissions=1)


@pytest.mark.tags("payment", "smoke")
def test_success_pays_once(posx):
    order = posx.create_order()
    posx.pay(order, card="4242")
    posx.expect(order, **PAID)
    posx.expect_deliveries(order, status="2xx")


@pytest.mark.tags("payment", "decline")
@pytest.mark.parametrize("card", ["0002", "9995"], ids=["generic_decline", "insufficient_funds"])
def test_decline_fails_the_order(posx, card):
    order = posx.create_order()
    attempt = posx.pay(order, card=card)
    assert attempt.error is not None, "the simulator should have declined card %s" % card
    posx.expect(order, status="failed", paid_at=False, allocations=0, commissions=0)
    posx.expect_deliveries(order, status="2xx")


@pytest.mark.tags("payment", "decline")
def test_decline_then_success_on_the_same_intent(posx):
    order = posx.create_order()
    posx.pay(order, card="0002")
    posx.expect(order, status="failed")
    posx.pay(order, card="4242")
    posx.expect(order, **PAID)


@pytest.mark.tags("payment", "cancel")
def test_cancel(posx):
    order = posx.create_order()
    posx.cancel(order)
    posx.expect(order, status="canceled", paid_at=False, allocations=0, commissions=0)
    posx.expect_deliveries(order, status="2xx")


@pytest.mark.tags("payment", "refund")
def test_refund_after_payment(posx):
    order = posx.create_order()
    posx.pay(order, card="4242")
    posx.expect(order, **PAID)
    posx.refund(order)
    posx.expect(order, status="refunded")
    posx.expect_deliveries(order, type="charge.refunded", status="2xx")


@pytest.mark.tags("payment", "dispute")
def test_dispute_is_recorded(posx):
    order = posx.create_order()
    posx.pay(order, card="0259")
    posx.expect(order, status="paid", disputes=1, allocations=1, commissions=1)
    posx.expect_deliveries(order, type="charge.dispute.created", status="2xx")


@pytest.mark.tags("payment", "checkout")
def test_checkout_session_pays_the_order(posx):
    order = posx.create_order()
    posx.checkout(order, card="4242")
    posx.expect(order, **PAID)
    posx.expect_deliveries(order, type="checkout.session.completed", status="2xx")
