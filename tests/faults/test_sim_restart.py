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
        assert len(recorded) == ORDERS * 4, recorded  # payment_intent.created, charge.succeeded, payment_intent.succeeded, charge.updated

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
            view = wait_until(lambda: (lambda v: v if v["status"] == "paid" and v["allocations"] and v["commissions"]
                                       else None)(requests.get(receiver.url + "/api/v1/orders/%s/" % o["id"],
                                                               headers={"Authorization": "Bearer " + TOKEN},
                                                               timeout=10).json()),
                              20, "order %s to be paid" % o["id"])
            assert len(view["allocations"]) == 1 and len(view["commissions"]) == 1, view
    finally:
        if receiver is not None:
            receiver.stop()
        sim.stop()


# -- kill -9 in the middle of concurrent payments ------------------------------------------

CLIENTS = 4
KILL_AFTER = 150  # answered payments before the kill (the clients keep paying meanwhile)


def _pay_until_refused(url: str, answered: list, errors: list, lock, stop) -> None:
    """One SDK client: create + confirm until the server goes away; only answered pairs count."""
    import stripe

    client = stripe.StripeClient(SK, base_addresses={"api": url}, max_network_retries=0)
    while not stop.is_set():
        try:
            pi = client.v1.payment_intents.create(params={"amount": 1500, "currency": "usd",
                                                          "payment_method": "pm_card_visa"})
            done = client.v1.payment_intents.confirm(pi.id)
        except (stripe.APIConnectionError, ConnectionError):
            return  # killed mid-request: that payment was never answered
        except Exception as exc:  # an error answer (a 5xx) fails the test
            with lock:
                errors.append(repr(exc))
            return
        with lock:
            if done.status == "succeeded":
                answered.append(done.id)
            else:
                errors.append("%s ended %s" % (done.id, done.status))


def test_kill9_during_concurrent_payments_keeps_every_answered_payment_and_delivers_its_events(tmp_path):
    """Four SDK clients pay at once against ``stripe-sim serve --state-file`` (real clock, a
    live receiver); SIGKILL lands while requests are in flight and ``charge.updated``
    deliveries (due 3 s after each payment) are still parked. Restarted on the same file:
    every answered payment is there with its four events, and every event is delivered."""
    import threading

    from tests.delivery.support import Receiver

    receiver = Receiver(secret=SECRET)
    sim = SimProcess(str(tmp_path / "state.json"), str(tmp_path / "stripe-sim.log"), time_scale=1)
    api = requests.Session()
    api.headers["Authorization"] = "Bearer " + SK
    answered: list = []
    errors: list = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        sim.start()
        r = api.post(sim.url + "/v1/webhook_endpoints", data={"url": receiver.url, "enabled_events[]": "*",
                                                               "secret": SECRET}, timeout=10)
        assert r.status_code == 200, r.text
        clients = [threading.Thread(target=_pay_until_refused, args=(sim.url, answered, errors, lock, stop))
                   for _ in range(CLIENTS)]
        for c in clients:
            c.start()
        wait_until(lambda: len(answered) >= KILL_AFTER, 120, "%d answered payments" % KILL_AFTER)
        sim.kill9()  # the clients are mid-request: some payments are created but never answered
        stop.set()
        for c in clients:
            c.join(30)
        assert not any(c.is_alive() for c in clients)
        assert not errors, errors[:5]
        paid = set(answered)
        assert len(paid) >= KILL_AFTER

        sim.start()
        events = _events(api, sim.url)
        by_intent: dict = {}
        for e in events:
            obj = e["data"]["object"]
            pi = obj["id"] if obj["object"] == "payment_intent" else obj.get("payment_intent")
            by_intent.setdefault(pi, set()).add(e["type"])
        missing = [pi for pi in paid if by_intent.get(pi) != {"payment_intent.created", "charge.succeeded",
                                                              "payment_intent.succeeded", "charge.updated"}]
        assert not missing, "answered payments without their four events after kill -9: %s" % [
            (pi, sorted(by_intent.get(pi, ()))) for pi in missing[:5]]
        for pi in sorted(paid)[:: max(1, len(paid) // 20)]:  # a sample through the API as well
            got = api.get(sim.url + "/v1/payment_intents/" + pi, timeout=10).json()
            assert got.get("status") == "succeeded", got

        recorded = {e["id"] for e in events}

        def all_delivered():
            with receiver.cond:
                seen = {r["event_id"] for r in receiver.requests if r["accepted"]}
            return recorded <= seen

        wait_until(all_delivered, 60, "every recorded event delivered after the restart")
        status = requests.get(sim.url + "/_sim/deliveries/status", timeout=10).json()
        wait_until(lambda: requests.get(sim.url + "/_sim/deliveries/status", timeout=10).json()["pending"] == 0,
                   30, "no delivery left pending (last: %s)" % status)
    finally:
        stop.set()
        sim.stop()
        receiver.close()
