"""Doctor's pieces that need no endpoint: which URL it checks, what counts as local."""
import pytest

from harness.engine import doctor as d


def test_bare_host_gets_the_contract_path():
    url, note = d.normalise_target("https://posx.example")
    assert url == "https://posx.example/api/v1/webhooks/stripe/" and "contract path" in note
    assert d.normalise_target("https://posx.example/hooks/stripe")[1] is None


@pytest.mark.parametrize("host, local", [("127.0.0.1", True), ("localhost", True), ("10.0.0.7", True),
                                         ("api.local", True), ("posx-backend.up.railway.app", False),
                                         ("8.8.8.8", False)])
def test_is_local(host, local):
    assert d.is_local(host) is local


def test_plain_http_on_a_public_host_fails_the_https_check():
    result = d.Doctor("http://posx-backend.up.railway.app/api/v1/webhooks/stripe/", "whsec_x").check_https()
    assert result.verdict == d.FAIL and "https://" in result.fix


def test_test_event_is_about_no_real_order():
    event = d.test_event("customer.created")
    assert event["type"] == "customer.created" and event["data"]["object"]["id"].startswith("pi_doctor_")
    assert event["livemode"] is False
