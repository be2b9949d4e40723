"""The dashboard's routes through Flask's test client over a real delivery stack: input
checks, the token and CSRF rules, escaping, next retry times, and Resend."""
import re

import pytest

from simulator.api.app import create_app
from simulator.dashboard import COOKIE
from tests.dashboard.stack import HOSTILE_BODY, delivery_stack

TOKEN = "pages-token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with delivery_stack(tmp_path_factory.mktemp("dash")) as s:
        s.fail_next(1)
        s.pi = s.pay("pm_card_visa")
        s.wait(type="payment_intent.succeeded", endpoint=s.endpoint["id"], outcome="succeeded")
        s.wait(type="payment_intent.succeeded", endpoint=s.hostile["id"])
        # charge.updated follows ~3 s later; once it is in, nothing else is due for minutes, so
        # a test counting the log's entries is not overtaken by it (it was, on a busy machine).
        s.wait(type="charge.updated", endpoint=s.endpoint["id"], outcome="succeeded")
        yield s


@pytest.fixture
def client(stack):
    return create_app(stack.sim).test_client()


def _csrf(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_page_lists_every_attempt_and_points_at_nothing_outside(stack, client):
    r = client.get("/_sim/dashboard/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]
    assert sorted(seqs) == [e["seq"] for e in stack.log.entries() if e["seq"] <= max(seqs)]
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no asset from the network
    for asset in re.findall(r'(?:src|href)="(/_sim/dashboard/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200


def test_hostile_response_bodies_are_escaped(stack, client):
    html = client.get("/_sim/dashboard/").get_data(as_text=True)
    assert HOSTILE_BODY.decode() not in html
    assert "&lt;b id=&#34;injected&#34;&gt;owned&lt;/b&gt;&lt;script&gt;" in html


def test_secret_only_on_request(stack, client):
    secret = stack.endpoint["secret"]
    assert secret not in client.get("/_sim/dashboard/").get_data(as_text=True)
    shown = client.get("/_sim/dashboard/?reveal=" + stack.endpoint["id"]).get_data(as_text=True)
    assert shown.count(secret) == 1 and stack.hostile["secret"] not in shown


def test_failed_attempt_shows_its_next_retry_on_the_schedule(stack, client):
    failed = stack.log.query(endpoint=stack.hostile["id"], attempt=1)[0]
    due = failed["scheduled_at"] + stack.sim.engine.schedule.delay_after(1)
    from simulator.dashboard.model import when
    html = client.get("/_sim/dashboard/?endpoint=" + stack.hostile["id"]).get_data(as_text=True)
    row = re.search(r'<tr class="attempt failed" data-seq="%d".*?</tr>' % failed["seq"], html, re.S).group(0)
    assert when(due) in row
    ok = stack.log.query(endpoint=stack.endpoint["id"], outcome="succeeded")[0]
    row = re.search(r'<tr class="attempt succeeded" data-seq="%d".*?</tr>' % ok["seq"], html + client.get(
        "/_sim/dashboard/").get_data(as_text=True), re.S).group(0)
    assert "next retry" not in row.lower() and when(ok["scheduled_at"] + 600) not in row


def test_filters_narrow_events_and_attempts(stack, client):
    html = client.get("/_sim/dashboard/?outcome=failed").get_data(as_text=True)
    outcomes = set(re.findall(r'data-outcome="(\w+)"', html))
    assert outcomes == {"failed"}
    html = client.get("/_sim/dashboard/?type=payment_intent.succeeded&payment_intent=" + stack.pi).get_data(as_text=True)
    assert set(re.findall(r'data-type="([\w.]+)"', html)) == {"payment_intent.succeeded"}
    html = client.get("/_sim/dashboard/?payment_intent=pi_nothing").get_data(as_text=True)
    assert 'id="no-events"' in html and "match these filters" in html


@pytest.mark.parametrize("query, field, message", [
    ("outcome=maybe", "outcome", "outcome must be one of succeeded, failed, abandoned, got 'maybe'"),
    ("limit=lots", "limit", "limit must be a whole number of events, got 'lots'"),
    ("limit=0", "limit", "limit must be between 1 and 500, got 0"),
])
def test_bad_filters_answer_400_naming_the_field(client, query, field, message):
    r = client.get("/_sim/dashboard/?" + query)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert 'data-field="%s"' % field in html and message.replace("'", "&#39;") in html


def test_resend_makes_a_new_attempt_and_redirects_back(stack, client):
    event_id = stack.log.query(type="payment_intent.created")[0]["event_id"]
    html = client.get("/_sim/dashboard/?type=payment_intent.created").get_data(as_text=True)
    before = len(stack.log.query(event=event_id))
    r = client.post(f"/_sim/dashboard/events/{event_id}/resend",
                    data={"csrf": _csrf(html), "next": "/_sim/dashboard/?type=payment_intent.created"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/_sim/dashboard/?type=payment_intent.created")
    entries = stack.wait(event=event_id, count=before + 1)
    assert entries[-1]["origin"] == "resend" and entries[-1]["endpoint_id"] == stack.endpoint["id"]


def test_resend_refuses_forged_forms_unknown_events_and_open_redirects(stack, client):
    event_id = stack.log.query(type="payment_intent.created")[0]["event_id"]
    before = len(stack.log)
    r = client.post(f"/_sim/dashboard/events/{event_id}/resend", data={"csrf": "forged"})
    assert r.status_code == 400 and "did not come from this page" in r.get_data(as_text=True)
    csrf = _csrf(client.get("/_sim/dashboard/").get_data(as_text=True))
    r = client.post("/_sim/dashboard/events/evt_nope/resend", data={"csrf": csrf})
    assert r.status_code == 404 and "no event &#39;evt_nope&#39;" in r.get_data(as_text=True)
    r = client.post(f"/_sim/dashboard/events/{event_id}/resend",
                    data={"csrf": csrf, "endpoint": "we_missing"})
    assert r.status_code == 400 and "we_missing" in r.get_data(as_text=True)
    assert len(stack.log) == before  # none of these sent anything
    r = client.post(f"/_sim/dashboard/events/{event_id}/resend", data={"csrf": csrf, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/_sim/dashboard/")


def test_control_token_guards_the_dashboard(stack):
    client = create_app(stack.sim, control_token=TOKEN).test_client()
    r = client.get("/_sim/dashboard/")
    assert r.status_code == 401 and "control token" in r.get_data(as_text=True)
    assert client.get("/_sim/dashboard/?token=wrong").status_code == 401
    r = client.get("/_sim/dashboard/?outcome=failed&token=" + TOKEN)
    assert r.status_code == 303 and r.headers["Location"].endswith("/_sim/dashboard/?outcome=failed")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=" + TOKEN) and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/_sim/dashboard/?outcome=failed").status_code == 200  # the cookie now
    assert client.get("/_sim/dashboard/version.json").status_code == 200
    # The cookie opens the dashboard only, not the rest of the control plane.
    assert client.get("/_sim/state").status_code == 401
    assert client.get("/_sim/state", headers={"X-Sim-Token": TOKEN}).status_code == 200


def test_off_loopback_without_token_the_dashboard_is_closed(stack):
    client = create_app(stack.sim, require_control_token=True).test_client()
    assert client.get("/_sim/dashboard/").status_code == 403


def test_version_changes_when_a_delivery_happens(stack, client):
    v1 = client.get("/_sim/dashboard/version.json").get_json()["version"]
    assert client.get("/_sim/dashboard/version.json").get_json()["version"] == v1
    event_id = stack.log.query(type="payment_intent.created")[0]["event_id"]
    n = len(stack.log.query(event=event_id))
    stack.sim.engine.resend(event_id)
    stack.wait(event=event_id, count=n + 1)
    assert client.get("/_sim/dashboard/version.json").get_json()["version"] != v1


def test_adhoc_targets_are_listed_with_their_secret_on_request(stack, client):
    tid = stack.sim.engine.add_target("http://127.0.0.1:9/adhoc-hook", ["whsec_adhoc_for_dashboard"])
    html = client.get("/_sim/dashboard/").get_data(as_text=True)
    row = re.search(r'<tr class="endpoint" data-endpoint-id="%s">.*?</tr>' % tid, html, re.S).group(0)
    assert "http://127.0.0.1:9/adhoc-hook" in row and "(ad-hoc target)" in row
    assert "whsec_adhoc_for_dashboard" not in html
    assert "whsec_adhoc_for_dashboard" in client.get("/_sim/dashboard/?reveal=" + tid).get_data(as_text=True)


def test_every_dashboard_asset_ships_in_the_package():
    """A non-editable install (the Docker image) carries only files matching package-data."""
    import fnmatch
    import pathlib
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    assets = [p for d in ("static", "templates") for p in (root / "simulator" / "dashboard" / d).iterdir()]
    assert len(assets) >= 3
    for path in assets:
        assert any(fnmatch.fnmatch(path.name, pat) for pat in patterns), path.name


def test_a_deliberate_fault_shows_with_its_intended_result(stack, client):
    record = next(r for r in stack.sim.backend.events.values() if r.type == "payment_intent.succeeded")
    trigger = stack.sim.engine.deliver([record], [stack.endpoint["id"]], faults=["wrong_secret"],
                                       also_subscribers=False)
    (entry,) = stack.sim.engine.wait_trigger(trigger)
    assert entry["status"] == 400 and entry["faults"] == ["wrong_secret"]
    html = client.get("/_sim/dashboard/?endpoint=%s&type=payment_intent.succeeded" % stack.endpoint["id"]).get_data(
        as_text=True)
    row = re.search(r'<tr class="attempt failed" data-seq="%d".*?</tr>' % entry["seq"], html, re.S).group(0)
    assert "<td>wrong_secret</td>" in row and "as intended (reject)" in row and "NOT" not in row
    assert "Invalid signature" in row  # the receiver's answer, first bytes


def test_limit_and_show_more(stack, client):
    total = len(stack.sim.backend.events)
    html = client.get("/_sim/dashboard/?limit=2").get_data(as_text=True)
    assert len(re.findall(r'<article class="event"', html)) == 2
    assert "2 shown of %d matching" % total in html
    more = re.search(r'<a id="more" href="\?([^"]+)"', html).group(1)
    assert more == "limit=4"
    html = client.get("/_sim/dashboard/?limit=500").get_data(as_text=True)
    assert 'id="more"' not in html and len(re.findall(r'<article class="event"', html)) == total
