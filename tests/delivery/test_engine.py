"""Delivery to registered endpoints: headers, signatures the SDK accepts, acknowledgement,
retries on Stripe's schedule (frozen clock, stepped), failure rules, disabling."""
import re
import threading

import pytest

from simulator.delivery import DeliveryTimeout, DisableRule, TEST, LIVE
from simulator.delivery.transport import BASE_HEADERS
from tests.delivery.support import SECRET, Receiver, free_port
from tests.faults.support import wait_until


def test_honest_delivery_has_stripes_headers_and_the_sdk_accepts_it(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    rec = backend.record_event("payment_intent.succeeded")
    engine.wait_idle(5)
    (got,) = receiver.wait_count(1)
    assert got["accepted"], got["error"]
    assert got["event_id"] == rec.event["id"]
    for name, value in BASE_HEADERS.items():
        assert got["headers"][name] == value
    assert got["headers"]["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    assert got["path"] == "/webhooks/stripe/"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64},v0=[0-9a-f]{64}", got["signature"])  # test mode adds v0
    # Stripe's pretty body, exactly the bytes signed
    assert got["body"].startswith(b'{\n  "id": "evt_')
    (entry,) = engine.log.query(event=rec.event["id"])
    assert entry["outcome"] == "succeeded" and entry["status"] == 200 and entry["endpoint_id"] == ep
    assert entry["attempt"] == 1 and entry["honest"] and entry["as_expected"]
    assert rec.event["pending_webhooks"] == 0


def test_only_subscribed_enabled_endpoints_receive(engine, backend, receiver):
    other = Receiver()
    try:
        backend.add_endpoint(receiver.url, enabled_events=["charge.succeeded"])
        off = backend.add_endpoint(other.url)
        backend.webhook_endpoints[off]["status"] = "disabled"
        backend.record_event("payment_intent.succeeded")
        backend.record_event("charge.succeeded")
        engine.wait_idle(5)
        assert [r["type"] for r in receiver.requests] == ["charge.succeeded"]
        assert other.requests == []
    finally:
        other.close()


def test_pending_webhooks_counts_down_per_acknowledging_endpoint(engine, backend, receiver):
    failing = Receiver(respond=lambda e, i: 500)
    try:
        backend.add_endpoint(receiver.url)
        backend.add_endpoint(failing.url)
        rec = backend.record_event("charge.succeeded")
        assert rec.event["pending_webhooks"] == 2
        engine.wait_for(outcome="failed", timeout=5)
        engine.wait_for(outcome="succeeded", timeout=5)
        assert rec.event["pending_webhooks"] == 1
    finally:
        failing.close()


def test_rolled_secret_sends_one_v1_per_active_secret(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url, secret="whsec_old_secret_1")
    backend.roll_secret(ep, SECRET)  # receiver knows only the newest
    backend.record_event("charge.succeeded")
    (got,) = receiver.wait_count(1)
    assert got["signature"].count("v1=") == 2
    assert got["accepted"], got["error"]


def test_events_due_later_wait_for_the_simulated_clock(engine, backend, receiver, clock):
    backend.add_endpoint(receiver.url)
    first = backend.record_event("charge.succeeded")
    late = backend.record_event("charge.updated", delay=3.0)
    engine.wait_for(event=first.event["id"], timeout=5)
    assert engine.status()["parked"] == 1
    with pytest.raises(DeliveryTimeout):
        engine.wait_for(event=late.event["id"], timeout=0.2)
    clock.advance(3.0)
    engine.wait_for(event=late.event["id"], timeout=5)
    assert [r["type"] for r in receiver.requests] == ["charge.succeeded", "charge.updated"]


def test_failure_retries_on_the_test_mode_schedule_each_freshly_signed(engine, backend, clock):
    fails = {"left": 3}

    def respond(entry, i):
        if fails["left"]:
            fails["left"] -= 1
            return 500
        return None

    r = Receiver(respond=respond)
    try:
        backend.add_endpoint(r.url)
        rec = backend.record_event("payment_intent.succeeded")
        t0 = clock.now()
        engine.wait_for(attempt=1, timeout=5)
        for n, delay in enumerate(TEST.delays, start=2):
            # nothing happens before the retry is due ...
            clock.advance(delay - 1)
            with pytest.raises(DeliveryTimeout):
                engine.wait_for(attempt=n, timeout=0.05)
            clock.advance(1)
            engine.wait_for(attempt=n, timeout=5)
        engine.wait_idle(5)
        log = engine.log.query(event=rec.event["id"])
        assert [e["attempt"] for e in log] == [1, 2, 3, 4]
        assert [e["status"] for e in log] == [500, 500, 500, 200]
        assert [e["scheduled_at"] - t0 for e in log] == TEST.offsets()
        sigs = [q["signature"] for q in r.requests]
        assert len(set(sigs)) == 4 or len({s.split(",")[0] for s in sigs}) >= 1
        assert all(q["body"] == r.requests[0]["body"] for q in r.requests)
        assert rec.event["pending_webhooks"] == 0
    finally:
        r.close()


def test_gives_up_after_the_last_retry(engine, backend, clock):
    r = Receiver(respond=lambda e, i: 503)
    try:
        backend.add_endpoint(r.url)
        backend.record_event("charge.succeeded")
        for delay in [0] + list(TEST.delays):
            clock.advance(delay)
        engine.wait_idle(5)
        assert [e["attempt"] for e in engine.log.query()] == [1, 2, 3, 4]
        clock.advance(10 * 86400)
        assert engine.pending == 0 and len(engine.log) == 4
    finally:
        r.close()


def test_live_schedule_spans_three_days_on_a_scaled_clock(backend, make_engine):
    from simulator.clock import Clock
    from simulator.delivery import DeliveryEngine
    from simulator.rng import SeededRandom

    fast = Clock(time_scale=1_000_000)
    backend.clock = fast
    r = Receiver(respond=lambda e, i: 500)
    eng = DeliveryEngine(backend, fast, SeededRandom(1), mode="live", workers=2)
    try:
        backend.add_endpoint(r.url)
        backend.record_event("charge.succeeded")
        eng.wait_idle(10)
        log = eng.log.query()
        assert len(log) == LIVE.max_attempts
        span = log[-1]["scheduled_at"] - log[0]["scheduled_at"]
        assert span == 3 * 86400
    finally:
        eng.stop()
        r.close()


@pytest.mark.parametrize("status", [301, 302, 307, 400, 404, 410, 500, 502])
def test_redirects_and_errors_are_failures_and_redirects_are_not_followed(engine, backend, status):
    r = Receiver(respond=lambda e, i: status)
    try:
        backend.add_endpoint(r.url)
        backend.record_event("charge.succeeded")
        (entry,) = engine.wait_for(outcome="failed", timeout=5)
        assert entry["status"] == status
        assert len(r.requests) == 1  # the Location was not followed
        # A retry is parked. The attempt's log entry is written before its retry is planned,
        # so poll: reading the count at once raced with the engine's thread.
        wait_until(lambda: engine.status()["parked"] == 1 and engine.pending == 1, timeout=5,
                   what="the retry parked and the attempt finished")
        assert len(r.requests) == 1
    finally:
        r.close()


def test_connection_refused_is_a_failure_with_a_clear_error(engine, backend):
    backend.add_endpoint("http://127.0.0.1:%d/hook" % free_port())
    backend.record_event("charge.succeeded")
    (entry,) = engine.wait_for(outcome="failed", timeout=5)
    assert entry["status"] is None and entry["error"].startswith("connection_refused")


def test_attempt_timeout_is_a_failure(make_engine, backend):
    r = Receiver(delay=1.0)
    try:
        eng = make_engine(timeout=0.2)
        backend.add_endpoint(r.url)
        backend.record_event("charge.succeeded")
        (entry,) = eng.wait_for(outcome="failed", timeout=5)
        assert entry["error"].startswith("timeout")
    finally:
        r.close()


def test_endpoint_that_keeps_failing_is_disabled_and_retries_stop(make_engine, backend, clock):
    r = Receiver(respond=lambda e, i: 500)
    try:
        eng = make_engine(disable_rule=DisableRule(after_seconds=3600, min_failures=3))
        ep = backend.add_endpoint(r.url)
        backend.record_event("charge.succeeded")
        backend.record_event("charge.updated")
        eng.wait_for(attempt=1, count=2, timeout=5)
        clock.advance(600)
        eng.wait_for(attempt=2, count=2, timeout=5)
        clock.advance(3600)  # third+ failures, one hour after the first: disabled
        eng.wait_for(attempt=3, count=2, timeout=5)
        assert backend.webhook_endpoints[ep]["status"] == "disabled"
        clock.advance(10800)
        eng.wait_idle(5)
        abandoned = eng.log.query(outcome="abandoned")
        assert len(abandoned) == 2 and abandoned[0]["error"] == "endpoint disabled"
        assert len(r.requests) == 5  # the second attempt 3 found the endpoint already disabled
    finally:
        r.close()


def test_deleted_endpoint_gets_no_retries(engine, backend, clock):
    r = Receiver(respond=lambda e, i: 500)
    try:
        ep = backend.add_endpoint(r.url)
        backend.record_event("charge.succeeded")
        engine.wait_for(outcome="failed", timeout=5)
        del backend.webhook_endpoints[ep]
        clock.advance(600)
        (entry,) = engine.wait_for(outcome="abandoned", timeout=5)
        assert entry["error"] == "endpoint deleted"
        engine.wait_idle(5)
        assert len(r.requests) == 1
    finally:
        r.close()


def test_resend_delivers_again_once(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    rec = backend.record_event("charge.succeeded")
    engine.wait_idle(5)
    assert engine.resend(rec.event["id"], ep) == [ep]
    engine.wait_idle(5)
    log = engine.log.query(event=rec.event["id"])
    assert [e["origin"] for e in log] == ["event", "resend"]
    assert len(receiver.requests) == 2 and receiver.requests[1]["accepted"]
    with pytest.raises(KeyError):
        engine.resend("evt_nope")


def test_wait_for_timeout_shows_what_did_happen(engine, backend, receiver):
    backend.add_endpoint(receiver.url)
    rec = backend.record_event("charge.succeeded")
    engine.wait_idle(5)
    with pytest.raises(DeliveryTimeout) as info:
        engine.wait_for(type="charge.refunded", timeout=0.1)
    msg = str(info.value)
    assert "charge.refunded" in msg and rec.event["id"] in msg and "succeeded" in msg


def test_log_query_filters(engine, backend, receiver):
    ep = backend.add_endpoint(receiver.url)
    a = backend.record_event("charge.succeeded", payment_intent="pi_A")
    backend.record_event("payment_intent.succeeded", payment_intent="pi_B")
    engine.wait_idle(5)
    assert [e["event_id"] for e in engine.log.query(payment_intent="pi_A")] == [a.event["id"]]
    assert len(engine.log.query(type="payment_intent.succeeded")) == 1
    assert len(engine.log.query(endpoint=ep, outcome="succeeded")) == 2
    assert engine.log.query(outcome="failed") == []
    with pytest.raises(ValueError, match="outcome"):
        engine.log.query(outcome="great")
    with pytest.raises(ValueError, match="unknown delivery filter"):
        engine.log.query(colour="red")


def test_many_events_concurrently_recorded_all_arrive(make_engine, backend, receiver):
    eng = make_engine(workers=4, endpoint_concurrency=2)
    backend.add_endpoint(receiver.url)
    threads = [threading.Thread(target=lambda: [backend.record_event("charge.succeeded") for _ in range(25)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eng.wait_idle(10)
    assert len(receiver.requests) == 100 and all(r["accepted"] for r in receiver.requests)
    assert len({r["event_id"] for r in receiver.requests}) == 100


def test_reset_forgets_queued_work_and_keeps_counting_right(engine, backend, receiver, clock):
    ep = backend.add_endpoint(receiver.url)
    backend.record_event("charge.updated", delay=60)  # parked
    engine.set_policy(ep, ["reverse"])
    backend.record_event("charge.succeeded")  # held in a policy window
    assert engine.pending == 2
    engine.reset()
    assert engine.pending == 0 and engine.status()["parked"] == 0 and engine.policy(ep)["faults"] == []
    clock.advance(120)
    backend.record_event("charge.refunded")
    engine.wait_idle(5)
    assert [r["type"] for r in receiver.requests] == ["charge.refunded"] and engine.pending == 0


def test_reset_can_keep_the_log_and_same_seed_triggers_stay_distinct(engine, backend, receiver):
    # A scenario run resets the engine between scenarios but keeps the log for the
    # dashboard; scenarios reuse one fault seed, so trigger ids must not collide in it.
    ep = backend.add_endpoint(receiver.url)
    with engine.capture() as first:
        backend.record_event("payment_intent.succeeded")
    t1 = engine.deliver(first, [ep], ["duplicate:2"], seed=7)
    engine.wait_trigger(t1, timeout=10)
    engine.reset(keep_log=True)
    ep = backend.add_endpoint(receiver.url)
    with engine.capture() as second:
        backend.record_event("payment_intent.succeeded")
    t2 = engine.deliver(second, [ep], ["duplicate:2"], seed=7)
    assert t1 != t2
    engine.wait_trigger(t2, timeout=10)
    assert len(engine.log.query(trigger=t1)) == 2 and len(engine.log.query(trigger=t2)) == 2
    engine.reset()
    assert len(engine.log) == 0
