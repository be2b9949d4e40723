"""3-D Secure: the order waits while the cardholder authenticates, and is paid exactly once."""
import pytest

pytestmark = pytest.mark.scenario

PAID = dict(status="paid", paid_at=True, allocations=1, commissions=1)
WAITING = dict(status="pending", paid_at=False, allocations=0, commissions=0)


def authenticate(posx, order, outcome, faults=()):
    """The cardholder's answer to the challenge (what Stripe.js would report), then its events."""
    posx.stripe.backend.authenticate_payment_intent(order.payment_intent, {"outcome": outcome})
    posx.deliver(order, faults=faults)


def pay_with_3ds(posx, order):
    attempt = posx.pay(order, card="3220")
    assert attempt.error is None, "a 3-D Secure card should wait for the cardholder, got %s" % attempt.error
    assert attempt.result["status"] == "requires_action"
    posx.expect_deliveries(order, type="payment_intent.requires_action", status="2xx")
    posx.expect(order, **WAITING)


@pytest.mark.tags("payment", "3ds")
def test_3ds_success_pays_once(posx):
    order = posx.create_order()
    pay_with_3ds(posx, order)
    authenticate(posx, order, "complete", faults=["duplicate:2"])
    posx.expect(order, **PAID)
    posx.expect_deliveries(order, type="payment_intent.succeeded", status="2xx")


@pytest.mark.tags("payment", "3ds", "decline")
def test_3ds_failure_then_retry_pays_once(posx):
    order = posx.create_order()
    pay_with_3ds(posx, order)
    authenticate(posx, order, "fail")
    posx.expect(order, status="failed", paid_at=False, allocations=0, commissions=0)
    posx.expect_deliveries(order, type="payment_intent.payment_failed", status="2xx")
    posx.pay(order, card="4242")
    posx.expect(order, **PAID)


@pytest.mark.tags("payment", "3ds", "ordering")
def test_3ds_failure_arriving_after_the_retry_paid_does_not_unpay(posx):
    order = posx.create_order()
    pay_with_3ds(posx, order)
    posx.stripe.backend.authenticate_payment_intent(order.payment_intent, {"outcome": "fail"})
    posx.pay(order, card="4242", deliver=False)
    # Stripe does not promise order: the failed challenge's event can land after the success.
    posx.deliver(order, order_of_types=["charge.succeeded", "payment_intent.succeeded",
                                        "payment_intent.payment_failed"])
    posx.expect(order, **PAID)
