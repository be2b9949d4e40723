"""3-D Secure test cards through the official SDK: requires_action, the cardholder's answer on
the control plane, and what the intent, its charges and its events look like afterwards."""
import json

import pytest
import requests
import stripe

from simulator.backend import cards
from simulator.commands import dispatch
from simulator.objects import schema
from tests.delivery.support import SECRET, Receiver
from tests.simulator.conftest import intent_events

RETURN_URL = "https://shop.example/checkout/return?order=42"
SUCCESS_TAIL = ["charge.succeeded", "payment_intent.succeeded", "charge.updated"]
FAILURE_TAIL = ["charge.failed", "payment_intent.payment_failed"]

# token -> the decline after authentication (None: the payment succeeds)
REQUIRED = [
    ("pm_card_authenticationRequired", None),
    ("pm_card_authenticationRequiredOnSetup", None),
    ("pm_card_threeDSecure2Required", None),
    ("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", ("card_declined", "insufficient_funds")),
    ("pm_card_threeDSecureRequiredChargeDeclined", ("card_declined", "generic_decline")),
]


def raw(obj) -> dict:
    return json.loads(str(obj))


def requires_action(client, token, amount=2400, **confirm):
    pi = client.v1.payment_intents.create(params={"amount": amount, "currency": "usd", "payment_method": token,
                                                  "metadata": {"order_id": "ord-3ds"}})
    confirmed = client.v1.payment_intents.confirm(pi.id, params=confirm)
    assert confirmed.status == "requires_action", confirmed.status
    return confirmed


def authenticate(server, pi_id, body):
    return requests.post("%s/_sim/payment_intents/%s/authenticate" % (server.url, pi_id), json=body, timeout=10)


def assert_conforms(sim, pi_id):
    for record in list(sim.backend.events.values()):
        if record.payment_intent == pi_id:
            assert schema.problems(record.event) == [], record.event["type"]


@pytest.mark.parametrize("token, decline", REQUIRED, ids=[t for t, _ in REQUIRED])
def test_3ds_card_waits_for_authentication_then_charges(client, server, sim, token, decline):
    pi = requires_action(client, token, return_url=RETURN_URL)
    assert pi.next_action.type == "redirect_to_url"
    redirect = pi.next_action.redirect_to_url
    assert redirect.return_url == RETURN_URL
    # The challenge URL is this simulator's own control route.
    assert redirect.url == "%s/_sim/payment_intents/%s/authenticate" % (server.url, pi.id)
    assert pi.latest_charge is None and pi.last_payment_error is None and pi.amount_received == 0
    assert client.v1.charges.list(params={"payment_intent": pi.id}).data == []
    assert intent_events(sim, pi.id) == ["payment_intent.created", "payment_intent.requires_action"]
    assert schema.problems(raw(pi)) == []
    waiting = requests.get(redirect.url, timeout=10).json()
    assert waiting["waiting_for_authentication"] is True and waiting["next_action"]["type"] == "redirect_to_url"

    answer = requests.post(redirect.url, json={"outcome": "complete"}, timeout=10)
    assert answer.status_code == 200, answer.text
    after = client.v1.payment_intents.retrieve(pi.id)
    assert answer.json()["payment_intent"]["status"] == after.status
    assert after.next_action is None
    charge = client.v1.charges.retrieve(after.latest_charge)
    secure = charge.payment_method_details.card.three_d_secure
    assert (secure.result, secure.authentication_flow) == ("authenticated", "challenge")
    assert charge.payment_method_details.card.last4 == cards.BY_TOKEN[token].last4
    if decline is None:
        assert after.status == "succeeded" and after.amount_received == 2400
        assert charge.status == "succeeded" and charge.paid
        tail = SUCCESS_TAIL
    else:
        assert after.status == "requires_payment_method" and after.payment_method is None
        assert (after.last_payment_error.code, after.last_payment_error.decline_code) == decline
        assert after.last_payment_error.type == "card_error" and after.last_payment_error.charge == charge.id
        assert charge.status == "failed" and charge.failure_code == decline[0]
        assert charge.outcome.reason == decline[1]
        tail = FAILURE_TAIL
    assert intent_events(sim, pi.id) == ["payment_intent.created", "payment_intent.requires_action"] + tail
    assert schema.problems(raw(after)) == [] and schema.problems(raw(charge)) == []
    assert_conforms(sim, pi.id)


