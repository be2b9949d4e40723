"""SimulatorServer on a real socket: free port, start/stop, failures surface on stop."""
import socket
import time

import pytest
import requests

from simulator.core import Simulator
from simulator.server import SimulatorServer, is_loopback
from tests.simulator.doubles import DoubleBackend

AUTH = {"Authorization": "Bearer sk_test_srv"}


def make_sim():
    return Simulator(seed=1, backend=DoubleBackend())


@pytest.mark.parametrize("kind", ["loop", "waitress", "werkzeug"])
def test_serves_on_a_free_port_and_stops(kind):
    server = SimulatorServer(make_sim(), server=kind)
    with server:
        assert server.running and server.port > 0
        url = server.url
        assert url == "http://127.0.0.1:%d" % server.port
        with requests.Session() as s:  # keep-alive across requests
            for amount in (100, 200):
                r = s.post(server.url + "/v1/payment_intents", data={"amount": amount}, headers=AUTH, timeout=5)
                assert r.status_code == 200 and r.json()["amount"] == amount
            assert s.get(server.url + "/_sim/health", timeout=5).json()["status"] == "ok"
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sim/health", timeout=2)


def test_url_before_start_and_double_start_are_errors():
    server = SimulatorServer(make_sim())
    with pytest.raises(RuntimeError, match="not started"):
        server.url
    with server:
        with pytest.raises(RuntimeError, match="already started"):
            server.start()


def test_busy_port_fails_start():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(OSError):
            SimulatorServer(make_sim(), port=s.getsockname()[1]).start()


def test_a_request_that_hit_the_safety_net_fails_stop():
    sim = make_sim()
    server = SimulatorServer(sim).start()
    sim.backend.explode = True
    r = requests.post(server.url + "/v1/payment_intents", data={"amount": 1}, headers=AUTH, timeout=5)
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
    with pytest.raises(RuntimeError, match="unexpected error"):
        server.stop()


class CrashingServer(SimulatorServer):
    """Its serving loop dies at once, as a real one would on a fatal socket error."""

    def _build_werkzeug(self, app):
        server, _ = super()._build_werkzeug(app)

        def serve():
            raise OSError("listener died")

        return server, serve


def test_a_crashed_server_thread_is_reraised_on_stop():
    server = CrashingServer(make_sim(), server="werkzeug").start()
    server._thread.join(5)
    assert not server.running
    with pytest.raises(RuntimeError, match="listener died"):
        server.stop()


def test_default_sim_and_non_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    with pytest.raises(ValueError):
        SimulatorServer(make_sim(), server="tornado")


def test_pipelined_and_chunked_requests_on_one_connection():
    """Two requests in one write (the second waits in the read buffer), then a chunked body."""
    with SimulatorServer(make_sim()) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            one = ("POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_p\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\namount=%03d")
            s.sendall((one % 101 + one % 202).encode())
            chunked = ("POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_p\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "a\r\namount=303\r\n0\r\n\r\n")
            received = b""
            deadline = time.monotonic() + 5
            sent_chunked = False
            while received.count(b"latest_charge") < 3 and time.monotonic() < deadline:
                if not sent_chunked and received.count(b"latest_charge") == 2:
                    s.sendall(chunked.encode())
                    sent_chunked = True
                data = s.recv(65536)
                if not data:
                    break
                received += data
    assert received.count(b"HTTP/1.1 200") == 3, received
    for amount in (b'"amount":101', b'"amount":202', b'"amount":303'):
        assert amount in received


def test_a_server_without_a_simulator_makes_one_and_closes_it():
    import stripe

    with SimulatorServer() as server:
        client = stripe.StripeClient("sk_test_own", base_addresses={"api": server.url}, max_network_retries=0)
        # An endpoint with nothing behind it: the engine starts its threads to try deliveries.
        client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]})
        pi = client.v1.payment_intents.create(params={"amount": 700, "currency": "usd",
                                                      "payment_method": "pm_card_visa", "confirm": True})
        assert pi.status == "succeeded"
        engine = server.sim.engine
        deadline = time.monotonic() + 5
        while not engine._threads and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for the engine's lazy start, with a deadline
        assert engine._threads
    assert engine._threads == [], "the delivery threads of a simulator the server made must stop with it"
