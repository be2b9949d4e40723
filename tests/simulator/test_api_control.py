"""The /_sim control plane: health, reset, state, clock, and its token rule."""
import pytest

from simulator.api import create_app

AUTH = {"Authorization": "Bearer sk_test_ctl"}


def test_health_state_and_reset(http, double_sim):
    health = http.get("/_sim/health").get_json()
    assert health["status"] == "ok" and health["seed"] == 7 and health["api_version"] == "2025-08-27.basil"
    http.post("/v1/payment_intents", data="amount=5", headers=dict(AUTH, **{"Idempotency-Key": "x"}),
              content_type="application/x-www-form-urlencoded")
    state = http.get("/_sim/state").get_json()
    assert state["objects"]["payment_intents"] == 1 and state["idempotency_keys"] == 1
    assert http.post("/_sim/reset").status_code == 200
    state = http.get("/_sim/state").get_json()
    assert state["objects"]["payment_intents"] == 0 and state["idempotency_keys"] == 0


def test_reset_reseeds_so_request_ids_repeat(http):
    first = http.get("/v1/payment_intents", headers=AUTH).headers["Request-Id"]
    http.post("/_sim/reset")
    assert http.get("/v1/payment_intents", headers=AUTH).headers["Request-Id"] == first


def test_clock_get_advance_and_scale(http, double_sim):
    before = http.get("/_sim/clock").get_json()
    assert before["time_scale"] == 1.0
    after = http.post("/_sim/clock", json={"advance": 3600, "time_scale": 0}).get_json()
    assert after["time_scale"] == 0.0
    assert 3600 <= after["now"] - before["now"] < 3700
    frozen = http.get("/_sim/clock").get_json()["now"]
    assert http.get("/_sim/clock").get_json()["now"] == frozen
    assert double_sim.clock.time_scale == 0.0


@pytest.mark.parametrize("body, field", [
    ('{"advance": -1}', "advance"), ('{"advance": "soon"}', "advance"), ('{"time_scale": true}', "time_scale"),
    ('{"speed": 2}', "speed"), ("not json", None), ("[1]", None), ("{}", None), ('{"advance": NaN}', "advance"),
])
def test_clock_bad_input_is_400_naming_the_field(http, body, field):
    resp = http.post("/_sim/clock", data=body, content_type="application/json")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err.get("field") == field
    assert err["message"]


def test_unknown_control_route_is_json_404(http):
    resp = http.get("/_sim/nope")
    assert resp.status_code == 404 and resp.get_json()["error"]["status"] == 404


def test_token_required_when_configured(double_sim):
    http = create_app(double_sim, control_token="s3cret").test_client()
    assert http.get("/_sim/health").status_code == 401
    assert http.get("/_sim/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get("/_sim/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert http.get("/_sim/health", headers={"X-Sim-Token": "s3cret"}).status_code == 200
    # The Stripe API itself is not behind the control token.
    assert http.get("/v1/payment_intents", headers=AUTH).status_code == 200


def test_non_loopback_without_token_disables_control_plane(double_sim):
    http = create_app(double_sim, require_control_token=True).test_client()
    resp = http.post("/_sim/reset")
    assert resp.status_code == 403 and "--control-token" in resp.get_json()["error"]["message"]
