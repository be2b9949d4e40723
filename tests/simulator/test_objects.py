"""Templates load as independent copies; builders are pure; the test card table is sound."""
from simulator.backend import cards
from simulator.objects import builders, clone, load_template


def test_templates_are_fresh_copies():
    a, b = load_template("charge"), load_template("charge")
    a["outcome"]["type"] = "changed"
    a["metadata"]["k"] = "v"
    assert b["outcome"]["type"] == "authorized" and b["metadata"] == {}
    assert load_template("charge")["outcome"]["type"] == "authorized"


def test_clone_is_deep():
    obj = {"a": [{"b": 1}], "c": {"d": [1, 2]}}
    copy = clone(obj)
    copy["a"][0]["b"] = 2
    copy["c"]["d"].append(3)
    assert obj == {"a": [{"b": 1}], "c": {"d": [1, 2]}}


def _card():
    return {"brand": "visa", "funding": "credit", "country": "US", "last4": "4242", "exp_month": 9,
            "exp_year": 2026, "fingerprint": "BZ9kgnnAA8t0ZLDt", "cvc_check": "pass"}


def test_builders_are_pure_and_consistent():
    def build():
        pm = builders.payment_method("pm_1", 100, _card(), builders.billing_details({"name": "Ann"}))
        pi = builders.payment_intent("pi_1", 100, 2500, "usd", "pi_1_secret_x", metadata={"o": "1"},
                                     description="d", payment_method="pm_1")
        charge = builders.charge("ch_1", 101, pi, pm, status="succeeded", paid=True)
        return pm, pi, charge

    first, second = build(), build()
    assert first == second
    pm, pi, charge = first
    assert pm["card"]["networks"]["available"] == ["visa"] and pm["billing_details"]["name"] == "Ann"
    assert pm["billing_details"]["address"] == {k: None for k in builders.NULL_ADDRESS}
    assert (charge["payment_intent"], charge["payment_method"], charge["amount"]) == ("pi_1", "pm_1", 2500)
    assert charge["metadata"] == {"o": "1"} and charge["metadata"] is not pi["metadata"]
    assert charge["payment_method_details"]["card"]["fingerprint"] == "BZ9kgnnAA8t0ZLDt"
    assert charge["payment_method_details"]["card"]["overcapture"]["maximum_amount_capturable"] == 2500
    assert charge["billing_details"]["name"] == "Ann"


def test_balance_transaction_builder_fee_and_net():
    txn = builders.balance_transaction("txn_1", 5, 2000, "usd", "ch_1", "charge", fee=88)
    assert (txn["net"], txn["fee_details"][0]["amount"], txn["reporting_category"]) == (1912, 88, "charge")
    refund = builders.balance_transaction("txn_2", 5, -500, "usd", "re_1", "refund")
    assert refund["fee_details"] == [] and refund["net"] == -500


def test_card_table():
    numbers = [c.number for c in cards.CARDS]
    tokens = [t for c in cards.CARDS for t in c.tokens]
    assert len(set(numbers)) == len(numbers) and len(set(tokens)) == len(tokens)
    assert all(cards.luhn_ok(n) for n in numbers)
    assert cards.BY_TOKEN["pm_card_visa"].number == "4242424242424242"
    assert cards.BY_TOKEN["pm_card_chargeDeclined"].decline.decline_code == "generic_decline"
    assert cards.BY_TOKEN["pm_card_chargeDeclinedInsufficientFunds"].decline.decline_code == "insufficient_funds"
    assert cards.BY_TOKEN["pm_card_createDispute"].dispute.reason == "fraudulent"
    assert cards.BY_TOKEN["pm_card_chargeDeclinedExpiredCard"].decline.code == "expired_card"
    assert cards.BY_NUMBER["378282246310005"].brand == "amex"


def test_unknown_numbers():
    assert cards.card_for_number("4242 4242 4242 4242").number == "4242424242424242"
    assert cards.card_for_number("4242424242424241") is None
    live = cards.card_for_number("5105105105105100")
    assert live.brand == "mastercard" and live.decline.decline_code == "test_mode_live_card"
