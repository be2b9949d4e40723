"""Every payload template matches Stripe's 2025-08-27.basil definitions of its fields (and the
key set of Stripe's own OpenAPI example object, copied into simulator/objects/examples.json)."""
import json
import os

import pytest

from simulator.objects import API_VERSION, load_template, schema, template_kinds
from simulator.backend.events import EventRecord

from simulator import definitions as D

EXAMPLES = os.path.join(os.path.dirname(schema.__file__), "examples.json")

OBJECT = {"payment_intent": "payment_intent", "charge": "charge", "dispute": "dispute", "refund": "refund",
          "checkout_session": "checkout.session", "event": "event", "payment_method": "payment_method",
          "balance_transaction": "balance_transaction", "webhook_endpoint": "webhook_endpoint",
          "account": "account", "line_item": "item"}


@pytest.mark.parametrize("kind", sorted(OBJECT))
def test_template_matches_the_definitions(kind):
    obj = load_template(kind)
    if kind == "event":  # the envelope template: a recorded event fills these two
        obj["type"], obj["data"]["object"] = "charge.succeeded", load_template("charge")
    assert schema.problems(obj, OBJECT[kind]) == []
    fields = D.fields(OBJECT[kind])
    required = {k for k, (_, flags) in fields.items() if not flags & (D.OPTIONAL | D.INCLUDABLE)}
    assert required <= set(obj) <= set(fields)


def test_every_template_is_covered_by_a_check():
    assert set(template_kinds()) == set(OBJECT)


@pytest.mark.parametrize("kind,resource", [("payment_method", "payment_method"),
                                           ("balance_transaction", "balance_transaction"),
                                           ("webhook_endpoint", "webhook_endpoint"),
                                           ("account", "account"),
                                           ("line_item", "item")])
def test_unlisted_kinds_match_stripe_example_keys(kind, resource):
    with open(EXAMPLES) as fh:
        example = json.load(fh)["resources"][resource]
    _same_shape(load_template(kind), example, kind)


def _same_shape(ours, theirs, path):
    """Same keys; and the same again inside every sub-object both sides fill in."""
    assert set(ours) == set(theirs), "%s: extra %s, missing %s" % (
        path, sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours)))
    for key, value in ours.items():
        other = theirs[key]
        if isinstance(value, dict) and isinstance(other, dict) and value and other:
            _same_shape(value, other, "%s.%s" % (path, key))


def test_event_envelope_has_the_template_key_order():
    rec = EventRecord("evt_x", "charge.succeeded", 1, json.dumps(load_template("charge")))
    assert list(rec.event) == list(load_template("event"))
    assert rec.event["api_version"] == API_VERSION == "2025-08-27.basil"
    assert schema.problems(rec.event) == []


def test_checker_catches_missing_extra_and_mistyped_fields():
    pi = load_template("payment_intent")
    del pi["latest_charge"]
    pi["charges"] = {"object": "list", "data": []}
    pi["amount"] = "2000"
    pi["livemode"] = None
    found = "\n".join(schema.problems(pi))
    assert "latest_charge: missing" in found
    assert "charges: not a field of payment_intent" in found
    assert "amount: '2000' is not a number" in found
    assert "livemode: null, but not nullable" in found


def test_checker_descends_into_nested_types():
    pi = load_template("payment_intent")
    pi["last_payment_error"] = {"code": "card_declined", "bogus": 1}
    found = schema.problems(pi)
    assert "last_payment_error.type: missing (always present in PaymentIntent.LastPaymentError)" in found
    assert "last_payment_error.bogus: not a field of PaymentIntent.LastPaymentError" in found
    charge = load_template("charge")
    charge["outcome"]["extra"] = True
    assert schema.problems(charge) == ["outcome.extra: not a field of Charge.Outcome"]
    charge["outcome"].pop("extra")
    charge["status"] = "almost"
    assert schema.problems(charge) == ["status: 'almost' is not one of ['failed', 'pending', 'succeeded']"]
