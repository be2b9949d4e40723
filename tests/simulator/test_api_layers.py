"""The API's own layers over a test double backend: auth, routing, errors, idempotency, headers."""
import base64
import json

import pytest

KEY = "sk_test_layers_123"
AUTH = {"Authorization": "Bearer " + KEY}
FORM = "application/x-www-form-urlencoded"


def post(http, path, data="", headers=None, **kw):
    h = dict(AUTH, **(headers or {}))
    return http.post(path, data=data, headers=h, content_type=kw.pop("content_type", FORM), **kw)


def error_of(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == "application/json"
    return resp.get_json()["error"]


# -- auth ---------------------------------------------------------------------------------

def test_missing_key_is_401_in_stripe_shape(http):
    err = error_of(http.get("/v1/payment_intents"), 401)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("You did not provide an API key.")


@pytest.mark.parametrize("authorization, why", [
    ("Bearer sk_live_51abcdefghijklmnop", "live-mode"),
    ("Bearer pk_test_51abcdefghijklmnop", "publishable"),
    ("Bearer rk_test_51abcdefghijklmnop", "Restricted"),
    ("Bearer garbage", "must start with sk_test_"),
    ("Bearer sk_test_", "must start with sk_test_"),
    ("Token sk_test_123", "Bearer"),
    ("Basic !!!notbase64", "base64"),
])
def test_bad_keys_are_401_saying_why(http, authorization, why):
    err = error_of(http.get("/v1/payment_intents", headers={"Authorization": authorization}), 401)
    assert why in err["message"]
    assert "51abcdefghijklmnop" not in err["message"], "the key must be redacted"


def test_basic_auth_with_key_as_user_is_accepted(http):
    token = base64.b64encode(b"sk_test_basic123:").decode()
    resp = http.get("/v1/payment_intents", headers={"Authorization": "Basic " + token})
    assert resp.status_code == 200


# -- routing and error rendering ------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/foo"), ("DELETE", "/v1/payment_intents"), ("PUT", "/v1/payment_intents/pi_1"),
    ("GET", "/v1/payment_intents/pi_1/confirm"), ("GET", "/v1/charges/"), ("GET", "/v1"),
    ("PATCH", "/v1/webhook_endpoints/we_1"), ("GET", "/nothing/here"),
])
def test_unknown_url_is_404_unrecognized(http, method, path):
    err = error_of(http.open(path, method=method, headers=AUTH), 404)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("Unrecognized request URL (%s: %s)." % (method, path))


def test_headers_carry_request_id_and_echo_any_stripe_version(http):
    resp = http.get("/v1/payment_intents", headers=dict(AUTH, **{"Stripe-Version": "2026-08-26.dahlia"}))
    assert resp.headers["Stripe-Version"] == "2026-08-26.dahlia"
    assert resp.headers["Request-Id"].startswith("req_")
    default = http.get("/v1/payment_intents", headers=AUTH)
    assert default.headers["Stripe-Version"] == "2025-08-27.basil"
    assert default.headers["Request-Id"] != resp.headers["Request-Id"]


def test_backend_errors_render_with_status_type_and_param(http):
    err = error_of(post(http, "/v1/payment_intents", "currency=usd"), 400)
    assert err == {**err, "type": "invalid_request_error", "param": "amount"}
    err = error_of(http.get("/v1/payment_intents/pi_missing", headers=AUTH), 404)
    assert err["code"] == "resource_missing" and err["param"] == "id"
    err = error_of(post(http, "/v1/payment_intents", "amount=100&payment_method=pm_card_chargeDeclined"), 402)
    assert (err["type"], err["code"], err["decline_code"]) == ("card_error", "card_declined", "generic_decline")


def test_json_body_is_refused_naming_the_encoding(http):
    err = error_of(post(http, "/v1/payment_intents", json.dumps({"amount": 100}), content_type="application/json"), 400)
    assert "application/json" in err["message"] and FORM in err["message"]
    err = error_of(post(http, "/v1/payment_intents", '{"amount": 100}', content_type=""), 400)
    assert "JSON" in err["message"]


def test_duplicate_scalar_is_400_naming_it(http):
    err = error_of(post(http, "/v1/payment_intents", "amount=1&amount=2"), 400)
    assert err["param"] == "amount" and "more than once" in err["message"]


def test_query_params_of_a_post_are_decoded_with_the_body(http, double_sim):
    resp = post(http, "/v1/payment_intents?currency=eur", "amount=100")
    assert resp.status_code == 200 and resp.get_json()["currency"] == "eur"
    err = error_of(post(http, "/v1/payment_intents?amount=5", "amount=100"), 400)
    assert err["param"] == "amount"


def test_oversized_body_is_413(http):
    err = error_of(post(http, "/v1/payment_intents", "amount=1&description=" + "x" * (1024 * 1024)), 413)
    assert err["type"] == "invalid_request_error"


def test_expand_is_taken_out_of_params_and_applied(http, double_sim):
    pi = post(http, "/v1/payment_intents", "amount=100").get_json()
    post(http, "/v1/payment_intents/%s/confirm" % pi["id"])
    got = http.get("/v1/payment_intents/%s?expand[]=latest_charge" % pi["id"], headers=AUTH).get_json()
    assert got["latest_charge"]["object"] == "charge"
    assert double_sim.backend.calls[-1] == ("retrieve_payment_intent", pi["id"], {})
    listed = http.get("/v1/payment_intents?expand[]=data.latest_charge", headers=AUTH).get_json()
    assert listed["data"][0]["latest_charge"]["object"] == "charge"
    err = error_of(http.get("/v1/payment_intents?expand[]=latest_charge", headers=AUTH), 400)
    assert err["param"] == "expand"
    err = error_of(http.get("/v1/payment_intents/%s?expand=latest_charge" % pi["id"], headers=AUTH), 400)
    assert err["param"] == "expand"


