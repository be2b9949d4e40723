"""Every operation of the definitions answers through the official SDK: 2xx, or the 4xx Stripe
would give (never a 5xx), and every object answered validates against the definitions."""
from __future__ import annotations

import json

import pytest
import stripe

from tests.simulator import tour
from tests.simulator.conftest import API_KEY
from tests.support.stripe12 import run_stripe12


def sdk_call(client):
    def call(method, path, params):
        try:
            obj = client.raw_request(method.lower(), path, **params)
        except stripe.StripeError as exc:
            return exc.http_status or 0, exc.json_body
        return 200, json.loads(getattr(obj, "last_response", obj).body)
    return call


def test_route_tour_through_the_current_sdk(server):
    client = stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=0)
    report = tour.run(sdk_call(client))
    assert report["failures"] == []
    assert sum(report["statuses"].values()) == report["operations"] > 500
    # most operations reach a stored object; the rest are Stripe's 4xx for an id the tour lacks
    assert report["statuses"]["200"] > report["operations"] * 0.6, report["statuses"]
    assert set(report["statuses"]) <= {"200", "400", "404"}, report["statuses"]


@pytest.mark.stripe12
def test_route_tour_through_stripe12(server):
    out = run_stripe12("""
        import json, stripe
        from tests.simulator import tour
        client = stripe.StripeClient("sk_test_tour12", base_addresses={"api": %r}, max_network_retries=0)
        def call(method, path, params):
            try:
                obj = client.raw_request(method.lower(), path, **params)
            except stripe.StripeError as exc:
                return exc.http_status or 0, exc.json_body
            return 200, json.loads(getattr(obj, "last_response", obj).body)
        report = tour.run(call)
        report["version"] = stripe.VERSION
        print(json.dumps(report))
    """ % server.url)
    assert out["version"].startswith("12.")
    assert out["failures"] == []
    assert out["statuses"]["200"] > out["operations"] * 0.6
    assert set(out["statuses"]) <= {"200", "400", "404"}
