"""Signatures the simulator makes verify with the official SDK; broken ones fail as intended."""
import json
import time

import pytest
import stripe

from simulator import signing
from tests.support.stripe12 import run_stripe12

SECRET = "whsec_test_secret_0123456789abcdef"
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                   "data": {"object": {"id": "pi_1", "object": "payment_intent"}}}).encode()


def generate_header(**overrides):
    """Test builder: a valid header, with any part overridden."""
    opts = {"payload": BODY, "secrets": SECRET, "timestamp": int(time.time())}
    opts.update(overrides)
    return signing.generate_header(opts.pop("payload"), opts.pop("secrets"), opts.pop("timestamp"), **opts)


def test_header_shape_and_value_match_stripe_definition():
    import hashlib
    import hmac
    header = signing.generate_header(BODY, SECRET, timestamp=1700000000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == "t=1700000000,v1=" + expected


def test_official_sdk_accepts_our_signature():
    event = stripe.Webhook.construct_event(BODY, generate_header(), SECRET)
    assert event.id == "evt_1"
    assert event.type == "payment_intent.succeeded"


def test_official_sdk_accepts_rolled_secrets_and_v0():
    header = generate_header(secrets=["whsec_new_one", SECRET], include_v0=True)
    assert header.count("v1=") == 2 and "v0=" in header
    assert stripe.Webhook.construct_event(BODY, header, SECRET).id == "evt_1"
    assert stripe.Webhook.construct_event(BODY, header, "whsec_new_one").id == "evt_1"


def test_fresh_timestamp_per_call_changes_signature():
    a = generate_header(timestamp=1700000000)
    b = generate_header(timestamp=1700000001)
    assert a != b


@pytest.mark.parametrize("header,message", [
    (None, "No Stripe-Signature header value was provided"),
    ("garbage", "Unable to extract timestamp and signatures from header"),
    ("t=abc,v1=00", "Unable to extract timestamp and signatures from header"),
    ("t=%d,v0=00" % int(time.time()), "No signatures found with expected scheme v1"),
    ("t=%d,v1=00" % int(time.time()), "No signatures found matching the expected signature for payload"),
], ids=["none", "garbage", "bad_t", "v0_only", "wrong_v1"])  # fixed ids: time-based ones differ between xdist workers
def test_each_failure_message(header, message):
    with pytest.raises(signing.SignatureVerificationError) as exc:
        signing.verify_header(BODY, header, SECRET)
    assert message in str(exc.value)


def test_wrong_secret_fails():
    with pytest.raises(signing.SignatureVerificationError, match="matching the expected signature"):
        signing.verify_header(BODY, generate_header(secrets="whsec_other"), SECRET)


def test_tampered_body_fails():
    header = generate_header()
    with pytest.raises(signing.SignatureVerificationError, match="matching the expected signature"):
        signing.verify_header(BODY + b" ", header, SECRET)


def test_stale_timestamp_fails_and_future_passes():
    old = generate_header(timestamp=int(time.time()) - 301)
    with pytest.raises(signing.SignatureVerificationError, match="Timestamp outside the tolerance zone"):
        signing.verify_header(BODY, old, SECRET)
    with pytest.raises(stripe.SignatureVerificationError, match="Timestamp outside the tolerance zone"):
        stripe.Webhook.construct_event(BODY, old, SECRET)
    future = generate_header(timestamp=int(time.time()) + 3600)
    assert signing.verify_header(BODY, future, SECRET) > time.time()
    assert stripe.Webhook.construct_event(BODY, future, SECRET).id == "evt_1"


def test_no_secret_fails():
    with pytest.raises(signing.SignatureVerificationError, match="No webhook secret"):
        signing.verify_header(BODY, generate_header(), " ")


def test_construct_event_valid_signature_bad_json_is_value_error():
    body = b"{not json"
    header = signing.generate_header(body, SECRET)
    with pytest.raises(ValueError, match="Invalid payload"):
        signing.construct_event(body, header, SECRET)
    with pytest.raises(ValueError):
        stripe.Webhook.construct_event(body, header, SECRET)


def test_several_receiver_secrets():
    header = generate_header(secrets="whsec_b")
    assert signing.verify_header(BODY, header, ["whsec_a", "whsec_b"])


def test_redact_secret_never_shows_whole_secret():
    redacted = signing.redact_secret(SECRET)
    assert SECRET not in redacted and redacted.startswith("whsec_")


@pytest.mark.stripe12
def test_stripe12_line_accepts_and_rejects_the_same_way():
    good = generate_header()
    stale = generate_header(timestamp=int(time.time()) - 400)
    wrong = generate_header(secrets="whsec_other")
    out = run_stripe12("""
        import json, stripe
        body, secret = %r, %r
        res = {"version": stripe.VERSION, "api_version": stripe.api_version}
        res["good"] = stripe.Webhook.construct_event(body, %r, secret)["id"]
        for name, header in (("stale", %r), ("wrong", %r)):
            try:
                stripe.Webhook.construct_event(body, header, secret)
                res[name] = "accepted"
            except stripe.error.SignatureVerificationError as e:
                res[name] = str(e)
        print(json.dumps(res))
    """ % (BODY.decode(), SECRET, good, stale, wrong))
    assert out["version"].startswith("12.")
    assert out["api_version"] == "2025-08-27.basil"
    assert out["good"] == "evt_1"
    assert "Timestamp outside the tolerance zone" in out["stale"]
    assert "No signatures found matching the expected signature" in out["wrong"]
