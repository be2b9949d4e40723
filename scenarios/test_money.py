"""Money: what an order is paid, allocated, commissioned and refunded, not only how many times.

Every figure is the contract's (docs/CONTRACT.md, "## Money") and the target's own prices
(``GET /api/v1/tiers/``): tokens = tier tokens x quantity; commission = floor(amount x
commission_rate_bps / 10000); a partial refund leaves the order paid with its
``amount_refunded``; a delayed payment method pays only when Stripe says the money arrived;
a payment of another amount or currency pays nothing (``payment_mismatch``).
"""
import pytest

from harness.engine import money

pytestmark = pytest.mark.scenario

ASYNC_SUCCESS = ("charge.succeeded", "payment_intent.succeeded", "checkout.session.async_payment_succeeded")
ASYNC_FAILURE = ("charge.failed", "payment_intent.payment_failed", "checkout.session.async_payment_failed")
BANK_OK = "pm_usBankAccount_success"
BANK_FAILS = "pm_usBankAccount_insufficientFunds"


def new_order(posx, which=0, quantity=1):
    """An order of the target's tier ``which`` (position in its tier list, or an id)."""
    tier = money.pricing(posx).tier(which)
    return tier, posx.create_order(quantity=quantity, tier=tier.id)


def bank_debit_order(posx):
    """An order a bank debit can pay (ACH is usd only)."""
    tier = money.pricing(posx).usd_tier()
    return tier, posx.create_order(tier=tier.id)


# -- what an order buys ------------------------------------------------------------------------
@pytest.mark.catches("an order that allocates the wrong number of tokens (not the tier's tokens x the quantity)")
@pytest.mark.tags("money", "tokens")
@pytest.mark.parametrize("which, quantity", [(0, 1), (0, 3), (1, 2), (-1, 5)],
                         ids=["first-tier-x1", "first-tier-x3", "second-tier-x2", "last-tier-x5"])
def test_tokens_are_tier_tokens_times_quantity(posx, which, quantity):
    tier, order = new_order(posx, which, quantity)
    money.expect(posx, order, tier_id=tier.id, quantity=quantity, amount=tier.price * quantity,
                 currency=tier.currency, tokens=money.tokens_for(tier, quantity))
    posx.pay(order)
    money.expect(posx, order, status="paid", allocated_tokens=[money.tokens_for(tier, quantity)])


@pytest.mark.catches("a commission at the wrong rate, on the wrong base, or rounded up")
@pytest.mark.tags("money", "commission")
@pytest.mark.parametrize("which, quantity", [(0, 1), (1, 3), (-1, 2)],
                         ids=["first-tier-x1", "second-tier-x3", "last-tier-x2"])
def test_commission_is_the_rate_of_the_amount(posx, which, quantity):
    """floor(amount x commission_rate_bps / 10000), on the order's whole amount, to the cent."""
    tier, order = new_order(posx, which, quantity)
    posx.pay(order)
    rate = money.pricing(posx).rate_bps
    money.expect(posx, order, status="paid", commission_rate_bps=rate,
                 commission=[money.commission_for(tier.price * quantity, rate)])


# -- refunds -----------------------------------------------------------------------------------
def parts(tier):
    """Two partial refunds of a tier's price (300 and 200 of 1000), whatever the target's prices."""
    return tier.price * 3 // 10, tier.price // 5


@pytest.mark.catches("a partial refund that marks the order refunded, or is never recorded")
@pytest.mark.tags("money", "refund", "refunds")
def test_partial_refund_keeps_the_order_paid(posx):
    tier, order = new_order(posx)
    posx.pay(order)
    money.expect(posx, order, status="paid", amount_refunded=0)
    part = parts(tier)[1]
    posx.refund(order, amount=part)
    money.expect_paid(posx, order, tier, 1, amount_refunded=part)
    posx.expect_deliveries(order, type="charge.refunded", status="2xx")


@pytest.mark.catches("partial refunds that are not added up (the last one replaces the first, or one is lost)")
@pytest.mark.tags("money", "refund", "refunds")
def test_two_partial_refunds_add_up(posx):
    tier, order = new_order(posx)
    posx.pay(order)
    first, second = parts(tier)
    posx.refund(order, amount=first)
    money.expect(posx, order, status="paid", amount_refunded=first)
    posx.refund(order, amount=second)
    money.expect_paid(posx, order, tier, 1, amount_refunded=first + second)


@pytest.mark.catches("an order never marked refunded when partial refunds reach its amount")
@pytest.mark.tags("money", "refund", "refunds")
def test_partial_then_full_refund_refunds(posx):
    tier, order = new_order(posx)
    posx.pay(order)
    first = parts(tier)[0]
    posx.refund(order, amount=first)
    money.expect(posx, order, status="paid", amount_refunded=first)
    posx.refund(order)                                   # the rest
    # A refund does not take the tokens or the commission back (the contract's choice).
    money.expect_paid(posx, order, tier, 1, status="refunded", amount_refunded=tier.price)


