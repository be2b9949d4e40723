"""harness.integrations.django: the /_posx/faults interface and what each fault does to a
webhook call, with the view left as written."""
import json
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from .support import create_order, get_order, pi_succeeded, post_event

FAULTS = "/_posx/faults/"


def arm(client, **spec):
    resp = client.post(FAULTS, data=json.dumps(spec), content_type="application/json")
    assert resp.status_code == 200, resp.content
    return resp.json()


@pytest.fixture(autouse=True)
def _clear_faults(posx_settings, client):
    client.delete(FAULTS)


def test_faults_interface_is_the_reference_receivers(client):
    assert client.get(FAULTS).json() == {"fail_next": 0, "fail_status": 500, "delay_next": 0, "delay_ms": 0, "crash_next": 0}
    assert arm(client, fail_next=2, fail_status=503, delay_next=1, delay_ms=5, crash_next=1) == {
        "fail_next": 2, "fail_status": 503, "delay_next": 1, "delay_ms": 5, "crash_next": 1}
    assert client.get("/_posx/faults").json()["fail_next"] == 2          # with or without the slash
    assert client.delete(FAULTS).json()["fail_next"] == 0


@pytest.mark.parametrize("body,says", [
    ("{oops", "Invalid JSON"), ("[1]", "JSON object"), ('{"fail_next": "2"}', "fail_next must be an integer"),
    ('{"fail_next": 1, "fail_status": 200}', "fail_status"), ('{"explode": 1}', "unknown fault field"),
    ("{}", "at least one"),
])
def test_bad_fault_spec_is_400_naming_the_problem(client, body, says):
    resp = client.post(FAULTS, data=body, content_type="application/json")
    assert resp.status_code == 400 and says in resp.json()["error"]


def test_other_methods_are_405(client):
    assert client.put(FAULTS, data="{}", content_type="application/json").status_code == 405


def test_fail_next_answers_the_status_without_processing(client):
    order = create_order(client)
    arm(client, fail_next=2, fail_status=503)
    evt = pi_succeeded(order)
    assert [post_event(client, evt).status_code for _ in range(3)] == [503, 503, 200]
    view = get_order(client, order["id"])
    assert view["status"] == "paid" and len(view["allocations"]) == 1
    assert client.get(FAULTS).json()["fail_next"] == 0


def test_crash_rolls_the_webhooks_transaction_back_and_the_retry_pays(client):
    order = create_order(client)
    arm(client, crash_next=1)
    evt = pi_succeeded(order)
    resp = post_event(client, evt)
    assert resp.status_code == 500 and resp.json() == {"error": "Injected crash"}
    view = get_order(client, order["id"])
    assert view["status"] == "pending" and view["paid_at"] is None   # the order update never committed
    assert post_event(client, evt).json()["result"] == "processed"   # nor did the idempotency key
    view = get_order(client, order["id"])
    assert view["status"] == "paid" and len(view["allocations"]) == 1


def test_crash_against_the_guides_code_loses_the_event(client, posx_settings):
    posx_settings.POSX_VARIANT = "guide"
    posx_settings.POSX_GUIDE_READ_GAP_MS = 0
    order = create_order(client)
    arm(client, crash_next=1)
    evt = pi_succeeded(order)
    assert post_event(client, evt).status_code == 500
    assert post_event(client, evt).status_code == 200                # "Duplicate event": the key was committed
    assert get_order(client, order["id"])["status"] == "pending"


def test_delay_answers_late_after_doing_the_work(client):
    order = create_order(client)
    arm(client, delay_next=1, delay_ms=300)
    start = time.monotonic()
    assert post_event(client, pi_succeeded(order)).status_code == 200
    assert time.monotonic() - start >= 0.3
    assert get_order(client, order["id"])["status"] == "paid"


def test_faults_touch_only_webhook_posts(client):
    order = create_order(client)
    arm(client, fail_next=1)
    assert client.get("/api/v1/tiers/").status_code == 200
    assert get_order(client, order["id"])["status"] == "pending"
    assert client.get(FAULTS).json()["fail_next"] == 1


def test_refuses_to_load_with_debug_off_unless_allowed(settings, monkeypatch):
    from django.apps import apps

    config = apps.get_app_config("posx_harness")
    monkeypatch.delenv("POSX_HARNESS_ALLOW_WITHOUT_DEBUG", raising=False)
    settings.DEBUG = False
    settings.POSX_HARNESS = {}
    with pytest.raises(ImproperlyConfigured, match="refuses to load with DEBUG off"):
        config.ready()
    monkeypatch.setenv("POSX_HARNESS_ALLOW_WITHOUT_DEBUG", "1")
    config.ready()
    monkeypatch.delenv("POSX_HARNESS_ALLOW_WITHOUT_DEBUG")
    settings.DEBUG = True
    config.ready()
    settings.POSX_HARNESS = {"NOPE": 1}
    with pytest.raises(ImproperlyConfigured, match="unknown key"):
        config.ready()


def test_middleware_was_put_first(settings):
    assert settings.MIDDLEWARE[0] == "harness.integrations.django.middleware.FaultHooksMiddleware"
