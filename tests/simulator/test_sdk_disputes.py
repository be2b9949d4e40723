"""The dispute life cycle through the official SDK: funds withdrawn, evidence (staged, submitted,
the test-mode winning/losing texts), accepting, the refusals, and the dispute flows."""
import json

import pytest
import stripe

from simulator import flows
from simulator.backend import disputes as D
from simulator.objects import schema
from tests.simulator.conftest import intent_events

OPENED = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated",
          "charge.dispute.created"]
CHARGEBACK_CARDS = ["pm_card_createDispute", "pm_card_createDisputeProductNotReceived"]
INQUIRY_CARD = "pm_card_createDisputeInquiry"


def raw(obj) -> dict:
    return json.loads(str(obj))


def disputed(client, card="pm_card_createDispute", amount=2500):
    """A paid intent whose card opens a dispute; returns (intent, dispute)."""
    pi = client.v1.payment_intents.create(params={"amount": amount, "currency": "usd", "payment_method": card,
                                                  "confirm": True})
    listed = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert len(listed) == 1
    return pi, listed[0]


def dispute_events(sim, dp_id):
    return [r for r in list(sim.backend.events.values()) if dp_id in r.object_ids]


def assert_conforms(sim, pi_id):
    for record in list(sim.backend.events.values()):
        if record.payment_intent == pi_id:
            assert schema.problems(record.event) == [], record.event["type"]


@pytest.mark.parametrize("card", CHARGEBACK_CARDS)
def test_chargeback_withdraws_the_funds_right_after_it_opens(client, sim, card):
    pi, dp = disputed(client, card)
    assert intent_events(sim, pi.id) == OPENED + ["charge.dispute.funds_withdrawn"]
    created, withdrawn = dispute_events(sim, dp.id)
    assert withdrawn.available_at >= created.available_at
    assert withdrawn.event["data"]["object"] == created.event["data"]["object"] == raw(dp)
    assert dp.status == "needs_response" and dp.payment_intent == pi.id
    [txn] = dp.balance_transactions
    assert (txn.amount, txn.fee, txn.net) == (-2500, D.DISPUTE_FEE, -2500 - D.DISPUTE_FEE)
    assert (txn.source, txn.reporting_category, txn.type) == (dp.id, "dispute", "adjustment")
    assert raw(client.v1.balance_transactions.retrieve(txn.id)) == raw(txn)
    assert_conforms(sim, pi.id)


def test_inquiry_opens_without_moving_funds(client, sim):
    pi, dp = disputed(client, INQUIRY_CARD)
    assert intent_events(sim, pi.id) == OPENED
    assert dp.status == "warning_needs_response" and dp.balance_transactions == []


def test_winning_evidence_closes_won_and_reinstates_the_funds(client, sim):
    pi, dp = disputed(client)
    answer = client.v1.disputes.update(dp.id, params={"evidence": {
        "uncategorized_text": "winning_evidence", "customer_email_address": "jane@shop.example"},
        "metadata": {"case": "42"}})
    # The answer is the dispute as submitted; the bank decides a little later.
    assert answer.status == "under_review"
    assert answer.evidence.customer_email_address == "jane@shop.example"
    assert (answer.evidence_details.has_evidence, answer.evidence_details.submission_count) == (True, 1)
    assert raw(answer)["metadata"] == {"case": "42"}
    assert intent_events(sim, pi.id)[len(OPENED) + 1:] == ["charge.dispute.updated", "charge.dispute.closed",
                                                           "charge.dispute.funds_reinstated"]
    updated, closed, reinstated = dispute_events(sim, dp.id)[2:]
    assert updated.event["data"]["object"] == raw(answer)
    assert updated.event["request"]["id"].startswith("req_")
    assert updated.event["data"]["previous_attributes"] == {
        "metadata": {}, "status": "needs_response",
        "evidence": {"uncategorized_text": None, "customer_email_address": None},
        "evidence_details": {"has_evidence": False, "submission_count": 0}}
    # The server's clock runs, so times recorded a few microseconds apart differ by as much.
    assert closed.available_at == pytest.approx(updated.available_at + D.DISPUTE_DECISION_DELAY, abs=0.01)
    assert closed.available_at <= reinstated.available_at == pytest.approx(closed.available_at, abs=0.01)
    assert closed.event["data"]["previous_attributes"] == {"status": "under_review"}
    final = client.v1.disputes.retrieve(dp.id)
    assert final.status == "won" and raw(final) == closed.event["data"]["object"] == reinstated.event["data"]["object"]
    withdrawal, reversal = final.balance_transactions
    assert (reversal.amount, reversal.fee, reversal.net) == (2500, -D.DISPUTE_FEE, 2500 + D.DISPUTE_FEE)
    assert (reversal.source, reversal.reporting_category) == (dp.id, "dispute_reversal")
    assert withdrawal.net + reversal.net == 0
    assert raw(client.v1.balance_transactions.retrieve(reversal.id)) == raw(reversal)
    assert_conforms(sim, pi.id)


