"""The monitoring panel in a real headless Chromium: an endpoint failing one delivery in five
over an hour of simulated time; the figures, the charts' points and the alert badges must
match /_sim/endpoints/<id>/stats, and a screenshot must show the charts drawn."""
import pathlib
import shutil

import pytest
import requests

from simulator.dashboard.monitoring import COLOURS, HEIGHT, PAD
from tests.dashboard import png
from tests.dashboard.monitoring_stack import flaky_endpoint, pay, settle
from tests.dashboard.test_dashboard_browser import _MISSING, browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))]
ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKEN = "monitoring-browser-token"


def _y(value, top):
    return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value / top)


def test_monitoring_charts_match_the_stats_json(browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    with flaky_endpoint(control_token=TOKEN) as (sim, server, client, ep):
        # Four rounds of payments a quarter of an hour apart: points in several buckets,
        # failures retried as the clock moves.
        for _ in range(4):
            pay(client, 3)
            settle(sim)
            sim.clock.advance(900)
            settle(sim)
        stats = requests.get(server.url + "/_sim/endpoints/%s/stats" % ep.id,
                             headers={"Authorization": "Bearer " + TOKEN}, timeout=10).json()
        assert stats["attempts"] >= 12 and stats["failed"] >= 2
        filled = [b for b in stats["series"] if b["attempts"]]
        assert len(filled) >= 4

        browser.get(server.url + "/_sim/dashboard/?live=0&token=" + TOKEN)
        card = browser.find_element(By.ID, "monitor-" + ep.id)
        shown = {cls: card.find_element(By.CSS_SELECTOR, "dd." + cls).text
                 for cls in ("success-rate", "p50", "p95", "p99", "attempts-count", "server-errors")}
        assert shown == {"success-rate": "%.1f%%" % (stats["success_rate"] * 100),
                         "p50": "%.1f ms" % stats["p50_ms"], "p95": "%.1f ms" % stats["p95_ms"],
                         "p99": "%.1f ms" % stats["p99_ms"], "attempts-count": str(stats["attempts"]),
                         "server-errors": str(stats["server_errors"])}
        badges = {li.get_attribute("data-rule"): li.get_attribute("data-firing") == "true"
                  for li in card.find_elements(By.CSS_SELECTOR, "li.alert")}
        assert badges == {a["rule"]: a["firing"] for a in stats["alerts"]}
        assert "FIRING" in card.text if any(badges.values()) else "FIRING" not in card.text

        # Each chart has one point per bucket with attempts, at the height its JSON value gives.
        rate_svg = card.find_element(By.CSS_SELECTOR, "svg.chart-rate")
        dots = rate_svg.find_elements(By.CSS_SELECTOR, "circle")
        assert len(dots) == len(filled)
        for dot, bucket in zip(dots, filled):
            assert float(dot.get_attribute("cy")) == pytest.approx(_y(bucket["success_rate"], 1.0), abs=0.06)
        latency_svg = card.find_element(By.CSS_SELECTOR, "svg.chart-latency")
        top = float(latency_svg.get_attribute("data-top"))
        p95_path = latency_svg.find_element(By.CSS_SELECTOR, "path.line-p95_ms").get_attribute("d")
        ys = [float(part.split()[1]) for part in p95_path.replace("M", "|").replace("L", "|").split("|") if part.strip()]
        assert ys == pytest.approx([_y(b["p95_ms"], top) for b in filled], abs=0.06)

        # The screenshot: the charts are really painted, in their line colours.
        rate_png = rate_svg.screenshot_as_png
        w, h, rows = png.decode(rate_png)
        assert (w, h) >= (300, 70)
        # At least a dot's worth of line colour per point (a r=3 dot alone is ~28 px; a blank chart has 0).
        painted = png.count_near(rows, png.hex_rgb(COLOURS["success_rate"]))
        assert painted > 15 * len(dots), painted
        _, _, rows = png.decode(latency_svg.screenshot_as_png)
        for key in ("p50_ms", "p99_ms"):
            assert png.count_near(rows, png.hex_rgb(COLOURS[key]), tolerance=30) > 15 * len(filled), key
        shot = tmp_path / "monitoring.png"
        browser.execute_script("document.getElementById('monitoring').scrollIntoView()")
        assert browser.save_screenshot(str(shot))
        width, height, rows = png.decode(shot.read_bytes())
        assert png.count_near(rows, png.hex_rgb(COLOURS["success_rate"])) >= painted  # the chart is in the page shot
        reports = ROOT / "reports"
        reports.mkdir(exist_ok=True)
        shutil.copy(shot, reports / "dashboard-monitoring.png")
