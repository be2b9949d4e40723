"""Only what Stripe really signed, recently, with the endpoint's secret may change an order."""
import pytest

pytestmark = pytest.mark.scenario

# Fault -> why a receiver must refuse it. Each is answered 400 and changes nothing.
REJECTED = {
    "wrong_secret": "signed with another endpoint's secret",
    "tampered_body": "body changed after signing",
    "stale_timestamp": "signature older than the 300 s tolerance",
    "missing_signature": "no Stripe-Signature header",
    "malformed_signature": "unparseable Stripe-Signature header",
    "v0_only": "only the test-mode v0 scheme, no v1",
    "invalid_json": "valid signature over a body that is not JSON",
}


@pytest.mark.tags("signature")
@pytest.mark.parametrize("fault", list(REJECTED))
def test_bad_delivery_is_rejected_and_changes_nothing(posx, fault):
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.deliver(order, types=["payment_intent.succeeded", "charge.succeeded"], faults=[fault])
    posx.expect_deliveries(order, fault=fault, status=400)
    posx.expect(order, status="pending", paid_at=False, allocations=0)
    # The real, correctly signed events still pay it: the rejection recorded nothing.
    posx.deliver(order, types=["payment_intent.succeeded", "charge.succeeded"])
    posx.expect(order, status="paid", allocations=1, commissions=1)


def _success_delivered_with(posx, fault):
    """A paid intent whose payment_intent.succeeded reaches the target only with ``fault``."""
    order = posx.create_order()
    posx.pay(order, card="4242", deliver=False)
    posx.deliver(order, types=["payment_intent.succeeded"], faults=[fault])
    return order


@pytest.mark.tags("signature", "replay")
def test_replayed_old_signature_is_rejected(posx):
    """A captured delivery replayed an hour later: same body, its old signature."""
    order = _success_delivered_with(posx, "stale_timestamp:seconds=3600")
    posx.expect_deliveries(order, fault="stale_timestamp", status=400)
    posx.expect(order, status="pending", allocations=0)


@pytest.mark.tags("signature", "rolled-secret")
def test_rolled_secret_is_accepted(posx):
    """While a secret is rolled Stripe signs with old and new: one matching v1 is enough."""
    order = posx.create_order()
    posx.pay(order, card="4242", faults=["rolled_secret"])
    posx.expect_deliveries(order, status="2xx")
    posx.expect(order, status="paid", allocations=1, commissions=1)


@pytest.mark.tags("signature", "event-types")
def test_unknown_event_type_gets_2xx(posx):
    order = _success_delivered_with(posx, "unknown_event_type")
    posx.expect_deliveries(order, fault="unknown_event_type", status="2xx")
    posx.expect(order, status="pending", allocations=0)


@pytest.mark.tags("signature", "event-types")
def test_thin_event_notification_is_not_taken_for_a_payment(posx):
    order = _success_delivered_with(posx, "thin_event")
    posx.expect(order, status="pending", allocations=0)
