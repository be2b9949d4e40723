"""Security defaults, one test each: loopback binds, test-mode keys only, a control token
off loopback, no secret in the logs, constant-time comparisons, and a receiver that
refuses stale signatures and oversized bodies.

Nothing here listens on or sends to a non-loopback address: the decision to require a
token is tested on the function and the app that make it.
"""
from __future__ import annotations

import argparse
import hmac
import json
import logging
import time

import pytest
import requests
from werkzeug.test import Client

from harness.receiver.app import MAX_BODY, WEBHOOK_PATH, ReceiverApp
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import GunicornReceiver, ReceiverServer
from simulator.api import create_app
from simulator.core import Simulator
from simulator.server import SimulatorServer, is_loopback
from simulator.signing import generate_header

SECRET = "whsec_security_full_secret_9f8e7d6c5b4a"
SK = "sk_test_security_full_key_0a1b2c3d4e5f6a7b"
TOKEN = "posx-test-token"


# -- 1. loopback by default ---------------------------------------------------------------

def test_simulator_binds_loopback_by_default():
    with SimulatorServer(Simulator(delivery=False)) as server:
        assert server.host == "127.0.0.1"
        assert server._server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:")


def test_cli_defaults_are_loopback(monkeypatch):
    from harness.cli import receiver as receiver_cli
    from simulator.cli import serve

    monkeypatch.delenv("STRIPE_SIM_HOST", raising=False)
    for module in (serve, receiver_cli):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        assert parser.parse_args([]).host == "127.0.0.1", module.__name__


def test_receiver_servers_bind_loopback_by_default(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % (tmp_path / "r.db"))
    assert GunicornReceiver(config).host == "127.0.0.1"
    with ReceiverServer(config) as server:
        assert server._server.socket.getsockname()[0] == "127.0.0.1"


# -- 2. the Stripe API wants a test-mode secret key ---------------------------------------

@pytest.mark.parametrize("authorization, status", [
    (None, 401), ("Bearer pk_test_abc123", 401), ("Bearer sk_live_abcdefghijklmnop1234", 401),
    ("Bearer rk_test_abcdef", 401), ("Bearer sk_test_", 401), ("Bearer whsec_abc", 401), ("Bearer " + SK, 200),
])
def test_stripe_api_requires_a_sk_test_key(authorization, status):
    client = create_app(Simulator(delivery=False)).test_client()
    headers = {"Authorization": authorization} if authorization else {}
    resp = client.get("/v1/account", headers=headers)
    assert resp.status_code == status, resp.get_data()
    if status == 401:
        body = resp.get_json()
        assert body["error"]["type"] == "invalid_request_error"
        assert "abcdefghijklmnop1234" not in body["error"]["message"], "a key echoed back unredacted"


# -- 3. control plane and dashboard need a token off loopback -----------------------------

@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False),
                                            ("10.1.2.3", False), ("192.168.0.10", False), ("example.com", False)])
def test_is_loopback_decides_the_token_requirement(host, loopback):
    assert is_loopback(host) is loopback


CONTROL_PATHS = ["/_sim/health", "/_sim/state", "/_sim/deliveries", "/_sim/dashboard/"]


@pytest.fixture
def sim():
    s = Simulator()  # with its delivery engine, so /_sim/deliveries exists
    yield s
    s.close()


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_non_loopback_without_a_token_refuses_the_control_plane(sim, path):
    client = create_app(sim, require_control_token=True).test_client()
    resp = client.get(path)
    assert resp.status_code == 403, (path, resp.get_data()[:200])
    assert "control token" in resp.get_json()["error"]["message"]
    # The Stripe API itself stays usable (it has its own keys).
    assert client.get("/v1/account", headers={"Authorization": "Bearer " + SK}).status_code == 200


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_with_a_token_the_control_plane_wants_it(sim, path):
    token = "ctl-token-0123456789"
    client = create_app(sim, control_token=token, require_control_token=True).test_client()
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-Sim-Token": "wrong"}).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer " + token[:-1]}).status_code == 401
    assert client.get(path, headers={"X-Sim-Token": token}).status_code == 200
    assert client.get(path, headers={"Authorization": "Bearer " + token}).status_code == 200


def test_dashboard_takes_the_token_once_in_the_query_then_a_cookie():
    token = "ctl-token-dashboard-42"
    client = create_app(Simulator(delivery=False), control_token=token, require_control_token=True).test_client()
    assert client.get("/_sim/dashboard/?token=nope").status_code == 401
    resp = client.get("/_sim/dashboard/?token=" + token)
    assert resp.status_code == 303 and token not in resp.headers["Location"]
    assert "HttpOnly" in resp.headers["Set-Cookie"] and "SameSite=Strict" in resp.headers["Set-Cookie"]
    assert client.get("/_sim/dashboard/").status_code == 200  # the cookie now