@pytest.mark.catches("a refund counted twice, or lowered by an older charge.refunded arriving late")
@pytest.mark.tags("money", "refund", "refunds", "ordering", "duplicates")
def test_refund_events_duplicated_and_out_of_order(posx):
    """charge.refunded carries the cumulative amount: the older one, late and twice, changes nothing."""
    tier, order = new_order(posx)
    posx.pay(order)
    first, second = parts(tier)
    posx.refund(order, amount=first, deliver=False)
    posx.refund(order, amount=second, deliver=False)
    older, newer = posx.records(order, ["charge.refunded"])
    posx.deliver(order, records=[newer], faults=["duplicate:2"])
    posx.deliver(order, records=[older], faults=["duplicate:2"])
    money.expect_paid(posx, order, tier, 1, amount_refunded=first + second)
    posx.expect_deliveries(order, type="charge.refunded", status="2xx", count=4)


# -- Checkout with a delayed payment method (a bank debit) ----------------------------------
@pytest.mark.catches("an order paid by checkout.session.completed while the bank debit is still unpaid")
@pytest.mark.tags("money", "checkout", "async")
def test_async_checkout_pays_when_the_debit_succeeds(posx):
    tier, order = bank_debit_order(posx)
    posx.checkout(order, card=BANK_OK, deliver=False)
    posx.deliver(order, types=["checkout.session.completed"])          # payment_status: unpaid
    money.expect(posx, order, status="pending", allocated_tokens=[], commission=[])
    posx.deliver(order, types=list(ASYNC_SUCCESS))
    money.expect_paid(posx, order, tier, 1)


@pytest.mark.catches("an order paid although its bank debit failed")
@pytest.mark.tags("money", "checkout", "async", "decline")
def test_async_checkout_fails_when_the_debit_fails(posx):
    tier, order = bank_debit_order(posx)
    posx.checkout(order, card=BANK_FAILS, deliver=False)
    posx.deliver(order, types=["checkout.session.completed"])
    money.expect(posx, order, status="pending", allocated_tokens=[], commission=[])
    posx.deliver(order, types=list(ASYNC_FAILURE))
    money.expect(posx, order, status="failed", allocated_tokens=[], commission=[])
    posx.expect_deliveries(order, status="2xx")


@pytest.mark.catches("a bank debit's success applied twice, or lost when it arrives before completed")
@pytest.mark.tags("money", "checkout", "async", "ordering", "duplicates")
def test_async_success_duplicated_and_before_completed(posx):
    tier, order = bank_debit_order(posx)
    posx.checkout(order, card=BANK_OK, deliver=False)
    posx.deliver(order, order_of_types=["checkout.session.async_payment_succeeded", "checkout.session.completed"],
                 faults=["duplicate:2"])
    money.expect_paid(posx, order, tier, 1)
    posx.deliver(order, types=list(ASYNC_SUCCESS), faults=["duplicate:2"])
    money.expect_paid(posx, order, tier, 1)


@pytest.mark.catches("a failed bank debit paid by a late checkout.session.completed (unpaid)")
@pytest.mark.tags("money", "checkout", "async", "ordering")
def test_async_failure_before_completed_stays_failed(posx):
    """The bank's "no" arrives first; the late "completed" (unpaid) must not pay."""
    tier, order = bank_debit_order(posx)
    posx.checkout(order, card=BANK_FAILS, deliver=False)
    posx.deliver(order, order_of_types=["checkout.session.async_payment_failed", "checkout.session.completed"])
    money.expect(posx, order, status="failed", allocated_tokens=[], commission=[])


@pytest.mark.catches("a paid order un-paid by an earlier Checkout's failure arriving late")
@pytest.mark.tags("money", "checkout", "async", "ordering", "decline")
def test_stale_async_failure_after_a_paid_checkout_keeps_the_payment(posx):
    """A first bank debit fails, the customer pays in a new Checkout; the first one's failure
    arrives after the second one's success."""
    tier, order = bank_debit_order(posx)
    posx.checkout(order, card=BANK_FAILS, deliver=False)
    stale = posx.unsent(order)
    posx.checkout(order, card=BANK_OK, deliver=False)
    fresh = [r for r in posx.unsent(order) if r.id not in {s.id for s in stale}]
    posx.deliver(order, records=fresh)
    money.expect_paid(posx, order, tier, 1)
    posx.deliver(order, records=stale)
    money.expect_paid(posx, order, tier, 1)


# -- what was received is not what the order costs -----------------------------------------------
@pytest.mark.catches("an order paid although Stripe received less than its amount")
@pytest.mark.tags("money", "mismatch")
def test_amount_short_by_one_cent_does_not_pay(posx):
    tier, order = new_order(posx)
    money.pay_other_amount(posx, order, amount=tier.price - 1)
    money.expect(posx, order, status="payment_mismatch", payment_error="amount_mismatch",
                 allocated_tokens=[], commission=[])
    posx.expect_deliveries(order, status="2xx")       # handled: a retry would not change it


@pytest.mark.catches("an order paid although Stripe received another currency")
@pytest.mark.tags("money", "mismatch")
def test_other_currency_does_not_pay(posx):
    tier, order = new_order(posx)
    other = "eur" if tier.currency != "eur" else "usd"
    money.pay_other_amount(posx, order, currency=other)
    money.expect(posx, order, status="payment_mismatch", payment_error="currency_mismatch",
                 allocated_tokens=[], commission=[])
    posx.expect_deliveries(order, status="2xx")
