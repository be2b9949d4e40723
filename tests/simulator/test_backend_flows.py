"""The payment life cycle per test card: events in Stripe's order, field-complete objects,
ids that agree across objects, and values like the real captures."""
import threading

import pytest

from simulator.backend import EventRecord, StripeBackend
from simulator.backend import cards
from simulator.clock import Clock
from simulator.errors import CardError, StateError
from simulator.objects import load_template, schema
from simulator.rng import SeededRandom

START = 1757876536.0


def make_backend(seed=7, endpoints=0):
    backend = StripeBackend(SeededRandom(seed), Clock(time_scale=0, start=START))
    for _ in range(endpoints):
        backend.create_webhook_endpoint({"url": "https://example.test/hook", "enabled_events": ["*"]})
    return backend


def pay(backend, card="pm_card_visa", amount="2000", **extra):
    params = {"amount": amount, "currency": "usd", "confirm": "true"}
    if card is not None:
        params["payment_method"] = card
    params.update(extra)
    return backend.create_payment_intent(params, request={"id": "req_test1", "idempotency_key": "k1"})


def types_for(backend, pi_id):
    return [r.type for r in backend.events.values() if r.payment_intent == pi_id]


def assert_conforms(backend):
    for record in backend.events.values():
        assert schema.problems(record.event) == [], record.type


def test_success_4242_events_order_and_objects():
    b = make_backend()
    pi = pay(b)
    assert pi["status"] == "succeeded" and pi["amount_received"] == 2000
    assert types_for(b, pi["id"]) == ["payment_intent.created", "charge.succeeded",
                                      "payment_intent.succeeded", "charge.updated"]
    created, succeeded_charge, succeeded_pi, updated = [r for r in b.events.values()]
    assert created.event["data"]["object"]["status"] == "requires_confirmation"
    assert created.event["data"]["object"]["latest_charge"] is None
    charge = succeeded_charge.event["data"]["object"]
    assert charge["balance_transaction"] is None and charge["paid"] and charge["captured"]
    assert charge["outcome"]["type"] == "authorized" and charge["outcome"]["seller_message"] == "Payment complete."
    assert charge["payment_intent"] == pi["id"] and pi["latest_charge"] == charge["id"]
    assert charge["payment_method"] == pi["payment_method"]
    assert "charges" not in pi
    upd = updated.event
    assert upd["data"]["previous_attributes"] == {"balance_transaction": None}
    txn_id = upd["data"]["object"]["balance_transaction"]
    assert txn_id.startswith("txn_")
    assert updated.available_at == pytest.approx(START + 3.0)
    assert succeeded_pi.available_at == START
    txn = b.retrieve_balance_transaction(txn_id)
    assert txn["source"] == charge["id"] and txn["amount"] == 2000
    assert txn["fee"] == 88 and txn["net"] == 2000 - 88
    assert succeeded_pi.event["request"] == {"id": "req_test1", "idempotency_key": "k1"}
    assert updated.event["request"] == {"id": None, "idempotency_key": None}
    assert [r.payment_intent for r in b.events.values()] == [pi["id"]] * 4
    assert pi["id"] in created.object_ids and charge["id"] in updated.object_ids
    assert_conforms(b)


def test_ids_have_stripe_prefixes_and_share_the_intent_stem():
    b = make_backend()
    pi = pay(b)
    charge = b.retrieve_charge(pi["latest_charge"])
    assert pi["id"].startswith("pi_3") and len(pi["id"]) == 27
    assert charge["id"].startswith("ch_") and charge["id"][3:20] == pi["id"][3:20]
    assert pi["payment_method"].startswith("pm_1")
    assert pi["client_secret"].startswith(pi["id"] + "_secret_")
    for record in b.events.values():
        assert record.id.startswith("evt_") and record.id[4:21] == pi["id"][3:20]


@pytest.mark.parametrize("card", [c for c in cards.CARDS if c.decline is not None],
                         ids=lambda c: c.decline.decline_code)
