"""The generic store through the official SDK: CRUD round-trips for every resource that has
them, metadata rules, events, search, custom actions, and the payments core using it."""
from __future__ import annotations

import re
from collections import defaultdict

import pytest
import requests
import stripe

from simulator import definitions as D
from simulator.objects import schema
from simulator.errors import ResourceMissingError
from tests.simulator import tour
from tests.simulator.conftest import API_KEY


def crud_resources() -> list:
    """Collections with create, retrieve, update, list and delete in the definitions."""
    by_path = defaultdict(dict)
    for op in D.operations():
        by_path[op.path][op.method] = op
    out = []
    for path, methods in by_path.items():
        if "POST" not in methods or "GET" not in methods or methods["POST"].kind != "obj":
            continue
        if not methods["POST"].action.startswith("create_"):
            continue
        item = [p for p in by_path if re.fullmatch(re.escape(path) + r"/\{\w+\}", p)]
        if item and {"GET", "POST", "DELETE"} <= set(by_path[item[0]]) and "{" not in path:
            out.append((path, item[0]))
    return sorted(out)


@pytest.fixture
def http(server):
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + API_KEY
    s.base = server.url
    return s


def _call(http, method, path, params=None):
    pairs = tour.encode(params or {})
    if method == "GET":
        r = http.get(http.base + path, params=pairs)
    else:
        r = http.request(method, http.base + path, data=pairs)
    assert r.status_code < 500, r.text
    return r.status_code, r.json()


def test_crud_round_trips_for_every_resource_that_has_them(http, sim):
    resources = crud_resources()
    assert len(resources) >= 12  # customers, products, coupons, plans, invoice items, ...
    done = []
    for collection, item in resources:
        create = next(op for op in D.operations() if op.path == collection and op.method == "POST")
        has_metadata = "metadata" in D.params_type(create.params)
        params = dict(tour.required_params(create), **({"metadata": {"a": "1", "b": "2"}} if has_metadata else {}))
        status, obj = _call(http, "POST", collection, params)
        assert status == 200, (collection, obj)
        assert schema.problems(obj) == [], (collection, schema.problems(obj)[:3])
        path = item.split("{")[0] + obj["id"]
        status, got = _call(http, "GET", path)
        obj.pop("secret", None)  # a webhook endpoint shows its secret on create only
        assert status == 200 and got == obj, collection
        if has_metadata:  # keys merge, "" deletes one
            status, updated = _call(http, "POST", path, {"metadata": {"a": "", "c": "3"}})
            assert status == 200 and updated["metadata"] == {"b": "2", "c": "3"}, (collection, updated.get("metadata"))
        else:
            status, updated = _call(http, "POST", path, {"name": "renamed"})
            assert status == 200 and updated.get("name") == "renamed", (collection, updated)
        lister = next(op for op in D.operations() if op.path == collection and op.method == "GET")
        # subscription_items needs ?subscription=
        needed = {k: obj.get(k, v) for k, v in tour.required_params(lister).items()}
        status, listed = _call(http, "GET", collection, dict(needed, limit=100))
        assert status == 200 and obj["id"] in [o["id"] for o in listed["data"]], collection
        status, gone = _call(http, "DELETE", path)
        deleter = next(op for op in D.operations() if op.path == item and op.method == "DELETE")
        if not deleter.action.startswith("delete_"):  # DELETE /v1/subscriptions/{id} cancels
            assert status == 200 and gone["id"] == obj["id"] and gone["status"] == "canceled", collection
            done.append(obj["object"])
            continue
        assert status == 200 and gone == {"id": obj["id"], "object": obj["object"], "deleted": True}
        status, err = _call(http, "GET", path)
        assert status == 404 and err["error"]["code"] == "resource_missing", collection
        kind = obj["object"].split(".")[-1]
        assert err["error"]["message"] in ("No such %s: '%s'" % (kind, obj["id"]),
                                           "No such %s: '%s'" % (kind.replace("_", " "), obj["id"]))
        done.append(obj["object"])
    assert len(done) == len(resources), done
    # <resource>.created/updated/deleted were recorded where Stripe has them
    types = {rec.type for rec in sim.backend.events.values()}
    assert {"customer.created", "customer.updated", "customer.deleted", "product.deleted"} <= types


def test_pagination_and_list_filters(client):
    ids = [client.v1.customers.create(params={"email": "p%d@example.com" % i}).id for i in range(5)]
    page = client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in page.data] == ids[::-1][:2] and page.has_more
    rest = client.v1.customers.list(params={"limit": 10, "starting_after": page.data[-1].id})
    assert [c.id for c in rest.data] == ids[::-1][2:]
    only = client.v1.customers.list(params={"email": "p3@example.com"})
    assert [c.id for c in only.data] == [ids[3]]
    seen = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert seen == ids[::-1]


def test_unknown_and_invalid_parameters_are_stripe_errors(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.create(params={"nickname": "x"})
    assert info.value.code == "parameter_unknown" and info.value.param == "nickname"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"currency": "usd", "unit_amount": "ten", "product": "prod_x"})
    assert info.value.code == "parameter_invalid_integer" and info.value.param == "unit_amount"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.create(params={})
    assert info.value.code == "parameter_missing" and info.value.param == "name"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.retrieve("cus_nope")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    assert "No such customer: 'cus_nope'" in str(info.value)


