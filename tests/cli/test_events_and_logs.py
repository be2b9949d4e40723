"""`stripe-sim events list|resend` and `stripe-sim logs tail` against a real simulator:
through main(argv), and tailing as a running process."""
import itertools
import re
import time

import pytest
import requests
import stripe

from simulator.cli import main
from simulator.core import Simulator
from simulator.server import SimulatorServer
from tests.cli.support import VerifyingReceiver, serve, stripe_sim


@pytest.fixture(scope="module")
def stack():
    receiver = VerifyingReceiver()
    sim = Simulator(seed=23)
    with SimulatorServer(sim) as server:
        client = stripe.StripeClient("sk_test_events", base_addresses={"api": server.url})
        ep = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"]})
        receiver.secret = ep.secret
        pi = client.v1.payment_intents.create(params={"amount": 1200, "currency": "usd", "payment_method": "pm_card_visa",
                                                      "confirm": True},
                                              options={"idempotency_key": "order-123-pay"})
        sim.engine.wait_for(type="payment_intent.succeeded", endpoint=ep.id, outcome="succeeded")
        yield {"sim": sim, "server": server, "client": client, "endpoint": ep, "pi": pi, "receiver": receiver}
    sim.close()
    receiver.close()


def test_events_list_newest_first_and_as_json(stack, capsys):
    assert main(["events", "list", "--limit", "3", "--server", stack["server"].url]) == 0
    lines = capsys.readouterr().out.splitlines()
    ids = [re.search(r"(evt_\w+)", l).group(1) for l in lines if "evt_" in l and not l.startswith("...")]
    newest = list(reversed(list(stack["sim"].backend.events)))[:3]
    assert ids == newest
    assert main(["events", "list", "--type", "payment_intent.succeeded", "--json", "--server", stack["server"].url]) == 0
    import json

    page = json.loads(capsys.readouterr().out)
    assert [e["data"]["object"]["id"] for e in page["data"]] == [stack["pi"].id]
    with pytest.raises(SystemExit) as exc:  # argparse refuses it, naming the option
        main(["events", "list", "--limit", "500", "--server", stack["server"].url])
    assert exc.value.code == 2 and "--limit: must be between 1 and 100" in capsys.readouterr().err

def test_events_resend_to_one_endpoint_makes_a_fresh_attempt(stack, capsys):
    sim, ep = stack["sim"], stack["endpoint"]
    (first,) = sim.engine.log.query(type="payment_intent.succeeded", endpoint=ep.id)
    event_id = first["event_id"]
    assert main(["events", "resend", event_id, "--webhook-endpoint", ep.id, "--server", stack["server"].url]) == 0
    assert capsys.readouterr().out.strip() == "resent %s to %s" % (event_id, ep.id)
    attempts = sim.engine.wait_for(event=event_id, endpoint=ep.id, count=2)
    assert attempts[-1]["origin"] == "resend" and attempts[-1]["status"] == 200
    assert [e["id"] for e in stack["receiver"].verified].count(event_id) == 2

    # Unknown event or endpoint: a usage error that names it, nothing sent.
    assert main(["events", "resend", "evt_nope", "--server", stack["server"].url]) == 2
    assert "no such event: evt_nope" in capsys.readouterr().err
    assert main(["events", "resend", event_id, "--webhook-endpoint", "we_nope", "--server", stack["server"].url]) == 2
    assert "we_nope" in capsys.readouterr().err
    assert len(sim.engine.log.query(event=event_id)) == 2


def test_logs_tail_history_shows_method_path_status_request_id_and_idempotency_key(stack, capsys):
    assert main(["logs", "tail", "--history", "50", "--no-follow", "--filter-http-method", "POST",
                 "--filter-request-path", "/v1/payment_intents", "--server", stack["server"].url]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[200\] POST /v1/payment_intents \[req_\w+\] "
                    r"idempotency_key=order-123-pay$", line), line
    # Same request id as the API answered.
    entry = [e for e in stack["sim"].request_log.last(50) if e["path"] == "/v1/payment_intents"][0]
    assert entry["request_id"] in line
    assert main(["logs", "tail", "--filter-status-code-type", "3YY", "--server", stack["server"].url]) == 2


def test_logs_tail_follows_a_running_simulator_until_ctrl_c():
    proc, url = serve()
    try:
        tail = stripe_sim("logs", "tail", "--server", url)
        try:
            # The tail follows from the moment it connects, which this test cannot see (its Ready
            # goes to stderr): make requests, each with its own key, until one is reported.
            client = stripe.StripeClient("sk_test_tail", base_addresses={"api": url})
            deadline = time.monotonic() + 15
            for n in itertools.count():
                client.v1.payment_intents.create(params={"amount": 700, "currency": "usd"},
                                                 options={"idempotency_key": "tail-key-%d" % n})
                try:
                    line = tail.expect(lambda l: "POST /v1/payment_intents" in l, timeout=0.5, what="a create")
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "logs tail reported nothing: %s" % tail.lines
            assert re.search(r"\[200\] POST /v1/payment_intents \[req_\w+\] idempotency_key=tail-key-\d+$", line)
            bad = requests.post(url + "/v1/payment_intents", data={"amount": "lots"}, auth=("sk_test_tail", ""), timeout=5)
            assert bad.status_code == 400
            line = tail.expect(lambda l: "[400]" in l, what="the refused request")
            assert "POST /v1/payment_intents [%s]" % bad.headers["Request-Id"] in line
        finally:
            assert tail.interrupt() == 0
    finally:
        proc.interrupt()
