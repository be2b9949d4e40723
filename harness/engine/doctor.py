"""``posx-harness doctor``: the guide's troubleshooting section as automated checks.

Each check sends real requests to a deployed webhook endpoint and gives a plain verdict
(``pass``, ``warn``, ``fail``, ``skip``) with the fix. The test events it signs concern an
intent no order has (``pi_doctor_...``), so a correct backend acknowledges them and changes
nothing.
"""
from __future__ import annotations

import ipaddress
import json
import secrets as _secrets
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

import requests

from simulator import signing

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
CONTRACT_PATH = "/api/v1/webhooks/stripe/"
# Stripe publishes no delivery timeout (its CLI forwarder waits 30 s); the guide alerts
# above 5 s. Answer well inside both or deliveries start failing and being retried.
SLOW_SECONDS = 2.0
TOO_SLOW_SECONDS = 10.0
STRIPE_HEADERS = {
    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "*/*; q=0.5, application/xml",
    "Cache-Control": "no-cache",
}


@dataclass
class CheckResult:
    name: str
    title: str
    verdict: str
    detail: str
    fix: str = ""
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Reply:
    status: Optional[int]
    body: str
    seconds: float
    error: Optional[str] = None
    location: Optional[str] = None

    def describe(self) -> str:
        if self.error:
            return "no answer (%s)" % self.error
        text = self.body.strip().replace("\n", " ")
        text = text if len(text) <= 120 else text[:120] + "…"
        where = " -> %s" % self.location if self.location else ""
        return "HTTP %s%s%s" % (self.status, where, (" %s" % text) if text else "")


def normalise_target(url: str) -> tuple[str, Optional[str]]:
    """The webhook URL to check, and a note when the contract path was added to a bare host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("--target must be a full URL such as https://host/api/v1/webhooks/stripe/, got %r" % url)
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, CONTRACT_PATH, parts.query, "")), \
            "no path given: checking the contract path %s" % CONTRACT_PATH
    return url.strip(), None


def is_local(host: str) -> bool:
    host = (host or "").strip("[]").lower()
    if host in ("localhost",) or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def test_event(event_type: str = "payment_intent.succeeded", livemode: bool = False) -> dict:
    """A small event shaped like Stripe's "Send test webhook" one, about no real order."""
    token = _secrets.token_hex(8)
    now = int(time.time())
    obj = {"id": "pi_doctor_%s" % token, "object": "payment_intent", "amount": 100, "currency": "usd",
           "status": "succeeded", "livemode": livemode, "metadata": {"posx_doctor": "true"}, "created": now}
    return {"id": "evt_doctor_%s" % token, "object": "event", "api_version": "2025-08-27.basil",
            "created": now, "data": {"object": obj}, "livemode": livemode, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type}


