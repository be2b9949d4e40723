"""Every fault does exactly what it says: checked by a receiver built on the official SDK
(``stripe.Webhook.construct_event``) and in the delivery log."""
import json
import time

import pytest

from simulator.delivery import FAULTS, FaultError, parse_fault, parse_faults
from tests.delivery.support import SECRET, Receiver

NOW = int(time.time())

# The exact message stripe-python raises for each broken-signature fault.
SDK_ERRORS = {
    "wrong_secret": "SignatureVerificationError: No signatures found matching the expected signature for payload",
    "tampered_body": "SignatureVerificationError: No signatures found matching the expected signature for payload",
    "stale_timestamp": "SignatureVerificationError: Timestamp outside the tolerance zone (%d)" % (NOW - 600),
    "missing_signature": (
        "SignatureVerificationError: No Stripe-Signature header value was provided. Read it from the incoming "
        "request's headers and pass it in; if this webhook has already been verified (or came from a trusted "
        "source), use one of the `*_without_verification` methods instead."),
    "malformed_signature": "SignatureVerificationError: Unable to extract timestamp and signatures from header",
    "v0_only": "SignatureVerificationError: No signatures found with expected scheme v1",
    "thin_event": ("ValueError: You passed a thin event notification to a method that expects a webhook body. "
                   "Use the corresponding parse_event_notification* method instead."),
}


@pytest.fixture
def fixed_engine(make_engine):
    return make_engine(sign_time=lambda: NOW)


def _trigger(engine, backend, ep, faults, types=("payment_intent.created", "charge.succeeded",
                                                  "payment_intent.succeeded"), seed=None):
    with engine.capture() as records:
        for t in types:
            backend.record_event(t)
    assert len(records) == len(types)
    engine.deliver(records, [ep], faults, seed=seed)
    engine.wait_idle(10)
    return records


