"""``stripe-sim trigger`` standalone (no server) and ``POST /_sim/trigger`` on a real Simulator,
both against a receiver built on the official SDK."""
import json

import pytest

from simulator.commands import dispatch
from tests.delivery.support import SECRET, Receiver, free_port


def trigger(*argv):
    return dispatch("stripe-sim", "test", {"trigger": ("simulator.cli.trigger", "trigger")}, ["trigger", *argv])


def test_standalone_trigger_delivers_a_flow_and_exits_0(receiver, capsys):
    assert trigger("payment_intent.succeeded", "--to", receiver.url, "--secret", SECRET, "--seed", "4") == 0
    out = capsys.readouterr().out
    assert "ok: 4 deliveries" in out
    assert [r["type"] for r in receiver.requests] == [
        "payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated"]
    assert all(r["accepted"] for r in receiver.requests)


def test_standalone_trigger_is_reproducible_from_the_seed(receiver):
    for _ in range(2):
        assert trigger("decline_then_success", "--to", receiver.url, "--secret", SECRET, "--seed", "11",
                       "--fault", "shuffle") == 0
    first, second = receiver.requests[:6], receiver.requests[6:]
    assert [r["type"] for r in first] == [r["type"] for r in second]
    assert [r["type"] for r in first] != [
        "payment_intent.created", "charge.failed", "payment_intent.payment_failed",
        "charge.succeeded", "payment_intent.succeeded", "charge.updated"]


def test_exit_1_with_a_line_per_honest_delivery_that_was_refused(capsys):
    r = Receiver(secret="whsec_the_receiver_knows_another")
    try:
        assert trigger("payment_intent.payment_failed", "--to", r.url, "--secret", SECRET) == 1
    finally:
        r.close()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("FAILED:")]
    assert len(lines) == 3 and "expected a 2xx, got HTTP 400" in lines[0]
    assert "No signatures found matching the expected signature for payload" in lines[0]


def test_exit_1_when_a_receiver_accepts_a_broken_signature(capsys):
    r = Receiver(respond=lambda entry, i: 200)  # a receiver that never checks
    try:
        assert trigger("payment_intent.created", "--to", r.url, "--secret", SECRET, "--fault", "stale_timestamp") == 1
    finally:
        r.close()
    assert "accepted it (HTTP 200) but should have rejected it" in capsys.readouterr().err


def test_broken_signature_faults_rejected_by_the_sdk_receiver_exit_0(receiver):
    assert trigger("payment_intent.succeeded", "--to", receiver.url, "--secret", SECRET,
                   "--fault", "wrong_secret:type=payment_intent.succeeded", "--fault", "duplicate:2") == 0
    refused = [r for r in receiver.requests if not r["accepted"]]
    assert len(refused) == 2 and len(receiver.requests) == 8


def test_unreachable_receiver_exits_1_naming_the_error(capsys):
    url = "http://127.0.0.1:%d/hook" % free_port()
    assert trigger("payment_intent.created", "--to", url, "--secret", SECRET) == 1
    assert "connection_refused" in capsys.readouterr().err


def test_retries_on_a_scaled_clock_until_the_receiver_recovers(capsys):
    r = Receiver(respond=lambda entry, i: 500 if i < 2 else None)
    try:
        assert trigger("payment_intent.created", "--to", r.url, "--secret", SECRET, "--retries", "test",
                       "--json") == 0
    finally:
        r.close()
    report = json.loads(capsys.readouterr().out)
    assert [d["attempt"] for d in report["deliveries"]] == [1, 2, 3]
    assert [d["status"] for d in report["deliveries"]] == [500, 500, 200]


def test_adopted_payment_intent(receiver):
    assert trigger("payment_intent.succeeded", "--to", receiver.url, "--secret", SECRET,
                   "--payment-intent", "pi_ReceiverMadeThis01", "--amount", "4200") == 0
    objs = [json.loads(r["body"])["data"]["object"] for r in receiver.requests]
    assert {o.get("payment_intent") or o["id"] for o in objs} == {"pi_ReceiverMadeThis01"}


@pytest.mark.parametrize("argv, message", [
    (["payment_intent.succeeded", "--to", "http://127.0.0.1:1/", "--secret", "sk_test_1"], "argument --secret"),
    (["payment_intent.succeeded", "--to", "http://127.0.0.1:1/", "--secret", SECRET, "--fault", "boom"],
     "argument --fault: unknown fault 'boom'"),
    (["payment_intent.succeeded", "--to", "http://127.0.0.1:1/", "--secret", SECRET, "--fault", "duplicate:-2"],
     "count must be >= 1"),
    (["payment_intent.succeeded", "--to", "http://127.0.0.1:1/", "--secret", SECRET, "--amount", "0"],
     "argument --amount"),
])
def test_bad_arguments_exit_2_naming_the_argument(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        trigger(*argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["nope", "--to", "http://127.0.0.1:1/", "--secret", SECRET], "argument FLOW: unknown flow or event type 'nope'"),
    (["payment_intent.succeeded", "--secret", SECRET], "argument --to: a target is needed"),
    (["payment_intent.succeeded", "--to", "http://127.0.0.1:1/"], "argument --secret"),
    (["payment_intent.succeeded", "--to", "mailto:x", "--secret", SECRET], "argument --to: webhook URL must be"),
    (["checkout.session.completed", "--to", "http://127.0.0.1:1/", "--secret", SECRET, "--payment-intent", "pi_1"],
     "argument --payment-intent"),
    (["payment_intent.succeeded", "--to", "http://127.0.0.1:1/", "--secret", SECRET, "--card", "1234"],
     "argument --card"),
    ([], "FLOW"),
])
def test_bad_combinations_exit_2_naming_the_argument(argv, message, capsys):
    assert trigger(*argv) == 2
    assert message in capsys.readouterr().err


