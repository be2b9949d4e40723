"""`stripe-sim listen --forward-to` as a developer runs it: three real processes (the
simulator, listen, and this test paying through the official SDK) and a receiver that
verifies every webhook with the secret listen printed."""
import re
import shutil
import subprocess

import pytest
import requests
import stripe

from tests.cli.support import VerifyingReceiver, serve, stripe_sim

EVENT_OUT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d   --> (\S+) \[(evt_\w+)\]$")
EVENT_BACK = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  <--  \[(\d{3})\] POST (\S+) \[(evt_\w+)\]$")


@pytest.fixture
def simulator():
    # A fast simulated clock: the charge.updated that follows a payment by ~3 s comes at once.
    proc, url = serve("--time-scale", "20")
    try:
        yield url
    finally:
        proc.interrupt()


@pytest.fixture
def receiver():
    r = VerifyingReceiver()
    try:
        yield r
    finally:
        r.close()


def _events_of(url: str, pi: str) -> list[dict]:
    page = requests.get(url + "/v1/events", params={"limit": 100}, auth=("sk_test_listen", ""), timeout=10).json()
    out = []
    for ev in page["data"]:
        obj = ev["data"]["object"]
        if obj.get("id") == pi or obj.get("payment_intent") == pi:
            out.append(ev)
    return out


