"""The committed API definitions are what the generator makes from Stripe's pinned SDKs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import definitions as D

ROOT = Path(__file__).resolve().parents[2]


def test_generator_output_matches_the_committed_file():
    """Downloads stripe==12.5.1 (pip) and stripe@18.5.0 (npm) into .cache once, then re-runs the
    generator with --check: any drift of the committed file from its inputs fails here."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_stripe_api.py"), "--check"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    if proc.returncode == 3:
        pytest.skip(proc.stderr.strip()[-300:])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_data_names_its_inputs_and_covers_the_payments_core():
    raw = json.loads((ROOT / "simulator" / "definitions" / "stripe_api.json").read_text())
    assert raw["api_version"] == "2025-08-27.basil" and len(raw["_inputs"]) == 32
    actions = {op.action for op in D.operations()}
    assert {"create_payment_intent", "confirm_payment_intent", "search_payment_intents", "create_customer",
            "list_checkout_session_line_items", "retrieve_current_account", "finalize_invoice", "void_invoice"} <= actions
    assert len(actions) > 500
    assert D.resource("checkout.session").prefix == "cs_test"
    assert "breakdown" in D.includable_fields("Checkout.Session.TotalDetails")


def test_the_coverage_page_is_current():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_api_coverage.py"), "--check"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
