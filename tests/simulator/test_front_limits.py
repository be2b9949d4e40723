"""The event-loop front's per-connection limits, each on a real socket (simulator/front).

Small limits make each deadline fire within a test's time; the defaults are in
``Limits`` and docs/RELIABILITY.md."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from simulator.front import EventLoopFront, Limits
from tests.slowclients import (close_all, connect, idle_keepalive_clients, is_closed_by_peer, read_response,
                               reset, stalled_clients)


def echo_app(environ, start_response):
    body = environ["wsgi.input"].read()
    answer = json.dumps({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                         "query": environ["QUERY_STRING"], "length": len(body),
                         "content_type": environ.get("CONTENT_TYPE"),
                         "x_test": environ.get("HTTP_X_TEST")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [answer]


@pytest.fixture
def front(request):
    fronts = []

    def make(app=echo_app, **limits):
        f = EventLoopFront(app, limits=Limits(**limits), threads=4).start()
        fronts.append(f)
        return f

    yield make
    for f in fronts:
        f.stop()
        assert not f.errors, f.errors


def wait_for(predicate, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


def test_a_complete_request_reaches_the_app_whole(front):
    f = front()
    with connect(f.port) as sock:
        sock.sendall(b"POST /v1/x%20y?a=1&b=2 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded"
                     b"\r\nX-Test: one\r\nX-Test: two\r\nContent-Length: 5\r\n\r\nhello")
        status, headers, body = read_response(sock)
    assert status == 200
    assert json.loads(body) == {"method": "POST", "path": "/v1/x y", "query": "a=1&b=2", "length": 5,
                                "content_type": "application/x-www-form-urlencoded", "x_test": "one,two"}
    assert headers["content-length"] == str(len(body)) and "date" in headers


def test_a_chunked_body_is_whole_before_the_app_runs(front):
    f = front()
    with connect(f.port) as sock:
        sock.sendall(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        sock.sendall(b"4\r\ndefg\r\n0\r\n\r\n")
        status, _, body = read_response(sock)
    assert status == 200 and json.loads(body)["length"] == 7


def test_pipelined_requests_are_answered_in_order(front):
    f = front()
    with connect(f.port) as sock:
        sock.sendall(b"".join(b"GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(3)))
        paths = [json.loads(read_response(sock)[2])["path"] for _ in range(3)]
    assert paths == ["/p0", "/p1", "/p2"]


def test_head_gets_the_length_but_no_body(front):
    f = front()
    with connect(f.port) as sock:
        sock.sendall(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}"):
            data += sock.recv(65536)
    first, _, rest = data.partition(b"\r\n\r\n")
    assert int(dict(ln.split(b": ", 1) for ln in first.split(b"\r\n")[1:])[b"Content-Length"]) > 0
    assert rest.startswith(b"HTTP/1.1 200")  # no body bytes between the two answers


def test_a_stalled_header_gets_408_and_is_closed(front):
    f = front(header_timeout=0.3)
    sock = stalled_clients(f.port, 1)[0]
    try:
        data = is_closed_by_peer(sock, timeout=5)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408") and b"header_timeout" in data
    wait_for(lambda: not f.connections, what="the connection to be released")


def test_a_stalled_body_gets_408_and_is_closed(front):
    f = front(body_timeout=0.3)
    with connect(f.port) as sock:
        sock.sendall(b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789")
        data = is_closed_by_peer(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 408") and b"body_timeout" in data


def test_an_idle_keepalive_connection_is_closed_after_its_timeout(front):
    f = front(keepalive_timeout=0.3)
    sock = idle_keepalive_clients(f.port, 1, path=b"/idle")[0]
    try:
        assert is_closed_by_peer(sock, timeout=5) == b""  # closed silently: no request was under way
    finally:
        sock.close()


def test_past_max_connections_a_client_gets_503_naming_the_limit(front):
    f = front(max_connections=3)
    held = idle_keepalive_clients(f.port, 3, path=b"/held")
    try:
        with connect(f.port) as extra:
            data = is_closed_by_peer(extra, timeout=5)
        assert data.startswith(b"HTTP/1.1 503") and b"max_connections" in data and b"Retry-After: 1" in data
        assert f.refusals[503] == 1
    finally:
        close_all(held)
    wait_for(lambda: not f.connections, what="the held connections to be released")
    with connect(f.port) as sock:  # room again
        sock.sendall(b"GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        assert read_response(sock)[0] == 200


def test_oversized_headers_get_431(front):
    f = front(max_header_bytes=1024)
    with connect(f.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 4096)
        data = is_closed_by_peer(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 431") and b"max_header_bytes" in data


def test_an_oversized_declared_body_gets_413_before_it_is_sent(front):
    seen = []

    def app(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return echo_app(environ, start_response)

    f = front(app=app, max_body_bytes=1000)
    with connect(f.port) as sock:
        sock.sendall(b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n")
        data = is_closed_by_peer(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 413") and b"max_body_bytes" in data and seen == []


def test_an_oversized_chunked_body_gets_413(front):
    f = front(max_body_bytes=1000)
    with connect(f.port) as sock:
        sock.sendall(b"POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(10):
                sock.sendall(b"200\r\n" + b"x" * 512 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = is_closed_by_peer(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 413")


def test_expect_100_continue_is_answered(front):
    f = front()
    with connect(f.port) as sock:
        sock.sendall(b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"abc")
        assert json.loads(read_response(sock)[2])["length"] == 3


def test_a_reset_mid_body_costs_nothing_and_others_are_served(front):
    f = front()
    for _ in range(20):
        sock = connect(f.port)
        sock.sendall(b"POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" + b"x" * 300)
        reset(sock)
    wait_for(lambda: not f.connections, what="reset connections to be released")
    with connect(f.port) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
        assert read_response(sock)[0] == 200


def test_a_client_that_never_reads_is_cut_off_and_holds_no_worker(front):
    big = b"x" * (8 * 1024 * 1024)
    calls = []

    def app(environ, start_response):
        calls.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [big if environ["PATH_INFO"] == "/big" else b"small"]

    f = front(app=app, write_timeout=0.5)
    sock = connect(f.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n" * 3)  # never read
        # Meanwhile the worker is free: another client is answered at once.
        with connect(f.port) as other:
            other.sendall(b"GET /small HTTP/1.1\r\nHost: h\r\n\r\n")
            assert read_response(other)[2] == b"small"
        wait_for(lambda: f.refusals.get("write_timeout") == 1, what="the write timeout to cut the reader off")
    finally:
        sock.close()
    assert calls.count(calls[0]) >= 1 and len(calls) == 2  # the pipelined /big requests were not all run


def test_an_app_exception_is_a_500_and_is_kept_for_the_owner():
    def broken(environ, start_response):
        raise ValueError("bug in the app")

    f = EventLoopFront(broken, threads=1).start()
    try:
        with connect(f.port) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            status, _, body = read_response(sock)
        assert status == 500 and b"bug in the app" in body
    finally:
        f.stop()
    assert len(f.errors) == 1 and isinstance(f.errors[0], ValueError)


@pytest.mark.parametrize("field", ["max_connections", "header_timeout", "max_body_bytes"])
def test_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=field):
        Limits(**{field: 0})


def test_requests_the_inline_rule_picks_run_on_the_loop_thread_the_rest_on_workers():
    threads = {}

    def app(environ, start_response):
        threads[environ["PATH_INFO"]] = threading.current_thread().name
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    f = EventLoopFront(app, threads=2, inline=lambda request: request.url.startswith(b"/in")).start()
    loop_thread = f._thread.name
    try:
        with connect(f.port) as sock:
            for path in (b"/inline", b"/worker", b"/inline-again"):
                sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: h\r\n\r\n")
                assert read_response(sock)[2] == b"ok"
    finally:
        f.stop()
    assert threads["/inline"] == threads["/inline-again"] == loop_thread
    assert threads["/worker"].startswith("stripe-sim-worker")


def test_the_simulator_runs_only_its_stripe_api_inline_and_not_when_each_write_is_fsynced():
    from simulator.core import Simulator
    from simulator.front.wsgi import Request
    from simulator.server import SimulatorServer

    server = SimulatorServer(Simulator(delivery=False))
    req = lambda url: Request(b"GET", url, "1.1", [], b"", True)  # noqa: E731
    assert server._runs_inline(req(b"/v1/payment_intents"))
    assert not server._runs_inline(req(b"/_sim/deliveries/wait"))

    class SyncedJournal:
        sync_each = True

    server.sim.backend.journal = SyncedJournal()
    assert not server._runs_inline(req(b"/v1/payment_intents"))
    server.sim.close()
