"""Webhook endpoints, secret rolling, pending_webhooks, snapshot/restore and reset."""
import json

import pytest

from simulator.errors import InvalidRequestError, ResourceMissingError
from tests.simulator.test_backend_flows import make_backend, pay


def endpoint(b, events=("*",), **extra):
    params = {"url": "https://shop.test/hook", "enabled_events": list(events)}
    params.update(extra)
    return b.create_webhook_endpoint(params)


def test_crud_and_secret_shown_only_on_create():
    b = make_backend()
    ep = endpoint(b, ["charge.succeeded", "payment_intent.succeeded"], description="main",
                  metadata={"team": "posx"}, api_version="2025-08-27.basil")
    assert ep["id"].startswith("we_") and ep["secret"].startswith("whsec_") and len(ep["secret"]) == 38
    assert ep["status"] == "enabled" and ep["api_version"] == "2025-08-27.basil"
    got = b.retrieve_webhook_endpoint(ep["id"])
    assert "secret" not in got and got["description"] == "main" and got["metadata"] == {"team": "posx"}
    upd = b.update_webhook_endpoint(ep["id"], {"url": "https://shop.test/new", "disabled": "true",
                                               "enabled_events": ["*"]})
    assert upd["status"] == "disabled" and upd["url"] == "https://shop.test/new" and "secret" not in upd
    assert b.update_webhook_endpoint(ep["id"], {"disabled": "false"})["status"] == "enabled"
    second = endpoint(b)
    assert [e["id"] for e in b.list_webhook_endpoints({})["data"]] == [second["id"], ep["id"]]
    assert b.delete_webhook_endpoint(ep["id"]) == {"id": ep["id"], "object": "webhook_endpoint", "deleted": True}
    assert [e["id"] for e in b.list_webhook_endpoints({})["data"]] == [second["id"]]
    with pytest.raises(ResourceMissingError):
        b.retrieve_webhook_endpoint(ep["id"])
    assert ep["id"] not in b.webhook_endpoints


def test_caller_chosen_secret_and_validation():
    b = make_backend()
    ep = endpoint(b, secret="whsec_fixed_for_ci_123")
    assert ep["secret"] == "whsec_fixed_for_ci_123"
    assert b.active_secrets(ep["id"]) == ["whsec_fixed_for_ci_123"]
    assert b.webhook_endpoints[ep["id"]]["secret"] == "whsec_fixed_for_ci_123"
    with pytest.raises(InvalidRequestError) as info:
        endpoint(b, ["charge.succeeded", "charge.nonsense"])
    assert info.value.param == "enabled_events[1]"
    with pytest.raises(InvalidRequestError) as info:
        b.create_webhook_endpoint({"url": "not a url", "enabled_events": ["*"]})
    assert info.value.param == "url"
    with pytest.raises(InvalidRequestError) as info:
        b.create_webhook_endpoint({"url": "https://x.test"})
    assert info.value.message == "Missing required param: enabled_events."
    with pytest.raises(InvalidRequestError) as info:
        endpoint(b, api_version="latest")
    assert info.value.param == "api_version"


def test_roll_secret_keeps_the_old_one_until_it_expires():
    b = make_backend()
    ep = endpoint(b)
    old = ep["secret"]
    rolled = b.roll_webhook_secret(ep["id"], expires_in_seconds=60)
    new = rolled["secret"]
    assert new != old and b.active_secrets(ep["id"]) == [new, old]
    b.clock.advance(59)
    assert b.active_secrets(ep["id"]) == [new, old]
    b.clock.advance(2)
    assert b.active_secrets(ep["id"]) == [new]
    assert b.roll_webhook_secret(ep["id"], 0)["secret"] != new
    assert len(b.active_secrets(ep["id"])) == 1
    with pytest.raises(InvalidRequestError):
        b.roll_webhook_secret(ep["id"], -1)


def test_pending_webhooks_counts_subscribed_enabled_endpoints():
    b = make_backend()
    endpoint(b)
    only_charges = endpoint(b, ["charge.succeeded"])
    disabled = endpoint(b)
    b.update_webhook_endpoint(disabled["id"], {"disabled": "true"})
    deleted = endpoint(b)
    b.delete_webhook_endpoint(deleted["id"])
    pay(b)
    counts = {r.type: r.pending_webhooks for r in b.events.values()}
    assert counts == {"payment_intent.created": 1, "charge.succeeded": 2, "payment_intent.succeeded": 1,
                      "charge.updated": 1}
    rec = [r for r in b.events.values() if r.type == "charge.succeeded"][0]
    assert rec.event["pending_webhooks"] == 2
    assert b.acknowledge_webhook(rec.id) == 1
    assert b.acknowledge_webhook(rec.id) == 0
    assert b.acknowledge_webhook(rec.id) == 0
    assert b.retrieve_event(rec.id)["pending_webhooks"] == 0
    b.delete_webhook_endpoint(only_charges["id"])
    pay(b)
    assert list(b.events.values())[-3].pending_webhooks == 1  # the second charge.succeeded


def test_snapshot_restore_round_trip():
    b = make_backend()
    ep = endpoint(b, secret="whsec_roundtrip_1")
    b.roll_webhook_secret(ep["id"], 3600)
    pi = pay(b)
    b.create_refund({"payment_intent": pi["id"], "amount": "300"})
    pay(b, "pm_card_createDispute")
    cs = b.create_checkout_session({"mode": "payment", "line_items": [
        {"quantity": "1", "price_data": {"currency": "usd", "unit_amount": "700", "product_data": {"name": "x"}}}]})
    state = b.snapshot()
    text = json.dumps(state)
    other = make_backend(seed=99)
    other.restore(json.loads(text))
    assert other.snapshot() == state
    assert other.retrieve_payment_intent(pi["id"]) == b.retrieve_payment_intent(pi["id"])
    assert other.list_charges({"payment_intent": pi["id"]}) == b.list_charges({"payment_intent": pi["id"]})
    assert other.list_events({"limit": "100"}) == b.list_events({"limit": "100"})
    assert other.active_secrets(ep["id"]) == b.active_secrets(ep["id"])
    assert [r.available_at for r in other.events.values()] == [r.available_at for r in b.events.values()]
    # The restored backend keeps working.
    other.complete_checkout_session(cs["id"])
    assert other.retrieve_checkout_session(cs["id"])["status"] == "complete"
    assert b.retrieve_checkout_session(cs["id"])["status"] == "open"


def test_reset_forgets_everything_and_replays_the_same_ids():
    b = make_backend()
    seen = []
    b.add_event_listener(seen.append)
    first = pay(b)["id"]
    b.reset()
    assert b.counts() == {k: 0 for k in b.counts()}
    assert len(b.events) == 0
    again = pay(b)["id"]
    assert again == first
    assert len(seen) == 8  # the listener stays registered
    assert b.retrieve_account()["id"].startswith("acct_1")
