"""Bad input gets Stripe's error: the right type, message, param and code."""
import pytest

from simulator.errors import CardError, InvalidRequestError, ResourceMissingError, StateError
from tests.simulator.test_backend_flows import make_backend, pay


def err(fn, *args, **kwargs):
    with pytest.raises(InvalidRequestError) as info:
        fn(*args, **kwargs)
    return info.value


@pytest.fixture
def b():
    return make_backend()


def test_unknown_parameter(b):
    e = err(b.create_payment_intent, {"amount": "100", "currency": "usd", "foo": "1"})
    assert (e.message, e.param, e.http_status) == ("Received unknown parameter: foo", "foo", 400)


def test_unknown_nested_parameter(b):
    e = err(b.create_payment_intent, {"amount": "100", "currency": "usd",
                                      "payment_method_data": {"type": "card", "card": {"numbr": "4242"}}})
    assert e.message == "Received unknown parameter: payment_method_data[card][numbr]"
    assert e.param == "payment_method_data[card][numbr]"


def test_missing_required(b):
    e = err(b.create_payment_intent, {"currency": "usd"})
    assert (e.message, e.param) == ("Missing required param: amount.", "amount")
    e = err(b.create_payment_intent, {"amount": "100"})
    assert (e.message, e.param) == ("Missing required param: currency.", "currency")


def test_invalid_integer_and_boolean(b):
    e = err(b.create_payment_intent, {"amount": "abc", "currency": "usd"})
    assert (e.message, e.param) == ("Invalid integer: abc", "amount")
    e = err(b.create_payment_intent, {"amount": "12.5", "currency": "usd"})
    assert e.message == "Invalid integer: 12.5"
    e = err(b.create_payment_intent, {"amount": True, "currency": "usd"})
    assert e.message == "Invalid integer: true"
    assert b.create_payment_intent({"amount": 150, "currency": "usd"})["amount"] == 150
    e = err(b.create_payment_intent, {"amount": "100", "currency": "usd", "confirm": "yes"})
    assert (e.message, e.param) == ("Invalid boolean: yes", "confirm")


def test_invalid_currency(b):
    e = err(b.create_payment_intent, {"amount": "100", "currency": "xyz"})
    assert e.message.startswith("Invalid currency: xyz. Stripe currently supports these currencies: usd,")
    assert e.param == "currency"
    assert b.create_payment_intent({"amount": "100", "currency": "EUR"})["currency"] == "eur"


def test_amount_limits(b):
    e = err(b.create_payment_intent, {"amount": "49", "currency": "usd"})
    assert (e.message, e.code, e.param) == ("Amount must be at least $0.50 usd", "amount_too_small", "amount")
    e = err(b.create_payment_intent, {"amount": "100000000", "currency": "usd"})
    assert (e.message, e.code) == ("Amount must be no more than $999,999.99", "amount_too_large")


def test_enum_values(b):
    e = err(b.create_payment_intent, {"amount": "100", "currency": "usd", "capture_method": "later"})
    assert e.message == "Invalid capture_method: must be one of automatic, automatic_async, or manual"
    assert e.param == "capture_method"


def test_metadata_limits(b):
    base = {"amount": "100", "currency": "usd"}
    e = err(b.create_payment_intent, dict(base, metadata={"k%d" % i: "v" for i in range(51)}))
    assert e.param == "metadata" and "up to 50 keys" in e.message
    e = err(b.create_payment_intent, dict(base, metadata={"k" * 41: "v"}))
    assert e.param == "metadata[%s]" % ("k" * 41) and "40 characters" in e.message
    e = err(b.create_payment_intent, dict(base, metadata={"k": "v" * 501}))
    assert e.param == "metadata[k]" and "500 characters" in e.message
    ok = b.create_payment_intent(dict(base, metadata={"k" * 40: "v" * 500}))
    assert ok["metadata"] == {"k" * 40: "v" * 500}
    e = err(b.create_payment_intent, dict(base, metadata="notadict"))
    assert (e.message, e.param) == ("Invalid object", "metadata")


