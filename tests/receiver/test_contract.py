"""The POSX target contract over real HTTP (development server in a thread, SQLite)."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from harness.receiver import ReceiverConfig, ReceiverServer

from .support import API_HEADERS, SECRET, event, payment_intent, signed, wait_until


@pytest.fixture
def server(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, enable_fault_hooks=True,
                            database_url="sqlite:///%s/receiver.sqlite3" % tmp_path)
    with ReceiverServer(config) as srv:
        yield srv


@pytest.fixture
def plain_server(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s/r.sqlite3" % tmp_path)
    with ReceiverServer(config) as srv:
        yield srv


def post_order(srv, payload, headers=API_HEADERS):
    return requests.post(srv.url + "/api/v1/orders/", data=payload if isinstance(payload, (bytes, str)) else json.dumps(payload),
                         headers=dict(headers, **{"Content-Type": "application/json"}), timeout=10)


def test_order_lifecycle_over_http(server):
    r = post_order(server, {"tier_id": "tier_growth", "quantity": 3})
    assert r.status_code == 201
    order = r.json()
    assert set(order) == {"id", "status", "amount", "currency", "stripe_payment_intent_id", "client_secret"}
    assert uuid.UUID(order["id"]) and order["status"] == "pending" and order["currency"] == "usd"
    assert order["amount"] == 3 * 5000
    assert order["stripe_payment_intent_id"].startswith("pi_mock_")
    assert order["client_secret"].startswith(order["stripe_payment_intent_id"] + "_secret_")

    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
    r = requests.post(server.url + "/api/v1/webhooks/stripe/", data=body, headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["result"] == "processed"
    # The in-app outbox worker allocates and computes the commission shortly after.
    view = wait_until(lambda: (lambda v: v if v["allocations"] and v["commissions"] else None)(
        requests.get(server.url + "/api/v1/orders/%s/" % order["id"], headers=API_HEADERS, timeout=10).json()),
        what="the outbox to run the order's tasks")
    assert view["status"] == "paid" and view["payment_method"] == "stripe" and view["paid_at"]
    assert view["allocations"][0]["tokens"] == 3 * 550
    assert view["commissions"][0]["amount"] == 1500 and view["commissions"][0]["beneficiary"] == "house:NA"
    assert set(view) >= {"id", "status", "paid_at", "payment_method", "stripe_payment_intent_id", "allocations",
                         "commissions", "disputes", "created_at"}


@pytest.mark.parametrize("payload, headers, status, fragment", [
    ({"tier_id": "tier_starter", "quantity": 1}, {"X-Site-Code": "NA"}, 401, "API token"),
    ({"tier_id": "tier_starter", "quantity": 1}, {"Authorization": "Bearer nope", "X-Site-Code": "NA"}, 401, "API token"),
    ({"tier_id": "tier_starter", "quantity": 1}, {"Authorization": "Bearer posx-test-token"}, 400, "X-Site-Code"),
    ({"tier_id": "tier_starter", "quantity": 1}, dict(API_HEADERS, **{"X-Site-Code": "MARS"}), 400, "site code"),
    ({"tier_id": "tier_nope", "quantity": 1}, API_HEADERS, 400, "tier_id"),
    ({"tier_id": "tier_starter", "quantity": 0}, API_HEADERS, 400, "quantity"),
    ({"tier_id": "tier_starter", "quantity": "2"}, API_HEADERS, 400, "quantity"),
    ({"tier_id": "tier_starter", "quantity": 101}, API_HEADERS, 400, "quantity"),
    ({"tier_id": "tier_starter"}, API_HEADERS, 400, "quantity"),
    ("{not json", API_HEADERS, 400, "Invalid JSON"),
    ("[1, 2]", API_HEADERS, 400, "JSON object"),
])
def test_bad_order_input_is_a_clear_4xx(plain_server, payload, headers, status, fragment):
    r = post_order(plain_server, payload, headers)
    assert r.status_code == status
    assert fragment in r.json()["error"]


def test_get_order_needs_auth_and_404s_as_json(plain_server):
    order = post_order(plain_server, {"tier_id": "tier_starter", "quantity": 1}).json()
    assert requests.get(plain_server.url + "/api/v1/orders/%s/" % order["id"], timeout=10).status_code == 401
    r = requests.get(plain_server.url + "/api/v1/orders/%s/" % uuid.uuid4(), headers=API_HEADERS, timeout=10)
    assert r.status_code == 404 and "not found" in r.json()["error"]


def test_webhook_answers_as_the_guide_says(plain_server):
    url = plain_server.url + "/api/v1/webhooks/stripe/"
    # The guide's step 1.1 curl (no signature): 400. The guide promises "Invalid payload"
    # there, but the signature is checked first, exactly as stripe-python does.
    r = requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
    assert (r.status_code, r.json()) == (400, {"error": "Invalid signature"})
    body, headers = signed(event("customer.created", {"id": "cus_1", "object": "customer"}))
    r = requests.post(url, data=body, headers=headers, timeout=10)
    assert (r.status_code, r.json()["result"]) == (200, "ignored")
    assert requests.get(url, timeout=10).status_code == 405


def test_admin_routes_404_unless_hooks_are_enabled(plain_server):
    for method, path in [("post", "/_posx/faults"), ("get", "/_posx/stats"), ("post", "/_posx/orders/bulk")]:
        r = getattr(requests, method)(plain_server.url + path, json={"count": 1}, timeout=10)
        assert r.status_code == 404, path


def test_fail_next_faults_then_recovers(server):
    order = post_order(server, {"tier_id": "tier_starter", "quantity": 1}).json()
    r = requests.post(server.url + "/_posx/faults", json={"fail_next": 2, "fail_status": 503}, timeout=10)
    assert r.json()["fail_next"] == 2
    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
    codes = [requests.post(server.url + "/api/v1/webhooks/stripe/", data=body, headers=headers, timeout=10).status_code
             for _ in range(3)]
    assert codes == [503, 503, 200]
    assert requests.get(server.url + "/_posx/faults", timeout=10).json()["fail_next"] == 0


@pytest.mark.parametrize("spec, fragment", [({"fail_next": -1}, "fail_next"), ({"crash_next": "x"}, "crash_next"),
                                            ({"explode": 1}, "unknown"), ({}, "at least one")])
def test_bad_fault_spec_is_a_400(server, spec, fragment):
    r = requests.post(server.url + "/_posx/faults", json=spec, timeout=10)
    assert r.status_code == 400 and fragment in r.json()["error"]


def test_bulk_orders_for_load_tests(server):
    r = requests.post(server.url + "/_posx/orders/bulk", json={"count": 1200, "tier_id": "tier_whale", "quantity": 2},
                      timeout=30)
    assert r.status_code == 201
    data = r.json()["data"]
    assert len(data) == 1200 and len({o["stripe_payment_intent_id"] for o in data}) == 1200
    assert all(o["amount"] == 100000 and o["status"] == "pending" for o in data)
    stats = requests.get(server.url + "/_posx/stats", timeout=10).json()
    assert stats["orders"] == {"pending": 1200}
    r = requests.post(server.url + "/_posx/orders/bulk", json={"count": 0}, timeout=10)
    assert r.status_code == 400 and "count" in r.json()["error"]


def test_delay_next_slows_the_answer_not_the_effect(server):
    import time
    order = post_order(server, {"tier_id": "tier_starter", "quantity": 1}).json()
    requests.post(server.url + "/_posx/faults", json={"delay_next": 1, "delay_ms": 300}, timeout=10)
    body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
    started = time.monotonic()
    r = requests.post(server.url + "/api/v1/webhooks/stripe/", data=body, headers=headers, timeout=10)
    assert r.status_code == 200 and time.monotonic() - started >= 0.3
    status = requests.get(server.url + "/api/v1/orders/%s/" % order["id"], headers=API_HEADERS, timeout=10).json()["status"]
    assert status == "paid"


def test_order_ids_are_time_ordered_version_7_uuids(monkeypatch):
    """Version 7 so that orders made together share index pages (see new_order_id)."""
    import time as _time
    from harness.receiver import orders as orders_module
    now_ms = int(_time.time() * 1000)
    now = [now_ms * 1_000_000]
    monkeypatch.setattr(orders_module.time, "time_ns", lambda: now[0])
    first = [orders_module.new_order_id() for _ in range(50)]
    now[0] += 1_000_000  # one millisecond later: every id made then sorts after
    later = [orders_module.new_order_id() for _ in range(50)]
    for value in first + later:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, value)
        assert (parsed.int >> 80) in (now_ms, now_ms + 1)  # the Unix time in ms
    assert max(first) < min(later)
    assert len(set(first + later)) == 100
