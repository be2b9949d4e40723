"""`stripe-sim serve` as a process (SDK reachable, clean stop on SIGTERM, state file) and `stripe-sim demo`."""
import argparse
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import stripe

from simulator.cli import demo

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from simulator.cli import main; sys.exit(main(sys.argv[1:]))"


def start_serve(*args):
    """Start `stripe-sim serve --port 0`; its URL once it says it listens (a hung start fails in 30 s)."""
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", "--port", "0", *args], cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: "queue.Queue[str]" = queue.Queue()
    seen = []

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            proc.lines = lines
            return proc, m.group(1), seen
    proc.kill()
    raise AssertionError("serve did not start:\n" + "".join(seen))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave a server behind; the test fails on the missing exit
        proc.wait(5)
        raise AssertionError("stripe-sim serve did not stop within 20 s of SIGTERM")
    out = []
    while True:  # the pump thread hands over the rest of the output, then "" at EOF
        line = proc.lines.get(timeout=10)
        if not line:
            return code, "".join(out)
        out.append(line)


def test_serve_prints_sdk_hints_stops_on_sigterm_and_keeps_state(tmp_path):
    state = tmp_path / "sim-state.json"
    proc, url, lines = start_serve("--seed", "5", "--state-file", str(state))
    try:
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": url}, max_network_retries=0)
        pi = client.v1.payment_intents.create(params={"amount": 1234, "currency": "usd",
                                                      "payment_method": "pm_card_visa", "confirm": True})
        assert pi.status == "succeeded"
    finally:
        code, out = stop(proc)
    text = "".join(lines) + out
    assert code == 0, text
    assert "stripe.api_base = %r" % url in text and "base_addresses={'api': %r}" % url in text
    assert "state saved" in text
    saved = json.loads(state.read_text().splitlines()[0])  # a journaled state's snapshot header
    assert saved["format"] == 2

    proc, url, _ = start_serve("--state-file", str(state))
    try:
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": url}, max_network_retries=0)
        again = client.v1.payment_intents.retrieve(pi.id)
        assert again.status == "succeeded" and again.amount == 1234
    finally:
        code, out = stop(proc)
    assert code == 0, out


def test_serve_refuses_bad_options(tmp_path):
    bad_state = tmp_path / "broken.json"
    bad_state.write_text("{not json")
    for args, needle in ((["--state-file", str(bad_state)], "not valid JSON"),
                         (["--time-scale", "-1"], "--time-scale")):
        proc = subprocess.run([sys.executable, "-c", CLI, "serve", "--port", "0", *args], cwd=str(ROOT),
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr


def test_demo_passes_and_shows_every_card(capsys):
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    assert demo.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out
    for last4 in ("4242", "0002", "9995", "0259"):
        assert re.search(r"^%s\s" % last4, out, re.M), out
    assert "charge.dispute.created" in out and "declined (insufficient_funds)" in out
    assert "OK:" in out


def test_demo_check_flags_a_wrong_outcome():
    row = {"card": "0002", "number": "4000000000000002", "status": "succeeded", "decline": None,
           "events": ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"], "delivered": 2}
    problems = demo._check(row)
    assert any("decline code None" in p for p in problems)
    assert any("events" in p for p in problems)
    assert any("2 of 3" in p for p in problems)
