"""``stripe-sim serve --state-file`` killed with -9 while retries are pending, then started
again on the same state file: every event it had recorded is still delivered.

Phase 1: the receiver is down (its port reserved, nothing listening), so every delivery
fails and waits for its retry; ``charge.updated`` is not even due yet (frozen clock).
Phase 2: SIGKILL -- no shutdown hook runs. Phase 3: restart, bring the receiver up on that
port, step the clock past the retry schedule: each event lands, each order is paid once.
"""
from __future__ import annotations

import json

import requests

from harness.receiver.app import WEBHOOK_PATH
from harness.receiver.config import ReceiverConfig
from harness.receiver.server import ReceiverServer, free_port
from tests.faults.support import SECRET, SK, TOKEN, API_HEADERS, SimProcess, wait_until

ORDERS = 3


def _events(api, url):
    out = []
    params = {"limit": 100}
    while True:
        page = api.get(url + "/v1/events", params=params, timeout=10).json()
        out.extend(page["data"])
        if not page["has_more"]:
            return out
        params["starting_after"] = page["data"][-1]["id"]


def test_kill9_and_restart_with_retries_pending_loses_nothing(tmp_path):
    state_file = str(tmp_path / "stripe-sim-state.json")
    sim = SimProcess(state_file, str(tmp_path / "stripe-sim.log"), time_scale=0)
    port = free_port()
    receiver_url = "http://127.0.0.1:%d" % port
    db_url = "sqlite:///%s" % (tmp_path / "posx.sqlite3")
    api = requests.Session()
    api.headers["Authorization"] = "Bearer " + SK
    receiver = None
    try:
        sim.start()
        config = ReceiverConfig(webhook_secret=SECRET, stripe_secret_key=SK, stripe_api_base=sim.url,
                                database_url=db_url, outbox_poll_interval=0.02)
        r = api.post(sim.url + "/v1/webhook_endpoints", data={"url": receiver_url + WEBHOOK_PATH,
                                                               "enabled_events[]": "*", "secret": SECRET}, timeout=10)
        assert r.status_code == 200, r.text
        # Orders are made (through the official SDK, on the simulator) while the receiver's
        # webhook is still unreachable: a receiver app without a listening socket.
        from werkzeug.test import Client
        from harness.receiver.app import ReceiverApp
        offline = ReceiverApp(config, start_worker=False)
        try:
            orders = [Client(offline).post("/api/v1/orders/", json={"tier_id": "tier_starter", "quantity": 1},
                                           headers=API_HEADERS).get_json() for _ in range(ORDERS)]
        finally:
            offline.close()
        assert all(o.get("stripe_payment_intent_id", "").startswith("pi_") for o in orders), orders
        for o in orders:
            r = api.post(sim.url + "/v1/payment_intents/%s/confirm" % o["stripe_payment_intent_id"],
                         data={"payment_method": "pm_card_visa"}, timeout=10)
            assert r.status_code == 200, r.text
        recorded = {e["id"]: e["type"] for e in _events(api, sim.url)}
        # payment_intent.created, charge.succeeded, payment_intent.succeeded, charge.updated
        assert len(recorded) == ORDERS * 4, recorded

        def failures():
            return requests.get(sim.url + "/_sim/deliveries", params={"outcome": "failed"}, timeout=10).json()["count"]

        due_now = [eid for eid, t in recorded.items() if t != "charge.updated"]  # charge.updated waits 3 s simulated
        wait_until(lambda: failures() >= len(due_now), 30, "every due delivery to fail once")
        status = requests.get(sim.url + "/_sim/deliveries/status", timeout=10).json()
        assert status["pending"] == len(recorded), status  # retries parked + charge.updated not yet due

        sim.kill9()  # no shutdown hook, no save at stop
        sim.start()  # same state file
        after = {e["id"]: e["type"] for e in _events(api, sim.url)}
        assert after == recorded, "events lost across kill -9: %s" % sorted(set(recorded) - set(after))
        status = requests.get(sim.url + "/_sim/deliveries/status", timeout=10).json()
        assert status["pending"] == len(recorded), "pending deliveries lost across kill -9: %s" % status

        receiver = ReceiverServer(config, port=port).start()
        r = requests.post(sim.url + "/_sim/clock", json={"advance": 4 * 3600}, timeout=10)
        assert r.status_code == 200, r.text

        def delivered():
            ok = requests.get(sim.url + "/_sim/deliveries", params={"outcome": "succeeded"}, timeout=10).json()["data"]
            return {e["event_id"] for e in ok} >= set(recorded)
        try:
            wait_until(delivered, 30, "every recorded event to be delivered after the restart")
        except AssertionError as exc:
            status = requests.get(sim.url + "/_sim/deliveries/status", timeout=10).json()
            last = requests.get(sim.url + "/_sim/deliveries", timeout=10).json()["data"][-4:]
            raise AssertionError("%s\nstatus: %s\nlast attempts: %s" % (exc, json.dumps(status)[:400],
                                                                     json.dumps(last)[:2000])) from None

        for o in orders:
            view = wait_until(lambda o=o: (lambda v: v if v["status"] == "paid" and v["allocations"] and v["commissions"]
                                       else None)(requests.get(receiver.url + "/api/v1/orders/%s/" % o["id"],
                                                               headers={"Authorization": "Bearer " + TOKEN},
                                                               timeout=10).json()),
                              20, "order %s to be paid" % o["id"])
            assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1, view
    finally:
        if receiver is not None:
            receiver.stop()
        sim.stop()