def test_resource_missing(b):
    with pytest.raises(ResourceMissingError) as info:
        b.retrieve_payment_intent("pi_x")
    e = info.value
    assert (e.message, e.http_status, e.code, e.param) == ("No such payment_intent: 'pi_x'", 404,
                                                           "resource_missing", "id")
    for fn, name in [(b.retrieve_charge, "charge"), (b.retrieve_refund, "refund"),
                     (b.retrieve_dispute, "dispute"), (b.retrieve_event, "event"),
                     (b.retrieve_balance_transaction, "balance_transaction"),
                     (b.retrieve_checkout_session, "checkout.session"),
                     (b.retrieve_webhook_endpoint, "webhook endpoint"),
                     (b.retrieve_payment_method, "PaymentMethod")]:
        with pytest.raises(ResourceMissingError) as info:
            fn("x_1")
        assert info.value.message == "No such %s: 'x_1'" % name
    with pytest.raises(ResourceMissingError) as info:
        b.create_payment_intent({"amount": "100", "currency": "usd", "payment_method": "pm_nope"})
    assert info.value.param == "payment_method"


def test_payment_method_and_data_are_exclusive(b):
    e = err(b.create_payment_intent, {"amount": "100", "currency": "usd", "payment_method": "pm_card_visa",
                                      "payment_method_data": {"type": "card", "card": {"number": "4242424242424242"}}})
    assert "only specify one of these parameters: payment_method, payment_method_data" in e.message


def test_bad_card_numbers(b):
    with pytest.raises(CardError) as info:
        b.create_payment_method({"type": "card", "card": {"number": "4242424242424241"}})
    assert (info.value.code, info.value.param) == ("incorrect_number", "card[number]")
    assert info.value.message == "Your card number is incorrect."
    with pytest.raises(CardError) as info:
        b.create_payment_intent({"amount": "100", "currency": "usd", "payment_method_data": {
            "type": "card", "card": {"number": "1234"}}})
    assert info.value.param == "payment_method_data[card][number]"
    with pytest.raises(CardError) as info:
        b.create_payment_method({"type": "card", "card": {"number": "4242424242424242", "exp_month": "13"}})
    assert info.value.code == "invalid_expiry_month"
    with pytest.raises(CardError) as info:
        b.create_payment_method({"type": "card", "card": {"number": "4242424242424242", "exp_month": "1",
                                                          "exp_year": "2020"}})
    assert info.value.code == "invalid_expiry_year"


def test_live_card_in_test_mode_is_declined(b):
    with pytest.raises(CardError) as info:
        pay(b, card=None, payment_method_data={"type": "card", "card": {"number": "4111111111111111"}})
    assert info.value.decline_code == "test_mode_live_card"


def test_unsupported_payment_method_type(b):
    e = err(b.create_payment_intent, {"amount": "100", "currency": "usd", "payment_method_types": ["ideal"]})
    assert e.param == "payment_method_types" and '"ideal" is invalid' in e.message


def test_cancel_succeeded_intent(b):
    pi = pay(b)
    with pytest.raises(StateError) as info:
        b.cancel_payment_intent(pi["id"])
    assert info.value.code == "payment_intent_unexpected_state"
    assert "You cannot cancel this PaymentIntent because it has a status of succeeded" in info.value.message
    e = err(b.cancel_payment_intent, pi["id"], {"cancellation_reason": "bored"})
    assert e.param == "cancellation_reason"


def test_refund_errors(b):
    e = err(b.create_refund, {})
    assert "payment_intent or charge" in e.message
    pending = b.create_payment_intent({"amount": "100", "currency": "usd"})
    e = err(b.create_refund, {"payment_intent": pending["id"]})
    assert e.param == "payment_intent" and "does not have a successful charge" in e.message
    pi = pay(b)
    e = err(b.create_refund, {"payment_intent": pi["id"], "amount": "0"})
    assert e.param == "amount"
    b.create_refund({"payment_intent": pi["id"]})
    e = err(b.create_refund, {"charge": pi["latest_charge"]})
    assert e.code == "charge_already_refunded"
    disputed = pay(b, "pm_card_createDispute")
    e = err(b.create_refund, {"payment_intent": disputed["id"]})
    assert e.code == "charge_disputed"
    try:
        pay(b, "pm_card_chargeDeclined")
    except CardError as declined:
        e = err(b.create_refund, {"charge": declined.extra["charge"]})
        assert e.param == "charge" and "failed" in e.message


