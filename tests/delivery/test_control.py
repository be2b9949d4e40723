"""The /_sim delivery routes: log queries, waiting, resend, policies, and 400s that name the field."""
import json

import pytest
from flask import Flask

from tests.delivery.support import SECRET


@pytest.fixture
def client(engine):
    app = Flask("t")
    app.register_blueprint(engine.blueprint(), url_prefix="/_sim")
    return app.test_client()


def test_deliveries_are_queryable_with_filters(client, engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    a = backend.record_event("charge.succeeded", payment_intent="pi_A")
    backend.record_event("payment_intent.succeeded", payment_intent="pi_B")
    engine.wait_idle(5)
    r = client.get("/_sim/deliveries?payment_intent=pi_A")
    assert r.status_code == 200
    (entry,) = r.get_json()["data"]
    assert entry["event_id"] == a.event["id"] and entry["status"] == 200 and entry["endpoint_id"] == ep
    assert client.get("/_sim/deliveries?type=payment_intent.succeeded&outcome=succeeded").get_json()["count"] == 1
    assert client.get("/_sim/deliveries?endpoint=%s" % ep).get_json()["count"] == 2
    assert client.get("/_sim/deliveries?outcome=failed").get_json()["count"] == 0


@pytest.mark.parametrize("query, field", [("outcome=great", "outcome"), ("colour=red", "colour"),
                                          ("attempt=x", "attempt"), ("limit=-1", "limit")])
def test_bad_filters_are_400_naming_the_field(client, query, field):
    r = client.get("/_sim/deliveries?" + query)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_wait_returns_matches_or_408_with_the_log(client, engine, backend, receiver):
    backend.add_endpoint(receiver.url)
    backend.record_event("charge.succeeded")
    r = client.post("/_sim/deliveries/wait", json={"filters": {"type": "charge.succeeded"}, "timeout": 5})
    assert r.status_code == 200 and r.get_json()["count"] == 1
    r = client.post("/_sim/deliveries/wait", json={"filters": {"type": "charge.refunded"}, "timeout": 0.1})
    assert r.status_code == 408 and "charge.succeeded" in r.get_json()["error"]["message"]
    assert client.post("/_sim/deliveries/wait", json={"idle": True, "timeout": 5}).status_code == 200
    r = client.post("/_sim/deliveries/wait", json={"count": 0})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "count"


def test_resend_route(client, engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    rec = backend.record_event("charge.succeeded")
    engine.wait_idle(5)
    r = client.post("/_sim/events/%s/resend" % rec.event["id"], json={"endpoint": ep})
    assert r.status_code == 200 and r.get_json()["resent_to"] == [ep]
    engine.wait_idle(5)
    assert len(receiver.requests) == 2
    assert client.post("/_sim/events/evt_missing/resend").status_code == 404
    r = client.post("/_sim/events/%s/resend" % rec.event["id"], json={"endpoint": "we_nope"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "endpoint"
    r = client.post("/_sim/events/%s/resend" % rec.event["id"], data=b"{not json")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "body"


def test_standing_policy_routes(client, engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    r = client.put("/_sim/endpoints/%s/faults" % ep, json={"faults": ["duplicate:2"], "seed": 3})
    assert r.status_code == 200 and r.get_json()["faults"] == ["duplicate:count=2"]
    backend.record_event("charge.succeeded")
    engine.wait_idle(5)
    assert len(receiver.requests) == 2
    assert client.delete("/_sim/endpoints/%s/faults" % ep).get_json()["faults"] == []
    r = client.put("/_sim/endpoints/%s/faults" % ep, json={"faults": ["duplicate:-1"]})
    assert r.status_code == 400 and "count must be >= 1" in r.get_json()["error"]["message"]
    r = client.put("/_sim/endpoints/%s/faults" % ep, json={"faults": ["nope"]})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "faults"
    assert client.get("/_sim/endpoints/we_nope/faults").status_code == 400


def test_faults_and_flows_are_listed(client):
    faults = client.get("/_sim/faults").get_json()["data"]
    assert {f["name"] for f in faults} >= {"duplicate", "wrong_secret", "thin_event"}
    flows = client.get("/_sim/flows").get_json()["data"]
    assert "payment_intent.succeeded" in {f["name"] for f in flows}


@pytest.mark.parametrize("body, field", [
    ({}, "flow"),
    ({"flow": "nope", "to": "http://127.0.0.1:1/", "secret": SECRET}, "flow"),
    ({"flow": "payment_intent.succeeded"}, "to"),
    ({"flow": "payment_intent.succeeded", "to": "ftp://x/", "secret": SECRET}, "to"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": "sk_test_123"}, "secret"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/"}, "secret"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": SECRET, "faults": ["bogus"]}, "faults"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": SECRET,
      "faults": [{"name": "duplicate", "count": -2}]}, "faults"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": SECRET, "amount": -5}, "amount"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": SECRET,
      "payment_intent": "ch_123"}, "payment_intent"),
    ({"flow": "checkout.session.completed", "to": "http://127.0.0.1:1/", "secret": SECRET,
      "payment_intent": "pi_123"}, "payment_intent"),
    ({"flow": "payment_intent.succeeded", "endpoint": "we_1", "to": "http://127.0.0.1:1/"}, "to"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": SECRET, "card": "visa"}, "card"),
    ({"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:1/", "secret": SECRET, "colour": 1}, "colour"),
    ({"flow": "payment_intent.succeeded", "endpoint": "we_missing"}, "endpoint"),
])
def test_trigger_bad_input_is_400_naming_the_field(client, body, field):
    r = client.post("/_sim/trigger", data=json.dumps(body))
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["field"] == field
