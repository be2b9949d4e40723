"""Pagination, filters and expansion, and that lists go through indexes."""
import pytest

from simulator.errors import InvalidRequestError
from simulator.backend import lists as lists_module
from tests.simulator.test_backend_flows import START, make_backend, pay


def ids(page):
    return [o["id"] for o in page["data"]]


def intents(b, n, step=0.0):
    made = []
    for i in range(n):
        made.append(b.create_payment_intent({"amount": str(100 + i), "currency": "usd"})["id"])
        if step:
            b.clock.advance(step)
    return made


def test_newest_first_default_limit_and_has_more():
    b = make_backend()
    made = intents(b, 12)
    page = b.list_payment_intents({})
    assert page["object"] == "list" and page["url"] == "/v1/payment_intents"
    assert ids(page) == made[::-1][:10] and page["has_more"] is True
    page = b.list_payment_intents({"limit": "12"})
    assert ids(page) == made[::-1] and page["has_more"] is False


def test_starting_after_and_ending_before_walk_the_whole_list():
    b = make_backend()
    made = intents(b, 25)
    seen, cursor = [], None
    while True:
        params = {"limit": "7"}
        if cursor:
            params["starting_after"] = cursor
        page = b.list_payment_intents(params)
        seen += ids(page)
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == made[::-1]
    # ending_before: the items just newer than the cursor, still newest first
    page = b.list_payment_intents({"ending_before": made[10], "limit": "3"})
    assert ids(page) == [made[13], made[12], made[11]] and page["has_more"] is True
    page = b.list_payment_intents({"ending_before": made[22], "limit": "5"})
    assert ids(page) == [made[24], made[23]] and page["has_more"] is False


def test_created_filters():
    b = make_backend()
    made = intents(b, 6, step=10)
    t = int(START)
    assert ids(b.list_payment_intents({"created": {"gte": str(t + 20)}})) == made[:1:-1]
    assert ids(b.list_payment_intents({"created": {"gt": str(t + 20)}})) == made[:2:-1]
    assert ids(b.list_payment_intents({"created": {"lt": str(t + 20)}})) == [made[1], made[0]]
    assert ids(b.list_payment_intents({"created": {"lte": str(t + 20), "gt": str(t)}})) == [made[2], made[1]]
    assert ids(b.list_payment_intents({"created": str(t + 30)})) == [made[3]]


def test_charges_filtered_by_payment_intent():
    b = make_backend()
    first, second = pay(b), pay(b)
    page = b.list_charges({"payment_intent": first["id"]})
    assert ids(page) == [first["latest_charge"]] and page["has_more"] is False
    assert len(b.list_charges({})["data"]) == 2
    assert b.list_charges({"payment_intent": "pi_unknown"})["data"] == []
    both = b.list_charges({"payment_intent": second["id"], "customer": "cus_none"})
    assert both["data"] == []


def test_events_filters():
    b = make_backend()
    pi = pay(b)
    b.create_refund({"payment_intent": pi["id"]})
    assert [e["type"] for e in b.list_events({"type": "charge.succeeded"})["data"]] == ["charge.succeeded"]
    charge_types = [e["type"] for e in b.list_events({"type": "charge.*", "limit": "100"})["data"]]
    assert charge_types == ["charge.refund.updated", "charge.refunded", "charge.updated", "charge.succeeded"]
    several = b.list_events({"types": ["refund.created", "payment_intent.created"]})["data"]
    assert [e["type"] for e in several] == ["refund.created", "payment_intent.created"]
    assert b.list_events({"type": "invoice.paid"})["data"] == []
    everything = b.list_events({"limit": "100"})["data"]
    assert len(everything) == 8 and everything[0]["type"] == "charge.refund.updated"
    first = everything[-1]["id"]
    assert b.retrieve_event(first)["type"] == "payment_intent.created"
    page = b.list_events({"type": "charge.*", "starting_after": everything[1]["id"], "limit": "2"})
    assert [e["type"] for e in page["data"]] == ["charge.refunded", "charge.updated"] and page["has_more"]


def test_expand():
    b = make_backend()
    pi = pay(b)
    x = b.expand(pi, ["latest_charge.balance_transaction", "payment_method"])
    assert x["latest_charge"]["id"] == pi["latest_charge"]
    assert x["latest_charge"]["balance_transaction"]["object"] == "balance_transaction"
    assert x["payment_method"]["object"] == "payment_method"
    assert isinstance(pi["latest_charge"], str)  # the input is not modified
    charges = b.expand(b.list_charges({}), ["data.balance_transaction", "data.payment_intent"])
    assert charges["data"][0]["balance_transaction"]["source"] == pi["latest_charge"]
    assert charges["data"][0]["payment_intent"]["id"] == pi["id"]
    refund = b.create_refund({"payment_intent": pi["id"]})
    r = b.expand(refund, ["charge", "balance_transaction", "payment_intent"])
    assert r["charge"]["object"] == "charge" and r["balance_transaction"]["amount"] == -2000
    txn = b.expand(b.retrieve_balance_transaction(r["balance_transaction"]["id"]), ["source"])
    assert txn["source"]["object"] == "refund"
    fresh = b.create_payment_intent({"amount": "100", "currency": "usd"})
    assert b.expand(fresh, ["latest_charge.balance_transaction"])["latest_charge"] is None
    with pytest.raises(InvalidRequestError) as info:
        b.expand(pi, ["foo"])
    assert (info.value.message, info.value.param) == ("This property cannot be expanded (foo).", "expand")
    with pytest.raises(InvalidRequestError) as info:
        b.expand(pi, ["latest_charge.outcome"])
    assert info.value.message == "This property cannot be expanded (latest_charge.outcome)."
    with pytest.raises(InvalidRequestError):
        b.expand(b.list_charges({}), ["balance_transaction"])


def test_lists_use_indexes_not_scans(monkeypatch):
    b = make_backend()
    made = []
    for i in range(2000):
        made.append(b.create_payment_intent({"amount": "100", "currency": "usd", "payment_method": "pm_card_visa",
                                             "confirm": "true"} if i % 500 == 0 else
                                            {"amount": "100", "currency": "usd"})["id"])
    target = made[1000]
    charge = b.list_charges({"payment_intent": target})["data"][0]
    assert charge["payment_intent"] == target
    # Reading objects one by one is how a scan would work; an indexed list touches only its page.
    touched = []
    real_get = dict.get

    class Counting(dict):
        def get(self, key, default=None):
            touched.append(key)
            return real_get(self, key, default)

    b.charges.objects = Counting(b.charges.objects)
    b.payment_intents.objects = Counting(b.payment_intents.objects)
    page = b.list_charges({"payment_intent": target})
    assert ids(page) == [charge["id"]] and len(touched) == 1
    touched.clear()
    page = b.list_payment_intents({"limit": "5", "starting_after": made[1500]})
    assert ids(page) == made[1499:1494:-1] and len(touched) == 5
    assert b.list_events({"type": "charge.updated"})["data"][0]["data"]["object"]["payment_intent"] == made[1500]
    assert len(b._events.by["type"]["charge.updated"]) == 4
    assert lists_module.DEFAULT_LIMIT == 10
