"""Answers go out whole, each in one write, and in order over a kept-alive connection."""
import socket

import requests

from simulator.server import SimulatorServer


def test_answers_stay_whole_and_in_order_over_keep_alive():
    with SimulatorServer() as server:
        session = requests.Session()
        for _ in range(3):  # the same kept-alive connection: nothing left held between answers
            r = session.post(server.url + "/v1/payment_intents", auth=("sk_test_x", ""),
                             data={"amount": "1000", "currency": "usd"})
            assert r.status_code == 200 and r.json()["object"] == "payment_intent"
        r = session.get(server.url + "/v1/nothing_here", auth=("sk_test_x", ""))
        assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
        # A raw request: status line, headers and the whole body (one write, small enough for one recv).
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(b"GET /v1/payment_intents HTTP/1.1\r\nHost: x\r\n"
                        b"Authorization: Bearer sk_test_x\r\n\r\n")
            first = raw.recv(65536)
        head, _, body = first.partition(b"\r\n\r\n")
        length = int([line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")][0])
        assert head.startswith(b"HTTP/1.1 200") and len(body) == length
