"""Property-based fuzzing of the fake Stripe API (``/v1``).

Whatever arrives -- random routes and methods, bracket keys nested or broken, values of
every type, bad percent-escapes and raw bytes, JSON where a form belongs, odd headers --
the answer is never a 5xx, every error is Stripe's ``{"error": {"type", "message"}}``,
and a request that fails changes nothing in the backend (a card decline, 402, is the one
failure that legitimately records state, as Stripe's does).
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.api.routes import ROUTES
from tests.hostile.support import AUTH, FAST, app_for, assert_stripe_error, populated_sim, state_of

METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]
PARAM_NAMES = ["amount", "currency", "metadata", "payment_method", "confirm", "expand", "limit",
               "starting_after", "ending_before", "created", "payment_intent", "url", "enabled_events",
               "payment_method_data", "description", "capture_method", "type", "card", "number",
               "line_items", "mode", "success_url", "disabled", "api_version", "secret", "charge", "reason"]
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40)


def _segment():
    return st.one_of(st.just(""), st.integers(0, 12).map(str), st.sampled_from(PARAM_NAMES), SAFE_TEXT)


@st.composite
def bracket_keys(draw):
    base = draw(st.one_of(st.sampled_from(PARAM_NAMES), SAFE_TEXT))
    segments = draw(st.lists(_segment(), max_size=4))
    key = base + "".join("[%s]" % s for s in segments)
    if draw(st.integers(0, 9)) == 0:  # unbalanced or stray brackets
        key = draw(st.sampled_from(["[", "]", "[[", "a]b[", "x[]]"])) + key
    return key


VALUES = st.one_of(
    SAFE_TEXT,
    st.integers(-(2 ** 70), 2 ** 70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "", "null", "usd", "pm_card_visa", "4242424242424242", "*",
                     "http://127.0.0.1:9/x", "pm_card_chargeDeclined"]),
    st.text(max_size=2000).filter(lambda s: "\ud800" not in s),
)


@st.composite
def form_bodies(draw):
    """A body as bytes: mostly well-formed bracket forms, sometimes broken encodings."""
    pairs = draw(st.lists(st.tuples(bracket_keys(), VALUES), max_size=8))
    encoded = "&".join("%s=%s" % (quote(k, safe="[]"), quote(v, safe="")) for k, v in pairs).encode()
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return encoded + draw(st.sampled_from([b"&%zz=1", b"&a=%ff%fe", b"&%E2%82=1", b"&=v", b"&&&", b"&a=%"]))
    if kind == 1:
        return draw(st.binary(max_size=300))
    if kind == 2:
        return json.dumps(dict(pairs)).encode()
    return encoded


@st.composite
def paths(draw, ids):
    all_ids = [i for group in ids.values() for i in group]
    if draw(st.integers(0, 5)) == 0:
        junk = draw(st.lists(st.one_of(SAFE_TEXT.map(lambda s: quote(s, safe="")), st.just("..")), max_size=4))
        return "/v1/" + "/".join(junk)
    _, template, _ = draw(st.sampled_from(ROUTES))
    if "{id}" in template:
        ident = draw(st.one_of(st.sampled_from(all_ids), SAFE_TEXT.map(lambda s: quote(s, safe="")) ,
                               st.sampled_from(["%00", "%ff", "pi_", "x" * 500])))
        template = template.replace("{id}", ident or "x")
    return template


@st.composite
def headers(draw):
    h = dict(AUTH)
    h["Content-Type"] = draw(st.sampled_from([
        "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
        "application/json", "text/plain", "multipart/form-data; boundary=x", "", "garbage/\x7f"]))
    if draw(st.booleans()):
        h["Idempotency-Key"] = draw(HEADER_TEXT)
    if draw(st.booleans()):
        h["Stripe-Version"] = draw(HEADER_TEXT)
    return h


def test_random_requests_never_5xx_and_failures_change_nothing():
    sim, ids = populated_sim()
    app = app_for(sim)
    client = app.test_client()

    @FAST
    @given(method=st.sampled_from(METHODS), path=paths(ids), body=form_bodies(), query=form_bodies(),
           hdrs=headers())
    def check(method, path, body, query, hdrs):
        before = state_of(sim)
        qs = query.decode("ascii") if query.isascii() else ""
        resp = client.open(path, method=method, data=body, headers=hdrs, query_string=qs)
        context = "%s %s ?%r body=%r" % (method, path, qs[:80], body[:120])
        if resp.status_code >= 400:
            err = assert_stripe_error(resp, context)
            if resp.status_code != 402:  # a decline is an outcome Stripe records, not bad input
                assert state_of(sim) == before, "a failed request changed state: %s -> %s" % (context, err)
        else:
            assert resp.status_code < 300, context

    check()
    assert app.extensions["stripe_sim"].unexpected == [], "the 500 safety net caught a bug"


_APP: list = []


def _shared():
    """One simulator for every example of a property (hypothesis runs them in one test call)."""
    if not _APP:
        sim, _ = populated_sim()
        _APP.extend([sim, app_for(sim)])
    return _APP[0], _APP[1]


@given(authz=st.one_of(HEADER_TEXT, st.sampled_from([
    "Bearer", "Bearer ", "Bearer pk_test_x", "Bearer sk_live_abcdefgh1234", "Bearer rk_test_abc", "Basic !!!",
    "Basic " + "c2tfdGVzdF94Og==", "Bearer sk_test_", "bearer sk_test_ok", "Digest x"])))
@FAST
def test_any_authorization_header_is_a_401_or_a_test_key(authz):
    sim, app = _shared()
    client = app.test_client()
    before = state_of(sim)
    resp = client.post("/v1/payment_intents", data="amount=100&currency=usd",
                       headers={"Authorization": authz, "Content-Type": "application/x-www-form-urlencoded"})
    key = authz.strip().partition(" ")[2].strip()
    scheme = authz.strip().partition(" ")[0].lower()
    valid = (scheme == "bearer" and key.startswith("sk_test_") and len(key) > 8) or authz == "Basic c2tfdGVzdF94Og=="
    if valid:
        assert resp.status_code == 200, (authz, resp.get_data())
    else:
        err = assert_stripe_error(resp, authz)
        assert resp.status_code == 401, (authz, err)
        assert state_of(sim) == before
        assert "sk_live_abcdefgh1234" not in err["message"], "a live key echoed back in full"


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 5 * 1024 * 1024])
def test_oversized_bodies_get_a_413_in_stripes_shape(size):
    sim, _ = populated_sim()
    client = app_for(sim).test_client()
    before = state_of(sim)
    resp = client.post("/v1/payment_intents", data=b"amount=100&currency=usd&description=" + b"a" * size,
                       headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 413
    err = assert_stripe_error(resp, "oversized body")
    assert "bytes" in err["message"]
    assert state_of(sim) == before


def test_deeply_nested_and_very_many_parameters_are_400s():
    sim, _ = populated_sim()
    client = app_for(sim).test_client()
    before = state_of(sim)
    deep = "metadata" + "[a]" * 2000 + "=1"
    many = "&".join("metadata[k%d]=v" % i for i in range(20000))
    for body in (deep, many, "amount=" + "9" * 5000 + "&currency=usd"):
        resp = client.post("/v1/payment_intents", data=body,
                           headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
        assert 400 <= resp.status_code < 500, (body[:60], resp.status_code, resp.get_data()[:300])
        assert_stripe_error(resp, body[:60])
    assert state_of(sim) == before


EVIDENCE_FIELDS = ["uncategorized_text", "customer_email_address", "product_description", "refund_policy",
                   "shipping_date", "customer_communication", "service_date", "favourite_colour", ""]


def test_dispute_updates_and_closes_never_5xx_and_refusals_change_nothing():
    """Evidence of every shape on a fresh dispute each time (a submitted or closed one
    refuses everything after), and the accept route: a 2xx or Stripe's 4xx, never a 5xx;
    a refusal leaves the whole state as it was."""
    sim, _ = populated_sim()
    app = app_for(sim)
    client = app.test_client()
    keys = st.one_of(st.sampled_from(EVIDENCE_FIELDS).map(lambda f: "evidence[%s]" % f),
                     st.sampled_from(["submit", "metadata[k]", "metadata", "evidence", "expand[]", "amount"]))
    values = st.one_of(st.sampled_from(["winning_evidence", "losing_evidence", "true", "false", "", "1"]),
                       SAFE_TEXT, st.just("x" * 160000))

    # Each example adds a disputed payment and compares the whole state twice, so a long hunt
    # grows quadratically: at most 600 examples here (HOSTILE_EXAMPLES=4000 hit pytest's timeout).
    @settings(FAST, max_examples=min(FAST.max_examples, 600))
    @given(pairs=st.lists(st.tuples(keys, values), max_size=5), close=st.booleans())
    def check(pairs, close):
        sim.backend.create_payment_intent({"amount": "2500", "currency": "usd", "confirm": "true",
                                           "payment_method": "pm_card_createDispute"})
        dispute = list(sim.backend.disputes.values())[-1]["id"]
        before = state_of(sim)
        path = "/v1/disputes/%s%s" % (dispute, "/close" if close else "")
        body = "&".join("%s=%s" % (quote(k, safe="[]"), quote(v, safe="")) for k, v in pairs)
        resp = client.post(path, data=body, headers=dict(AUTH, **{"Content-Type": "application/x-www-form-urlencoded"}))
        context = "POST %s %r" % (path, body[:200])
        if resp.status_code >= 400:
            assert_stripe_error(resp, context)
            assert state_of(sim) == before, "a refused dispute request changed state: %s" % context
        else:
            assert json.loads(resp.get_data())["id"] == dispute, context

    check()
    assert app.extensions["stripe_sim"].unexpected == [], "the 500 safety net caught a bug"
