"""Property-based fuzzing of the control plane under ``/_sim/`` (and the dashboard).

Random JSON of every shape, bodies that are not JSON at all, query strings, ids and
methods on every control route: never a 5xx, never a hang, every error is
``{"error": {"message", "status"}}``, and a refused request changes nothing (objects,
clock, standing fault policies). Trigger targets are only ever 127.0.0.1 (an unused port)
or strings that are not URLs, so no fuzzed value can send traffic anywhere else.
"""
from __future__ import annotations

import json
import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core import Simulator
from tests.hostile.support import FAST, app_for, assert_sim_error, state_of

LOOPBACK_SINK = "http://127.0.0.1:9/hook"  # the discard port: nothing listens, nothing leaves the host
REQUEST_BUDGET = 10.0  # seconds; a control request that takes longer is a hang

JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 66), 2 ** 66),
                        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=0.05),
                        st.text(max_size=20))
JSON = st.recursive(JSON_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                    max_leaves=12)
URLISH = st.sampled_from([LOOPBACK_SINK, "http://127.0.0.1:99999/x", "http://127.0.0.1:abc/", "ftp://127.0.0.1/",
                          "http://", "127.0.0.1", "", "http://[::1/x", "http://127.0.0.1:0/x", "http:///path"])
SECRETS = st.one_of(st.sampled_from(["whsec_fuzz_0123456789", "whsec_", "sk_test_x", "", "  "]), JSON)
FLOWS = st.one_of(st.sampled_from(["payment_intent.succeeded", "charge.refunded", "no.such.flow", "",
                                   "decline_then_success"]), JSON)
FAULTS = st.one_of(st.lists(st.sampled_from(["duplicate:2", "duplicate:-1", "shuffle", "reverse", "nope",
                                             "delay:abc", "wrong_secret", "duplicate:1000000000", ""]),
                            max_size=3), JSON)
# Numbers that must not be accepted as waits: NaN and infinities slip past "< 0" checks.
BAD_NUMBERS = st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "-1", "abc", "", "0x10"])


@st.composite
def trigger_bodies(draw):
    body = {}
    for field, strat in (("flow", FLOWS), ("to", URLISH), ("secret", SECRETS), ("secrets", SECRETS),
                         ("faults", FAULTS), ("seed", JSON), ("amount", JSON), ("currency", JSON),
                         ("card", JSON), ("metadata", JSON), ("payment_intent", JSON), ("endpoint", JSON),
                         ("timeout", st.one_of(JSON, BAD_NUMBERS)), ("extra_field", JSON)):
        if draw(st.integers(0, 2)) == 0:
            body[field] = draw(strat)
    body["wait"] = False  # a waiting trigger against the discard port would wait out its timeout
    return body


@st.composite
def raw_bodies(draw, structured):
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return b"[" * 5000 + b"]" * 5000  # nesting deep enough to overflow a recursive parser
    if kind == 2:
        return json.dumps(draw(JSON)).encode()
    return json.dumps(draw(structured)).encode()


class Harness:
    def __init__(self):
        self.sim = Simulator(seed=99, time_scale=0)
        b = self.sim.backend
        self.endpoint = b.create_webhook_endpoint({"url": LOOPBACK_SINK, "enabled_events": ["*"]})["id"]
        b.create_payment_intent({"amount": "1500", "currency": "usd", "payment_method": "pm_card_visa",
                                 "confirm": "true"})
        self.event = next(iter(b.events))
        self.waiting = b.create_payment_intent({"amount": "900", "currency": "usd", "confirm": "true",
                                                "payment_method": "pm_card_threeDSecure2Required"})["id"]
        self.app = app_for(self.sim)
        self.client = self.app.test_client()

    def fingerprint(self):
        engine = self.sim.engine
        policies = sorted(json.dumps(engine.policy(ep), sort_keys=True) for ep in list(engine._policies))
        return state_of(self.sim), self.sim.clock.now(), self.sim.clock.time_scale, policies

    def call(self, method, path, **kw):
        """The request in a thread with a deadline: a hang fails the test instead of stalling it."""
        box = {}

        def run():
            box["resp"] = self.client.open(path, method=method, **kw)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(REQUEST_BUDGET)
        assert "resp" in box, "%s %s did not answer within %.0f s (a hang): %r" % (method, path, REQUEST_BUDGET, kw)
        return box["resp"]

    def close(self):
        self.sim.close()
        assert self.app.extensions["stripe_sim"].unexpected == [], "the 500 safety net caught a bug"