def test_losing_evidence_closes_lost_and_the_funds_stay_withdrawn(client, sim):
    pi, dp = disputed(client)
    answer = client.v1.disputes.update(dp.id, params={"evidence": {"uncategorized_text": "losing_evidence"}})
    assert answer.status == "under_review"
    assert intent_events(sim, pi.id)[len(OPENED) + 1:] == ["charge.dispute.updated", "charge.dispute.closed"]
    final = client.v1.disputes.retrieve(dp.id)
    assert final.status == "lost" and len(final.balance_transactions) == 1
    assert_conforms(sim, pi.id)


def test_other_evidence_stays_under_review(client, sim):
    pi, dp = disputed(client)
    client.v1.disputes.update(dp.id, params={"evidence": {"uncategorized_text": "the customer signed for it"}})
    assert client.v1.disputes.retrieve(dp.id).status == "under_review"
    assert intent_events(sim, pi.id)[-1] == "charge.dispute.updated"


def test_staged_evidence_is_submitted_by_a_later_call(client, sim):
    pi, dp = disputed(client)
    staged = client.v1.disputes.update(dp.id, params={"evidence": {"uncategorized_text": "winning_evidence"},
                                                      "submit": False})
    assert staged.status == "needs_response"
    assert (staged.evidence_details.has_evidence, staged.evidence_details.submission_count) == (True, 0)
    assert client.v1.disputes.retrieve(dp.id).status == "needs_response"
    submitted = client.v1.disputes.update(dp.id, params={"submit": True})
    assert submitted.status == "under_review" and submitted.evidence_details.submission_count == 1
    assert client.v1.disputes.retrieve(dp.id).status == "won"
    assert intent_events(sim, pi.id)[len(OPENED) + 1:] == [
        "charge.dispute.updated", "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_reinstated"]


def test_evidence_the_object_does_not_keep_still_submits(client):
    pi, dp = disputed(client)
    answer = client.v1.disputes.update(dp.id, params={"evidence": {"enhanced_evidence": {
        "visa_compliance": {"fee_acknowledged": True}}}})
    assert answer.status == "under_review" and raw(answer)["evidence"] == raw(dp)["evidence"]


def test_metadata_alone_does_not_submit(client, sim):
    pi, dp = disputed(client)
    answer = client.v1.disputes.update(dp.id, params={"metadata": {"ticket": "T-1"}})
    assert answer.status == "needs_response" and answer.evidence_details.submission_count == 0
    assert raw(answer)["metadata"] == {"ticket": "T-1"}
    last = dispute_events(sim, dp.id)[-1].event
    assert last["type"] == "charge.dispute.updated" and last["data"]["previous_attributes"] == {"metadata": {}}
    before = len(sim.backend.events)
    assert client.v1.disputes.update(dp.id).status == "needs_response"
    assert len(sim.backend.events) == before


def test_close_accepts_a_chargeback_as_lost(client, sim):
    pi, dp = disputed(client)
    closed = client.v1.disputes.close(dp.id)
    assert closed.status == "lost" and len(closed.balance_transactions) == 1
    assert intent_events(sim, pi.id)[-1] == "charge.dispute.closed"
    last = dispute_events(sim, dp.id)[-1].event
    assert last["data"]["object"] == raw(closed)
    assert last["data"]["previous_attributes"] == {"status": "needs_response"}
    assert_conforms(sim, pi.id)


def test_inquiry_accepted_is_warning_closed(client, sim):
    pi, dp = disputed(client, INQUIRY_CARD)
    assert client.v1.disputes.close(dp.id).status == "warning_closed"
    assert intent_events(sim, pi.id) == OPENED + ["charge.dispute.closed"]


def test_inquiry_evidence_moves_it_to_warning_under_review_and_moves_no_funds(client, sim):
    pi, dp = disputed(client, INQUIRY_CARD)
    answer = client.v1.disputes.update(dp.id, params={"evidence": {"uncategorized_text": "winning_evidence"}})
    assert answer.status == "warning_under_review"
    final = client.v1.disputes.retrieve(dp.id)
    assert final.status == "warning_closed" and final.balance_transactions == []
    assert intent_events(sim, pi.id) == OPENED + ["charge.dispute.updated", "charge.dispute.closed"]
    assert_conforms(sim, pi.id)


def expect_400(call, *args, **kwargs) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as info:
        call(*args, **kwargs)
    assert info.value.http_status == 400
    assert info.value.error.type == "invalid_request_error"
    return info.value


@pytest.mark.parametrize("ending", ["close", "losing_evidence"])
def test_a_closed_dispute_can_no_longer_be_updated_or_closed(client, sim, ending):
    pi, dp = disputed(client)
    if ending == "close":
        client.v1.disputes.close(dp.id)
    else:
        client.v1.disputes.update(dp.id, params={"evidence": {"uncategorized_text": "losing_evidence"}})
    before = len(sim.backend.events)
    e = expect_400(client.v1.disputes.update, dp.id, params={"metadata": {"late": "1"}})
    assert "already closed" in e.user_message and "can no longer be updated" in e.user_message
    e = expect_400(client.v1.disputes.close, dp.id)
    assert "already closed" in e.user_message and "can no longer be closed" in e.user_message
    assert len(sim.backend.events) == before
    assert raw(client.v1.disputes.retrieve(dp.id))["metadata"] == {}


