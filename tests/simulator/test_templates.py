"""Every payload template matches Stripe's 2025-08-27.basil field list (or, for the kinds the
list does not cover, the key set of Stripe's own OpenAPI example object)."""
import json

import pytest

from simulator.objects import API_VERSION, load_template, schema, template_kinds
from simulator.backend.events import EventRecord

LISTED = {"payment_intent": "PaymentIntent", "charge": "Charge", "dispute": "Dispute",
          "refund": "Refund", "checkout_session": "Checkout.Session", "event": "Event"}


@pytest.mark.parametrize("kind", sorted(LISTED))
def test_template_matches_field_list(kind):
    obj = load_template(kind)
    assert schema.problems(obj, LISTED[kind]) == []
    listed = {f["name"] for f in schema.FIELD_LISTS[LISTED[kind]]}
    required = {f["name"] for f in schema.FIELD_LISTS[LISTED[kind]] if not f["optional"]}
    assert required <= set(obj) <= listed


def test_every_template_is_covered_by_a_check():
    covered = set(LISTED) | {"payment_method", "balance_transaction", "webhook_endpoint", "account",
                             "line_item"}
    assert set(template_kinds()) == covered


@pytest.mark.parametrize("kind,resource", [("payment_method", "payment_method"),
                                           ("balance_transaction", "balance_transaction"),
                                           ("webhook_endpoint", "webhook_endpoint"),
                                           ("account", "account"),
                                           ("line_item", "item")])
def test_unlisted_kinds_match_stripe_example_keys(kind, resource, stripe_reference):
    example = stripe_reference("fixtures3")["resources"][resource]
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
    assert "charges: not a field of PaymentIntent" in found
    assert "amount: '2000' does not match number" in found
    assert "livemode: None does not match boolean" in found


def test_checker_descends_into_nested_types():
    pi = load_template("payment_intent")
    pi["last_payment_error"] = {"code": "card_declined", "bogus": 1}
    found = schema.problems(pi)
    assert "last_payment_error.type: missing (non-optional in PaymentIntent.LastPaymentError)" in found
    assert "last_payment_error.bogus: not a field of PaymentIntent.LastPaymentError" in found
    charge = load_template("charge")
    charge["outcome"]["extra"] = True
    assert schema.problems(charge) == ["outcome.extra: not a field of Charge.Outcome"]