def test_custom_actions_answer_the_state_they_name(client, sim):
    customer = client.v1.customers.create(params={"email": "inv@example.com"})
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    assert invoice.customer == customer.id
    assert client.v1.invoices.finalize_invoice(invoice.id).status == "open"
    assert client.v1.invoices.pay(invoice.id).status == "paid"
    other = client.v1.invoices.create(params={"customer": customer.id})
    assert client.v1.invoices.void_invoice(other.id).status == "void"
    types = [rec.type for rec in sim.backend.events.values()]
    assert {"invoice.created", "invoice.finalized", "invoice.paid", "invoice.voided"} <= set(types)


def test_search_through_the_sdk(client):
    cus = client.v1.customers.create(params={"email": "find@example.com", "name": "Ada Lovelace",
                                             "metadata": {"tier": "gold"}})
    client.v1.customers.create(params={"email": "other@example.com", "metadata": {"tier": "tin"}})
    found = client.v1.customers.search(params={"query": "metadata['tier']:'gold'"})
    assert [c.id for c in found.data] == [cus.id]
    assert [c.id for c in client.v1.customers.search(params={"query": "name~'lovelace'"}).data] == [cus.id]
    assert len(client.v1.customers.search(params={"query": "-email:'find@example.com'"}).data) == 1
    both = client.v1.customers.search(params={"query": "metadata['tier']:'gold' OR metadata['tier']:'tin'"})
    assert len(both.data) == 2

    prod = client.v1.products.create(params={"name": "Tier gold", "metadata": {"sku": "g1"}})
    client.v1.products.create(params={"name": "Tier tin"})
    assert [p.id for p in client.v1.products.search(params={"query": "metadata['sku']:'g1'"}).data] == [prod.id]
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 2500, "product": prod.id})
    client.v1.prices.create(params={"currency": "usd", "unit_amount": 100, "product": prod.id})
    assert [p.id for p in client.v1.prices.search(params={"query": "unit_amount>1000"}).data] == [price.id]

    pi = client.v1.payment_intents.create(params={"amount": 1800, "currency": "usd", "payment_method": "pm_card_visa",
                                                  "confirm": True, "metadata": {"order_id": "x"}})
    client.v1.payment_intents.create(params={"amount": 900, "currency": "usd", "metadata": {"order_id": "y"}})
    got = client.v1.payment_intents.search(params={"query": "metadata['order_id']:'x'"})
    assert [p.id for p in got.data] == [pi.id]
    charges = client.v1.charges.search(params={"query": "amount>1000 AND status:'succeeded'"})
    assert [c.id for c in charges.data] == [pi.latest_charge]

    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}],
                                                 "metadata": {"plan": "gold"}})
    assert [s.id for s in client.v1.subscriptions.search(params={"query": "metadata['plan']:'gold'"}).data] == [sub.id]
    assert client.v1.subscriptions.cancel(sub.id).status == "canceled"
    inv = client.v1.invoices.create(params={"customer": cus.id, "metadata": {"batch": "7"}})
    assert [i.id for i in client.v1.invoices.search(params={"query": "metadata['batch']:'7'"}).data] == [inv.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.search(params={"query": "email:'a' AND name:'b' OR name:'c'"})


def test_payments_with_a_customer_and_checkout_from_a_price(client, sim):
    cus = client.v1.customers.create(params={"email": "buyer@example.com"})
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "customer": cus.id,
                                                  "payment_method": "pm_card_visa", "confirm": True},
                                          options={"stripe_version": None} if False else None)
    assert pi.status == "succeeded" and pi.customer == cus.id
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.customer == cus.id
    expanded = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["customer"]})
    assert expanded.customer.email == "buyer@example.com"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "customer": "cus_missing"})
    assert info.value.code == "resource_missing" and info.value.param == "customer"

    product = client.v1.products.create(params={"name": "Gold tier"})
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 4200, "product": product.id})
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "customer": cus.id, "success_url": "https://example.com/ok",
        "line_items": [{"price": price.id, "quantity": 2}]})
    assert session.amount_total == 8400 and session.customer == cus.id
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert items.data[0].price.id == price.id and items.data[0].price.product == product.id
    assert items.data[0].description == "Gold tier"


