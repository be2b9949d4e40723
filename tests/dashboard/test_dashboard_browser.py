"""The dashboard in a real headless Chromium, after real deliveries to the real receiver.

Debian's chromium + chromedriver (`.ci/ensure-chromium.sh` installs them) driven through
Selenium. Skipped, saying why, where they are missing.
"""
import pathlib
import shutil
import struct
import tempfile

import pytest

from tests.dashboard.stack import HOSTILE_BODY, delivery_stack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
    _SELENIUM = None
except ImportError as exc:
    _SELENIUM = str(exc)

_MISSING = ("selenium is not installed (pip install -e '.[test]')" if _SELENIUM else
            "Chromium is not installed (apt-get install chromium chromium-driver; .ci/ensure-chromium.sh)"
            if not (CHROMIUM and CHROMEDRIVER) else None)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))]

TOKEN = "dash-test-token"
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="posx-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1600"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _rows(driver, css):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, css)


def test_dashboard_in_chromium(browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with delivery_stack(tmp_path, control_token=TOKEN) as stack:
        stack.fail_next(1)                     # the receiver's first webhook answers 500
        paid = stack.pay("pm_card_visa")
        declined = stack.pay("pm_card_chargeDeclined")
        stack.wait(type="payment_intent.succeeded", endpoint=stack.endpoint["id"], outcome="succeeded")
        stack.wait(type="payment_intent.succeeded", endpoint=stack.hostile["id"])
        stack.wait(type="payment_intent.payment_failed", outcome="succeeded")
        # charge.updated follows the payment ~3 s later; after it nothing is due for minutes,
        # so a live page only reloads for what the test itself does.
        stack.wait(type="charge.updated", endpoint=stack.endpoint["id"], outcome="succeeded")
        record = next(r for r in stack.sim.backend.events.values() if r.type == "payment_intent.succeeded")
        (forged,) = stack.sim.engine.wait_trigger(stack.sim.engine.deliver(
            [record], [stack.endpoint["id"]], faults=["wrong_secret"], also_subscribers=False))
        first = stack.log.query(endpoint=stack.endpoint["id"])[0]
        assert first["status"] == 500 and first["outcome"] == "failed"

        # Behind the control token: refused without it, then the token once in the URL.
        browser.get(stack.dashboard)
        assert "needs the control token" in browser.find_element(By.TAG_NAME, "body").text
        # Paused while inspecting, so late deliveries do not reload the page under the test.
        browser.get(stack.dashboard + "?live=0&token=" + TOKEN)
        assert "token=" not in browser.current_url and "live=0" in browser.current_url
        assert browser.find_element(By.TAG_NAME, "h1").text == "Webhook deliveries"

        # Endpoints, secret hidden until revealed.
        endpoints = {r.get_attribute("data-endpoint-id"): r for r in _rows(browser, "tr.endpoint")}
        assert set(endpoints) == {stack.endpoint["id"], stack.hostile["id"]}
        assert stack.endpoint["url"] in endpoints[stack.endpoint["id"]].text
        assert "payment_intent.succeeded" in endpoints[stack.hostile["id"]].text
        assert stack.endpoint["secret"] not in browser.page_source
        endpoints[stack.endpoint["id"]].find_element(By.CSS_SELECTOR, "a.reveal").click()
        assert browser.find_element(By.CSS_SELECTOR, ".secret-value").text == stack.endpoint["secret"]

        # Every attempt in the log is a row, with its status and outcome.
        rows = _rows(browser, "tr.attempt")
        by_seq = {int(r.get_attribute("data-seq")): r for r in rows}
        assert len(by_seq) == len(rows) > 5
        assert sorted(by_seq) == [e["seq"] for e in stack.log.entries() if e["seq"] <= max(by_seq)]
        failed_first = by_seq[first["seq"]]
        assert failed_first.get_attribute("data-status") == "500"
        assert "Injected fault" in failed_first.text
        assert failed_first.find_elements(By.CSS_SELECTOR, "td")[7].text.strip()  # its next retry time
        forged_row = by_seq[forged["seq"]]
        assert "wrong_secret" in forged_row.text and "as intended (reject)" in forged_row.text
        hostile_rows = _rows(browser, f'tr.attempt[data-endpoint-id="{stack.hostile["id"]}"]')
        assert hostile_rows and all(r.get_attribute("data-status") == "400" for r in hostile_rows)
        # The hostile body is shown as text, never run or rendered as markup.
        assert HOSTILE_BODY.decode()[:40] in hostile_rows[0].text
        assert browser.find_elements(By.ID, "injected") == []
        assert browser.title == "Webhook deliveries · stripe-sim"

        # Filter on the outcome, then on one payment intent.
        Select(browser.find_element(By.ID, "filter-outcome")).select_by_value("failed")
        browser.find_element(By.ID, "apply-filters").click()
        WebDriverWait(browser, 10).until(lambda d: "outcome=failed" in d.current_url)
        failed = _rows(browser, "tr.attempt")
        assert {r.get_attribute("data-outcome") for r in failed} == {"failed"}
        assert {int(r.get_attribute("data-seq")) for r in failed} == {
            e["seq"] for e in stack.log.query(outcome="failed") if e["seq"] <= max(by_seq)}
        browser.find_element(By.LINK_TEXT, "clear").click()
        box = browser.find_element(By.ID, "filter-payment-intent")
        box.send_keys(declined)
        browser.find_element(By.ID, "apply-filters").click()
        WebDriverWait(browser, 10).until(lambda d: "payment_intent=" in d.current_url)
        events = _rows(browser, "article.event")
        assert events and all(declined in e.text for e in events)
        assert paid not in browser.find_element(By.ID, "events").text
        types = {e.get_attribute("data-type") for e in events}
        assert "payment_intent.payment_failed" in types and "payment_intent.succeeded" not in types

        # Resend the event whose first delivery failed; the new attempt shows up by itself.
        browser.get(stack.dashboard + "?type=" + first["event_type"])  # live again
        article = browser.find_element(By.ID, "event-" + first["event_id"])
        before = len(article.find_elements(By.CSS_SELECTOR, "tr.attempt"))
        article.find_element(By.CSS_SELECTOR, "button.resend-button").click()

        def newest_attempt(d):
            """(text, outcome) of the event's newest attempt once there is a new one. The page
            reloads itself as deliveries land, so it is read whole inside one poll."""
            rows = d.find_elements(By.CSS_SELECTOR, f'#event-{first["event_id"]} tr.attempt')
            if len(rows) <= before:
                return False
            return rows[-1].text, rows[-1].get_attribute("data-outcome")

        # A reload between two calls makes an element stale: that poll is just tried again.
        reloading = (StaleElementReferenceException, WebDriverException)
        wait = WebDriverWait(browser, 15, poll_frequency=0.2, ignored_exceptions=reloading)
        text, _ = wait.until(newest_attempt)
        assert "(resend)" in text
        wait.until(lambda d: (newest_attempt(d) or (None, None))[1] == "succeeded")
        assert stack.log.query(event=first["event_id"])[-1]["origin"] == "resend"
        assert "?type=" in browser.current_url  # back where the Resend was clicked

        # A screenshot of the whole page, kept for people to look at.
        browser.get(stack.dashboard + "?live=0")
        assert len(_rows(browser, "tr.attempt")) > 5
        shot = tmp_path / "dashboard.png"
        assert browser.save_screenshot(str(shot))
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 1000 and height >= 600, (width, height)
        assert len(data) > 20_000, len(data)
        reports = ROOT / "reports"
        reports.mkdir(exist_ok=True)
        shutil.copy(shot, reports / "dashboard.png")
