"""The HTTP toolkit every front shares (simulator.httpkit): JSON, the body cap, status
lines, the three error envelopes, routing as data."""
from __future__ import annotations

import io
import math

import pytest

from simulator import httpkit
from simulator.errors import CardError


def test_json_takes_what_the_fast_encoder_refuses_and_reads_it_back():
    assert httpkit.dumps({"a": 10 ** 30, "s": "café"}) == '{"a":1000000000000000000000000000000,"s":"café"}'.encode()
    assert httpkit.dumps({1: "x"}) == b'{"1":"x"}'
    assert httpkit.dumps({"b": 1, "a": 2}, sort_keys=True) == b'{"a":2,"b":1}'
    assert httpkit.dumps({"o": object()}, default=lambda o: "obj") == b'{"o":"obj"}'
    assert math.isnan(httpkit.loads(b'{"x": NaN}')["x"])  # the stdlib reads what orjson refuses
    assert httpkit.loads('{"u": "\u00e9"}'.encode("utf-16")) == {"u": "é"}
    assert httpkit.dumps_pretty({"a": [1]}) == b'{\n  "a": [\n    1\n  ]\n}'


def test_status_lines_are_fixed_whatever_python_runs_them():
    assert httpkit.status_line(200) == "200 OK"
    assert httpkit.status_line(413) == "413 Payload Too Large"
    assert httpkit.status_line(599) == "599 Error"


def _environ(body: bytes, length=None, chunked=False) -> dict:
    env = {"wsgi.input": io.BytesIO(body)}
    if length is not None:
        env["CONTENT_LENGTH"] = length
    if chunked:
        env["wsgi.input_terminated"] = True
    return env


def test_the_body_cap_refuses_by_declared_length_before_reading():
    class Unreadable:
        def read(self, *a):
            raise AssertionError("read an oversized body")

    with pytest.raises(httpkit.HttpError) as info:
        httpkit.read_body({"wsgi.input": Unreadable(), "CONTENT_LENGTH": "11"}, cap=10)
    assert info.value.status == 413 and "11 bytes" in info.value.message and "10" in info.value.message


def test_the_body_cap_refuses_a_chunked_body_by_what_arrives():
    assert httpkit.read_body(_environ(b"x" * 10, chunked=True), cap=10) == b"x" * 10
    with pytest.raises(httpkit.HttpError) as info:
        httpkit.read_body(_environ(b"x" * 11, chunked=True), cap=10)
    assert info.value.status == 413


@pytest.mark.parametrize("raw", ["abc", "-1", "1e3"])
def test_a_bad_content_length_is_a_400_naming_it(raw):
    with pytest.raises(httpkit.HttpError) as info:
        httpkit.read_body(_environ(b"", raw))
    assert info.value.status == 400 and "Content-Length" in info.value.message


def test_reads_exactly_the_declared_length_or_nothing():
    assert httpkit.read_body(_environ(b"abcdef", "3")) == b"abc"
    assert httpkit.read_body(_environ(b"abc")) == b""


def test_json_body_is_a_400_naming_the_problem():
    assert httpkit.json_body(b"") is None and httpkit.json_body(b'{"a": 1}') == {"a": 1}
    with pytest.raises(httpkit.HttpError) as info:
        httpkit.json_body(b"{nope")
    assert info.value.status == 400 and info.value.message.startswith("Invalid JSON body")
    with pytest.raises(httpkit.HttpError):
        httpkit.json_body(b"[" * 100_000)  # nested past any recursion limit


def test_one_envelope_per_surface():
    stripe = httpkit.stripe_error(CardError("Your card was declined.", code="card_declined"), "req_1")
    assert stripe["error"]["type"] == "card_error" and stripe["error"]["code"] == "card_declined"
    assert stripe["error"]["request_log_url"].endswith("/req_1")
    assert httpkit.control_error(400, "bad", "limit") == {"error": {"message": "bad", "status": 400, "field": "limit"}}
    assert httpkit.control_error(404, "gone") == {"error": {"message": "gone", "status": 404}}
    assert httpkit.contract_error("Invalid payload") == {"error": "Invalid payload"}


def test_routes_are_data_with_404_405_and_hidden_routes():
    def a(**kw):
        return "a", kw

    def b(**kw):
        return "b", kw

    table = httpkit.RouteTable([("GET", r"/o/(?P<oid>[^/]+)/?", a), ("POST", r"/admin/?", b, {"admin"})])
    route, params, refused = table.find("GET", "/o/42/")
    assert route.handler is a and params == {"oid": "42"} and refused is None
    assert table.find("DELETE", "/o/42")[2] == 405
    assert table.find("GET", "/nothing")[2] == 404
    assert table.find("POST", "/admin")[0].handler is b
    assert table.find("POST", "/admin", hidden=lambda r: "admin" in r.tags)[2] == 404