def test_setup_intents_with_the_test_cards(client, sim):
    cus = client.v1.customers.create(params={"email": "save@example.com"})
    si = client.v1.setup_intents.create(params={"customer": cus.id, "payment_method": "pm_card_visa",
                                                "confirm": True})
    assert si.status == "succeeded" and si.customer == cus.id and si.payment_method.startswith("pm_")
    assert client.v1.payment_methods.retrieve(si.payment_method).customer == cus.id
    assert schema.problems(json_of(si)) == []

    three_ds = client.v1.setup_intents.create(params={"payment_method": "pm_card_authenticationRequired"})
    assert three_ds.status == "requires_confirmation"
    acted = client.v1.setup_intents.confirm(three_ds.id)
    assert acted.status == "requires_action" and acted.next_action.type == "use_stripe_sdk"

    pending = client.v1.setup_intents.create(params={})
    with pytest.raises(stripe.CardError) as info:
        client.v1.setup_intents.confirm(pending.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert info.value.code == "card_declined" and info.value.json_body["error"]["setup_intent"]["id"] == pending.id
    failed = client.v1.setup_intents.retrieve(pending.id)
    assert failed.status == "requires_payment_method" and failed.last_setup_error.decline_code == "generic_decline"
    assert client.v1.setup_intents.cancel(pending.id).status == "canceled"
    types = [r.type for r in sim.backend.events.values() if r.type.startswith("setup_intent.")]
    assert types == ["setup_intent.created", "setup_intent.succeeded", "setup_intent.created",
                     "setup_intent.requires_action", "setup_intent.created", "setup_intent.setup_failed",
                     "setup_intent.canceled"]


def json_of(obj) -> dict:
    import json
    return json.loads(str(obj))


def test_generic_actions_reach_the_hand_written_objects(client, sim):
    """attach/detach and updates on payment methods and charges change the real objects."""
    cus = client.v1.customers.create(params={"email": "pm@example.com"})
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {"number": "4242424242424242",
                                                                          "exp_month": 12, "exp_year": 2040}})
    attached = client.v1.payment_methods.attach(pm.id, params={"customer": cus.id})
    assert attached.customer == cus.id and client.v1.payment_methods.retrieve(pm.id).customer == cus.id
    listed = client.v1.customers.payment_methods.list(cus.id)
    assert [p.id for p in listed.data] == [pm.id]
    assert client.v1.payment_methods.detach(pm.id).customer is None
    assert "payment_method.attached" in [r.type for r in sim.backend.events.values()]
    pi = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
                                                  "confirm": True})
    charge = client.v1.charges.update(pi.latest_charge, params={"description": "noted", "metadata": {"k": "v"}})
    assert charge.description == "noted" and client.v1.charges.retrieve(charge.id).metadata.to_dict() == {"k": "v"}


def test_nested_resources_round_trip_under_their_parent(client):
    cus = client.v1.customers.create(params={"email": "nested@example.com"})
    other = client.v1.customers.create(params={"email": "other@example.com"})
    tax_id = client.v1.customers.tax_ids.create(cus.id, params={"type": "eu_vat", "value": "DE123456789"})
    assert tax_id.customer == cus.id and tax_id.value == "DE123456789" and tax_id.id.startswith("txi_")
    assert [t.id for t in client.v1.customers.tax_ids.list(cus.id).data] == [tax_id.id]
    assert client.v1.customers.tax_ids.list(other.id).data == []
    assert client.v1.customers.tax_ids.retrieve(cus.id, tax_id.id).id == tax_id.id
    assert client.v1.customers.tax_ids.delete(cus.id, tax_id.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.tax_ids.create("cus_missing", params={"type": "eu_vat", "value": "DE1"})
    assert info.value.http_status == 404 and info.value.code == "resource_missing"


def test_generic_objects_survive_snapshot_and_restore():
    from simulator.backend import StripeBackend

    b = StripeBackend()
    cus = b.generic_action(D.by_action()["create_customer"], [], {"email": "keep@example.com"})
    tax = b.generic_action(D.by_action()["create_customer_tax_id"], [cus["id"]], {"type": "eu_vat", "value": "DE1"})
    state = b.snapshot()
    fresh = StripeBackend()
    fresh.restore(state)
    assert fresh.generic_action(D.by_action()["retrieve_customer"], [cus["id"]], {}) == cus
    listed = fresh.generic_action(D.by_action()["list_customer_tax_ids"], [cus["id"]], {})
    assert [t["id"] for t in listed["data"]] == [tax["id"]]
    fresh.reset()
    with pytest.raises(ResourceMissingError):
        fresh.generic_action(D.by_action()["retrieve_customer"], [cus["id"]], {})


def test_canceling_a_subscription_records_stripe_s_event(client, sim):
    cus = client.v1.customers.create(params={"email": "sub@example.com"})
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": "price_x"}]})
    assert client.v1.subscriptions.cancel(sub.id).status == "canceled"
    types = [r.type for r in sim.backend.events.values() if r.type.startswith("customer.subscription.")]
    assert types == ["customer.subscription.created", "customer.subscription.deleted"]


def test_generic_objects_survive_a_restart_from_the_state_file(tmp_path):
    from simulator.core import Simulator

    path = str(tmp_path / "sim.json")
    sim = Simulator(seed=5, state_file=path)
    cus = sim.backend.generic_action(D.by_action()["create_customer"], [], {"email": "durable@example.com"})
    sim.backend.generic_action(D.by_action()["update_customer"], [cus["id"]], {"metadata": {"k": "v"}})
    sim.save_state()
    sim.close()
    again = Simulator(seed=5, state_file=path)
    try:
        got = again.backend.generic_action(D.by_action()["retrieve_customer"], [cus["id"]], {})
        assert got["email"] == "durable@example.com" and got["metadata"] == {"k": "v"}
    finally:
        again.close()
