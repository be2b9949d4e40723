"""Every expandable field (from the definitions) of Checkout Session, PaymentIntent, Charge,
Dispute, Refund, Invoice and Subscription expands on retrieve and on list (``data.x``), and
nested and list-valued paths expand to four levels."""
from __future__ import annotations

import pytest
import requests

from simulator import definitions as D
from simulator.backend.expand import _is_expandable
from tests.simulator.conftest import API_KEY

RESOURCES = {"checkout.session": "/v1/checkout/sessions", "payment_intent": "/v1/payment_intents",
             "charge": "/v1/charges", "dispute": "/v1/disputes", "refund": "/v1/refunds",
             "invoice": "/v1/invoices", "subscription": "/v1/subscriptions"}


def expandable(obj_name: str) -> list:
    return sorted(k for k, (node, flags) in D.fields(obj_name).items() if _is_expandable(node, flags))


@pytest.fixture
def world(server, client):
    """One of each, wired to each other: a customer's paid, disputed, refunded intent, a
    completed checkout session, an invoice and a subscription."""
    cus = client.v1.customers.create(params={"email": "x@example.com"})
    pi = client.v1.payment_intents.create(params={"amount": 3000, "currency": "usd", "customer": cus.id,
                                                  "payment_method": "pm_card_createDispute", "confirm": True})
    dispute = client.v1.disputes.list(params={"payment_intent": pi.id}).data[0]
    paid = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "customer": cus.id,
                                                    "payment_method": "pm_card_visa", "confirm": True})
    refund = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 500})
    product = client.v1.products.create(params={"name": "p"})
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 700, "product": product.id})
    session = client.v1.checkout.sessions.create(params={"mode": "payment", "customer": cus.id,
                                                         "success_url": "https://example.com/ok",
                                                         "line_items": [{"price": price.id, "quantity": 1}]})
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + API_KEY
    r = http.post(server.url + "/v1/test_helpers/checkout/sessions/%s/complete" % session.id)
    assert r.status_code == 200, r.text
    invoice = client.v1.invoices.create(params={"customer": cus.id})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    ids = {"checkout.session": session.id, "payment_intent": pi.id, "charge": pi.latest_charge,
           "dispute": dispute.id, "refund": refund.id, "invoice": invoice.id, "subscription": sub.id}
    return server, http, ids


def _get(http, url, expand):
    r = http.get(url, params=[("expand[]", e) for e in expand])
    assert r.status_code == 200, (url, expand, r.text)
    return r.json()


@pytest.mark.parametrize("obj_name", sorted(RESOURCES))
def test_every_expandable_field_expands_on_retrieve_and_list(world, obj_name):
    server, http, ids = world
    base = server.url + RESOURCES[obj_name]
    plain = _get(http, base + "/" + ids[obj_name], [])
    fields = expandable(obj_name)
    assert fields, obj_name
    expanded = _get(http, base + "/" + ids[obj_name], fields)
    listed = [o for o in _get(http, base, ["data." + f for f in fields] + [])["data"] if o["id"] == ids[obj_name]]
    assert len(listed) == 1, obj_name
    checked = 0
    for field in fields:
        node, flags = D.fields(obj_name)[field]
        for answer in (expanded, listed[0]):
            value = plain.get(field)
            if flags & D.INCLUDABLE and field not in plain:
                assert field in answer, (obj_name, field)  # shown only when asked
                checked += 1
            elif isinstance(value, str):
                # an id of an object the simulator holds becomes the object
                if value.startswith(("cus_", "pi_", "ch_", "txn_", "pm_", "re_", "dp_", "price_", "prod_")):
                    assert isinstance(answer[field], dict) and answer[field]["id"] == value, (obj_name, field)
                    checked += 1
    assert checked >= 2, (obj_name, checked)  # the customer (or charge) at least, on retrieve and list


def test_nested_list_valued_and_four_level_paths(world):
    server, http, ids = world
    cs = _get(http, server.url + "/v1/checkout/sessions/" + ids["checkout.session"],
              ["total_details.breakdown", "line_items.data.discounts", "line_items.data.taxes",
               "payment_intent.latest_charge.balance_transaction", "customer"])
    assert cs["total_details"]["breakdown"] == {"discounts": [], "taxes": []}
    assert cs["line_items"]["object"] == "list" and cs["line_items"]["data"][0]["discounts"] == []
    charge = cs["payment_intent"]["latest_charge"]
    assert charge["object"] == "charge" and charge["balance_transaction"]["object"] == "balance_transaction"
    assert cs["customer"]["object"] == "customer"
    listed = _get(http, server.url + "/v1/payment_intents",
                  ["data.latest_charge.balance_transaction", "data.customer"])
    assert all(isinstance(pi["latest_charge"]["balance_transaction"], dict) for pi in listed["data"]
               if isinstance(pi.get("latest_charge"), dict) and pi["latest_charge"]["balance_transaction"])
    too_deep = http.get(server.url + "/v1/payment_intents",
                        params={"expand[]": "data.latest_charge.balance_transaction.source.x"})
    assert too_deep.status_code == 400 and "expand" in too_deep.json()["error"]["param"]


def test_an_unexpandable_path_is_refused_before_anything_changes(world, sim):
    server, http, ids = world
    before = len(sim.backend.events)
    r = http.post(server.url + "/v1/customers", data={"email": "y@example.com", "expand[]": "email"})
    assert r.status_code == 400 and "cannot be expanded" in r.json()["error"]["message"]
    assert len(sim.backend.events) == before and sim.backend.generic["customer"].__len__() == 1


def test_search_results_expand_like_lists(world):
    server, http, ids = world
    found = _get(http, server.url + "/v1/payment_intents/search?query=amount%3E100",
                 ["data.customer", "data.latest_charge.balance_transaction"])
    assert found["object"] == "search_result" and found["data"]
    assert all(isinstance(pi["customer"], dict) for pi in found["data"])
