"""The guide's monitoring figures and alert rules: /_sim/endpoints/<id>/stats on an endpoint
that fails one delivery in five, the dashboard showing the same numbers, and the rules
themselves on delivery-log entries."""
import re

import pytest
import requests

from simulator.delivery import stats as S
from tests.dashboard.monitoring_stack import flaky_endpoint, pay, settle


@pytest.fixture(scope="module")
def flaky():
    with flaky_endpoint() as (sim, server, client, ep):
        pay(client, 5)            # 15 deliveries now; the 5th, 10th and 15th get a 500
        sim.engine.wait_for(endpoint=ep.id, count=15)
        settle(sim)
        yield sim, server, client, ep


def test_alert_rules_fire_on_an_endpoint_failing_20_percent(flaky):
    sim, server, _, ep = flaky
    r = requests.get(server.url + "/_sim/endpoints/%s/stats" % ep.id, timeout=10)
    assert r.status_code == 200
    st = r.json()
    assert (st["attempts"], st["succeeded"], st["failed"], st["server_errors"]) == (15, 12, 3, 3)
    assert st["failure_rate"] == pytest.approx(0.2) and st["success_rate"] == pytest.approx(0.8)
    firing = {a["rule"]: a["firing"] for a in st["alerts"]}
    assert firing == {"failure_rate": True, "response_time": False, "repeated_5xx": True}
    # Percentiles are the log's own latencies (nearest rank), not made up.
    latencies = sorted(e["latency_ms"] for e in sim.engine.log.query(endpoint=ep.id))
    assert st["p50_ms"] == pytest.approx(latencies[7], abs=1e-3)
    assert st["p99_ms"] == pytest.approx(latencies[-1], abs=1e-3)
    assert st["p50_ms"] <= st["p95_ms"] <= st["p99_ms"]
    # All of it happened in the newest of the twelve 5-minute buckets.
    assert len(st["series"]) == 12 and [b["attempts"] for b in st["series"]] == [0] * 11 + [15]
    assert st["series"][-1]["success_rate"] == pytest.approx(0.8)


def test_dashboard_shows_the_same_figures_and_the_rules_firing(flaky):
    sim, server, _, ep = flaky
    st = requests.get(server.url + "/_sim/endpoints/%s/stats" % ep.id, timeout=10).json()
    html = requests.get(server.url + "/_sim/dashboard/?live=0", timeout=10).text
    card = html[html.index('id="monitor-%s"' % ep.id):]
    card = card[:card.index("</article>")]
    assert '<dd class="success-rate">80.0%</dd>' in card
    for p in ("p50", "p95", "p99"):
        assert '<dd class="%s">%.1f ms</dd>' % (p, st["%s_ms" % p]) in card
    assert re.search(r'data-rule="failure_rate" data-firing="true"', card)
    assert re.search(r'data-rule="repeated_5xx" data-firing="true"', card)
    assert re.search(r'data-rule="response_time" data-firing="false"', card)
    assert card.count("<svg") == 2 and 'class="line line-success_rate"' in card


def test_stats_route_refuses_bad_input_naming_it(flaky):
    _, server, _, ep = flaky
    base = server.url + "/_sim/endpoints/%s/stats" % ep.id
    for query, field in (("window=abc", "window"), ("window=0", "window"), ("buckets=0", "buckets"),
                         ("buckets=1.5", "buckets"), ("window=nan", "window")):
        r = requests.get(base + "?" + query, timeout=5)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (query, r.text)
    r = requests.get(server.url + "/_sim/endpoints/we_nope/stats", timeout=5)
    assert r.status_code == 404 and "we_nope" in r.json()["error"]["message"]
    whole = requests.get(base + "?window=all&buckets=3", timeout=5).json()
    assert whole["attempts"] == 15 and len(whole["series"]) == 3


def test_retries_and_the_hour_window_follow_the_simulated_clock(flaky):
    sim, server, client, ep = flaky
    sim.clock.advance(3 * 3600)   # the three failures are retried (and succeed), charge.updated goes out
    sim.engine.wait_for(endpoint=ep.id, count=15 + 3 + 5)
    settle(sim)
    st = requests.get(server.url + "/_sim/endpoints/%s/stats" % ep.id, timeout=10).json()
    in_hour = [e for e in sim.engine.log.query(endpoint=ep.id) if e["sent_at"] >= sim.clock.now() - 3600]
    assert st["attempts"] == len(in_hour) < 23
    everything = requests.get(server.url + "/_sim/endpoints/%s/stats?window=all" % ep.id, timeout=10).json()
    assert everything["attempts"] == len(sim.engine.log.query(endpoint=ep.id)) >= 23


def _entry(t, status, ms=10.0, honest=True, outcome=None):
    ok = status is not None and 200 <= status < 300
    return {"sent_at": t, "status": status, "latency_ms": ms, "honest": honest,
            "outcome": outcome or ("succeeded" if ok else "failed")}


def test_rules_on_log_entries():
    now = 100_000.0
    # 1 failure in 10 is not above 10 %; a forged-signature refusal does not count at all.
    entries = [_entry(now - i, 200) for i in range(9)] + [_entry(now - 20, 503), _entry(now - 1, 400, honest=False)]
    st = S.endpoint_stats(entries, now)
    assert st["attempts"] == 10 and st["failure_rate"] == pytest.approx(0.1)
    assert {a["rule"]: a["firing"] for a in st["alerts"]} == {"failure_rate": False, "response_time": False,
                                                              "repeated_5xx": False}
    # Slow: p95 over 5 s fires; one slow answer in forty does not.
    slow = [_entry(now - i, 200, ms=100.0) for i in range(38)] + [_entry(now - 50, 200, ms=6000.0),
                                                                  _entry(now - 51, None, ms=30000.0)]
    st = S.endpoint_stats(slow, now)
    assert st["p95_ms"] == 100.0 and not st["alerts"][1]["firing"]
    st = S.endpoint_stats(slow + [_entry(now - 52, 200, ms=7000.0)], now)
    assert st["p95_ms"] == 6000.0 and st["alerts"][1]["firing"]
    # Outside the hour, or never sent (abandoned): not counted.
    old = [_entry(now - 4000, 500)] * 5 + [{"sent_at": None, "status": None, "outcome": "abandoned", "honest": True}]
    assert S.endpoint_stats(old, now)["attempts"] == 0
    assert S.endpoint_stats(old, now, window=None)["attempts"] == 5
    assert S.percentile([5, 1, 3, 2, 4], 50) == 3 and S.percentile([], 95) is None
    lines = S.format_verdicts("x", S.endpoint_stats(entries, now)["alerts"])
    assert lines[1].split()[:2] == ["failure_rate", "ok"] and "10.0%" in lines[1]
