"""Events (filters, pagination, order) and webhook endpoint CRUD through the official SDK."""
import pytest
import stripe

from tests.simulator.conftest import card_pm


def pay(client, last4="4242", amount=1000):
    pm = card_pm(client, last4)
    pi = client.v1.payment_intents.create(params={"amount": amount, "currency": "usd", "payment_method": pm.id})
    try:
        return client.v1.payment_intents.confirm(pi.id)
    except stripe.CardError:
        return client.v1.payment_intents.retrieve(pi.id)


def test_events_list_newest_first_with_type_filters_and_auto_paging(client):
    paid = [pay(client).id for _ in range(3)]
    failed = pay(client, "0002").id
    everything = list(client.v1.events.list(params={"limit": 2}).auto_paging_iter())
    created = [e.created for e in everything]
    assert created == sorted(created, reverse=True), "Stripe lists newest first"
    assert len({e.id for e in everything}) == len(everything)

    succeeded = list(client.v1.events.list(params={"type": "payment_intent.succeeded", "limit": 2}).auto_paging_iter())
    assert [e.data.object.id for e in succeeded] == paid[::-1]
    wildcard = client.v1.events.list(params={"type": "payment_intent.*", "limit": 100}).data
    assert {e.type for e in wildcard} == {"payment_intent.created", "payment_intent.succeeded",
                                          "payment_intent.payment_failed"}
    several = client.v1.events.list(params={"types": ["charge.failed", "payment_intent.payment_failed"]}).data
    assert [e.type for e in several] == ["payment_intent.payment_failed", "charge.failed"]
    assert all(e.data.object.id == failed or e.data.object.payment_intent == failed for e in several)

    one = client.v1.events.retrieve(succeeded[0].id)
    assert one.type == "payment_intent.succeeded" and one.api_version == "2025-08-27.basil"
    assert one.request.id.startswith("req_")


def test_event_request_carries_the_idempotency_key_the_sdk_sent(client):
    pi = client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"},
                                          options={"idempotency_key": "order-6735-create"})
    event = client.v1.events.list(params={"type": "payment_intent.created"}).data[0]
    assert event.data.object.id == pi.id
    assert event.request.idempotency_key == "order-6735-create"


def test_events_list_bad_filters_name_the_param(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list(params={"type": "charge.succeeded", "types": ["charge.failed"]})
    assert info.value.param == "types"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list(params={"limit": 1000})
    assert info.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list(params={"starting_after": "evt_nope"})
    assert info.value.param == "starting_after"


def test_webhook_endpoint_crud_and_secret_only_on_create(client):
    created = client.v1.webhook_endpoints.create(params={
        "url": "https://posx.example/api/v1/webhooks/stripe/",
        "enabled_events": ["payment_intent.succeeded", "charge.failed"], "description": "POSX"})
    assert created.secret.startswith("whsec_") and created.status == "enabled"
    fetched = client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched and fetched.url == created.url
    updated = client.v1.webhook_endpoints.update(created.id, params={"enabled_events": ["*"], "disabled": True})
    assert updated.enabled_events == ["*"] and updated.status == "disabled"
    assert "secret" not in updated
    listed = client.v1.webhook_endpoints.list().data
    assert [e.id for e in listed] == [created.id] and "secret" not in listed[0]
    deleted = client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.retrieve(created.id)
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.create(params={"url": "not a url", "enabled_events": ["*"]})
    assert info.value.param == "url"


def test_pending_webhooks_counts_subscribed_endpoints(client):
    client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]})
    pi = pay(client)
    event = client.v1.events.list(params={"type": "payment_intent.succeeded"}).data[0]
    assert event.data.object.id == pi.id and event.pending_webhooks == 1