def test_3ds_without_return_url_asks_for_the_stripe_sdk(client, sim):
    pi = requires_action(client, "pm_card_authenticationRequired")
    action = raw(pi)["next_action"]
    assert action["type"] == "use_stripe_sdk" and "redirect_to_url" not in action
    # Only members the SDK's own PaymentIntent.NextAction type knows.
    assert set(action) <= set(stripe.PaymentIntent.NextAction.__annotations__)
    sdk = action["use_stripe_sdk"]
    assert sdk["type"] == "stripe_3ds2_fingerprint" and sdk["three_d_secure_2_source"].startswith("payatt_")
    assert sdk["directory_server_name"] == "visa"
    event = next(r.event for r in sim.backend.events.values()
                 if r.payment_intent == pi.id and r.event["type"] == "payment_intent.requires_action")
    assert event["data"]["object"]["next_action"] == action and event["request"]["id"].startswith("req_")
    assert schema.problems(event) == []


def test_3ds_optional_card_is_a_plain_success(client, sim):
    pi = client.v1.payment_intents.create(params={"amount": 1500, "currency": "usd", "confirm": True,
                                                  "payment_method": "pm_card_threeDSecureOptional",
                                                  "return_url": RETURN_URL})
    assert pi.status == "succeeded" and pi.next_action is None
    assert intent_events(sim, pi.id) == ["payment_intent.created"] + SUCCESS_TAIL
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.card.three_d_secure is None


def test_3ds_card_number_behaves_like_its_token(client):
    pm = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4000 0000 0000 3220", "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    pi = requires_action(client, pm.id)
    assert pi.payment_method == pm.id


def test_3ds_error_on_requires_action_fails_the_confirm(client, sim):
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd",
                                                  "payment_method": "pm_card_authenticationRequired"})
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"error_on_requires_action": True})
    err = info.value
    assert err.http_status == 402 and err.code == "authentication_required"
    assert err.error.decline_code == "authentication_required" and err.error.type == "card_error"
    assert err.error.payment_intent["status"] == "requires_payment_method"
    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method" and after.next_action is None
    assert after.last_payment_error.code == "authentication_required"
    assert after.last_payment_error.payment_method.card.last4 == "3184"
    assert intent_events(sim, pi.id) == ["payment_intent.created", "payment_intent.payment_failed"]
    assert client.v1.charges.list(params={"payment_intent": pi.id}).data == []
    assert_conforms(sim, pi.id)
    # The param changes nothing for a card that needs no authentication.
    paid = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa",
                                                            "error_on_requires_action": True})
    assert paid.status == "succeeded"


def test_3ds_failed_authentication_then_retry_with_4242_on_the_same_intent(client, server, sim):
    pi = requires_action(client, "pm_card_threeDSecure2Required", return_url=RETURN_URL)
    answer = authenticate(server, pi.id, {"outcome": "fail"})
    assert answer.status_code == 200, answer.text
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method" and failed.payment_method is None
    assert failed.next_action is None and failed.latest_charge is None
    error = failed.last_payment_error
    assert (error.code, error.type) == ("payment_intent_authentication_failure", "invalid_request_error")
    assert error.payment_method.card.last4 == "3220" and "decline_code" not in raw(error)
    assert client.v1.charges.list(params={"payment_intent": pi.id}).data == []
    assert intent_events(sim, pi.id) == ["payment_intent.created", "payment_intent.requires_action",
                                         "payment_intent.payment_failed"]
    assert_conforms(sim, pi.id)

    retried = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded" and retried.last_payment_error is None
    charges = client.v1.charges.list(params={"payment_intent": pi.id}).data
    assert [c.status for c in charges] == ["succeeded"] and charges[0].payment_method_details.card.last4 == "4242"
    assert intent_events(sim, pi.id)[3:] == SUCCESS_TAIL


def test_3ds_retry_with_the_same_card_asks_again(client, server, sim):
    pi = requires_action(client, "pm_card_authenticationRequired", return_url=RETURN_URL)
    authenticate(server, pi.id, {"outcome": "fail"})
    again = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_authenticationRequired",
                                                             "return_url": RETURN_URL})
    assert again.status == "requires_action" and again.last_payment_error is None
    assert authenticate(server, pi.id, {"outcome": "complete"}).json()["payment_intent"]["status"] == "succeeded"
    assert intent_events(sim, pi.id).count("payment_intent.requires_action") == 2


