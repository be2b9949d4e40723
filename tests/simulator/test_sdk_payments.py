"""The payment life cycle through the official SDK (16.x StripeClient), per test card."""
import pytest
import stripe

from tests.simulator.conftest import card_pm, intent_events


def create_and_confirm(client, last4, amount=1000):
    pm = card_pm(client, last4)
    pi = client.v1.payment_intents.create(params={"amount": amount, "currency": "usd", "payment_method": pm.id,
                                                  "metadata": {"order_id": "ord_%s" % last4}})
    assert pi.status == "requires_confirmation"
    return pi, client.v1.payment_intents.confirm(pi.id)


def test_4242_succeeds_with_charge_and_balance_transaction(client, sim):
    pi, confirmed = create_and_confirm(client, "4242")
    assert confirmed.status == "succeeded" and confirmed.amount_received == 1000
    assert confirmed.metadata["order_id"] == "ord_4242"
    charge = client.v1.charges.retrieve(confirmed.latest_charge, params={"expand": ["balance_transaction"]})
    assert charge.paid and charge.status == "succeeded" and charge.payment_intent == pi.id
    assert charge.payment_method_details.card.last4 == "4242"
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction) and txn.amount == 1000 and txn.net == 1000 - txn.fee
    assert client.v1.balance_transactions.retrieve(txn.id).source == charge.id
    listed = client.v1.charges.list(params={"payment_intent": pi.id})
    assert [c.id for c in listed.data] == [charge.id]
    # Stripe's order for a successful card payment; charge.updated carries the balance transaction later.
    assert intent_events(sim, pi.id) == ["payment_intent.created", "charge.succeeded",
                                         "payment_intent.succeeded", "charge.updated"]


@pytest.mark.parametrize("last4, decline_code", [("0002", "generic_decline"), ("9995", "insufficient_funds")])
def test_declines_raise_card_error_and_leave_intent_retryable(client, sim, last4, decline_code):
    pm = card_pm(client, last4)
    pi = client.v1.payment_intents.create(params={"amount": 2500, "currency": "usd", "payment_method": pm.id})
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.confirm(pi.id)
    err = info.value
    assert err.http_status == 402 and err.code == "card_declined"
    assert err.error.decline_code == decline_code and err.error.type == "card_error"
    assert err.error.payment_intent["id"] == pi.id
    assert err.request_id.startswith("req_")
    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.decline_code == decline_code
    assert intent_events(sim, pi.id) == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]

    # The customer tries again with a good card: same intent succeeds.
    good = card_pm(client, "4242")
    retried = client.v1.payment_intents.confirm(pi.id, params={"payment_method": good.id})
    assert retried.status == "succeeded"
    charges = client.v1.charges.list(params={"payment_intent": pi.id}).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]


def test_0259_succeeds_then_dispute_is_retrievable(client, sim):
    pi, confirmed = create_and_confirm(client, "0259")
    assert confirmed.status == "succeeded"
    disputes = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert len(disputes) == 1
    dispute = client.v1.disputes.retrieve(disputes[0].id)
    assert (dispute.reason, dispute.status, dispute.charge) == ("fraudulent", "needs_response", confirmed.latest_charge)
    assert "charge.dispute.created" in intent_events(sim, pi.id)
    assert client.v1.disputes.list().data[0].id == dispute.id


def test_partial_then_full_refund(client):
    pi, confirmed = create_and_confirm(client, "4242", amount=1000)
    partial = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 300})
    assert partial.status == "succeeded" and partial.amount == 300
    assert client.v1.charges.retrieve(confirmed.latest_charge).amount_refunded == 300
    rest = client.v1.refunds.create(params={"charge": confirmed.latest_charge})
    assert rest.amount == 700
    charge = client.v1.charges.retrieve(confirmed.latest_charge)
    assert charge.refunded and charge.amount_refunded == 1000
    assert client.v1.refunds.retrieve(partial.id).amount == 300
    assert {r.id for r in client.v1.refunds.list(params={"payment_intent": pi.id}).data} == {partial.id, rest.id}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1})


def test_cancel_and_update(client, sim):
    pi = client.v1.payment_intents.create(params={"amount": 500, "currency": "eur"})
    updated = client.v1.payment_intents.update(pi.id, params={"description": "table 4", "metadata": {"k": "v"}})
    assert updated.description == "table 4" and updated.metadata["k"] == "v"
    canceled = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "requested_by_customer"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "requested_by_customer"
    assert intent_events(sim, pi.id)[-1] == "payment_intent.canceled"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert info.value.http_status == 400


def test_list_payment_intents_paginates_with_auto_paging(client):
    ids = [client.v1.payment_intents.create(params={"amount": 100 + i, "currency": "usd"}).id for i in range(7)]
    page = client.v1.payment_intents.list(params={"limit": 3})
    assert page.has_more and [p.id for p in page.data] == ids[::-1][:3]
    assert [p.id for p in page.auto_paging_iter()] == ids[::-1]


def test_checkout_session_create_complete_retrieve(client, sim):
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://posx.example/ok",
        "line_items": [{"quantity": 2, "price_data": {"currency": "usd", "unit_amount": 750,
                                                       "product_data": {"name": "Flat white"}}}],
        "metadata": {"order_id": "6735"}})
    assert session.status == "open" and session.amount_total == 1500 and session.url
    # The simulator's own test helper stands in for the customer paying on the hosted page.
    completed = client.raw_request("post", "/v1/test_helpers/checkout/sessions/%s/complete" % session.id)
    completed = client.deserialize(completed, api_mode="V1")
    assert completed.status == "complete" and completed.payment_status == "paid"
    again = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert again.payment_intent.status == "succeeded" and again.payment_intent.amount == 1500
    assert "checkout.session.completed" in intent_events(sim, again.payment_intent.id)


def test_account_is_retrievable(client):
    account = client.v1.accounts.retrieve_current()
    assert account.id.startswith("acct_") and account.object == "account"


def test_module_level_api_base(server, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", "sk_test_module_level")
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    pi = stripe.PaymentIntent.create(amount=1200, currency="usd", payment_method="pm_card_visa", confirm=True)
    assert pi.status == "succeeded"
    assert stripe.PaymentIntent.retrieve(pi.id).amount == 1200
    with pytest.raises(stripe.CardError) as info:
        stripe.PaymentIntent.create(amount=1200, currency="usd", payment_method="pm_card_chargeDeclined",
                                    confirm=True)
    assert info.value.code == "card_declined"