def test_listen_forwards_every_event_of_an_sdk_payment_signed_with_the_printed_secret(simulator, receiver):
    listen = stripe_sim("listen", "--forward-to", receiver.url, "--server", simulator)
    try:
        ready = listen.expect(lambda l: "Ready!" in l, what="the Ready line")
        secret = re.search(r"Your webhook signing secret is (whsec_\w+)", ready).group(1)
        receiver.secret = secret

        client = stripe.StripeClient("sk_test_listen", base_addresses={"api": simulator})
        pi = client.v1.payment_intents.create(params={"amount": 4200, "currency": "usd",
                                                      "payment_method": "pm_card_visa", "confirm": True})
        assert pi.status == "succeeded"
        receiver.wait_for(lambda got: any(e["type"] == "charge.updated" and e["data"]["object"].get("payment_intent") == pi.id
                                          for e in got))
        expected = {e["id"]: e["type"] for e in _events_of(simulator, pi.id)}
        assert set(expected.values()) >= {"payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                          "charge.updated"}
        got = {e["id"]: e["type"] for e in receiver.verified}
        assert got == expected and receiver.rejected == []

        # One line each way per event, in the Stripe CLI's shape.
        def answered(lines):
            return {m.group(3) for m in map(EVENT_BACK.match, lines) if m} >= set(expected)
        listen.until(answered, what="a <-- line for every event")
        outs = {m.group(2): m.group(1) for m in map(EVENT_OUT.match, listen.lines) if m}
        backs = {m.group(3): (m.group(1), m.group(2)) for m in map(EVENT_BACK.match, listen.lines) if m}
        assert outs == expected
        assert backs == {eid: ("200", receiver.url) for eid in expected}

        endpoints = requests.get(simulator + "/v1/webhook_endpoints", auth=("sk_test_listen", ""), timeout=10).json()
        (ep,) = endpoints["data"]
        assert "listen" in ep["description"] and receiver.url in ep["description"]
    finally:
        rc = listen.interrupt()
    assert rc == 0, listen.lines
    assert any("removed" in l for l in listen.lines)
    # Ctrl-C took its endpoint away: nothing more is sent anywhere.
    left = requests.get(simulator + "/v1/webhook_endpoints", auth=("sk_test_listen", ""), timeout=10).json()
    assert left["data"] == []

    # The secret is the same the next time for the same simulator and URL (a .env keeps working),
    # and --print-secret says so without starting; another URL gets another secret.
    again = stripe_sim("listen", "--forward-to", receiver.url, "--server", simulator)
    try:
        line = again.expect(lambda l: "Ready!" in l, what="the second Ready line")
        assert secret in line
    finally:
        again.interrupt()
    printed = stripe_sim("listen", "--forward-to", receiver.url, "--print-secret", "--server", simulator)
    assert printed.popen.wait(15) == 0
    assert printed.expect(lambda l: l.startswith("whsec_")) == secret
    other = stripe_sim("listen", "--forward-to", receiver.url + "other/", "--print-secret", "--server", simulator)
    assert other.popen.wait(15) == 0
    assert other.expect(lambda l: l.startswith("whsec_")) != secret


def test_listen_events_filter_and_json_format(simulator, receiver):
    listen = stripe_sim("listen", "-f", receiver.url.replace("http://", ""), "--events",
                        "payment_intent.succeeded,charge.refunded", "--format", "json", "--server", simulator)
    try:
        # JSON mode: stdout is only JSON lines, so the Ready line goes to stderr; the secret comes from --print-secret.
        printed = stripe_sim("listen", "--forward-to", receiver.url, "--print-secret", "--server", simulator)
        assert printed.popen.wait(15) == 0
        receiver.secret = printed.expect(lambda l: l.startswith("whsec_"))
        client = stripe.StripeClient("sk_test_listen", base_addresses={"api": simulator})
        pi = client.v1.payment_intents.create(params={"amount": 1500, "currency": "usd",
                                                      "payment_method": "pm_card_visa", "confirm": True})
        client.v1.refunds.create(params={"payment_intent": pi.id})
        import json

        answers = []
        while len(answers) < 2:
            line = listen.expect(lambda l: l.startswith("{"), what="a JSON line")
            doc = json.loads(line)
            if doc.get("object") == "forward_result":
                answers.append(doc)
        assert [(a["type"], a["status"]) for a in answers] == [("payment_intent.succeeded", 200), ("charge.refunded", 200)]
        events = [json.loads(l) for l in listen.lines if l.startswith('{"id"')]
        assert [e["type"] for e in events] == ["payment_intent.succeeded", "charge.refunded"]
        assert {e["type"] for e in receiver.verified} == {"payment_intent.succeeded", "charge.refunded"}
    finally:
        assert listen.interrupt() == 0


def test_listen_refuses_bad_input_clearly(simulator):
    from simulator.cli import main

    assert main(["listen", "--server", simulator]) == 2
    assert main(["listen", "--forward-to", "ftp://x/y", "--server", simulator]) == 2
    assert main(["listen", "--forward-to", "localhost:1/x", "--events", "no.such_event", "--server", simulator]) == 2
    assert main(["listen", "--forward-to", "localhost:1/x", "--server", "http://127.0.0.1:9"]) == 3
    r = requests.post(simulator + "/_sim/listen", json={"forward_to": 5}, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["field"] == "forward_to"
    r = requests.get(simulator + "/_sim/listen/lis_nope/next", params={"wait": "soon"}, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["field"] == "wait"
    r = requests.get(simulator + "/_sim/listen/lis_nope/next", timeout=5)
    assert r.status_code == 404
    # The relay only takes deliveries signed with its session's secret.
    r = requests.post(simulator + "/_listen/lis_nope", data=b"{}", timeout=5)
    assert r.status_code == 410


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_skip_verify_forwards_to_https_with_a_self_signed_certificate(simulator, tmp_path):
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    receiver = VerifyingReceiver(tls=(str(crt), str(key)))
    client = stripe.StripeClient("sk_test_listen", base_addresses={"api": simulator})
    try:
        for flags, expect in (([], "[ERROR] Failed to POST: SSLError"), (["--skip-verify"], "<--  [200] POST https://")):
            listen = stripe_sim("listen", "--forward-to", receiver.url, "--events", "payment_intent.created",
                                "--server", simulator, *flags)
            try:
                receiver.secret = re.search(r"(whsec_\w+)", listen.expect(lambda l: "Ready!" in l)).group(1)
                client.v1.payment_intents.create(params={"amount": 300, "currency": "usd"})
                listen.expect(lambda l: expect in l, what=expect)
            finally:
                assert listen.interrupt() == 0
        # Without --skip-verify the certificate was refused, and the simulator logged a failed delivery (502).
        log = requests.get(simulator + "/_sim/deliveries", params={"type": "payment_intent.created"}, timeout=5).json()
        assert [e["status"] for e in log["data"]][:2] == [502, 200]
        assert "could not POST" in log["data"][0]["response_head"]
        assert len(receiver.verified) == 1
    finally:
        receiver.close()