@pytest.mark.parametrize("by", ["token", "number"])
def test_each_decline_card_has_its_own_error(card, by):
    b = make_backend()
    kwargs = {"payment_method": card.tokens[0]} if by == "token" else {
        "payment_method_data": {"type": "card", "card": {"number": card.number}}}
    params = {"amount": "1500", "currency": "usd", "confirm": "true", **kwargs}
    with pytest.raises(CardError) as info:
        b.create_payment_intent(params, request={"id": "req_x", "idempotency_key": None})
    err = info.value
    d = card.decline
    assert err.http_status == 402
    assert (err.code, err.decline_code, err.message) == (d.code, d.decline_code, d.message)
    assert err.param == d.param
    body = err.to_dict()["error"]
    pi = body["payment_intent"]
    assert body["type"] == "card_error" and body["charge"] == pi["latest_charge"]
    assert body["payment_method"]["card"]["last4"] == card.last4
    assert body["doc_url"] == "https://stripe.com/docs/error-codes/" + d.code.replace("_", "-")
    assert body.get("advice_code") == d.advice_code
    assert body["request_log_url"].endswith("req_x")
    assert pi["status"] == "requires_payment_method" and pi["payment_method"] is None
    lpe = pi["last_payment_error"]
    assert lpe["type"] == "card_error" and lpe["code"] == d.code and lpe["decline_code"] == d.decline_code
    assert lpe["message"] == d.message and lpe["charge"] == pi["latest_charge"]
    assert lpe["payment_method"]["object"] == "payment_method"
    assert types_for(b, pi["id"]) == ["payment_intent.created", "charge.failed",
                                      "payment_intent.payment_failed"]
    charge = b.retrieve_charge(pi["latest_charge"])
    assert charge["status"] == "failed" and charge["failure_code"] == d.code
    assert charge["failure_message"] == d.message and not charge["paid"]
    assert charge["outcome"]["type"] == d.outcome_type
    assert charge["outcome"]["network_decline_code"] == d.network_decline_code
    assert charge["balance_transaction"] is None
    assert_conforms(b)


def test_declines_are_distinct_from_each_other():
    seen = {(c.decline.code, c.decline.decline_code, c.decline.message) for c in cards.CARDS if c.decline}
    assert len(seen) == len([c for c in cards.CARDS if c.decline]) >= 8


def test_generic_decline_matches_the_real_capture(stripe_reference):
    observed = stripe_reference("observed_sequences")["objects"]
    b = make_backend()
    with pytest.raises(CardError) as info:
        pay(b, "pm_card_chargeDeclined", amount="100")
    pi = info.value.extra["payment_intent"]
    real_pi = observed["payment_intent.payment_failed"]
    assert set(pi["last_payment_error"]) == set(real_pi["last_payment_error"])
    for key in ("code", "type", "message", "advice_code", "decline_code", "doc_url", "network_decline_code"):
        assert pi["last_payment_error"][key] == real_pi["last_payment_error"][key]
    real_charge = observed["charge.failed"]
    charge = b.retrieve_charge(pi["latest_charge"])
    for key in ("failure_code", "failure_message", "status", "paid", "captured", "amount_captured"):
        assert charge[key] == real_charge[key]
    for key in ("type", "reason", "advice_code", "network_status", "seller_message", "network_decline_code"):
        assert charge["outcome"][key] == real_charge["outcome"][key]
    # Real fields we carry, except the few outside the basil field list (order, destination, dispute).
    assert set(real_charge) - set(charge) == {"order", "destination", "dispute"}
    assert set(real_pi) == set(pi)


def test_success_matches_the_real_capture_shape(stripe_reference):
    observed = stripe_reference("observed_sequences")["objects"]
    b = make_backend()
    pi = pay(b, amount="100")
    charge_event = [r for r in b.events.values() if r.type == "charge.succeeded"][0].event
    real = observed["charge.succeeded"]
    assert set(real) - set(charge_event["data"]["object"]) == {"order", "destination", "dispute"}
    assert set(real["payment_method_details"]["card"]) == set(
        charge_event["data"]["object"]["payment_method_details"]["card"])
    assert set(observed["payment_intent.succeeded"]) == set(pi)


