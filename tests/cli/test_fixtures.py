"""`stripe-sim fixtures FILE.json` with a file in the Stripe CLI's fixture format (written by
us for these tests: tests/cli/fixtures_refund.json): a customer-less PaymentIntent, confirmed
with pm_card_visa, refunded; references incl. nested ones and ${.env:VAR}."""
import json
from pathlib import Path

import pytest
import requests

from simulator.cli import main
from simulator.cli import fixture_file as FF
from simulator.core import Simulator
from simulator.server import SimulatorServer
from tests.cli.support import stripe_sim

FILE = Path(__file__).with_name("fixtures_refund.json")
AUTH = ("sk_test_fixtures", "")


@pytest.fixture(scope="module")
def server():
    with SimulatorServer(Simulator(seed=17)) as s:
        yield s


def _latest(server, kind):
    return requests.get(server.url + "/v1/%s" % kind, params={"limit": 1}, auth=AUTH, timeout=10).json()["data"][0]


def test_fixture_file_runs_unchanged_through_main(server, capsys, monkeypatch):
    monkeypatch.setenv("POSX_ORDER_ID", "order-7f3a")
    assert main(["fixtures", str(FILE), "--server", server.url]) == 0
    out = capsys.readouterr().out
    for name in ("payment_intent", "confirmed", "refund", "refunds_of_charge", "first_refund"):
        assert "Setting up fixture for: %s" % name in out and "Running fixture for: %s" % name in out
    pi = _latest(server, "payment_intents")
    assert pi["status"] == "succeeded" and pi["customer"] is None and pi["amount"] == 2500
    assert pi["metadata"] == {"order_id": "order-7f3a"}          # ${.env:POSX_ORDER_ID}
    assert pi["payment_method_types"] == ["card"]
    refund = _latest(server, "refunds")
    assert refund["payment_intent"] == pi["id"] and refund["amount"] == 2500 and refund["status"] == "succeeded"
    assert refund["metadata"] == {"charge": pi["latest_charge"]}  # ${confirmed:latest_charge}
    # ${refunds_of_charge:data.0.id}: the last fixture fetched the refund by the id found in a list.
    assert "first_refund -> %s" % refund["id"] in out
    charge = requests.get(server.url + "/v1/charges/" + pi["latest_charge"], auth=AUTH, timeout=10).json()
    assert charge["refunded"] is True and charge["amount_refunded"] == 2500


def test_fixture_file_as_a_process_with_the_env_default(server, tmp_path):
    # No POSX_ORDER_ID anywhere: the |default of ${.env:POSX_ORDER_ID|order-from-fixture} is used.
    proc = stripe_sim("fixtures", FILE, "--server", server.url, "--json")
    assert proc.popen.wait(30) == 0, proc.popen.stderr.read()
    out = "\n".join(proc.until(lambda lines: lines and lines[-1] == "}", what="the JSON answers"))
    answers = json.loads(out[out.index("\n{") + 1:])
    assert answers["confirmed"]["status"] == "succeeded"
    assert answers["payment_intent"]["metadata"] == {"order_id": "order-from-fixture"}
    assert answers["refund"]["payment_intent"] == answers["payment_intent"]["id"]


def _write(tmp_path, doc) -> str:
    p = tmp_path / "f.json"
    p.write_text(json.dumps(doc))
    return str(p)


@pytest.mark.parametrize("doc, message", [
    ({"_meta": {"template_version": 1}, "fixtures": [{"name": "a", "path": "/v1/customers"}]}, "template_version 1"),
    ({"_meta": {"template_version": 0}, "fixtures": []}, "non-empty list"),
    ({"fixtures": [{"name": "a", "path": "/v1/x", "method": "patch"}]}, "method must be get, post or delete"),
    ({"fixtures": [{"name": "a", "path": "/v1/refunds", "params": {"payment_intent": "${pi:id}"}}]},
     "refers to fixture 'pi', which has not run"),
    ({"fixtures": [{"name": "a", "path": "/v1/payment_intents", "params": {"amount": "${.env:NO_SUCH_VAR_17}"}}]},
     "${.env:NO_SUCH_VAR_17} is not set"),
    ({"fixtures": [{"name": "a", "path": "/v2/core/events"}]}, "not a /v1/ API path"),
])
def test_bad_fixture_files_are_usage_errors_naming_the_problem(server, tmp_path, capsys, monkeypatch, doc, message):
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    assert main(["fixtures", _write(tmp_path, doc), "--server", server.url]) == 2
    assert message in capsys.readouterr().err


def test_an_api_error_stops_the_run_unless_expected(server, tmp_path, capsys):
    declined = {"name": "declined", "path": "/v1/payment_intents", "method": "post",
                "params": {"amount": 900, "currency": "usd", "payment_method": "pm_card_chargeDeclined", "confirm": True}}
    assert main(["fixtures", _write(tmp_path, {"fixtures": [declined]}), "--server", server.url]) == 1
    assert "answered 402" in capsys.readouterr().err
    expected = dict(declined, expected_error_type="card_error")
    after = {"name": "after", "path": "/v1/payment_intents/${declined:error.payment_intent.id}", "method": "get"}
    assert main(["fixtures", _write(tmp_path, {"fixtures": [expected, after]}), "--server", server.url]) == 0
    out = capsys.readouterr().out
    assert "failed as expected: card_error" in out and "after -> pi_" in out


def test_form_encoding_and_references():
    r = FF.Resolver(env={"V": "x"}, dotenv=lambda: {"D": "from-dotenv"})
    r.answers["list"] = {"data": [{"id": "re_1", "ok": True}]}
    pairs = FF.form_pairs({"a": 1, "b": 2.0, "c": 2.5, "d": True, "e": None, "types": ["card", "link"],
                           "items": [{"price": "${list:data.0.id}", "qty": 2}], "m": {"k": "${.env:V}-${.env:D}"},
                           "f": "${list:data.0.ok}"}, r, "t")
    assert pairs == [("a", "1"), ("b", "2"), ("c", "2.5"), ("d", "true"), ("types[]", "card"), ("types[]", "link"),
                     ("items[0][price]", "re_1"), ("items[0][qty]", "2"), ("m[k]", "x-from-dotenv"), ("f", "true")]
    assert FF.walk({"a": [{"b": 1}]}, "a.0.b") == 1 and FF.walk({"a": []}, "a.0.b") is None
    assert r.text("${list:data.5.id|fallback}", "t") == "fallback"
    with pytest.raises(FF.FixtureError, match="is an object"):
        r.text("${list:data}", "t")


def test_env_block_updates_an_existing_dotenv(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("KEEP=1\nPI_ID=old\n")
    doc = {"fixtures": [{"name": "pi", "path": "/v1/payment_intents", "params": {"amount": 100, "currency": "usd"}}],
           "env": {"PI_ID": "${pi:id}", "PI_STATUS": "${pi:status}"}}
    assert main(["fixtures", _write(tmp_path, doc), "--server", server.url]) == 0
    env = FF.read_dotenv(str(tmp_path / ".env"))
    assert env["KEEP"] == "1" and env["PI_ID"].startswith("pi_") and env["PI_STATUS"] == "requires_payment_method"