def test_unexpected_exception_is_api_error_500_never_a_traceback(double_sim):
    from simulator.api import create_app

    app = create_app(double_sim)
    double_sim.backend.explode = True
    resp = app.test_client().post("/v1/payment_intents", data="amount=1", headers=AUTH, content_type=FORM)
    err = error_of(resp, 500)
    assert err["type"] == "api_error" and "ZeroDivisionError" in err["message"]
    assert "Traceback" not in resp.get_data(as_text=True)
    assert len(app.extensions["stripe_sim"].unexpected) == 1


# -- idempotency ----------------------------------------------------------------------------

def test_same_key_same_params_replays_the_first_answer(http, double_sim):
    first = post(http, "/v1/payment_intents", "amount=100", {"Idempotency-Key": "k1"})
    again = post(http, "/v1/payment_intents", "amount=100", {"Idempotency-Key": "k1"})
    assert again.status_code == first.status_code == 200
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    # As Stripe does: the key is echoed and a replay names the request that made the answer.
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"] == "k1"
    assert first.headers["Original-Request"] == first.headers["Request-Id"]
    assert again.headers["Original-Request"] == first.headers["Request-Id"] != again.headers["Request-Id"]
    assert len(double_sim.backend.payment_intents) == 1
    # The request info handed to the backend carries the key for the events it records.
    assert double_sim.backend.calls[0][2]["idempotency_key"] == "k1"


def test_same_key_other_params_is_idempotency_error(http):
    post(http, "/v1/payment_intents", "amount=100", {"Idempotency-Key": "k2"})
    err = error_of(post(http, "/v1/payment_intents", "amount=200", {"Idempotency-Key": "k2"}), 400)
    assert err["type"] == "idempotency_error"
    assert err["message"].startswith("Keys for idempotent requests can only be used with the same parameters")
    other_path = post(http, "/v1/payment_intents/pi_1/confirm", "amount=100", {"Idempotency-Key": "k2"})
    assert error_of(other_path, 400)["type"] == "idempotency_error"
    # The mismatch did not overwrite the stored answer.
    assert post(http, "/v1/payment_intents", "amount=100", {"Idempotency-Key": "k2"}).status_code == 200


def test_keys_are_scoped_per_api_key(http, double_sim):
    post(http, "/v1/payment_intents", "amount=100", {"Idempotency-Key": "shared"})
    other = post(http, "/v1/payment_intents", "amount=200",
                 {"Idempotency-Key": "shared", "Authorization": "Bearer sk_test_other"})
    assert other.status_code == 200 and other.get_json()["amount"] == 200


def test_card_errors_are_stored_but_validation_errors_are_not(http, double_sim):
    declined = post(http, "/v1/payment_intents", "amount=100&payment_method=pm_card_chargeDeclined",
                    {"Idempotency-Key": "k3"})
    replay = post(http, "/v1/payment_intents", "amount=100&payment_method=pm_card_chargeDeclined",
                  {"Idempotency-Key": "k3"})
    assert (declined.status_code, replay.status_code) == (402, 402)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_data() == declined.get_data()
    bad = post(http, "/v1/payment_intents", "amount=abc", {"Idempotency-Key": "k4"})
    assert error_of(bad, 400)["param"] == "amount"
    fixed = post(http, "/v1/payment_intents", "amount=300", {"Idempotency-Key": "k4"})
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers


def test_store_is_bounded_lru():
    from simulator.api.idempotency import IdempotencyStore, StoredResponse

    store = IdempotencyStore(max_keys=3)
    for k in "abc":
        assert store.begin("sk", k, "fp") is None
        store.finish("sk", k, StoredResponse(200, k.encode()))
    assert store.begin("sk", "a", "fp").body == b"a"  # touch a: b is now the oldest
    assert store.begin("sk", "d", "fp") is None
    assert len(store) == 3
    assert store.begin("sk", "b", "fp") is None, "b should have been forgotten"


def test_key_in_flight_is_409_and_too_long_key_is_400():
    from simulator.api.idempotency import IdempotencyStore
    from simulator.errors import InvalidRequestError, StripeError

    store = IdempotencyStore()
    assert store.begin("sk", "busy", "fp") is None
    with pytest.raises(StripeError) as info:
        store.begin("sk", "busy", "fp")
    assert info.value.http_status == 409 and info.value.code == "idempotency_key_in_use"
    with pytest.raises(InvalidRequestError):
        store.begin("sk", "x" * 256, "fp")


def test_get_requests_ignore_idempotency_keys(http):
    a = http.get("/v1/payment_intents", headers=dict(AUTH, **{"Idempotency-Key": "g"}))
    b = http.get("/v1/payment_intents?limit=3", headers=dict(AUTH, **{"Idempotency-Key": "g"}))
    assert a.status_code == b.status_code == 200


def test_response_json_takes_what_the_fast_encoder_refuses():
    from simulator.api.app import _dumps, _fingerprint

    assert _dumps({"a": 10 ** 30, "s": "café"}) == '{"a":1000000000000000000000000000000,"s":"café"}'.encode()
    assert _dumps({1: "x"}) == b'{"1":"x"}'
    assert _fingerprint("POST", "/v1/x", {"b": "1", "a": "2"}, []) == \
        _fingerprint("POST", "/v1/x", {"a": "2", "b": "1"}, [])
    assert _fingerprint("POST", "/v1/x", {"a": "1"}, []) != _fingerprint("POST", "/v1/y", {"a": "1"}, [])
