"""harness.engine.money on its own: the contract's formulas, reading a target's tiers, and
what a money check does when a target cannot show a figure (not checked, never passed)."""
from __future__ import annotations

import types

import pytest

from harness.engine import money
from harness.engine import target as t
from harness.engine.report import ScenarioFailure


def test_formulas():
    tier = money.Tier("tier_growth", 5000, 550, "usd")
    assert money.tokens_for(tier, 3) == 1650
    assert money.commission_for(1000, 333) == 33          # floor: 33.3 -> 33
    assert money.commission_for(999, 1000) == 99          # 99.9 -> 99, never rounded up
    assert money.commission_for(50000 * 2, 1000) == 10000


class FakeResponse:
    def __init__(self, status, doc):
        self.status_code = status
        self._doc = doc
        self.text = str(doc)

    def json(self):
        if self._doc is None:
            raise ValueError("no JSON")
        return self._doc


class FakeTarget:
    """Just what money.py uses of an HTTP target."""

    profile = {"fields": {}}

    def __init__(self, tiers_answer=(200, None), order=None):
        self.tiers_answer = tiers_answer
        self.order = order

    def call(self, spec, **extra):
        assert spec == {"method": "GET", "path": "/api/v1/tiers/"}
        return FakeResponse(*self.tiers_answer)

    def field(self, doc, name):
        return doc.get(name)

    def describe(self):
        return "fake target"


TIERS = {"data": [{"id": "a", "price": 1000, "tokens": 100, "currency": "USD"},
                  {"id": "b", "price": 5000, "tokens": 550}]}


def test_pricing_reads_the_targets_tiers_and_rate():
    p = money._read_pricing(FakeTarget((200, dict(TIERS, commission_rate_bps=750))))
    assert p.rate_bps == 750 and [x.id for x in p.tiers] == ["a", "b"]
    assert p.tier(0).currency == "usd" and p.tier(-1).id == "b" and p.tier(5).id == "b"   # wraps
    assert p.tier("a").price == 1000
    with pytest.raises(t.TargetError, match="no tier 'c'.*a, b"):
        p.tier("c")
    assert money._read_pricing(FakeTarget((200, TIERS))).rate_bps == money.DEFAULT_RATE_BPS


@pytest.mark.parametrize("answer, error, match", [
    ((404, {"error": "Not found"}), t.Unsupported, "has no /api/v1/tiers/"),
    ((500, None), t.TargetError, "answered 500"),
    ((200, {"data": [{"id": "a"}]}), t.TargetError, "needs id, price and tokens"),
    ((200, {"data": []}), t.TargetError, "lists no tier"),
    ((200, dict(TIERS, commission_rate_bps="10%")), t.TargetError, "whole number of basis points"),
])
def test_pricing_says_what_is_wrong(answer, error, match):
    with pytest.raises(error, match=match) as info:
        money._read_pricing(FakeTarget(answer))
    if error is t.Unsupported:
        assert "wrong tokens" in info.value.catches


def test_a_target_that_is_not_http_is_not_checked():
    class Plain(t.Target):
        name = "plain"
    with pytest.raises(t.Unsupported, match="not an HTTP target"):
        money._read_pricing(Plain())


ORDER = {"id": "o1", "status": "paid", "tier_id": "a", "quantity": 2, "amount": 2000, "currency": "usd",
         "tokens": 200, "amount_refunded": 0, "payment_error": None,
         "allocations": [{"tokens": 200}], "commissions": [{"beneficiary": "house:NA", "rate_bps": 1000, "amount": 200}]}


def fake_posx(doc, settle=0.0):
    tgt = FakeTarget()
    view = t.OrderView(id="o1", status=doc.get("status"), raw=doc)
    posx = types.SimpleNamespace(target=tgt, options=types.SimpleNamespace(timeout=0.2, settle=settle),
                                 view=lambda order: view)
    posx._report = lambda title, expected, shown, order, reason="": "%s\nexpected: %r\nthe target showed: %r\n%s" % (
        title, expected, shown, reason)
    return posx


ANY_ORDER = t.Order(id="o1", payment_intent="pi_1")


def test_expect_passes_when_the_order_shows_the_money():
    mv = money.expect(fake_posx(ORDER, settle=0.05), ANY_ORDER, status="paid", tokens=200, allocated_tokens=[200],
                      commission=[200], commission_rate_bps=1000, amount_refunded=0, payment_error=None,
                      currency="usd")
    assert mv.allocations == [200]


@pytest.mark.parametrize("wanted", [{"allocated_tokens": [100]}, {"commission": [199]}, {"amount_refunded": 100},
                                    {"payment_error": "amount_mismatch"}, {"status": "refunded"},
                                    {"commission_rate_bps": 1250}])
def test_expect_fails_with_what_was_expected_and_shown(wanted):
    with pytest.raises(ScenarioFailure, match="does not show the money expected") as info:
        money.expect(fake_posx(ORDER), ANY_ORDER, **wanted)
    assert "the target showed" in str(info.value) and "allocated_tokens" in str(info.value)


def test_a_figure_the_target_cannot_show_is_not_checked():
    doc = {k: v for k, v in ORDER.items() if k != "amount_refunded"}
    with pytest.raises(t.Unsupported, match="no amount_refunded") as info:
        money.expect(fake_posx(doc), ANY_ORDER, status="paid", amount_refunded=100)
    assert info.value.capability == money.MONEY and "partial refund" in info.value.catches
    # What it can show is still checked by other expectations.
    assert money.expect(fake_posx(doc), ANY_ORDER, status="paid", tokens=200).tokens == 200


def test_an_unknown_expectation_is_a_mistake_in_the_scenario():
    with pytest.raises(TypeError, match="unknown money expectation"):
        money.expect(fake_posx(ORDER), ANY_ORDER, refunds=1)
