"""`stripe-sim trigger` with the Stripe CLI's trigger names, and the docs' table of them."""
import re
from pathlib import Path

import pytest

from simulator import flows
from simulator.cli import main
from simulator.cli.stripe_cli_names import MAPPED, STRIPE_CLI_TRIGGERS, translate
from tests.cli.support import VerifyingReceiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "STRIPE_CLI.md"


def test_docs_table_is_the_mapping():
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- trigger-names"):]
    rows = dict(re.findall(r"^\| `([\w.]+)` \| `([\w.]+)` \|", table, re.M))
    assert rows == MAPPED


def test_every_mapped_name_is_a_stripe_cli_name_and_runs_a_flow_that_makes_that_event():
    for name, flow in MAPPED.items():
        assert name in STRIPE_CLI_TRIGGERS
        assert name in flows.load(flow)["events"], (name, flow)


@pytest.fixture
def receiver():
    r = VerifyingReceiver()
    r.secret = "whsec_trigger_names_test"
    yield r
    r.close()


def test_a_stripe_cli_name_we_map_triggers_its_flow(receiver, capsys):
    assert main(["trigger", "refund.updated", "--to", receiver.url, "--secret", receiver.secret, "--seed", "5"]) == 0
    types = [e["type"] for e in receiver.verified]
    assert "refund.updated" in types and "charge.refunded" in types
    assert "ok:" in capsys.readouterr().out


def test_a_stripe_cli_name_we_do_not_simulate_is_a_clear_usage_error(capsys):
    assert main(["trigger", "customer.subscription.created", "--to", "http://127.0.0.1:9/x", "--secret", "whsec_x1"]) == 2
    err = capsys.readouterr().err
    assert "Stripe CLI trigger the simulator does not reproduce" in err and "docs/STRIPE_CLI.md" in err
    assert translate("3ds_success") == "3ds_success"   # our own flow names pass through
    assert translate("charge.refund.updated") == "charge.refunded"