def test_list_shows_flows_and_faults(capsys):
    assert trigger("--list") == 0 and "decline_then_success" in capsys.readouterr().out
    assert trigger("--list-faults") == 0 and "duplicate_concurrent" in capsys.readouterr().out


# ------------------------------------------------------------------ through the control plane

@pytest.fixture
def sim():
    from simulator.core import Simulator

    # Scaled: charge.updated (+3 s) and the other endpoint's retries play out in milliseconds.
    s = Simulator(seed=21, time_scale=100000)
    yield s
    s.close()


@pytest.fixture
def client(sim):
    from simulator.api import create_app

    return create_app(sim).test_client()


def test_control_plane_trigger_to_a_registered_endpoint(sim, client, receiver):
    sim.backend.create_webhook_endpoint({"url": receiver.url, "enabled_events": ["*"]})  # receiver: other secret
    rx = Receiver()
    try:
        ep2 = sim.backend.create_webhook_endpoint({"url": rx.url, "enabled_events": ["*"]})
        rx.secret = ep2["secret"]
        r = client.post("/_sim/trigger", json={"flow": "charge.dispute.created", "endpoint": ep2["id"],
                                               "faults": ["reverse"], "seed": 1})
        assert r.status_code == 200, r.get_json()
        report = r.get_json()
        assert report["ok"] and report["target"] == ep2["id"]
        assert [q["type"] for q in rx.requests] == list(reversed([e["type"] for e in report["events"]]))
        assert all(q["accepted"] for q in rx.requests)
    finally:
        rx.close()
    # the other endpoint got the same events honestly (in record order), signed with its own secret
    sim.engine.wait_idle(5)
    # the first endpoint's receiver knows a different secret: every attempt refused, retried 3 times
    assert len(receiver.requests) == len(report["events"]) * 4 and not any(q["accepted"] for q in receiver.requests)
    for e in report["events"]:
        assert sim.backend.events[e["id"]].pending_webhooks == 1  # only one of the two endpoints acknowledged


def test_control_plane_trigger_to_a_url_with_faults_and_adopted_intent(client, receiver):
    r = client.post("/_sim/trigger", json={"flow": "payment_intent.succeeded", "to": receiver.url, "secret": SECRET,
                                           "payment_intent": "pi_MadeByPosx0001", "amount": 1500,
                                           "faults": ["duplicate_concurrent:2", {"name": "missing_signature",
                                                                                 "type": "charge.updated"}]})
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["ok"] and report["payment_intent"] == "pi_MadeByPosx0001"
    assert len(receiver.requests) == 8
    refused = [q for q in receiver.requests if not q["accepted"]]
    assert len(refused) == 2 and all("No Stripe-Signature header" in q["error"] for q in refused)


def test_trigger_through_a_running_server(receiver, capsys):
    from simulator.core import Simulator
    from simulator.server import SimulatorServer

    with SimulatorServer(Simulator(seed=8, time_scale=100000)) as server:
        try:
            assert trigger("payment_intent.canceled", "--server", server.url, "--to", receiver.url,
                           "--secret", SECRET, "--fault", "duplicate:2") == 0
            assert [r["type"] for r in receiver.requests] == ["payment_intent.created"] * 2 + \
                ["payment_intent.canceled"] * 2
            # the server's 400 comes back as a usage error naming the option
            assert trigger("payment_intent.canceled", "--server", server.url, "--endpoint", "we_missing") == 2
            assert "argument --endpoint: no such webhook endpoint" in capsys.readouterr().err
        finally:
            server.sim.close()


def test_trigger_with_an_unreachable_server_exits_1(capsys):
    url = "http://127.0.0.1:%d" % free_port()
    assert trigger("payment_intent.created", "--server", url, "--to", "http://127.0.0.1:1/", "--secret", SECRET) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_the_one_line_ci_check_as_a_real_process(receiver):
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())",
           "trigger", "payment_intent.payment_failed", "--to", receiver.url,
           "--secret", SECRET, "--fault", "duplicate:2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok: 6 deliveries" in proc.stdout
    proc = subprocess.run(cmd[:-4] + ["--secret", "whsec_not_the_receivers"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.count("FAILED:") == 3
