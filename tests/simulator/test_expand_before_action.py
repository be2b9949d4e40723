"""``expand`` on a state-changing call is checked before the call runs: a bad path is a 400
that changed nothing (it used to refund, confirm or close first and then refuse, so a
client retrying the "failed" refund refunded twice)."""
import json

import pytest

from tests.hostile.support import AUTH, app_for, populated_sim, state_of

FORM = dict(AUTH, **{"Content-Type": "application/x-www-form-urlencoded"})


@pytest.fixture
def api():
    sim, ids = populated_sim()
    app = app_for(sim)
    yield sim, ids, app.test_client()
    sim.close()


@pytest.mark.parametrize("path, body", [
    ("/v1/refunds", "payment_intent={pi0}&amount=50&expand[]=charge.nope"),
    ("/v1/refunds", "payment_intent={pi0}&amount=50&expand[]=latest_charge"),
    ("/v1/payment_intents", "amount=700&currency=usd&confirm=true&payment_method=pm_card_visa&expand[]=charges"),
    ("/v1/payment_intents/{pi1}/cancel", "expand[]=latest_charge.refunds"),
    ("/v1/disputes/{dp0}/close", "expand[]=evidence"),
    ("/v1/disputes/{dp0}", "evidence[uncategorized_text]=losing_evidence&expand[]=charge.x"),
    ("/v1/webhook_endpoints", "url=http://127.0.0.1:9/x&enabled_events[]=*&expand[]=secret"),
])
def test_a_bad_expand_path_refuses_the_call_before_it_runs(api, path, body):
    sim, ids, client = api
    names = {"pi0": ids["pi"][0], "pi1": ids["pi"][1], "dp0": ids["dp"][0]}
    before = state_of(sim)
    resp = client.post(path.format(**names), data=body.format(**names), headers=FORM)
    err = json.loads(resp.get_data())["error"]
    assert resp.status_code == 400 and err["param"] == "expand" and "cannot be expanded" in err["message"], err
    assert state_of(sim) == before


def test_good_paths_still_expand_after_the_call(api):
    sim, ids, client = api
    resp = client.post("/v1/payment_intents", headers=FORM, data="amount=700&currency=usd&confirm=true&payment_method="
                       "pm_card_visa&expand[]=latest_charge.balance_transaction&expand[]=payment_method")
    pi = json.loads(resp.get_data())
    assert resp.status_code == 200, pi
    assert pi["latest_charge"]["balance_transaction"]["object"] == "balance_transaction"
    assert pi["payment_method"]["object"] == "payment_method"
    resp = client.post("/v1/refunds", headers=FORM,
                       data="payment_intent=%s&amount=100&expand[]=charge.payment_intent" % pi["id"])
    refund = json.loads(resp.get_data())
    assert resp.status_code == 200 and refund["charge"]["payment_intent"]["id"] == pi["id"], refund