@pytest.fixture(scope="module")
def harness():
    h = Harness()
    yield h
    h.close()


def _check(h, method, path, resp, before, context):
    if resp.status_code >= 400:
        if resp.content_type.startswith("text/html"):  # the dashboard answers a browser with a page
            assert resp.status_code < 500, (context, resp.status_code)
        else:
            assert_sim_error(resp, context)
        assert h.fingerprint() == before, "a refused control request changed state: %s" % context
    else:
        assert resp.status_code < 300, context


def test_trigger_bodies(harness):
    @FAST
    @given(body=raw_bodies(trigger_bodies()))
    def check(body):
        before = harness.fingerprint()
        resp = harness.call("POST", "/_sim/trigger", data=body, headers={"Content-Type": "application/json"})
        if resp.status_code < 300:
            return  # a valid trigger legitimately records its flow's events
        _check(harness, "POST", "/_sim/trigger", resp, before, body[:200])

    check()


def test_clock_wait_policy_and_resend_bodies(harness):
    h = harness
    routes = [("POST", "/_sim/clock"), ("POST", "/_sim/deliveries/wait"),
              ("PUT", "/_sim/endpoints/%s/faults" % h.endpoint), ("POST", "/_sim/events/%s/resend" % h.event),
              ("POST", "/_sim/events/evt_missing/resend"), ("PUT", "/_sim/endpoints/we_missing/faults"),
              ("POST", "/_sim/payment_intents/%s/authenticate" % h.waiting),
              ("POST", "/_sim/payment_intents/pi_missing/authenticate")]
    fields = st.dictionaries(st.sampled_from(["advance", "time_scale", "timeout", "idle", "count", "filters",
                                              "faults", "seed", "endpoint", "outcome", "other"]),
                             st.one_of(JSON, BAD_NUMBERS, FAULTS), max_size=4)

    @FAST
    @given(route=st.sampled_from(routes), body=raw_bodies(fields))
    def check(route, body):
        method, path = route
        if path.endswith("/wait"):
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict):
                # A valid wait for something that never comes waits its whole timeout: keep it short.
                t = parsed.get("timeout")
                if not isinstance(t, str) and (t is None or isinstance(t, bool) or not isinstance(t, (int, float))
                                               or (math.isfinite(t) and t > 0.05)):
                    parsed["timeout"] = 0.05
                body = json.dumps(parsed).encode()
        before = h.fingerprint()
        resp = h.call(method, path, data=body, headers={"Content-Type": "application/json"})
        if resp.status_code < 300:
            return  # e.g. a valid clock move or policy: a change was asked for
        if path.endswith("/wait") and resp.status_code == 408:
            assert_sim_error(resp, body[:200])
            return  # the wait ran out, as asked
        _check(h, method, path, resp, before, "%s %s %r" % (method, path, body[:200]))

    check()


def test_query_strings_ids_and_methods(harness):
    h = harness
    paths = st.one_of(
        st.sampled_from(["/_sim/health", "/_sim/state", "/_sim/clock", "/_sim/deliveries",
                         "/_sim/deliveries/status", "/_sim/faults", "/_sim/flows", "/_sim/dashboard",
                         "/_sim/dashboard/", "/_sim/nope", "/_sim/"]),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, blacklist_characters="?#%"), max_size=30)
        .map(lambda s: "/_sim/endpoints/%s/faults" % (s or "x")))
    queries = st.dictionaries(st.sampled_from(["limit", "event", "type", "endpoint", "outcome", "attempt", "honest",
                                               "payment_intent", "trigger", "fault", "bogus", "token"]),
                              st.one_of(st.text(max_size=12), BAD_NUMBERS), max_size=3)

    @FAST
    @given(method=st.sampled_from(["GET", "DELETE", "PATCH", "PUT", "OPTIONS"]), path=paths, query=queries)
    def check(method, path, query):
        before = h.fingerprint()
        resp = h.call(method, path, query_string=query)
        if resp.status_code >= 400:
            _check(h, method, path, resp, before, "%s %s %r" % (method, path, query))

    check()


