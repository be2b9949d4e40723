"""Malformed HTTP on the wire against both servers as they really run: the simulator on
its event-loop front, the reference receiver under gunicorn.

Garbage request lines, absurd headers, lying Content-Lengths, broken and oversized
chunked bodies: each gets a 4xx or a closed connection, never a 5xx, and the server keeps
serving normal requests afterwards. (Clients that stall half-way through a request:
tests/simulator/test_slow_clients.py.)
"""
from __future__ import annotations

import re
import socket

import pytest
import requests

from simulator.core import Simulator
from simulator.server import SimulatorServer
from tests.faults.support import gunicorn_receiver

STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")

MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "no_version": b"GET /\r\n\r\n",
    "binary": b"\x00\xff\xfe\x16\x03\x01\x02\x00\x01\x00\r\n\r\n",  # a TLS hello on a plain port
    "bad_version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    "huge_header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    "many_headers": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n",
    "negative_length": b"POST %(path)s HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nabc",
    "word_length": b"POST %(path)s HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\nabc",
    "lying_length": b"POST %(path)s HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc",
    "bad_chunk": b"POST %(path)s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "both_lengths": (b"POST %(path)s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n0\r\n\r\n"),
    "header_no_colon": b"GET / HTTP/1.1\r\nHost x\r\nBroken\r\n\r\n",
    "unicode_path": "GET /v1/événements/\u2028 HTTP/1.1\r\nHost: x\r\n\r\n".encode("utf-8"),
}


def exchange(port: int, raw: bytes, timeout: float = 1.5) -> bytes:
    """Send ``raw``; read one answer (or until the server closes or goes quiet)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server hung up mid-send: a refusal, not a crash
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                head, sep, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if sep and length and len(body) >= int(length.group(1)):
                    break  # one whole answer
        except (socket.timeout, ConnectionResetError):
            pass
        return data


def assert_refused_cleanly(name: str, answer: bytes) -> None:
    m = STATUS.match(answer)
    if m:  # an answer: it must not be a server error (505 is HTTP's own word for HTTP/9.9)
        assert not m.group(1).startswith(b"5") or (name == "bad_version" and m.group(1) == b"505"), \
            "%s -> %r" % (name, answer[:300])


@pytest.fixture(scope="module")
def simulator_port():
    sim = Simulator(delivery=False)
    with SimulatorServer(sim) as server:
        yield server.port, server.url


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    with gunicorn_receiver("sqlite", str(tmp_path_factory.mktemp("wire")), workers=1, threads=4) as srv:
        yield srv


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_simulator_refuses_malformed_http_and_keeps_serving(simulator_port, name):
    port, url = simulator_port
    assert_refused_cleanly(name, exchange(port, MALFORMED[name].replace(b"%(path)s", b"/v1/payment_intents")))
    r = requests.get(url + "/v1/account", headers={"Authorization": "Bearer sk_test_wire"}, timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_receiver_refuses_malformed_http_and_keeps_serving(receiver, name):
    port = int(receiver.url.rsplit(":", 1)[1])
    assert_refused_cleanly(name, exchange(port, MALFORMED[name].replace(b"%(path)s", b"/api/v1/webhooks/stripe/")))
    assert requests.get(receiver.url + "/health", timeout=10).status_code == 200
    assert receiver.proc.poll() is None


def _chunked(path: bytes, size: int) -> bytes:
    chunk = b"a" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(size // len(chunk)))
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_wire\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
            + body + b"0\r\n\r\n")


def test_simulator_limits_chunked_bodies_too(simulator_port):
    """No Content-Length to check up front: the 1 MiB limit must hold while reading."""
    port, _ = simulator_port
    answer = exchange(port, _chunked(b"/v1/payment_intents", 3 * 1024 * 1024))
    assert STATUS.match(answer) and STATUS.match(answer).group(1) == b"413", answer[:300]
    assert b'"error"' in answer


def test_receiver_ignores_a_huge_chunked_webhook(receiver):
    port = int(receiver.url.rsplit(":", 1)[1])
    answer = exchange(port, _chunked(b"/api/v1/webhooks/stripe/", 3 * 1024 * 1024))
    m = STATUS.match(answer)
    assert m and m.group(1) in (b"400", b"413"), answer[:300]
    assert requests.get(receiver.url + "/health", timeout=10).status_code == 200
