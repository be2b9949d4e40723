"""State files: the engine's pending work round-trips through Simulator.save_state/load_state,
and AutoSaver keeps the file current while a simulator runs."""
import json
import time

import pytest

from simulator.core import Simulator
from simulator.persistence import AutoSaver
from tests.delivery.support import Receiver, free_port


def _failing_payment(sim, url):
    ep = sim.backend.create_webhook_endpoint({"url": url, "enabled_events": ["*"]})
    sim.backend.create_payment_intent({"amount": "2000", "currency": "usd", "payment_method": "pm_card_visa",
                                       "confirm": "true", "payment_method_types": ["card"]})
    sim.engine.wait_for(outcome="failed", count=3, timeout=10)
    return ep


def test_pending_retries_and_policies_round_trip_through_the_state_file(tmp_path):
    path = str(tmp_path / "state.json")
    port = free_port()
    sim = Simulator(seed=9, time_scale=0)
    try:
        ep = _failing_payment(sim, "http://127.0.0.1:%d/hook" % port)
        sim.engine.set_policy(ep["id"], ["duplicate:2"], seed=4)
        before = sim.engine.status()
        sim.close()
        sim.save_state(path)
    finally:
        sim.close()
    state = json.loads(open(path).read())
    assert len(state["engine"]["jobs"]) == 4  # 3 retries + charge.updated not yet due
    receiver = Receiver(secret=ep["secret"], port=port)
    again = Simulator(seed=9, time_scale=0, state_file=path)
    try:
        assert again.engine.status()["pending"] == before["pending"] == 4
        assert again.engine.policy(ep["id"])["faults"] == ["duplicate:count=2"]
        again.clock.advance(600)
        again.engine.wait_idle(10)
        assert len(receiver.requests) == 4 and all(r["accepted"] for r in receiver.requests)
        assert all(r.pending_webhooks == 0 for r in again.backend.events.values())
    finally:
        again.close()
        receiver.close()


def test_autosaver_writes_only_when_something_changed(tmp_path):
    path = str(tmp_path / "auto.json")
    sim = Simulator(seed=2, time_scale=0, state_file=path)
    try:
        saver = AutoSaver(sim, interval=60)
        saver._marker = None
        assert saver.save_if_changed() is True
        assert saver.save_if_changed() is False  # nothing happened
        pi = sim.backend.create_payment_intent({"amount": "500", "currency": "usd"})
        assert pi["id"] not in open(path).read()
        assert saver.save_if_changed() is True
        assert pi["id"] in open(path).read()
    finally:
        sim.close()


def test_autosaver_thread_saves_while_running(tmp_path):
    path = tmp_path / "bg.json"
    sim = Simulator(seed=2, time_scale=0, state_file=str(path))
    try:
        with AutoSaver(sim, interval=0.05) as saver:
            sim.backend.create_payment_intent({"amount": "500", "currency": "usd"})
            deadline = time.monotonic() + 10
            while saver.saves == 0 and time.monotonic() < deadline:
                time.sleep(0.02)  # polling the saver's own counter, bounded by the deadline
            assert saver.saves >= 1 and path.exists()
    finally:
        sim.close()


def test_autosaver_needs_a_path():
    sim = Simulator(seed=2, time_scale=0)
    try:
        with pytest.raises(ValueError, match="no state file"):
            AutoSaver(sim)
        with pytest.raises(ValueError, match="interval"):
            AutoSaver(sim, "x.json", interval=0)
    finally:
        sim.close()


def test_checkpointer_saves_before_a_mutating_request_is_answered(tmp_path):
    from simulator.api import create_app
    from simulator.persistence import Checkpointer

    path = tmp_path / "cp.json"
    sim = Simulator(seed=2, time_scale=0, state_file=str(path))
    try:
        app = create_app(sim)
        cp = Checkpointer(sim, interval=60).attach(app)
        client = app.test_client()
        r = client.post("/v1/payment_intents", data={"amount": "700", "currency": "usd"},
                        headers={"Authorization": "Bearer sk_test_x"})
        assert r.status_code == 200
        assert r.get_json()["id"] in path.read_text()  # on disk before the answer
        saves = cp.saves
        client.get("/v1/payment_intents", headers={"Authorization": "Bearer sk_test_x"})
        assert cp.saves == saves  # reads do not save
        cp.stop()
    finally:
        sim.close()
