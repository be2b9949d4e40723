"""The flow registry and the flow files agree, and every flow file is well formed."""
import json

import pytest

from simulator import flows


def test_registry_and_files_agree():
    files = {p.name for p in flows.DATA.glob("*.json")}
    assert files == set(flows.REGISTRY.values()), "flow files not in the registry (or missing files)"
    for name, filename in flows.REGISTRY.items():
        data = json.loads((flows.DATA / filename).read_text())
        assert data["name"] == name, "%s says it is %s" % (filename, data["name"])


@pytest.mark.parametrize("name", sorted(flows.REGISTRY))
def test_flow_files_are_well_formed(name):
    flow = flows.load(name)
    assert flow["description"] and flow["events"] and flow["steps"]
    for step in flow["steps"]:
        assert step["action"] in flows.ACTIONS
        assert set(step) <= {"action", "id", "params", "save_as", "adoptable", "expect_error"}


def test_aliases_point_at_flows_that_record_that_event():
    for alias, target in flows.ALIASES.items():
        assert alias in flows.load(target)["events"]


def test_issue_flows_are_present():
    for name in ("payment_intent.succeeded", "payment_intent.payment_failed", "insufficient_funds",
                 "payment_intent.canceled", "charge.refunded", "charge.dispute.created",
                 "checkout.session.completed", "decline_then_success"):
        assert flows.resolve(name) == name


def test_unknown_flow_names_the_known_ones():
    with pytest.raises(flows.FlowError, match="unknown flow or event type 'nope'.*payment_intent.succeeded"):
        flows.resolve("nope")


@pytest.mark.parametrize("name", sorted(flows.REGISTRY))
def test_each_flow_records_exactly_the_events_its_file_lists(name):
    from simulator.core import Simulator

    sim = Simulator(seed=5, time_scale=0)
    try:
        with sim.engine.capture() as records:
            flows.run(sim.backend, name)
        assert [r.type for r in records] == flows.load(name)["events"]
    finally:
        sim.close()


def test_adopted_payment_intent_keeps_the_id_the_receiver_knows():
    from simulator.core import Simulator

    sim = Simulator(seed=5, time_scale=0)
    try:
        with sim.engine.capture() as records:
            flows.run(sim.backend, "payment_intent.succeeded", payment_intent="pi_FromTheReceiver123", amount=4200)
        assert {r.payment_intent for r in records} == {"pi_FromTheReceiver123"}
        succeeded = next(r for r in records if r.type == "payment_intent.succeeded")
        assert succeeded.event["data"]["object"]["amount"] == 4200
    finally:
        sim.close()
