"""Slow, stuck and idle clients against the reference receiver's default front (gunicorn +
uvicorn's event loop, harness/receiver/gunicorn_worker.py): the promise the simulator
makes (tests/simulator/test_slow_clients.py), held the same way on real sockets.

One worker with a one-thread pool, so a client that held a thread would show at once."""
from __future__ import annotations

import time

import pytest
import requests

from harness.receiver.server import GunicornReceiver
from tests.slowclients import close_all, connect, idle_keepalive_clients, is_closed_by_peer, stalled_clients

from .support import event, payment_intent, signed

WEBHOOK = "/api/v1/webhooks/stripe/"


@pytest.fixture
def serve(make_config, tmp_path, monkeypatch):
    started = []

    def start(**env) -> GunicornReceiver:
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        srv = GunicornReceiver(make_config(enable_fault_hooks=False), workers=1, threads=1,
                               extra_args=["--worker-class", "asgi"],
                               log_path=str(tmp_path / ("gunicorn-%d.log" % len(started))))
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.stop()


def test_200_slow_and_1000_idle_clients_do_not_stall_the_receiver(serve):
    srv = serve()
    order = requests.post(srv.url + "/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                          headers={"Authorization": "Bearer posx-test-token", "X-Site-Code": "NA"}, timeout=10).json()
    slow = idle = None
    try:
        slow = stalled_clients(srv.port, 200, path=WEBHOOK.encode())
        idle = idle_keepalive_clients(srv.port, 1000, path=b"/health")
        started = time.monotonic()
        assert requests.get(srv.url + "/health", timeout=10).status_code == 200
        body, headers = signed(event("payment_intent.succeeded", payment_intent(order)))
        answer = requests.post(srv.url + WEBHOOK, data=body, headers=headers, timeout=10)
        elapsed = time.monotonic() - started
        assert answer.status_code == 200 and answer.json()["result"] == "processed"
        assert elapsed < 5.0, elapsed  # served, not stalled (figures: docs/BENCHMARKS.md)
    finally:
        close_all(slow, idle)


def test_headers_that_stop_arriving_get_408(serve):
    srv = serve(POSX_HEADER_TIMEOUT=0.5)
    sock = stalled_clients(srv.port, 1, path=WEBHOOK.encode())[0]
    try:
        data = is_closed_by_peer(sock, timeout=10)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408") and b"headers did not arrive" in data


def test_a_body_that_stops_arriving_gets_408(serve):
    srv = serve(POSX_BODY_TIMEOUT=0.5)
    with connect(srv.port) as sock:
        sock.sendall(b"POST " + WEBHOOK.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"id\": \"ev")
        data = is_closed_by_peer(sock, timeout=10)
    assert data.startswith(b"HTTP/1.1 408") and b"body did not arrive" in data


def test_past_the_connection_cap_a_request_gets_503(serve):
    srv = serve(POSX_MAX_CONNECTIONS=4)
    held = idle_keepalive_clients(srv.port, 4, path=b"/health")
    try:
        answer = requests.get(srv.url + "/health", timeout=10)
        assert answer.status_code == 503
    finally:
        close_all(held)
