"""The receiver's money rules (docs/CONTRACT.md, "## Money") in-process, on SQLite and
PostgreSQL: amounts checked on every paying event, cumulative partial refunds, async
Checkout, and what each money flaw flavour gets wrong."""
from __future__ import annotations

import pytest

from harness.receiver.outbox import OutboxWorker

from .support import charge, event, payment_intent


def final(client, order_id):
    OutboxWorker(client.app.config, client.app.db).drain()
    return client.get_order(order_id)


def session(order, payment_status="paid", **extra):
    obj = {"id": "cs_test_" + order["id"][:8], "object": "checkout.session", "status": "complete",
           "payment_status": payment_status, "client_reference_id": order["id"], "payment_intent": None,
           "metadata": {}, "amount_total": order["amount"], "currency": "usd"}
    obj.update(extra)
    return obj


def refunded(order, cumulative):
    return event("charge.refunded", charge(order, refunded=cumulative >= order["amount"], amount_refunded=cumulative))


def test_order_and_tiers_show_the_money(make_client):
    client = make_client(commission_rate_bps=1250)
    status, tiers = client.request("GET", "/api/v1/tiers/")
    assert status == 200 and tiers["commission_rate_bps"] == 1250
    growth = next(t for t in tiers["data"] if t["id"] == "tier_growth")
    order = client.create_order("tier_growth", quantity=3)
    view = client.get_order(order["id"])
    assert (view["tier_id"], view["quantity"], view["amount"], view["currency"], view["tokens"]) == (
        "tier_growth", 3, growth["price"] * 3, "usd", growth["tokens"] * 3)
    assert view["amount_refunded"] == 0 and view["payment_error"] is None
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    view = final(client, order["id"])
    assert [a["tokens"] for a in view["allocations"]] == [growth["tokens"] * 3]
    assert [(c["rate_bps"], c["amount"]) for c in view["commissions"]] == [(1250, growth["price"] * 3 * 1250 // 10000)]


def test_commission_rounds_down_to_the_cent(make_client):
    client = make_client(commission_rate_bps=333)
    order = client.create_order()                     # 1000 x 3.33 % = 33.3 -> 33
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    assert [c["amount"] for c in final(client, order["id"])["commissions"]] == [33]


@pytest.mark.parametrize("etype, make, error", [
    ("payment_intent.succeeded", lambda o: payment_intent(o, amount_received=o["amount"] - 1),
     "amount_mismatch: received 999 usd, expected 1000 usd"),
    ("payment_intent.succeeded", lambda o: payment_intent(o, currency="eur"),
     "currency_mismatch: received 1000 eur, expected 1000 usd"),
    ("charge.succeeded", lambda o: charge(o, amount_captured=o["amount"] - 1), "amount_mismatch"),
    ("checkout.session.completed", lambda o: session(o, amount_total=o["amount"] + 1), "amount_mismatch"),
    ("checkout.session.async_payment_succeeded", lambda o: session(o, currency="gbp"), "currency_mismatch"),
])
def test_a_payment_of_another_amount_or_currency_does_not_pay(make_client, etype, make, error):
    client = make_client()
    order = client.create_order()
    status, body = client.deliver(event(etype, make(order)))
    assert status == 200, body                        # handled: a retry would not change it
    view = final(client, order["id"])
    assert view["status"] == "payment_mismatch" and view["payment_error"].startswith(error), view
    assert view["paid_at"] is None and view["allocations"] == [] and view["commissions"] == []
    # A later matching payment event does not override it: a person decides.
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    view = final(client, order["id"])
    assert view["status"] == "payment_mismatch" and view["allocations"] == []
    kinds = [r[0] for r in client.app.db.read("SELECT kind FROM notifications")]
    assert kinds == ["payment_mismatch"]


def test_uncaptured_charge_is_not_a_payment(make_client):
    client = make_client()
    order = client.create_order()
    client.deliver(event("charge.succeeded", charge(order, captured=False, amount_captured=0)))
    assert final(client, order["id"])["status"] == "pending"


def test_partial_refunds_are_cumulative_and_keep_the_order_paid(make_client):
    client = make_client()
    order = client.create_order()
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    later = refunded(order, 500)
    client.deliver(later)
    client.deliver(refunded(order, 300))              # older, arriving late: never lowers it
    client.deliver(later)                              # a duplicate: never adds twice
    view = final(client, order["id"])
    assert (view["status"], view["amount_refunded"]) == ("paid", 500)
    assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1
    client.deliver(refunded(order, order["amount"]))
    view = final(client, order["id"])
    assert (view["status"], view["amount_refunded"]) == ("refunded", order["amount"])
    assert len(view["allocations"]) == 1              # a refund does not take the tokens back


def test_amount_refunded_never_exceeds_the_amount(make_client):
    client = make_client()
    order = client.create_order()
    client.deliver(event("payment_intent.succeeded", payment_intent(order)))
    client.deliver(refunded(order, order["amount"] * 2))
    assert final(client, order["id"])["amount_refunded"] == order["amount"]


@pytest.mark.parametrize("outcome, expected", [("succeeded", "paid"), ("failed", "failed")])
def test_async_checkout_waits_for_the_bank(make_client, outcome, expected):
    client = make_client()
    order = client.create_order()
    client.deliver(event("checkout.session.completed", session(order, "unpaid")))
    assert final(client, order["id"])["status"] == "pending"
    client.deliver(event("checkout.session.async_payment_" + outcome,
                         session(order, "paid" if outcome == "succeeded" else "unpaid")))
    view = final(client, order["id"])
    assert view["status"] == expected and len(view["allocations"]) == (1 if expected == "paid" else 0)
    # A stale failure after the payment does not un-pay it; a late "completed" does not pay a failure.
    client.deliver(event("checkout.session.async_payment_failed", session(order, "unpaid")))
    client.deliver(event("checkout.session.completed", session(order, "unpaid")))
    assert final(client, order["id"])["status"] == expected


# flavour -> (events, what the reference shows, what the flaw shows instead)
def _flaw_cases():
    def unpaid_checkout(o):
        return [event("checkout.session.completed", session(o, "unpaid"))]

    def short_payment(o):
        return [event("payment_intent.succeeded", payment_intent(o, amount_received=o["amount"] - 1))]

    def partial_refund(o):
        return [event("payment_intent.succeeded", payment_intent(o)), refunded(o, 100)]

    return {
        "flaw-checkout-unpaid-pays": (unpaid_checkout, {"status": "pending"}, {"status": "paid"}),
        "flaw-ignore-amount": (short_payment, {"status": "payment_mismatch"}, {"status": "paid"}),
        "guide": (short_payment, {"status": "payment_mismatch"}, {"status": "paid"}),
        "flaw-partial-refund-refunds": (partial_refund, {"status": "paid"}, {"status": "refunded"}),
    }


@pytest.mark.parametrize("flavor", ["flaw-checkout-unpaid-pays", "flaw-ignore-amount", "guide",
                                    "flaw-partial-refund-refunds"])
def test_each_webhook_money_flaw_differs_from_the_reference(make_client, flavor):
    make_events, right, wrong = _flaw_cases()[flavor]
    for name, want in (("reference", right), (flavor, wrong)):
        client = make_client(flavor=name)
        order = client.create_order()
        for evt in make_events(order):
            assert client.deliver(evt)[0] == 200
        view = final(client, order["id"])
        assert {k: view[k] for k in want} == want, (name, view)


@pytest.mark.parametrize("flavor, field", [("flaw-wrong-tokens", "tokens"), ("flaw-commission-rate", "amount")])
def test_each_outbox_money_flaw_differs_from_the_reference(make_client, flavor, field):
    figures = {}
    for name in ("reference", flavor):
        client = make_client(flavor=name)
        order = client.create_order("tier_growth", quantity=2)
        client.deliver(event("payment_intent.succeeded", payment_intent(order)))
        view = final(client, order["id"])
        figures[name] = (view["allocations"] if field == "tokens" else view["commissions"])[0][field]
    assert figures["reference"] == (550 * 2 if field == "tokens" else 10000 * 1000 // 10000)
    assert figures[flavor] != figures["reference"], figures