def test_submitted_evidence_cannot_be_changed_or_accepted(client, sim):
    pi, dp = disputed(client)
    client.v1.disputes.update(dp.id, params={"evidence": {"uncategorized_text": "still thinking"}})
    e = expect_400(client.v1.disputes.update, dp.id, params={"evidence": {"uncategorized_text": "winning_evidence"}})
    assert e.param == "evidence" and "already been submitted" in e.user_message
    e = expect_400(client.v1.disputes.close, dp.id)
    assert "under review" in e.user_message
    assert client.v1.disputes.retrieve(dp.id).evidence.uncategorized_text == "still thinking"


@pytest.mark.parametrize("action", ["update", "close"])
def test_unknown_dispute_is_404_naming_id(client, action):
    with pytest.raises(stripe.InvalidRequestError) as info:
        getattr(client.v1.disputes, action)("dp_nope")
    e = info.value
    assert (e.http_status, e.code, e.param) == (404, "resource_missing", "id")
    assert e.user_message == "No such dispute: 'dp_nope'"


def test_unknown_evidence_field_is_refused_and_loses_nothing(client, sim):
    pi, dp = disputed(client)
    before = len(sim.backend.events)
    e = expect_400(client.v1.disputes.update, dp.id,
                   params={"evidence": {"uncategorized_text": "winning_evidence", "favourite_colour": "blue"}})
    assert (e.code, e.param) == ("parameter_unknown", "evidence[favourite_colour]")
    assert e.user_message == "Received unknown parameter: evidence[favourite_colour]"
    assert len(sim.backend.events) == before
    assert raw(client.v1.disputes.retrieve(dp.id)) == raw(dp)


def test_evidence_over_the_combined_limit_is_refused(client):
    pi, dp = disputed(client)
    half = "x" * (D.P.MAX_EVIDENCE_CHARS // 2 + 1)
    e = expect_400(client.v1.disputes.update, dp.id,
                   params={"evidence": {"product_description": half, "uncategorized_text": half}})
    assert e.param == "evidence" and "150000" in e.user_message


@pytest.mark.parametrize("module,cls,spec,nested", [
    ("_dispute_update_params", "DisputeUpdateParams", "update_dispute", None),
    ("_dispute_update_params", "DisputeUpdateParamsEvidence", "update_dispute", "evidence"),
])
def test_every_dispute_parameter_the_sdk_knows_is_accepted(module, cls, spec, nested):
    import importlib

    from simulator.backend import params as P
    from stripe._request_options import RequestOptions

    declared = set(getattr(importlib.import_module("stripe.params." + module), cls).__annotations__)
    declared -= set(RequestOptions.__annotations__) | {"expand"}
    fields = P.spec_for(spec).fields
    if nested:
        fields = P.compile_type(fields[nested].inner.name).fields
    assert declared - set(fields) == set()


# -- flows ---------------------------------------------------------------------------
DISPUTE_FLOWS = {"charge.dispute.closed": "won", "dispute_lost": "lost", "dispute_accepted": "lost",
                 "dispute_inquiry": "warning_closed"}


@pytest.mark.parametrize("name,status", sorted(DISPUTE_FLOWS.items()))
def test_dispute_flows_end_where_they_say(name, status):
    from simulator.core import Simulator

    sim = Simulator(seed=11, time_scale=0)
    try:
        with sim.engine.capture() as records:
            ctx = flows.run(sim.backend, name, payment_intent="pi_FromTheReceiver%s" % len(name))
        [dp] = ctx["disputes"]["data"]
        assert sim.backend.retrieve_dispute(dp["id"])["status"] == status
        assert [r.type for r in records] == flows.load(name)["events"]
        # Nothing about a dispute may go out before the dispute itself.
        times = [r.available_at for r in records if r.type.startswith("charge.dispute.")]
        assert times == sorted(times)
        assert times[0] >= records[0].available_at + D.DISPUTE_DELAY - 1  # created: a few seconds on
        assert all(schema.problems(r.event) == [] for r in records)
    finally:
        sim.close()


def test_dispute_flow_with_a_card_that_opens_no_dispute_names_the_card():
    from simulator.core import Simulator

    sim = Simulator(seed=11, time_scale=0)
    try:
        with pytest.raises(flows.FlowError, match="disputes.data.0.id") as info:
            flows.run(sim.backend, "charge.dispute.closed", card="pm_card_visa")
        assert info.value.field == "card"
    finally:
        sim.close()


@pytest.mark.parametrize("alias", ["charge.dispute.funds_withdrawn", "charge.dispute.updated",
                                   "charge.dispute.funds_reinstated"])
def test_dispute_event_types_trigger_a_flow_that_records_them(alias):
    assert alias in flows.load(flows.resolve(alias))["events"]
