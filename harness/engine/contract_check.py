"""``posx-harness doctor --contract``: check a running target against docs/CONTRACT.md ("Routes").

Each check sends real requests and gives a verdict with what was seen and which scenarios
rely on it. It creates two orders on the target and pays them with signed test events
(``evt_doctor_...``), so run it against a test deploy, never production. The events are
shaped as Stripe sends them, with only the fields the contract names.
"""
from __future__ import annotations

import json
import secrets as _secrets
import time
from typing import Any, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

import requests

from harness.engine.doctor import FAIL, PASS, SKIP, WARN, CheckResult, Doctor

TIERS_PATH = "/api/v1/tiers/"
ORDERS_PATH = "/api/v1/orders/"
FAULTS_PATH = "/_posx/faults/"
ORDER_FIELDS = ("id", "status", "amount", "currency", "paid_at", "stripe_payment_intent_id",
                "allocations", "commissions", "disputes")
HOOK_FIELDS = ("fail_next", "fail_status", "delay_next", "delay_ms", "crash_next")


def base_of(webhook_url: str) -> str:
    parts = urlsplit(webhook_url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def event(event_type: str, obj: dict) -> dict:
    now = int(time.time())
    return {"id": "evt_doctor_%s" % _secrets.token_hex(8), "object": "event", "api_version": "2025-08-27.basil",
            "created": now, "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type}


class ContractDoctor:
    """The contract's routes, checked in order; later checks use the orders earlier ones made."""

    def __init__(self, webhook: Doctor, api_token: Optional[str], site_code: Optional[str] = None,
                 tier: Optional[str] = None, wait: float = 10.0):
        self.webhook = webhook
        self.base = base_of(webhook.url)
        self.http = webhook.http
        self.token = api_token
        self.site_code = site_code
        self.tier = tier
        self.tier_doc: Optional[dict] = None
        self.wait = wait
        self.orders: dict = {}
        self.last_create = ""

    # -- plumbing ---------------------------------------------------------------------------
    def headers(self, auth: bool = True) -> dict:
        h = {"Accept": "application/json"}
        if auth and self.token:
            h["Authorization"] = "Bearer %s" % self.token
        if self.site_code:
            h["X-Site-Code"] = self.site_code
        return h

    def request(self, method: str, path: str, auth: bool = True, body: Any = None):
        try:
            resp = self.http.request(method, self.base + path, json=body, headers=self.headers(auth),
                                     timeout=self.webhook.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return None, "no answer (%s)" % exc
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        return resp, doc

    def send(self, event_type: str, obj: dict):
        return self.webhook.send_signed(event(event_type, obj), self.webhook.secret)

    def order_view(self, order_id: str) -> Optional[dict]:
        resp, doc = self.request("GET", ORDERS_PATH + order_id + "/")
        return doc if resp is not None and resp.status_code == 200 and isinstance(doc, dict) else None

    def wait_for(self, order_id: str, holds: Callable[[dict], bool]) -> tuple[bool, Optional[dict]]:
        deadline = time.monotonic() + self.wait
        seen = None
        while True:
            seen = self.order_view(order_id)
            if seen is not None and holds(seen):
                return True, seen
            if time.monotonic() >= deadline:
                return False, seen
            time.sleep(0.1)  # the gap between two reads of the order, not a stand-in for one

    # -- the checks -------------------------------------------------------------------------
    def check_tiers(self) -> CheckResult:
        name, title = "tiers", "GET /api/v1/tiers/ lists what can be bought"
        relies = "posx-harness run takes its default --tier and --site-code from it; the money scenarios read prices"
        resp, doc = self.request("GET", TIERS_PATH)
        if resp is None:
            return CheckResult(name, title, FAIL, doc, "Serve the route (docs/CONTRACT.md, Routes).")
        problems = []
        data = doc.get("data") if isinstance(doc, dict) else None
        if resp.status_code != 200 or not isinstance(data, list) or not data:
            problems.append("answered %d %s; expected 200 with a non-empty data list" % (resp.status_code,
                                                                                          _short(doc)))
        else:
            for t in data:
                if not (isinstance(t, dict) and isinstance(t.get("id"), str) and _is_int(t.get("price"))
                        and _is_int(t.get("tokens")) and isinstance(t.get("currency"), str)
                        and t["currency"] == t["currency"].lower()):
                    problems.append("tier %s lacks id (string), price and tokens (integers) or currency "
                                    "(lowercase)" % _short(t))
            if not isinstance(doc.get("site_codes"), list):
                problems.append("no site_codes list")
        if problems:
            if self.tier:  # the later checks can still order the tier given with --tier
                self.tier_doc = {"id": self.tier}
            return CheckResult(name, title, FAIL, "; ".join(problems[:3]),
                               "Answer {\"data\": [{\"id\", \"price\", \"tokens\", \"currency\"}], "
                               "\"site_codes\": [...]} (docs/CONTRACT.md).", {"relies": relies})
        chosen = next((t for t in data if t["id"] == self.tier), None) if self.tier else data[0]
        if chosen is None:
            return CheckResult(name, title, FAIL, "--tier %s is not among %s" % (self.tier, [t["id"] for t in data]),
                               "Pass a tier the target sells.", {"relies": relies})
        self.tier, self.tier_doc = chosen["id"], chosen
        if not self.site_code and doc["site_codes"]:
            self.site_code = str(doc["site_codes"][0])
        return CheckResult(name, title, PASS, "%d tier(s), site codes %s" % (len(data), doc["site_codes"]),
                           data={"relies": relies})

    def check_order_auth(self) -> CheckResult:
        name, title = "order_api_auth", "the order API refuses a request without the Bearer token"
        resp, doc = self.request("POST", ORDERS_PATH, auth=False, body={"tier_id": self.tier, "quantity": 1})
        if resp is not None and resp.status_code in (401, 403):
            return CheckResult(name, title, PASS, "HTTP %d" % resp.status_code)
        return CheckResult(name, title, FAIL, "HTTP %s %s" % (getattr(resp, "status_code", "-"), _short(doc)),
                           "Answer 401 to a request without Authorization: Bearer <token>.")

    def check_order_bad_input(self) -> CheckResult:
        name, title = "order_bad_input", "an unknown tier is a 400 naming it, not a 5xx"
        resp, doc = self.request("POST", ORDERS_PATH, body={"tier_id": "posx-doctor-no-such-tier", "quantity": 1})
        if resp is not None and resp.status_code == 400:
            return CheckResult(name, title, PASS, "HTTP 400 %s" % _short(doc))
        return CheckResult(name, title, FAIL, "HTTP %s %s" % (getattr(resp, "status_code", "-"), _short(doc)),
                           "Validate the body and answer 400 with what is wrong.")

    def create(self, key: str) -> Optional[dict]:
        resp, doc = self.request("POST", ORDERS_PATH, body={"tier_id": self.tier, "quantity": 1})
        if resp is not None and resp.status_code in (200, 201) and isinstance(doc, dict):
            self.orders[key] = doc
            return doc
        self.orders[key] = None
        self.last_create = "HTTP %s %s" % (getattr(resp, "status_code", "-"), _short(doc))
        return None

    def check_order_create(self) -> CheckResult:
        name, title = "order_create", "POST /api/v1/orders/ makes a pending order with its payment intent"
        relies = "every scenario: each starts by creating an order"
        if self.tier_doc is None:
            return CheckResult(name, title, SKIP, "no tier to order (see tiers)")
        doc = self.create("paid")
        if doc is None:
            return CheckResult(name, title, FAIL, "creating an order answered %s" % self.last_create,
                               "Answer 201 with the order (docs/CONTRACT.md); a 5xx here often means the "
                               "target cannot reach its Stripe API base.", {"relies": relies})
        problems = []
        if not isinstance(doc.get("id"), str) or not doc.get("id"):
            problems.append("no id")
        if doc.get("status") != "pending":
            problems.append("status %r, not 'pending'" % doc.get("status"))
        if not isinstance(doc.get("stripe_payment_intent_id"), str) or not doc["stripe_payment_intent_id"]:
            problems.append("no stripe_payment_intent_id")
        if "price" in self.tier_doc and (doc.get("amount") != self.tier_doc["price"]
                                         or doc.get("currency") != self.tier_doc["currency"]):
            problems.append("amount/currency %s %s, the tier says %s %s" % (
                doc.get("amount"), doc.get("currency"), self.tier_doc["price"], self.tier_doc["currency"]))
        if problems:
            return CheckResult(name, title, FAIL, "; ".join(problems), "See docs/CONTRACT.md, Routes.",
                               {"relies": relies})
        return CheckResult(name, title, PASS, "order %s, intent %s" % (doc["id"], doc["stripe_payment_intent_id"]),
                           data={"relies": relies})

    def check_order_read(self) -> CheckResult:
        name, title = "order_read", "GET /api/v1/orders/<id>/ shows the fields scenarios check; 404 for none"
        order = self.orders.get("paid")
        if not order:
            return CheckResult(name, title, SKIP, "no order was created")
        view = self.order_view(order["id"])
        missing = [f for f in ORDER_FIELDS if view is None or f not in view]
        resp, _ = self.request("GET", ORDERS_PATH + "posx-doctor-no-such-order/")
        problems = []
        if view is None:
            problems.append("the order just created could not be read")
        elif missing:
            problems.append("missing field(s) %s" % ", ".join(missing))
        elif not all(isinstance(view[f], list) for f in ("allocations", "commissions", "disputes")):
            problems.append("allocations, commissions and disputes must be lists")
        if resp is None or resp.status_code != 404:
            problems.append("an unknown order answered %s, not 404" % getattr(resp, "status_code", "nothing"))
        if problems:
            return CheckResult(name, title, FAIL, "; ".join(problems), "See docs/CONTRACT.md, Routes.")
        return CheckResult(name, title, PASS, "all of %s" % ", ".join(ORDER_FIELDS))

    def _paid_by(self, name: str, title: str, key: str, make_event: Callable[[dict], tuple], fix: str,
                 relies: str) -> CheckResult:
        order = self.orders.get(key) if key in self.orders else self.create(key)
        if not order:
            return CheckResult(name, title, SKIP, "no order to pay")
        event_type, obj = make_event(order)
        reply = self.send(event_type, obj)
        if reply.status is None or not 200 <= reply.status < 300:
            return CheckResult(name, title, FAIL, "%s answered %s" % (event_type, reply.describe()),
                               "A verified event must get 2xx.", {"relies": relies})
        ok, seen = self.wait_for(order["id"], lambda v: v.get("status") == "paid")
        if not ok:
            return CheckResult(name, title, FAIL, "%s was accepted, but order %s still shows %s after %.0f s"
                               % (event_type, order["id"], _short(_status_of(seen)), self.wait), fix,
                               {"relies": relies})
        return CheckResult(name, title, PASS, "%s paid order %s" % (event_type, order["id"]), data={"relies": relies})

    def check_payment_finds_order(self) -> CheckResult:
        def make(order):
            amount = order.get("amount") or self.tier_doc.get("price") or 0
            return "payment_intent.succeeded", {
                "id": order["stripe_payment_intent_id"], "object": "payment_intent", "amount": amount,
                "amount_received": amount, "currency": order.get("currency") or "usd", "status": "succeeded",
                "metadata": {"order_id": order["id"]}, "latest_charge": "ch_doctor_%s" % _secrets.token_hex(6)}
        return self._paid_by("payment_finds_order", "payment_intent.succeeded finds its order by the intent id",
                             "paid", make, "Look the order up by data.object.id (its stripe_payment_intent_id), "
                             "or metadata.order_id.", "test_payments, test_duplicates, test_ordering, test_recovery")

    def check_checkout_finds_order(self) -> CheckResult:
        def make(order):
            amount = order.get("amount") or self.tier_doc.get("price") or 0
            # Checkout makes its own PaymentIntent: not the one the order was created with.
            return "checkout.session.completed", {
                "id": "cs_test_doctor_%s" % _secrets.token_hex(8), "object": "checkout.session",
                "client_reference_id": order["id"], "metadata": {"order_id": order["id"]}, "mode": "payment",
                "payment_intent": "pi_doctor_checkout_%s" % _secrets.token_hex(6), "payment_status": "paid",
                "status": "complete", "amount_total": amount, "currency": order.get("currency") or "usd"}
        return self._paid_by("checkout_finds_order",
                             "checkout.session.completed finds its order by client_reference_id / metadata.order_id",
                             "checkout", make, "Checkout makes its own PaymentIntent: find the order by "
                             "client_reference_id (or metadata.order_id), not by the intent id.",
                             "test_payments::test_checkout_session_pays_the_order")

    def _after_payment(self, name: str, title: str, event_type: str, make_obj: Callable[[dict, int], dict],
                       shows: Callable[[dict], bool], passed: str, missing: Callable[[dict, Any], str], fix: str,
                       relies: str) -> CheckResult:
        """Send ``event_type`` for the paid order and wait until its view ``shows`` the effect."""
        order = self.orders.get("paid")
        if not order or self.order_view(order["id"]) is None:
            return CheckResult(name, title, SKIP, "no paid order")
        reply = self.send(event_type, make_obj(order, order.get("amount") or self.tier_doc.get("price") or 0))
        if reply.status is None or not 200 <= reply.status < 300:
            return CheckResult(name, title, FAIL, "answered %s" % reply.describe(), "A verified event must get 2xx.")
        ok, seen = self.wait_for(order["id"], shows)
        if not ok:
            return CheckResult(name, title, FAIL, missing(order, seen), fix, {"relies": relies})
        return CheckResult(name, title, PASS, passed % order["id"])

    def check_dispute_finds_order(self) -> CheckResult:
        return self._after_payment(
            "dispute_finds_order", "charge.dispute.created finds its order by payment_intent", "charge.dispute.created",
            lambda order, amount: {
                "id": "dp_doctor_%s" % _secrets.token_hex(8), "object": "dispute", "amount": amount,
                "currency": order.get("currency") or "usd", "charge": "ch_doctor_%s" % _secrets.token_hex(6),
                "payment_intent": order["stripe_payment_intent_id"], "reason": "fraudulent",
                "status": "needs_response", "metadata": {}},
            lambda v: isinstance(v.get("disputes"), list) and len(v["disputes"]) >= 1,
            "order %s shows the dispute",
            lambda order, seen: "accepted, but order %s shows no dispute" % order["id"],
            "Find the order by the dispute's payment_intent (or its charge's).",
            "test_payments::test_dispute_is_recorded")

    def check_refund_finds_order(self) -> CheckResult:
        return self._after_payment(
            "refund_finds_order", "charge.refunded finds its order by payment_intent", "charge.refunded",
            lambda order, amount: {
                "id": "ch_doctor_%s" % _secrets.token_hex(6), "object": "charge", "amount": amount,
                "amount_captured": amount, "amount_refunded": amount, "refunded": True,
                "currency": order.get("currency") or "usd", "payment_intent": order["stripe_payment_intent_id"],
                "status": "succeeded", "metadata": {}},
            lambda v: v.get("status") == "refunded",
            "order %s is refunded",
            lambda order, seen: "accepted, but order %s shows %s" % (order["id"], _short(_status_of(seen))),
            "Find the order by the charge's payment_intent; a full refund makes it 'refunded'.",
            "test_payments::test_refund_after_payment, the money scenarios")

    def check_fault_hooks(self) -> CheckResult:
        return fault_hooks_check(self.http, self.base, self.webhook.timeout)

    def checks(self) -> list:
        return [self.check_tiers, self.check_order_auth, self.check_order_bad_input, self.check_order_create,
                self.check_order_read, self.check_payment_finds_order, self.check_checkout_finds_order,
                self.check_dispute_finds_order, self.check_refund_finds_order]

    def run(self) -> list:
        return [check() for check in self.checks()]


def fault_hooks_check(http, base: str, timeout: float) -> CheckResult:
    """Which of the contract's fault hooks the target has (GET /_posx/faults/)."""
    name, title = "fault_hooks", "the contract's fault hooks (GET /_posx/faults/)"
    try:
        resp = http.get(base + FAULTS_PATH, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return CheckResult(name, title, WARN, "no answer (%s)" % _short(str(exc)))
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    hooks = [h for h in ("fail_next", "delay_next", "crash_next") if isinstance(doc, dict) and h in doc]
    if resp.status_code == 200 and hooks:
        missing = [h for h in ("fail_next", "delay_next", "crash_next") if h not in hooks]
        return CheckResult(name, title, WARN if missing else PASS, "hooks: %s%s" % (
            ", ".join(hooks), "; missing %s" % ", ".join(missing) if missing else ""),
            "Offer fail_next, delay_next and crash_next (docs/CONTRACT.md, Fault hooks)." if missing else "",
            {"hooks": hooks})
    return CheckResult(name, title, WARN, "none (GET %s answered %d): posx-harness run will not check the "
                       "recovery scenarios against it (exit 4)" % (FAULTS_PATH, resp.status_code),
                       "On a test deploy, serve the contract's fault hooks (docs/CONTRACT.md, Fault hooks; "
                       "docs/POSX_DEPLOY.md shows the smallest Django view).", {"hooks": []})


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _status_of(view: Optional[dict]) -> Any:
    if view is None:
        return "nothing (the order could not be read)"
    return {k: view.get(k) for k in ("status", "paid_at", "allocations", "disputes")}


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