@pytest.mark.parametrize("fault", sorted(SDK_ERRORS))
def test_broken_signature_and_payload_faults_are_rejected_with_the_intended_sdk_error(
        fault, fixed_engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    records = _trigger(fixed_engine, backend, ep, [fault], types=("payment_intent.succeeded",))
    (got,) = receiver.requests
    assert not got["accepted"]
    assert got["error"] == SDK_ERRORS[fault]
    (entry,) = fixed_engine.log.query(event=records[0].event["id"])
    assert entry["faults"] == [fault] and entry["expect"] == FAULTS[fault].expect
    assert entry["as_expected"] is (True if FAULTS[fault].expect == "reject" else None)
    assert entry["status"] == 400 and entry["response_head"] == SDK_ERRORS[fault]
    assert FAULTS[fault].sdk_error in SDK_ERRORS[fault]
    assert fixed_engine.pending == 0  # an intended rejection is not retried


def test_invalid_json_has_a_valid_signature_over_a_body_the_sdk_cannot_parse(fixed_engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    _trigger(fixed_engine, backend, ep, ["invalid_json"], types=("charge.succeeded",))
    (got,) = receiver.requests
    from simulator import signing

    signing.verify_header(got["body"], got["signature"], SECRET)  # the signature itself is valid
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads(got["body"])
    assert got["error"] == "ValueError: %s" % info.value


@pytest.mark.parametrize("fault", ["rolled_secret", "future_timestamp", "unknown_event_type", "other_api_version"])
def test_faults_a_correct_receiver_accepts(fault, fixed_engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    (rec,) = _trigger(fixed_engine, backend, ep, [fault], types=("charge.succeeded",))
    (got,) = receiver.requests
    assert got["accepted"], got["error"]
    body = json.loads(got["body"])
    if fault == "rolled_secret":
        assert got["signature"].count("v1=") == 2
    if fault == "future_timestamp":
        assert got["signature"].startswith("t=%d," % (NOW + 600))
    if fault == "unknown_event_type":
        assert body["type"] == "simulator.unknown_event" and body["id"] != rec.event["id"]
    if fault == "other_api_version":
        assert body["api_version"] == "2024-06-20" and body["type"] == "charge.succeeded"
    (entry,) = fixed_engine.log.query()
    assert entry["expect"] == FAULTS[fault].expect
    assert entry["as_expected"] is (True if FAULTS[fault].expect == "accept" else None)


def test_duplicate_sends_the_same_event_n_times_one_after_another(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    (rec,) = _trigger(engine, backend, ep, ["duplicate:3"], types=("payment_intent.succeeded",))
    assert [r["event_id"] for r in receiver.requests] == [rec.event["id"]] * 3
    assert all(r["accepted"] for r in receiver.requests)
    log = engine.log.query(event=rec.event["id"])
    assert [e["copy"] for e in log] == [1, 2, 3] and all(e["faults"] == ["duplicate:count=3"] for e in log)
    # one after another: each sent after the previous answered
    assert log[0]["seq"] < log[1]["seq"] < log[2]["seq"]
    assert rec.event["pending_webhooks"] == 0


def test_duplicate_concurrent_arrives_at_the_same_instant(engine, backend):
    gate = {"n": 0}
    import threading

    both_in = threading.Event()
    lock = threading.Lock()

    def respond(entry, i):
        # Answer only once all copies are inside the receiver: proves they were concurrent.
        with lock:
            gate["n"] += 1
            if gate["n"] == 4:
                both_in.set()
        both_in.wait(5)
        return None

    r = Receiver(respond=respond)
    try:
        ep = backend.add_endpoint(r.url)
        (rec,) = _trigger(engine, backend, ep, ["duplicate_concurrent:4"], types=("payment_intent.succeeded",))
        assert both_in.is_set()
        assert [q["event_id"] for q in r.requests] == [rec.event["id"]] * 4
        assert sorted(e["copy"] for e in engine.log.query()) == [1, 2, 3, 4]
    finally:
        r.close()


TYPES = ("payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.updated")


def test_reverse_delivers_in_reverse_record_order(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    _trigger(engine, backend, ep, ["reverse"], types=TYPES)
    assert [r["type"] for r in receiver.requests] == list(reversed(TYPES))


def test_shuffle_is_reproducible_from_its_seed(make_engine, backend, receiver):
    orders = []
    for _ in range(2):
        eng = make_engine()
        ep = backend.add_endpoint(receiver.url)
        _trigger(eng, backend, ep, ["shuffle:42"], types=TYPES)
        orders.append([r["type"] for r in receiver.requests])
        receiver.requests.clear()
        eng.stop()
        backend.webhook_endpoints.clear()
    assert orders[0] == orders[1]
    assert sorted(orders[0]) == sorted(TYPES)
    other = []
    for seed in range(1, 8):
        eng = make_engine()
        ep = backend.add_endpoint(receiver.url)
        _trigger(eng, backend, ep, ["shuffle:%d" % seed], types=TYPES)
        other.append(tuple(r["type"] for r in receiver.requests))
        receiver.requests.clear()
        eng.stop()
        backend.webhook_endpoints.clear()
    assert len(set(other)) > 1  # the seed matters


def test_hold_back_sends_one_event_after_all_the_others(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    _trigger(engine, backend, ep, ["hold_back:type=payment_intent.created"], types=TYPES)
    assert [r["type"] for r in receiver.requests] == list(TYPES[1:]) + ["payment_intent.created"]


def test_delay_parks_each_event_for_simulated_seconds(engine, backend, receiver, clock):
    ep = backend.add_endpoint(receiver.url)
    with engine.capture() as records:
        backend.record_event("charge.succeeded")
    engine.deliver(records, [ep], ["delay:120"])
    assert engine.status()["parked"] == 1
    clock.advance(119)
    assert receiver.requests == []
    clock.advance(1)
    engine.wait_idle(5)
    (entry,) = engine.log.query()
    assert entry["scheduled_at"] == records[0].available_at + 120 and entry["faults"] == ["delay:seconds=120.0"]


def test_faults_limited_to_one_event_type(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    _trigger(engine, backend, ep, ["wrong_secret:type=charge.succeeded"], types=TYPES)
    accepted = {r["type"] for r in receiver.requests if r["accepted"]}
    assert accepted == set(TYPES) - {"charge.succeeded"}
    assert len(receiver.requests) == 4


def test_a_fault_on_a_failing_receiver_still_retries_when_a_correct_receiver_would_accept(engine, backend, clock):
    r = Receiver(respond=lambda e, i: 500 if i == 0 else None)
    try:
        ep = backend.add_endpoint(r.url)
        with engine.capture() as records:
            backend.record_event("charge.succeeded")
        engine.deliver(records, [ep], ["rolled_secret"])
        engine.wait_for(lambda e: e["status"] == 500, timeout=5)
        clock.advance(600)
        engine.wait_idle(5)
        log = engine.log.query()
        assert [e["status"] for e in log] == [500, 200] and [e["attempt"] for e in log] == [1, 2]
        assert all(e["faults"] == ["rolled_secret"] for e in log) and r.requests[1]["signature"].count("v1=") == 2
    finally:
        r.close()


def test_standing_policy_applies_to_every_event_for_that_endpoint(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    engine.set_policy(ep, ["duplicate:2"])
    backend.record_event("charge.succeeded")
    backend.record_event("charge.updated")
    engine.wait_idle(5)
    assert sorted(r["type"] for r in receiver.requests) == ["charge.succeeded"] * 2 + ["charge.updated"] * 2
    assert all(r["accepted"] for r in receiver.requests)
    engine.clear_policy(ep)
    backend.record_event("charge.refunded")
    engine.wait_idle(5)
    assert len(receiver.requests) == 5


def test_standing_reverse_policy_batches_a_window(engine, backend, receiver, clock):
    ep = backend.add_endpoint(receiver.url)
    engine.set_policy(ep, ["reverse:seconds=5"])
    for t in TYPES[:3]:
        backend.record_event(t)
    assert receiver.requests == []
    clock.advance(5)
    engine.wait_idle(5)
    assert [r["type"] for r in receiver.requests] == list(reversed(TYPES[:3]))


def test_standing_policy_rate_is_reproducible_from_the_seed(make_engine, backend, receiver):
    runs = []
    for _ in range(2):
        eng = make_engine()
        ep = backend.add_endpoint(receiver.url)
        eng.set_policy(ep, ["wrong_secret:rate=0.5"], seed=99)
        for _ in range(12):
            backend.record_event("charge.succeeded")
        eng.wait_idle(5)
        runs.append([r["accepted"] for r in receiver.requests])
        receiver.requests.clear()
        eng.stop()
        backend.webhook_endpoints.clear()
    assert runs[0] == runs[1] and True in runs[0] and False in runs[0]


@pytest.mark.parametrize("spec, message", [
    ("explode", "unknown fault 'explode'"),
    ("duplicate:-1", "count must be >= 1"),
    ("duplicate:two", "count must be int"),
    ("delay:seconds=-5", "seconds must be >= 0"),
    ("reverse:3", "takes no bare value"),
    ("wrong_secret:count=2", "has no parameter 'count'"),
    ("delay:rate=2", "rate must be between 0 and 1"),
    ({"count": 2}, "needs a 'name'"),
])
def test_bad_fault_input_names_the_problem(spec, message):
    with pytest.raises(FaultError, match=message.replace("(", r"\(")):
        parse_fault(spec)


def test_fault_parsing_forms_agree():
    a = parse_fault("duplicate:3")
    b = parse_fault("duplicate:count=3")
    c = parse_fault({"name": "duplicate", "count": 3})
    d = parse_fault({"name": "duplicate", "params": {"count": "3"}})
    assert a == b == c == d and a.get("count") == 3
    assert [s.name for s in parse_faults("reverse")] == ["reverse"]


def test_every_fault_is_described_as_data():
    expected = {"duplicate", "duplicate_concurrent", "reverse", "shuffle", "hold_back", "delay", "wrong_secret",
                "tampered_body", "stale_timestamp", "future_timestamp", "missing_signature",
                "malformed_signature", "v0_only", "rolled_secret", "invalid_json", "unknown_event_type",
                "other_api_version", "thin_event"}
    assert set(FAULTS) == expected
    for f in FAULTS.values():
        d = f.to_dict()
        assert d["description"] and d["kind"] in ("copies", "order", "signature", "payload")
        assert d["expect"] in ("accept", "reject", "either")
        assert d["expect"] != "reject" or d["sdk_error"]


def test_capture_takes_flow_events_handed_over_by_another_thread_and_leaves_api_events(engine, backend, receiver):
    import threading
    from types import SimpleNamespace

    ep = backend.add_endpoint(receiver.url)
    with engine.capture() as records:
        mine = backend.record_event("payment_intent.created")  # dispatched in this thread
        # The backend may dispatch this thread's event from another thread that drains its queue.
        obj = {"id": "pi_x", "object": "payment_intent"}
        handed = SimpleNamespace(event={"id": "evt_handed", "type": "charge.succeeded", "object": "event",
                                        "data": {"object": obj}, "request": {"id": None}, "pending_webhooks": 1},
                                 available_at=None, payment_intent="pi_x", object_ids=("pi_x",))
        backend.events["evt_handed"] = handed
        t = threading.Thread(target=engine.on_event, args=(handed,))
        t.start()
        t.join()
        # An event made by a concurrent API request (it has a request id) is not the flow's.
        api_obj = {"id": "pi_api", "object": "payment_intent"}
        api_event = SimpleNamespace(event={"id": "evt_api", "type": "charge.succeeded", "object": "event",
                                           "data": {"object": api_obj}, "request": {"id": "req_123"},
                                           "pending_webhooks": 1},
                                    available_at=None, payment_intent="pi_api", object_ids=("pi_api",))
        backend.events["evt_api"] = api_event
        engine.on_event(api_event)
        assert [r.event["id"] for r in records] == [mine.event["id"], "evt_handed"]
    engine.wait_idle(5)
    assert [r["event_id"] for r in receiver.requests] == ["evt_api"]
    engine.deliver(records, [ep])
    engine.wait_idle(5)
    assert len(receiver.requests) == 3
