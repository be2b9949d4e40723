"""When the target fails, Stripe retries; the retry must finish the job exactly once."""
import pytest

pytestmark = pytest.mark.scenario

ONCE = dict(status="paid", paid_at=True, allocations=1, commissions=1)

# How the target fails its first delivery -> (the posx call that arms it, tags)
FAILURES = [
    pytest.param("fail_next_webhooks", id="after_5xx", marks=pytest.mark.tags("recovery", "retry")),
    # The target did the work but answered after the simulator's timeout: the retry must
    # not allocate again.
    pytest.param("delay_next_webhooks", id="after_timeout", marks=pytest.mark.tags("recovery", "retry", "timeout")),
    # A crash after the order update, before commit: the retry must still pay it.
    pytest.param("crash_next_webhooks", id="after_crash_mid_processing", marks=pytest.mark.tags("recovery", "crash")),
]


@pytest.mark.parametrize("arm", FAILURES)
def test_stripe_retry_finishes_the_job_once(posx, arm):
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    getattr(posx, arm)(1)
    posx.deliver(order, types=["payment_intent.succeeded"])
    posx.expect_deliveries(order, attempt=1, outcome="failed")
    posx.retry_failed(order)
    posx.expect(order, **ONCE)
    posx.expect_deliveries(order, attempt=2, count=1, status="2xx")