def test_list_params(b):
    e = err(b.list_payment_intents, {"limit": "0"})
    assert (e.message, e.param) == ("This value must be greater than or equal to 1.", "limit")
    e = err(b.list_payment_intents, {"limit": "101"})
    assert (e.message, e.param) == ("This value must be less than or equal to 100.", "limit")
    e = err(b.list_charges, {"starting_after": "ch_missing"})
    assert e.param == "starting_after" and e.http_status == 400 and "ch_missing" in e.message
    e = err(b.list_events, {"ending_before": "evt_missing"})
    assert e.param == "ending_before"
    e = err(b.list_events, {"type": "charge.succeeded", "types": ["charge.failed"]})
    assert e.param == "types"
    e = err(b.list_events, {"created": {"after": "1"}})
    assert e.param == "created[after]"


def test_checkout_errors(b):
    e = err(b.create_checkout_session, {"mode": "subscription", "line_items": []})
    assert e.param == "mode"
    e = err(b.create_checkout_session, {"mode": "payment"})
    assert e.param == "line_items"
    e = err(b.create_checkout_session, {"mode": "payment", "line_items": [
        {"price_data": {"currency": "usd", "unit_amount": "100", "product_data": {"name": "x"}}}]})
    assert e.param == "line_items[0][quantity]"
    with pytest.raises(ResourceMissingError) as info:
        b.create_checkout_session({"mode": "payment", "line_items": [{"price": "price_x", "quantity": "1"}]})
    assert info.value.param == "line_items[0][price]"


def test_retrieve_rejects_unknown_params(b):
    pi = b.create_payment_intent({"amount": "100", "currency": "usd"})
    e = err(b.retrieve_payment_intent, pi["id"], {"bogus": "1"})
    assert e.param == "bogus"
    assert b.retrieve_payment_intent(pi["id"], {"client_secret": pi["client_secret"]})["id"] == pi["id"]


SDK_PARAMS = [
    ("_payment_intent_create_params", "PaymentIntentCreateParams", "create_payment_intent"),
    ("_payment_intent_update_params", "PaymentIntentUpdateParams", "update_payment_intent"),
    ("_payment_intent_confirm_params", "PaymentIntentConfirmParams", "confirm_payment_intent"),
    ("_payment_intent_cancel_params", "PaymentIntentCancelParams", "cancel_payment_intent"),
    ("_payment_intent_capture_params", "PaymentIntentCaptureParams", "capture_payment_intent"),
    ("_payment_intent_list_params", "PaymentIntentListParams", "list_payment_intents"),
    ("_charge_list_params", "ChargeListParams", "list_charges"),
    ("_refund_create_params", "RefundCreateParams", "create_refund"),
    ("_refund_list_params", "RefundListParams", "list_refunds"),
    ("_dispute_list_params", "DisputeListParams", "list_disputes"),
    ("_event_list_params", "EventListParams", "list_events"),
    ("_webhook_endpoint_create_params", "WebhookEndpointCreateParams", "create_webhook_endpoint"),
    ("_webhook_endpoint_update_params", "WebhookEndpointUpdateParams", "update_webhook_endpoint"),
    ("checkout._session_create_params", "SessionCreateParams", "create_checkout_session"),
]


@pytest.mark.parametrize("module,cls,spec", SDK_PARAMS, ids=[c for _, c, _ in SDK_PARAMS])
def test_every_parameter_the_sdk_knows_is_accepted(module, cls, spec):
    """No legitimate parameter of the installed official SDK is an 'unknown parameter'."""
    import importlib

    from simulator.backend import params as P
    from stripe._request_options import RequestOptions

    declared = set(getattr(importlib.import_module("stripe.params." + module), cls).__annotations__)
    declared -= set(RequestOptions.__annotations__) | {"expand"}
    assert declared - set(P.spec_for(spec).fields) == set()