def test_3ds_intent_waiting_for_authentication_can_be_canceled(client, server):
    pi = requires_action(client, "pm_card_threeDSecure2Required", return_url=RETURN_URL)
    canceled = client.v1.payment_intents.cancel(pi.id)
    assert canceled.status == "canceled" and canceled.next_action is None
    assert authenticate(server, pi.id, {"outcome": "complete"}).status_code == 409


@pytest.mark.parametrize("body, status, field", [
    ({"outcome": "maybe"}, 400, "outcome"),
    ({"outcome": ["complete"]}, 400, "outcome"),
    ({}, 400, "outcome"),
    ({"outcome": "complete", "result": "ok"}, 400, "result"),
    ([1, 2], 400, "body"),
    ("not json", 400, "body"),
])
def test_3ds_control_endpoint_bad_body_names_what_is_wrong(client, server, body, status, field):
    pi = requires_action(client, "pm_card_threeDSecure2Required")
    url = "%s/_sim/payment_intents/%s/authenticate" % (server.url, pi.id)
    if isinstance(body, str):
        answer = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    else:
        answer = requests.post(url, json=body, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"]["field"] == field and answer.json()["error"]["message"]
    # Nothing was lost: the intent still waits for the cardholder.
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_action"


def test_3ds_control_endpoint_unknown_intent_and_wrong_state(client, server):
    missing = authenticate(server, "pi_3NoSuchIntent000000000000", {"outcome": "complete"})
    assert missing.status_code == 404 and "pi_3NoSuchIntent000000000000" in missing.json()["error"]["message"]
    assert requests.get("%s/_sim/payment_intents/pi_nope/authenticate" % server.url, timeout=10).status_code == 404
    fresh = client.v1.payment_intents.create(params={"amount": 900, "currency": "usd"})
    wrong = authenticate(server, fresh.id, {"outcome": "complete"})
    assert wrong.status_code == 409 and "requires_payment_method" in wrong.json()["error"]["message"]
    pi = requires_action(client, "pm_card_threeDSecure2Required")
    assert authenticate(server, pi.id, {"outcome": "complete"}).status_code == 200
    twice = authenticate(server, pi.id, {"outcome": "complete"})
    assert twice.status_code == 409 and "succeeded" in twice.json()["error"]["message"]


def test_3ds_events_reach_an_endpoint_correctly_signed(client, server, sim):
    receiver = Receiver(secret="placeholder")
    try:
        endpoint = client.v1.webhook_endpoints.create(params={
            "url": receiver.url, "enabled_events": [
                "payment_intent.created", "payment_intent.requires_action", "payment_intent.payment_failed",
                "payment_intent.succeeded", "charge.succeeded"]})
        receiver.secret = endpoint.secret
        pi = requires_action(client, "pm_card_threeDSecure2Required", return_url=RETURN_URL)
        authenticate(server, pi.id, {"outcome": "fail"})
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
        expected = ["payment_intent.created", "payment_intent.requires_action", "payment_intent.payment_failed",
                    "charge.succeeded", "payment_intent.succeeded"]
        got = receiver.wait_count(len(expected))
        assert all(r["accepted"] for r in got), [r["error"] for r in got]
        assert sorted(r["type"] for r in got) == sorted(expected)
        by_type = {r["type"]: json.loads(r["body"]) for r in got}
        assert by_type["payment_intent.requires_action"]["data"]["object"]["next_action"]["type"] == "redirect_to_url"
        failure = by_type["payment_intent.payment_failed"]["data"]["object"]["last_payment_error"]
        assert failure["code"] == "payment_intent_authentication_failure"
    finally:
        receiver.close()


def _trigger(*argv):
    return dispatch("stripe-sim", "test", {"trigger": ("simulator.cli.trigger", "trigger")}, ["trigger", *argv])


@pytest.mark.parametrize("flow, card, types", [
    ("payment_intent.requires_action", "3184", ["payment_intent.created", "payment_intent.requires_action"]),
    ("3ds_success", None, ["payment_intent.created", "payment_intent.requires_action"] + SUCCESS_TAIL),
    ("3ds_success", "4000008400001629", ["payment_intent.created", "payment_intent.requires_action"] + FAILURE_TAIL),
    ("3ds_failure_then_success", None, ["payment_intent.created", "payment_intent.requires_action",
                                        "payment_intent.payment_failed"] + SUCCESS_TAIL),
])
def test_3ds_trigger_delivers_the_flow_signed(flow, card, types):
    receiver = Receiver()
    try:
        argv = [flow, "--to", receiver.url, "--secret", SECRET, "--seed", "3"] + (["--card", card] if card else [])
        assert _trigger(*argv) == 0
        got = receiver.wait_count(len(types))
        assert [r["type"] for r in got] == types and all(r["accepted"] for r in got)
    finally:
        receiver.close()


def test_3ds_cards_are_in_the_lookup_tables_once():
    tokens = [t for c in cards.ALL_CARDS for t in c.tokens]
    numbers = [c.number for c in cards.ALL_CARDS]
    assert len(set(tokens)) == len(tokens) and len(set(numbers)) == len(numbers)
    for token, decline in REQUIRED:
        card = cards.BY_TOKEN[token]
        assert card.authentication == cards.REQUIRED and cards.luhn_ok(card.number)
        assert (None if card.decline is None else (card.decline.code, card.decline.decline_code)) == decline
    assert cards.BY_TOKEN["pm_card_threeDSecureOptional"].authentication == cards.OPTIONAL


def test_3ds_in_process_challenge_url_looks_like_stripes(sim):
    # Flows and the harness call the backend directly: no server address to point at.
    pi = sim.backend.create_payment_intent({"amount": "1000", "currency": "usd", "confirm": "true",
                                            "payment_method": "pm_card_threeDSecure2Required",
                                            "return_url": RETURN_URL})
    url = pi["next_action"]["redirect_to_url"]["url"]
    assert url.startswith("https://hooks.stripe.com/3d_secure_2/hosted?") and pi["id"] in url
    done = sim.backend.authenticate_payment_intent(pi["id"], {"outcome": "complete"})
    assert done["status"] == "succeeded"


def test_3ds_intent_waiting_survives_a_state_file_round_trip():
    from simulator.core import Simulator

    first, second = Simulator(seed=9, time_scale=0), Simulator(seed=9, time_scale=0)
    try:
        pi = first.backend.create_payment_intent({
            "amount": "1300", "currency": "usd", "confirm": "true",
            "payment_method": "pm_card_threeDSecureRequiredChargeDeclined"})
        second.restore(json.loads(json.dumps(first.snapshot())))
        after = second.backend.authenticate_payment_intent(pi["id"], {"outcome": "complete"})
        # The restored card still decides the charge: this one is declined once authenticated.
        assert after["status"] == "requires_payment_method"
        assert after["last_payment_error"]["decline_code"] == "generic_decline"
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("outcome", ["complete", "fail"])
def test_3ds_checkout_session_completes_when_the_challenge_passes(sim, outcome):
    """Checkout with a card that needs 3-D Secure: the session stays open while the
    cardholder is asked, then completes with the payment (or stays open after a failed
    challenge, for the customer to try another card)."""
    b = sim.backend
    cs = b.create_checkout_session({"mode": "payment", "metadata": {"order_id": "o-3ds"}, "line_items": [
        {"quantity": "1", "price_data": {"currency": "usd", "unit_amount": "1800", "product_data": {"name": "x"}}}]})
    waiting = b.complete_checkout_session(cs["id"], {"payment_method": "pm_card_threeDSecure2Required"})
    assert waiting["status"] == "open" and waiting["payment_status"] == "unpaid"
    assert b.retrieve_payment_intent(waiting["payment_intent"])["status"] == "requires_action"
    b.authenticate_payment_intent(waiting["payment_intent"], {"outcome": outcome})
    after = b.retrieve_checkout_session(cs["id"])
    types = [r.type for r in b.events.values() if r.payment_intent == waiting["payment_intent"]]
    if outcome == "complete":
        assert (after["status"], after["payment_status"]) == ("complete", "paid")
        assert b.retrieve_payment_intent(after["payment_intent"])["status"] == "succeeded"
        assert types.count("checkout.session.completed") == 1
        assert types.index("payment_intent.succeeded") < types.index("checkout.session.completed")
    else:
        assert (after["status"], after["payment_status"]) == ("open", "unpaid")
        assert "checkout.session.completed" not in types
        # The customer pays with another card: the same session completes, once.
        done = b.complete_checkout_session(cs["id"], {"payment_method": "pm_card_visa"})
        assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert_conforms(sim, waiting["payment_intent"])