def test_retry_after_decline_with_a_good_card():
    b = make_backend()
    with pytest.raises(CardError) as info:
        pay(b, "pm_card_chargeDeclinedInsufficientFunds")
    pi_id = info.value.extra["payment_intent"]["id"]
    failed_charge = info.value.extra["charge"]
    pi = b.confirm_payment_intent(pi_id, {"payment_method": "pm_card_visa"}, request={"id": "req_2"})
    assert pi["status"] == "succeeded" and pi["last_payment_error"] is None
    assert pi["latest_charge"] != failed_charge
    assert [c["id"] for c in b.list_charges({"payment_intent": pi_id})["data"]] == [pi["latest_charge"],
                                                                                   failed_charge]
    assert types_for(b, pi_id) == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed",
                                   "charge.succeeded", "payment_intent.succeeded", "charge.updated"]


@pytest.mark.parametrize("card", [c for c in cards.CARDS if c.dispute], ids=lambda c: c.tokens[0])
def test_dispute_cards(card):
    b = make_backend()
    pi = pay(b, card.tokens[0])
    assert pi["status"] == "succeeded"
    # A chargeback withdraws the funds at once; an inquiry moves none.
    withdrawn = ["charge.dispute.funds_withdrawn"] if card.dispute.status == "needs_response" else []
    assert types_for(b, pi["id"]) == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                      "charge.updated", "charge.dispute.created"] + withdrawn
    record = next(r for r in b.events.values() if r.type == "charge.dispute.created")
    dispute = record.event["data"]["object"]
    assert record.available_at > START
    assert (dispute["reason"], dispute["status"]) == (card.dispute.reason, card.dispute.status)
    assert dispute["charge"] == pi["latest_charge"] and dispute["payment_intent"] == pi["id"]
    assert dispute["amount"] == pi["amount"] and dispute["id"].startswith("dp_")
    assert b.retrieve_charge(pi["latest_charge"])["disputed"] is True
    assert b.retrieve_dispute(dispute["id"]) == dispute
    for txn in dispute["balance_transactions"]:
        assert txn["source"] == dispute["id"] and txn["amount"] == -pi["amount"]
    assert_conforms(b)


def test_fraudulent_dispute_card_0259():
    b = make_backend()
    pi = pay(b, payment_method_data={"type": "card", "card": {"number": "4000000000000259"}},
             card=None)
    dispute = b.list_disputes({"payment_intent": pi["id"]})["data"][0]
    assert (dispute["reason"], dispute["status"]) == ("fraudulent", "needs_response")


def test_full_refund_sequence_and_delays():
    b = make_backend()
    pi = pay(b)
    refund = b.create_refund({"payment_intent": pi["id"], "reason": "requested_by_customer"},
                             request={"id": "req_r", "idempotency_key": None})
    assert refund["status"] == "succeeded" and refund["amount"] == 2000
    assert refund["charge"] == pi["latest_charge"] and refund["payment_intent"] == pi["id"]
    assert refund["destination_details"]["card"]["reference_status"] == "pending"
    tail = list(b.events.values())[-4:]
    assert [r.type for r in tail] == ["refund.created", "charge.refunded", "refund.updated",
                                      "charge.refund.updated"]
    assert tail[0].available_at == tail[1].available_at == START
    assert tail[2].available_at == tail[3].available_at == START + 13
    charge = tail[1].event["data"]["object"]
    assert charge["refunded"] is True and charge["amount_refunded"] == 2000
    prev = tail[2].event["data"]["previous_attributes"]
    assert prev == {"destination_details": {"card": {"reference": None, "reference_status": "pending"}}}
    assert tail[3].event["data"]["object"]["object"] == "refund"
    txn = b.retrieve_balance_transaction(refund["balance_transaction"])
    assert txn["amount"] == -2000 and txn["source"] == refund["id"] and txn["type"] == "refund"
    assert_conforms(b)


