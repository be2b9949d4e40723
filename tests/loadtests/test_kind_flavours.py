"""The receiver flavours the load kinds are tested against, one request each: each breaks
exactly the behaviour its kind checks, and nothing else the same request relies on."""
from __future__ import annotations

import json

import pytest

from harness.receiver.config import ReceiverConfig
from harness.receiver.db import Database
from harness.receiver.webhook import WebhookHandler
from simulator.signing import generate_header

SECRET = "whsec_load_kind_flavours_0123456789"


@pytest.fixture
def handler(tmp_path):
    made = []

    def make(flavor):
        config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, flavor=flavor,
                                database_url="sqlite:///%s" % (tmp_path / ("%s.sqlite3" % flavor)))
        db = Database(config.database_url)
        db.migrate()
        made.append(db)
        h = WebhookHandler(config, db)
        return lambda body: h(body, generate_header(body, SECRET))

    yield make
    for db in made:
        db.close()


def event(etype, obj):
    return json.dumps({"id": "evt_kindflavour%s" % etype.replace(".", ""), "object": "event", "type": etype,
                       "data": {"object": obj}}).encode()


@pytest.mark.parametrize("flavor,etype,obj", [
    ("flaw-ignore-refunds", "charge.refunded", {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 5,
                                                "refunded": False, "metadata": {"order_id": "o1"}}),
    ("flaw-ignore-disputes", "charge.dispute.created", {"id": "dp_1", "payment_intent": "pi_1", "charge": "ch_1"}),
    ("flaw-ignore-cancels", "payment_intent.canceled", {"id": "pi_1", "metadata": {"order_id": "o1"}}),
])
def test_an_ignoring_flavour_ignores_its_event_and_the_reference_does_not(handler, flavor, etype, obj):
    body = event(etype, obj)
    assert handler(flavor)(body) == (200, {"received": True, "result": "ignored"})
    # The reference handles it (kept for an order it does not know yet).
    assert handler("reference")(body) == (200, {"received": True, "result": "pending"})


def test_invalid_json_500_answers_500_only_to_a_body_that_does_not_parse(handler):
    flawed, reference = handler("flaw-invalid-json-500"), handler("reference")
    assert flawed(b'{"id": "evt_1", "type": "payment_intent.succ')[0] == 500
    assert reference(b'{"id": "evt_1", "type": "payment_intent.succ') == (400, {"error": "Invalid payload"})
    # JSON that is not an event is still refused with 400: the flaw is the parse error alone.
    assert flawed(b'["not", "an", "event"]') == (400, {"error": "Invalid payload"})
