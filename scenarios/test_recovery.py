"""When the target fails, Stripe retries; the retry must finish the job exactly once."""
import pytest

pytestmark = pytest.mark.scenario

ONCE = dict(status="paid", paid_at=True, allocations=1, commissions=1)


@pytest.mark.tags("recovery", "retry")
def test_retry_after_5xx(posx):
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.fail_next_webhooks(1)
    posx.deliver(order, types=["payment_intent.succeeded"])
    posx.expect_deliveries(order, status=500)
    posx.retry_failed(order)
    posx.expect(order, **ONCE)
    posx.expect_deliveries(order, attempt=2, count=1, status="2xx")


@pytest.mark.tags("recovery", "retry", "timeout")
def test_retry_after_timeout_processes_once(posx):
    """The target did the work but answered too late: Stripe retries; no second effect."""
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.delay_next_webhooks(1)
    posx.deliver(order, types=["payment_intent.succeeded"])
    posx.retry_failed(order)
    posx.expect(order, **ONCE)


@pytest.mark.tags("recovery", "crash")
def test_crash_mid_processing_then_retry(posx):
    """A crash after the order update, before commit: Stripe's retry must still pay it."""
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.crash_next_webhooks(1)
    posx.deliver(order, types=["payment_intent.succeeded"])
    posx.retry_failed(order)
    posx.expect(order, **ONCE)