def test_simulator_server_off_loopback_builds_a_guarded_app(monkeypatch):
    """SimulatorServer wires is_loopback into the app; checked without binding anything."""
    class NoSocket:
        def stop(self):
            pass

    server = SimulatorServer(Simulator(delivery=False), host="0.0.0.0")
    monkeypatch.setattr(server, "_build_loop", lambda app: (NoSocket(), lambda: None))
    server.start()
    try:
        assert server.app.test_client().get("/_sim/health").status_code == 403
    finally:
        server.stop()


def test_stripe_sim_serve_generates_a_token_off_loopback(monkeypatch):
    import simulator.server
    from simulator.cli import serve

    seen = {}

    class Recorder:
        def __init__(self, sim, host, port, control_token=None, **kw):
            seen.update(host=host, token=control_token)

        def start(self):
            raise OSError("not binding in a test")

    monkeypatch.setattr(simulator.server, "SimulatorServer", Recorder)
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    monkeypatch.delenv("STRIPE_SIM_CONTROL_TOKEN", raising=False)
    assert serve.run(parser.parse_args(["--host", "0.0.0.0", "--port", "0"])) == 2
    assert seen["host"] == "0.0.0.0" and seen["token"] and len(seen["token"]) >= 24
    seen.clear()
    assert serve.run(parser.parse_args(["--host", "127.0.0.1", "--port", "0"])) == 2
    assert seen["token"] is None  # loopback: no token needed


def test_receiver_admin_hooks_are_absent_unless_enabled(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % (tmp_path / "r.db"))
    app = ReceiverApp(config, start_worker=False)
    try:
        client = Client(app)
        for method, path in (("GET", "/_posx/faults/"), ("POST", "/_posx/faults/"), ("POST", "/_posx/orders/bulk/"),
                             ("GET", "/_posx/stats/")):
            assert client.open(path, method=method, json={"crash_next": 1}).status_code == 404, path
    finally:
        app.close()


# -- 4. secrets never logged in full ------------------------------------------------------

def test_a_full_run_never_logs_a_secret_or_key_in_full(tmp_path, caplog):
    """Simulator + receiver in one process, every logger at DEBUG: an order paid through the
    official SDK, a forged delivery, a bad key, a live key; the whole log is searched."""
    caplog.set_level(logging.DEBUG)
    sim = Simulator(seed=5, time_scale=1000)
    with SimulatorServer(sim) as stripe_server:
        config = ReceiverConfig(webhook_secret=SECRET, stripe_secret_key=SK, stripe_api_base=stripe_server.url,
                                database_url="sqlite:///%s" % (tmp_path / "posx.db"), outbox_poll_interval=0.01)
        with ReceiverServer(config) as receiver:
            api = requests.Session()
            api.headers["Authorization"] = "Bearer " + SK
            r = api.post(stripe_server.url + "/v1/webhook_endpoints", data={
                "url": receiver.url + WEBHOOK_PATH, "enabled_events[]": "*", "secret": SECRET})
            assert r.status_code == 200, r.text
            order = requests.post(receiver.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                                  headers={"Authorization": "Bearer " + TOKEN, "X-Site-Code": "NA"}).json()
            r = api.post(stripe_server.url + "/v1/payment_intents/%s/confirm" % order["stripe_payment_intent_id"],
                         data={"payment_method": "pm_card_visa"})
            assert r.status_code == 200, r.text
            deadline = time.monotonic() + 20
            view = {}
            while time.monotonic() < deadline:
                view = requests.get(receiver.url + "/api/v1/orders/%s/" % order["id"],
                                    headers={"Authorization": "Bearer " + TOKEN}).json()
                if view["status"] == "paid" and view["allocations"] and view["commissions"]:
                    break
                time.sleep(0.05)  # polling the order's state with a deadline
            assert view.get("status") == "paid" and len(view["allocations"]) == 1, view
            body = json.dumps({"id": "evt_forged", "type": "payment_intent.succeeded"}).encode()
            forged = requests.post(receiver.url + WEBHOOK_PATH, data=body,
                                   headers={"Stripe-Signature": generate_header(body, "whsec_other")})
            assert forged.status_code == 400
            assert requests.get(stripe_server.url + "/v1/account",
                                headers={"Authorization": "Bearer sk_live_" + SK[8:]}).status_code == 401
    sim.close()
    text = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in caplog.records)
    assert "POSX receiver ready" in text and "Signature verification failed" in text, "the log was not captured"
    assert SECRET not in text, "the webhook secret appears in full in the log"
    assert SK not in text and SK[8:] not in text, "the API key appears in full in the log"


