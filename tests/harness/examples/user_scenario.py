"""A scenario as a POSX developer writes one, with the plugin's fixtures."""
import pytest


@pytest.mark.tags("user")
def test_user_pays_two_orders(posx, pay_order, wait_for_order, webhook_secret):
    assert webhook_secret.startswith("whsec_")
    first, second = posx.create_order(), posx.create_order(quantity=3)
    pay_order(first, card="4242")
    pay_order(second, card="9995")
    wait_for_order(first, status="paid", allocations=1)
    wait_for_order(second, status="failed", allocations=0)