def test_partial_refunds_then_over_refund():
    b = make_backend()
    pi = pay(b)
    b.create_refund({"charge": pi["latest_charge"], "amount": "500"})
    charge = b.retrieve_charge(pi["latest_charge"])
    assert charge["amount_refunded"] == 500 and charge["refunded"] is False
    with pytest.raises(Exception) as info:
        b.create_refund({"charge": pi["latest_charge"], "amount": "1501"})
    assert info.value.code == "amount_too_large" and info.value.param == "amount"
    assert "($15.01) is greater than unrefunded amount on charge ($15.00)" in info.value.message
    b.create_refund({"charge": pi["latest_charge"], "amount": "1500"})
    assert b.retrieve_charge(pi["latest_charge"])["refunded"] is True
    refunds = b.list_refunds({"charge": pi["latest_charge"]})["data"]
    assert [r["amount"] for r in refunds] == [1500, 500]


def test_cancel_records_reason():
    b = make_backend()
    pi = b.create_payment_intent({"amount": "900", "currency": "eur"})
    out = b.cancel_payment_intent(pi["id"], {"cancellation_reason": "abandoned"}, request={"id": "req_c"})
    assert out["status"] == "canceled" and out["cancellation_reason"] == "abandoned"
    assert out["canceled_at"] == int(START)
    assert types_for(b, pi["id"]) == ["payment_intent.created", "payment_intent.canceled"]
    with pytest.raises(StateError) as info:
        b.confirm_payment_intent(pi["id"], {"payment_method": "pm_card_visa"})
    assert info.value.code == "payment_intent_unexpected_state"
    assert "status of canceled" in info.value.message


def test_manual_capture():
    b = make_backend()
    pi = pay(b, capture_method="manual")
    assert pi["status"] == "requires_capture" and pi["amount_capturable"] == 2000
    charge = b.retrieve_charge(pi["latest_charge"])
    assert charge["captured"] is False and charge["amount_captured"] == 0
    out = b.capture_payment_intent(pi["id"], {"amount_to_capture": "1500"})
    assert out["status"] == "succeeded" and out["amount_received"] == 1500
    assert types_for(b, pi["id"]) == ["payment_intent.created", "charge.succeeded",
                                      "payment_intent.amount_capturable_updated", "charge.captured",
                                      "payment_intent.succeeded", "charge.updated"]
    assert_conforms(b)


def test_checkout_session_complete():
    b = make_backend()
    cs = b.create_checkout_session({
        "mode": "payment", "success_url": "https://shop.test/ok", "customer_email": "a@shop.test",
        "metadata": {"order_id": "o-1"}, "payment_intent_data": {"metadata": {"order_id": "o-1"}},
        "line_items": [{"quantity": "2", "price_data": {"currency": "usd", "unit_amount": "1250",
                                                       "product_data": {"name": "Mug"}}}]})
    assert cs["id"].startswith("cs_test_") and cs["status"] == "open" and cs["payment_status"] == "unpaid"
    assert cs["amount_total"] == 2500 and cs["payment_intent"] is None
    assert cs["url"].startswith("https://checkout.stripe.com/c/pay/" + cs["id"])
    done = b.complete_checkout_session(cs["id"], request={"id": "req_cs"})
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    pi = b.retrieve_payment_intent(done["payment_intent"])
    assert pi["status"] == "succeeded" and pi["amount"] == 2500 and pi["metadata"] == {"order_id": "o-1"}
    assert done["customer_details"]["email"] == "a@shop.test"
    types = [r.type for r in b.events.values()]
    assert types == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                     "checkout.session.completed", "charge.updated"]
    completed = list(b.events.values())[3]
    assert completed.payment_intent == pi["id"]
    expanded = b.expand(done, ["line_items", "payment_intent.latest_charge"])
    assert expanded["line_items"]["data"][0]["quantity"] == 2
    assert expanded["payment_intent"]["latest_charge"]["amount"] == 2500
    assert_conforms(b)
    with pytest.raises(StateError):
        b.complete_checkout_session(cs["id"])