def test_gunicorn_receiver_log_has_no_full_secret(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    config = ReceiverConfig(webhook_secret=SECRET, stripe_secret_key=SK, mock_stripe=True,
                            database_url="sqlite:///%s" % (tmp_path / "posx.db"))
    receiver = GunicornReceiver(config, workers=1, threads=2, log_level="debug", log_path=str(log_path))
    receiver.start()
    try:
        body = b'{"id": "evt_x", "type": "payment_intent.succeeded"}'
        assert requests.post(receiver.url + WEBHOOK_PATH, data=body,
                             headers={"Stripe-Signature": generate_header(body, "whsec_wrong")}).status_code == 400
    finally:
        receiver.stop()
    text = log_path.read_text(errors="replace")
    assert "POSX receiver ready" in text, text[-2000:]
    assert SECRET not in text and SK not in text, "a secret appears in full in the gunicorn log"


# -- 5. constant-time comparisons ----------------------------------------------------------

class CompareSpy:
    def __init__(self, monkeypatch):
        self.calls = 0
        real = hmac.compare_digest

        def spy(a, b):
            self.calls += 1
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", spy)


def test_receiver_signature_check_uses_compare_digest(tmp_path, monkeypatch):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % (tmp_path / "r.db"))
    app = ReceiverApp(config, start_worker=False)
    try:
        spy = CompareSpy(monkeypatch)
        body = b'{"id": "evt_ct", "object": "event", "type": "customer.created", "data": {"object": {}}}'
        client = Client(app)
        assert client.post(WEBHOOK_PATH, data=body, headers={"Stripe-Signature": generate_header(body, SECRET)}).status_code == 200
        good = spy.calls
        assert good >= 1, "the receiver's signature check did not go through hmac.compare_digest"
        assert client.post(WEBHOOK_PATH, data=body, headers={"Stripe-Signature": generate_header(body, "whsec_no")}).status_code == 400
        assert spy.calls > good
    finally:
        app.close()


def test_control_token_check_uses_compare_digest(monkeypatch):
    client = create_app(Simulator(delivery=False), control_token="tok-123456").test_client()
    spy = CompareSpy(monkeypatch)
    assert client.get("/_sim/health", headers={"X-Sim-Token": "tok-123456"}).status_code == 200
    assert client.get("/_sim/health", headers={"X-Sim-Token": "tok-12345x"}).status_code == 401
    assert spy.calls == 2


def test_receiver_api_token_check_uses_compare_digest(tmp_path, monkeypatch):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % (tmp_path / "r.db"))
    app = ReceiverApp(config, start_worker=False)
    try:
        spy = CompareSpy(monkeypatch)
        client = Client(app)
        assert client.get("/api/v1/orders/nope/", headers={"Authorization": "Bearer posx-test-tokem"}).status_code == 401
        assert spy.calls >= 1, "the API token is compared with ==/in, whose time depends on the matching prefix"
        assert client.get("/api/v1/orders/nope/", headers={"Authorization": "Bearer " + TOKEN}).status_code == 404
    finally:
        app.close()


# -- 6. the receiver refuses stale signatures and oversized bodies --------------------------

@pytest.mark.parametrize("age, status", [(0, 200), (290, 200), (301, 400), (3600, 400), (-3600, 200)])
def test_receiver_enforces_the_signature_tolerance(tmp_path, age, status):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % (tmp_path / "r.db"))
    app = ReceiverApp(config, start_worker=False)
    try:
        body = b'{"id": "evt_age", "object": "event", "type": "customer.created", "data": {"object": {}}}'
        header = generate_header(body, SECRET, timestamp=int(time.time()) - age)
        resp = Client(app).post(WEBHOOK_PATH, data=body, headers={"Stripe-Signature": header})
        assert resp.status_code == status, resp.get_data()
        if status == 400:
            assert resp.get_json() == {"error": "Invalid signature"}
    finally:
        app.close()


def test_receiver_refuses_a_body_over_the_limit_before_reading_it(tmp_path):
    config = ReceiverConfig(webhook_secret=SECRET, mock_stripe=True, database_url="sqlite:///%s" % (tmp_path / "r.db"))
    app = ReceiverApp(config, start_worker=False)
    try:
        class Unreadable:
            def read(self, *a):
                raise AssertionError("the oversized body was read")

        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": WEBHOOK_PATH, "CONTENT_LENGTH": str(MAX_BODY + 1),
                   "wsgi.input": Unreadable(), "HTTP_STRIPE_SIGNATURE": "t=1,v1=00"}
        status = []
        body = b"".join(app(environ, lambda s, h: status.append(s)))
        assert status == ["413 Payload Too Large"]
        assert "bytes" in json.loads(body)["error"]
    finally:
        app.close()


# -- a key pasted where a webhook secret belongs is not echoed back whole -------------------

MISPLACED = "sk_test_pasted_in_the_wrong_place_0123456789"


def test_trigger_cli_does_not_echo_a_misplaced_key(capsys):
    from simulator.cli import main

    with pytest.raises(SystemExit):
        main(["trigger", "payment_intent.succeeded", "--to", "http://127.0.0.1:9/hook", "--secret", MISPLACED])
    err = capsys.readouterr().err
    assert "whsec_" in err, err  # it still says what is wrong
    assert MISPLACED not in err and MISPLACED[8:] not in err, err


def test_control_plane_does_not_echo_a_misplaced_key(sim):
    client = create_app(sim).test_client()
    resp = client.post("/_sim/trigger", json={"flow": "payment_intent.succeeded", "to": "http://127.0.0.1:9/hook",
                                              "secret": MISPLACED})
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "whsec_" in text and MISPLACED not in text and MISPLACED[8:] not in text, text