@pytest.mark.parametrize("number", ["nan", "NaN", "inf", "Infinity", "-1"])
def test_non_finite_waits_are_refused_not_spun_on(harness, number):
    """``{"timeout": NaN}`` passes a ``< 0`` check; a wait on it would never end."""
    body = '{"idle": true, "timeout": %s}' % ('"%s"' % number)
    resp = harness.call("POST", "/_sim/deliveries/wait", data=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.get_data()
    assert assert_sim_error(resp).get("field") == "timeout"


@pytest.mark.parametrize("path", ["/_sim/clock", "/_sim/trigger", "/_sim/deliveries/wait"])
def test_control_bodies_over_the_limit_are_413(harness, path):
    from simulator.api.app import MAX_BODY_BYTES

    before = harness.fingerprint()
    body = b'{"advance": 1, "pad": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    resp = harness.call("POST", path, data=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413, (resp.status_code, resp.get_data()[:300])
    assert "bytes" in assert_sim_error_413(resp)["message"]
    assert harness.fingerprint() == before


def assert_sim_error_413(resp):
    body = json.loads(resp.get_data())
    assert isinstance(body.get("error"), dict) and body["error"].get("status") == 413, body
    return body["error"]


def test_dashboard_resend_form_never_5xx(harness):
    """The dashboard's one form, with the page's own CSRF token (so the fuzz reaches past
    it): any event id, endpoint and ``next`` is a redirect into the dashboard or a 4xx page."""
    import re

    h = harness
    page = h.call("GET", "/_sim/dashboard/")
    assert page.status_code == 200
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page.get_data()).group(1).decode()
    texts = st.text(max_size=40)

    @settings(FAST, max_examples=50)  # each accepted resend renders the dashboard page: slower than JSON
    @given(event=st.one_of(st.just(h.event), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e,
                                                                   blacklist_characters="/?#%"), min_size=1,
                                                     max_size=30)),
           endpoint=st.one_of(st.just(h.endpoint), st.just(""), texts),
           next_=st.one_of(st.just("/_sim/dashboard/?type=x"), st.just("/_sim/dashboard/\r\nSet-Cookie: x=1"),
                           st.just("//evil.example/"), st.just("/_sim/dashboard/\x00"), texts),
           token=st.one_of(st.just(csrf), st.just(""), texts))
    def check(event, endpoint, next_, token):
        resp = h.call("POST", "/_sim/dashboard/events/%s/resend" % event,
                      data={"csrf": token, "endpoint": endpoint, "next": next_})
        assert resp.status_code < 500, (event, endpoint, next_, resp.status_code, resp.get_data()[:300])
        if resp.status_code in (302, 303):
            location = resp.headers["Location"]
            assert location.startswith("/_sim/dashboard") and "\n" not in location and "\r" not in location, location
        elif token != csrf:
            assert resp.status_code == 400

    check()


@pytest.mark.parametrize("path, body, field", [
    ("/_sim/deliveries/wait", {"filters": 5, "timeout": 0.01}, "filters"),
    ("/_sim/deliveries/wait", {"filters": ["type"], "timeout": 0.01}, "filters"),
    ("/_sim/trigger", {"flow": "payment_intent.succeeded", "to": LOOPBACK_SINK, "secret": "whsec_x1234567",
                       "card": {}}, "card"),
    ("/_sim/trigger", {"flow": "payment_intent.succeeded", "endpoint": True}, "endpoint"),
    ("/_sim/trigger", {"flow": "payment_intent.succeeded", "to": LOOPBACK_SINK, "secrets": 5}, "secrets"),
    ("/_sim/trigger", {"flow": "payment_intent.succeeded", "to": 7, "secret": "whsec_x1234567"}, "to"),
])
def test_wrong_json_types_found_by_the_hunt_are_400s(harness, path, body, field):
    """Regressions from HOSTILE_EXAMPLES runs: each of these was a 500."""
    before = harness.fingerprint()
    resp = harness.call("POST", path, data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.get_data()
    assert assert_sim_error(resp).get("field") == field
    assert harness.fingerprint() == before