def test_update_and_confirm_later():
    b = make_backend()
    pi = b.create_payment_intent({"amount": "1000", "currency": "usd", "metadata": {"a": "1", "b": "2"}})
    assert pi["status"] == "requires_payment_method"
    pi = b.update_payment_intent(pi["id"], {"amount": "1200", "metadata": {"a": "", "c": "3"},
                                            "payment_method": "pm_card_mastercard"})
    assert pi["amount"] == 1200 and pi["metadata"] == {"b": "2", "c": "3"}
    assert pi["status"] == "requires_confirmation"
    pi = b.confirm_payment_intent(pi["id"], {})
    assert pi["status"] == "succeeded"
    assert b.retrieve_charge(pi["latest_charge"])["payment_method_details"]["card"]["brand"] == "mastercard"
    with pytest.raises(StateError) as info:
        b.update_payment_intent(pi["id"], {"amount": "5000"})
    assert info.value.param == "amount" and "status of succeeded" in info.value.message
    assert b.update_payment_intent(pi["id"], {"description": "late note"})["description"] == "late note"


def test_confirm_twice_is_a_state_error():
    b = make_backend()
    pi = pay(b)
    with pytest.raises(StateError) as info:
        b.confirm_payment_intent(pi["id"], {})
    assert info.value.code == "payment_intent_unexpected_state" and info.value.param is None
    assert info.value.message.startswith("You cannot confirm this PaymentIntent because it has already succeeded")


def test_confirm_without_payment_method():
    b = make_backend()
    pi = b.create_payment_intent({"amount": "1000", "currency": "usd"})
    with pytest.raises(StateError) as info:
        b.confirm_payment_intent(pi["id"], {})
    assert "missing a payment method" in info.value.message


def test_billing_details_come_from_seeded_faker():
    b = make_backend()
    pm = b.retrieve_payment_method(pay(b)["payment_method"])
    assert pm["billing_details"]["name"] and "@" in pm["billing_details"]["email"]
    assert pm["billing_details"]["address"]["line1"] and pm["card"]["last4"] == "4242"
    given = b.create_payment_method({"type": "card", "card": {"number": "4242424242424242", "exp_month": "12",
                                                               "exp_year": "2030", "cvc": "123"},
                                     "billing_details": {"name": "Ada L", "email": "ada@x.test"}})
    assert given["billing_details"]["name"] == "Ada L" and given["billing_details"]["address"]["city"] is None
    assert given["card"]["exp_month"] == 12 and given["card"]["exp_year"] == 2030


def test_same_seed_same_calls_same_objects_and_events():
    def run(seed):
        b = make_backend(seed, endpoints=1)
        pay(b)
        try:
            pay(b, "pm_card_chargeDeclined")
        except CardError:
            pass
        pay(b, "pm_card_createDispute")
        b.create_refund({"payment_intent": pay(b)["id"], "amount": "700"})
        return b.snapshot(), [r.event for r in b.events.values()]

    first, second, other = run(11), run(11), run(12)
    assert first == second
    assert first[1] != other[1]


def test_listeners_get_records_in_order_outside_the_lock():
    b = make_backend()
    seen = []

    def listener(record):
        assert isinstance(record, EventRecord)
        assert not b.lock.held()
        seen.append(record.type)

    b.add_event_listener(listener)
    pay(b)
    assert seen == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"]
    with b.lock:
        b.record_event("charge.updated", b.retrieve_charge(b.list_charges({})["data"][0]["id"]))
        assert len(seen) == 4  # not yet: the lock is still held
    assert len(seen) == 5


def test_a_failing_listener_does_not_break_the_api():
    b = make_backend()
    got = []
    b.add_event_listener(lambda r: 1 / 0)
    b.add_event_listener(got.append)
    pay(b)
    assert len(got) == 4


