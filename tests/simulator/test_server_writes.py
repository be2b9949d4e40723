"""The cheroot gateway sends an answer's headers and body in one write (server.py)."""
import socket

import requests

from simulator.server import SimulatorServer, _SocketWriter


class RecordingSocket:
    def __init__(self):
        self.sent = []

    def sendall(self, data):
        self.sent.append(bytes(data))


def test_held_headers_go_out_with_the_first_body_chunk():
    sock = RecordingSocket()
    out = _SocketWriter(sock)
    out.hold()
    out.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert sock.sent == []
    out.write(b"body-1")
    out.write(b"body-2")  # later chunks stream as they come
    out.release()
    assert sock.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody-1", b"body-2"]
    assert out.bytes_written == len(b"HTTP/1.1 200 OK\r\n\r\nbody-1body-2")


def test_an_answer_without_a_body_is_sent_at_release():
    sock = RecordingSocket()
    out = _SocketWriter(sock)
    out.hold()
    out.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    out.release()
    out.write(b"next")  # not holding any more
    assert sock.sent == [b"HTTP/1.1 204 No Content\r\n\r\n", b"next"]


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
