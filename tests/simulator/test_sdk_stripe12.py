"""The same life cycles through the stripe 12.x SDK line (pinned to 2025-08-27.basil), module-level API."""
import pytest

from tests.support.stripe12 import run_stripe12

pytestmark = pytest.mark.stripe12

CODE = r"""
import json, stripe
assert stripe.VERSION.startswith("12."), stripe.VERSION
stripe.api_key = "sk_test_stripe12_line"
stripe.api_base = API_BASE
stripe.max_network_retries = 0
out = {"version": stripe.VERSION}

def pm(number):
    return stripe.PaymentMethod.create(type="card", card={"number": number, "exp_month": 12, "exp_year": 2034})

pi = stripe.PaymentIntent.create(amount=1000, currency="usd", payment_method=pm("4242424242424242").id)
pi = stripe.PaymentIntent.confirm(pi.id)
charge = stripe.Charge.retrieve(pi.latest_charge, expand=["balance_transaction"])
out["success"] = [pi.status, charge.balance_transaction.object, charge.balance_transaction.amount]

for number in ("4000000000000002", "4000000000009995"):
    pi2 = stripe.PaymentIntent.create(amount=700, currency="usd", payment_method=pm(number).id)
    try:
        stripe.PaymentIntent.confirm(pi2.id)
        out[number] = "no error"
    except stripe.error.CardError as e:
        retried = stripe.PaymentIntent.confirm(pi2.id, payment_method="pm_card_visa")
        out[number] = [e.http_status, e.code, e.error.decline_code, retried.status]

disputed = stripe.PaymentIntent.create(amount=1500, currency="usd", confirm=True,
                                       payment_method=pm("4000000000000259").id)
dispute = stripe.Dispute.list(payment_intent=disputed.id).data[0]
out["dispute"] = [stripe.Dispute.retrieve(dispute.id).reason, dispute.status]

refund = stripe.Refund.create(payment_intent=pi.id, amount=250)
out["refund"] = [refund.status, stripe.Charge.retrieve(pi.latest_charge).amount_refunded]

session = stripe.checkout.Session.create(mode="payment", success_url="https://posx.example/ok", line_items=[
    {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 900, "product_data": {"name": "Tea"}}}])
# 12.x has raw requests on the client only.
client = stripe.StripeClient(stripe.api_key, base_addresses={"api": API_BASE}, max_network_retries=0)
client.raw_request("post", "/v1/test_helpers/checkout/sessions/%s/complete" % session.id)
out["checkout"] = stripe.checkout.Session.retrieve(session.id).status

out["events"] = [e.type for e in stripe.Event.list(type="payment_intent.succeeded", limit=1).auto_paging_iter()]

we = stripe.WebhookEndpoint.create(url="https://posx.example/hook", enabled_events=["*"])
out["webhook"] = [we.secret.startswith("whsec_"), "secret" in stripe.WebhookEndpoint.retrieve(we.id),
                  stripe.WebhookEndpoint.delete(we.id).deleted]
try:
    stripe.PaymentIntent.retrieve("pi_missing")
except stripe.error.InvalidRequestError as e:
    out["missing"] = [e.http_status, e.code, e.param]
print(json.dumps(out))
"""


def test_life_cycles_with_stripe12(server):
    out = run_stripe12("API_BASE = %r\n" % server.url + CODE)
    assert out["success"] == ["succeeded", "balance_transaction", 1000]
    assert out["4000000000000002"] == [402, "card_declined", "generic_decline", "succeeded"]
    assert out["4000000000009995"] == [402, "card_declined", "insufficient_funds", "succeeded"]
    assert out["dispute"] == ["fraudulent", "needs_response"]
    assert out["refund"] == ["succeeded", 250]
    assert out["checkout"] == "complete"
    # 4242, both retried declines, the disputed card and the checkout payment.
    assert out["events"] == ["payment_intent.succeeded"] * 5
    assert out["webhook"] == [True, False, True]
    assert out["missing"] == [404, "resource_missing", "id"]