def test_adopt_payment_intent():
    b = make_backend()
    pi = b.adopt_payment_intent("pi_3ChosenElsewhere0000001", 4200, "usd", {"order_id": "o-9"})
    assert pi["id"] == "pi_3ChosenElsewhere0000001" and pi["amount"] == 4200
    assert pi["status"] == "requires_payment_method" and pi["metadata"] == {"order_id": "o-9"}
    assert [r.type for r in b.events.values()] == ["payment_intent.created"]
    done = b.confirm_payment_intent(pi["id"], {"payment_method": "pm_card_visa"})
    assert done["status"] == "succeeded"
    charge = b.retrieve_charge(done["latest_charge"])
    assert charge["payment_intent"] == pi["id"] and charge["metadata"] == {"order_id": "o-9"}
    with pytest.raises(Exception) as info:
        b.adopt_payment_intent(pi["id"], 100)
    assert info.value.param == "id"
    other = b.adopt_payment_intent("pi_3ChosenElsewhere0000002", 700, metadata={"n": 5, "flag": True})
    assert other["metadata"] == {"n": "5", "flag": "True"}


def test_every_stored_object_conforms_after_all_flows():
    b = make_backend(endpoints=1)
    for card in cards.CARDS:
        try:
            pi = pay(b, card.tokens[0])
        except CardError:
            continue
        if not card.dispute:
            b.create_refund({"payment_intent": pi["id"], "amount": "100"})
    pay(b, capture_method="manual")
    b.cancel_payment_intent(b.create_payment_intent({"amount": "700", "currency": "usd"})["id"])
    cs = b.create_checkout_session({"mode": "payment", "line_items": [
        {"quantity": "1", "price_data": {"currency": "usd", "unit_amount": "900", "product_data": {"name": "x"}}}]})
    b.complete_checkout_session(cs["id"])
    b.create_checkout_session({"mode": "payment", "line_items": [
        {"quantity": "3", "price_data": {"currency": "usd", "unit_amount": "900", "product_data": {"name": "y"}}}]})
    checked = 0
    for name in ("payment_intents", "charges", "refunds", "disputes", "checkout_sessions"):
        for obj in getattr(b, name).values():
            assert schema.problems(obj) == [], (name, obj["id"])
            checked += 1
    for name, kind in (("payment_methods", "payment_method"), ("balance_transactions", "balance_transaction")):
        for obj in getattr(b, name).values():
            assert list(obj) == list(load_template(kind)), obj["id"]
            checked += 1
    assert checked > 60
    assert_conforms(b)


def test_concurrent_payments_dispatch_in_recording_order():
    b = make_backend()
    seen = []
    b.add_event_listener(lambda r: seen.append(r.seq))
    errors = []

    def worker():
        try:
            for _ in range(40):
                pay(b)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert seen == list(range(4 * 40 * 4))
    assert len(b.payment_intents) == 160 and len(b.charges) == 160
    for pi in b.list_payment_intents({"limit": "100"})["data"]:
        assert pi["status"] == "succeeded"
        assert b.retrieve_charge(pi["latest_charge"])["balance_transaction"].startswith("txn_")


def test_statement_descriptors_follow_the_account():
    b = make_backend()
    account = b.retrieve_account()
    descriptor = account["settings"]["payments"]["statement_descriptor"]
    plain = b.retrieve_charge(pay(b)["latest_charge"])
    assert plain["calculated_statement_descriptor"] == descriptor
    suffixed = b.retrieve_charge(pay(b, statement_descriptor_suffix="ORDER 42")["latest_charge"])
    assert suffixed["calculated_statement_descriptor"] == descriptor[:10].rstrip() + "* ORDER 42"
    assert suffixed["statement_descriptor_suffix"] == "ORDER 42"


def test_answers_are_detached_from_the_state():
    b = make_backend()
    pi = pay(b)
    pi["status"] = "tampered"
    pi["metadata"]["x"] = "y"
    assert b.retrieve_payment_intent(pi["id"])["status"] == "succeeded"
    with b.lock:  # a caller's own hold: answers are copies, later actions do not touch them
        created = b.create_payment_intent({"amount": "500", "currency": "usd"})
        b.update_payment_intent(created["id"], {"description": "later"})
        assert created["description"] is None
    assert b.retrieve_payment_intent(created["id"])["description"] == "later"