class Doctor:
    """Runs the checks against one webhook URL with the secret the user believes is deployed."""

    def __init__(self, target: str, secret: str, other_secrets: Sequence[str] = (), timeout: float = 15.0,
                 session: Optional[requests.Session] = None):
        self.url, self.note = normalise_target(target)
        self.secret = secret
        self.other_secrets = [s for s in other_secrets if s]
        self.timeout = timeout
        self.http = session or requests.Session()
        self.timings: list[float] = []

    # -- plumbing -------------------------------------------------------------------------
    def post(self, body: bytes, signature: Optional[str], url: Optional[str] = None) -> Reply:
        headers = dict(STRIPE_HEADERS)
        if signature is not None:
            headers["Stripe-Signature"] = signature
        start = time.monotonic()
        try:
            resp = self.http.post(url or self.url, data=body, headers=headers, timeout=self.timeout,
                                  allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            return Reply(None, "", time.monotonic() - start, "TLS error: %s" % _short(exc))
        except requests.Timeout:
            return Reply(None, "", time.monotonic() - start, "no answer within %.0f s" % self.timeout)
        except requests.RequestException as exc:
            return Reply(None, "", time.monotonic() - start, _short(exc))
        return Reply(resp.status_code, resp.text or "", time.monotonic() - start,
                     location=resp.headers.get("Location"))

    def send_signed(self, event: dict, secret: str, timestamp: Optional[int] = None) -> Reply:
        body = json.dumps(event, indent=2).encode()
        reply = self.post(body, signing.generate_header(body, secret, timestamp))
        if reply.status is not None:
            self.timings.append(reply.seconds)
        return reply

    # -- the checks -----------------------------------------------------------------------
    def check_unsigned(self) -> CheckResult:
        name, title = "unsigned_request", "endpoint answers 400 to an unsigned request"
        reply = self.post(b"{}", None)
        r = reply.status
        if r is None:
            return CheckResult(name, title, FAIL, "%s: %s" % (self.url, reply.describe()),
                               "Make the backend reachable at this URL (is it deployed and running? DNS? firewall?).")
        if r == 400:
            return CheckResult(name, title, PASS, "%s (the endpoint exists and checks signatures)" % reply.describe())
        if r == 404:
            return CheckResult(name, title, FAIL, "%s: no such path" % reply.describe(),
                               "URL path wrong (guide, problem 2): register the full path "
                               "/api/v1/webhooks/stripe/ with its trailing '/', and check the backend's URL routes.")
        if 300 <= r < 400:
            return CheckResult(name, title, FAIL, "%s: Stripe does not follow redirects" % reply.describe(),
                               "Register the exact URL the backend serves (https, host and trailing '/').")
        if r >= 500:
            return CheckResult(name, title, FAIL, "%s: the handler crashes on a request without signature"
                               % reply.describe(),
                               "Guide, problem 3: catch the SDK's errors and answer 400; check the logs "
                               "and that STRIPE_WEBHOOK_SECRET is set in this deploy.")
        if 200 <= r < 300:
            return CheckResult(name, title, FAIL, "%s: an unsigned request was accepted" % reply.describe(),
                               "Verify every request with stripe.Webhook.construct_event before doing anything; "
                               "never skip the signature check (guide, security practice 1).")
        return CheckResult(name, title, FAIL, reply.describe(),
                           "The endpoint must answer 400 to a request it cannot verify.")

    def check_trailing_slash(self) -> CheckResult:
        name, title = "trailing_slash", "the path works with and without the trailing slash"
        parts = urlsplit(self.url)
        path = parts.path
        other_path = path[:-1] if path.endswith("/") else path + "/"
        other = urlunsplit((parts.scheme, parts.netloc, other_path, parts.query, ""))
        given, variant = self.post(b"{}", None), self.post(b"{}", None, url=other)
        data = {"given": {"url": self.url, "status": given.status}, "variant": {"url": other, "status": variant.status}}
        if given.status != 400:
            return CheckResult(name, title, FAIL, "%s answers %s" % (self.url, given.describe()),
                               "Register the form of the URL that answers 400 here; a redirect (301/308) or "
                               "404 is a failed delivery for Stripe.", data)
        if variant.status == 400:
            return CheckResult(name, title, PASS, "both %s and %s answer 400" % (path, other_path), data=data)
        return CheckResult(name, title, WARN,
                           "%s answers 400 but %s answers %s" % (path, other_path, variant.describe()),
                           "Stripe does not follow redirects: the endpoint registered in the Dashboard must be "
                           "exactly %s (with%s the trailing '/')." % (self.url, "" if path.endswith("/") else "out"),
                           data)

    def check_https(self) -> CheckResult:
        name, title = "https", "HTTPS in front of a non-local URL"
        parts = urlsplit(self.url)
        if is_local(parts.hostname or ""):
            return CheckResult(name, title, PASS if parts.scheme == "https" else SKIP,
                               "%s is a local address: Stripe cannot reach it directly" % parts.hostname,
                               "" if parts.scheme == "https" else
                               "Locally, forward events with `stripe listen --forward-to %s`." % self.url)
        if parts.scheme != "https":
            return CheckResult(name, title, FAIL, "%s is plain http" % self.url,
                               "Stripe sends webhooks only to https:// URLs in live mode: put TLS in front "
                               "(Railway serves https on its domain) and register the https URL.")
        reply = self.post(b"{}", None)
        if reply.error and reply.error.startswith("TLS"):
            return CheckResult(name, title, FAIL, reply.error,
                               "Serve a certificate valid for %s from a public CA (no self-signed)." % parts.hostname)
        return CheckResult(name, title, PASS, "https with a certificate this machine trusts")

    def check_signed_event(self) -> CheckResult:
        name, title = "signed_event", "a correctly signed test event gets 2xx"
        reply = self.send_signed(test_event(), self.secret)
        r = reply.status
        if r is not None and 200 <= r < 300:
            return CheckResult(name, title, PASS, reply.describe())
        if r is None:
            return CheckResult(name, title, FAIL, reply.describe(), "Make the endpoint reachable first.")
        if r >= 500:
            return CheckResult(name, title, FAIL, "%s: verified, then crashed" % reply.describe(),
                               "Guide, problem 3: the handler fails after the signature check; read the logs "
                               "(e.g. KeyError on the event's data) and answer 2xx for events it cannot use.")
        if 300 <= r < 400:
            return CheckResult(name, title, FAIL, reply.describe(), "Register the URL that does not redirect.")
        diagnosis, fix = self.diagnose_secret()
        return CheckResult(name, title, FAIL, "%s; %s" % (reply.describe(), diagnosis), fix)

    def diagnose_secret(self) -> tuple[str, str]:
        """Re-sign with likely variants of the secret to say which mistake the deploy has."""
        s = self.secret
        variants: list[tuple[str, str, str]] = []
        stripped = s.strip()
        if stripped != s:
            variants.append((stripped, "the secret you gave has surrounding whitespace but the deploy's has none",
                             "Pass the secret without spaces/newline."))
        for label, v in (("a trailing newline", stripped + "\n"), ("a trailing space", stripped + " "),
                         ("a leading space", " " + stripped), ("a trailing CRLF", stripped + "\r\n")):
            variants.append((v, "the deployed STRIPE_WEBHOOK_SECRET has %s" % label,
                             "Guide, problem 1: copy the secret again without surrounding whitespace, set "
                             "STRIPE_WEBHOOK_SECRET, and redeploy."))
        if stripped.startswith("whsec_"):
            variants.append((stripped[len("whsec_"):], "the deployed secret lacks the whsec_ prefix",
                             "Set STRIPE_WEBHOOK_SECRET to the whole value, including whsec_."))
        for i, other in enumerate(self.other_secrets, 1):
            variants.append((other, "the deploy uses --other-secret #%d (%s)" % (i, signing.redact_secret(other)),
                             "The deploy has another endpoint's or the other mode's secret: set "
                             "STRIPE_WEBHOOK_SECRET to the secret of the endpoint whose URL is this one, in "
                             "the mode (test/live) the events come from, and redeploy."))
        for secret, what, fix in variants:
            reply = self.send_signed(test_event(), secret)
            if reply.status is not None and 200 <= reply.status < 300:
                return "diagnosis: %s" % what, fix
        live = self.send_signed(test_event(livemode=True), s)
        if live.status is not None and 200 <= live.status < 300:
            return ("diagnosis: only livemode events are accepted: the deploy checks the event's mode",
                    "Use the test-mode endpoint's secret for test events and the live one for live events.")
        return ("the deploy's secret is none of the variants tried (whitespace, missing prefix%s): most likely "
                "the wrong endpoint's secret, or a test secret against live events (or the reverse)"
                % (", --other-secret" if self.other_secrets else ""),
                "Guide, problem 1: in the Dashboard open the endpoint whose URL is %s in the right mode "
                "(test/live), reveal its signing secret, set STRIPE_WEBHOOK_SECRET to it exactly, redeploy. "
                "Pass other candidate secrets with --other-secret to let doctor tell which one is deployed."
                % self.url)

    def check_response_time(self) -> CheckResult:
        name, title = "response_time", "answers well within Stripe's patience"
        while len(self.timings) < 3:
            reply = self.send_signed(test_event(), self.secret)
            if reply.status is None:
                break
        if not self.timings:
            return CheckResult(name, title, SKIP, "no timed answer to measure")
        worst, median = max(self.timings), statistics.median(self.timings)
        data = {"median_s": round(median, 3), "max_s": round(worst, 3), "samples": len(self.timings)}
        detail = "median %.0f ms, worst %.0f ms over %d signed requests" % (median * 1000, worst * 1000, len(self.timings))
        if worst >= TOO_SLOW_SECONDS:
            return CheckResult(name, title, FAIL, detail,
                               "Answer 2xx first and do the work afterwards (a task queue): Stripe counts a slow "
                               "answer as a failed delivery and retries it.", data)
        if worst >= SLOW_SECONDS:
            return CheckResult(name, title, WARN, detail,
                               "The guide alerts above 5 s; move allocation/commission work to background tasks.",
                               data)
        return CheckResult(name, title, PASS, detail, data=data)

    def check_unhandled_type(self) -> CheckResult:
        name, title = "unhandled_event_type", "an event type it does not handle still gets 2xx"
        reply = self.send_signed(test_event("customer.created"), self.secret)
        r = reply.status
        if r is not None and 200 <= r < 300:
            return CheckResult(name, title, PASS, "customer.created: %s" % reply.describe())
        if r == 400 and "signature" in reply.body.lower():
            return CheckResult(name, title, SKIP, "the signature is not accepted, so this cannot be checked yet",
                               "Fix signed_event first.")
        return CheckResult(name, title, FAIL, "customer.created: %s" % reply.describe(),
                           "Answer 200 for any verified event outside the allow-list (the guide's "
                           "`return Response(status=200)`), or Stripe retries it for days and may disable "
                           "the endpoint.")

    def check_stale_signature(self) -> CheckResult:
        name, title = "replayed_signature", "a replayed old signature is rejected"
        reply = self.send_signed(test_event(), self.secret, timestamp=int(time.time()) - 3600)
        r = reply.status
        if r == 400:
            return CheckResult(name, title, PASS, "hour-old signature: %s" % reply.describe())
        if r is not None and 200 <= r < 300:
            return CheckResult(name, title, FAIL, "an hour-old signature was accepted",
                               "Keep the SDK's 300 s tolerance in construct_event; do not pass tolerance=None.")
        return CheckResult(name, title, WARN, reply.describe(), "Expected 400 for a stale signature.")

    def checks(self) -> list[Callable[[], CheckResult]]:
        return [self.check_unsigned, self.check_trailing_slash, self.check_https, self.check_signed_event,
                self.check_unhandled_type, self.check_stale_signature, self.check_response_time]

    def run(self) -> list[CheckResult]:
        results = []
        for check in self.checks():
            results.append(check())
            if results[0].verdict == FAIL and results[0].detail.startswith(self.url + ": no answer"):
                break  # unreachable: every other check would say the same
        return results


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:160] + "…"
