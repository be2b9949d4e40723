"""Checkout Sessions (mode=payment) and the test helper that pays one.

The test helper pays with a test card (the session is paid at once) or with an ACH Direct
Debit test payment method (``pm_usBankAccount_*``, see ``bank_debits.py``): the session
completes ``unpaid`` and the bank's answer follows as ``checkout.session.async_payment_*``.
"""
from __future__ import annotations

from typing import Optional

from simulator.errors import InvalidRequestError, StateError
from simulator.objects import builders, clone

from . import bank_debits, cards
from . import params as P
from .payments import check_amount

SESSION_LIFETIME = 24 * 3600


class CheckoutMixin:
    def create_checkout_session(self, params: dict, request: Optional[dict] = None) -> dict:
        p = P.check("create_checkout_session", params)
        if "mode" not in p:  # optional in basil's definitions, but Stripe refuses a session without it
            raise InvalidRequestError("Missing required param: mode.", param="mode", code="parameter_missing")
        if p["mode"] != "payment":
            raise InvalidRequestError("mode=%s is not supported by this simulator; use mode=payment."
                                      % p["mode"], param="mode")
        items = p.get("line_items") or []
        if not items:
            raise InvalidRequestError("Missing required param: line_items.", param="line_items")
        for t in p.get("payment_method_types") or []:
            if t not in ("card", "us_bank_account"):
                raise InvalidRequestError('The payment method type "%s" is invalid.' % t,
                                          param="payment_method_types")
        with self.lock:
            if p.get("customer"):
                self.require_object(p["customer"], "customer", "customer")
            now = int(self.clock.now())
            expires_at = p.get("expires_at", now + SESSION_LIFETIME)
            if not now + 1800 <= expires_at <= now + SESSION_LIFETIME:
                raise InvalidRequestError("The `expires_at` timestamp must be between 30 minutes and "
                                          "24 hours from Checkout Session creation.", param="expires_at")
            built, currency = self._line_items(items, now, p.get("currency"))
            amount = sum(li["amount_total"] for li in built)
            check_amount(amount, currency, param="line_items")
            cs_id = "cs_test_a1%s" % self.token(56)
            session = builders.checkout_session(
                cs_id, now, expires_at, currency, amount,
                "https://checkout.stripe.com/c/pay/%s#%s" % (cs_id, self.token(40)),
                cancel_url=p.get("cancel_url"), success_url=p.get("success_url"),
                client_reference_id=p.get("client_reference_id"), customer=p.get("customer"),
                customer_email=p.get("customer_email"),
                customer_creation=p.get("customer_creation", "if_required"),
                metadata=dict(p.get("metadata") or {}), locale=p.get("locale"),
                submit_type=p.get("submit_type"),
                billing_address_collection=p.get("billing_address_collection"),
                allow_promotion_codes=p.get("allow_promotion_codes"),
                ui_mode=p.get("ui_mode") or "hosted",
                payment_method_collection=p.get("payment_method_collection", "if_required"))
            if p.get("payment_method_types"):
                session["payment_method_types"] = list(p["payment_method_types"])
            if session["ui_mode"] != "hosted":
                session["url"] = None
                session["client_secret"] = "%s_secret_%s" % (cs_id, self.token(24))
                session["return_url"] = p.get("return_url")
            self._add("checkout_sessions", session)
            self.line_items[cs_id] = built
            self.session_intent_data[cs_id] = p.get("payment_intent_data") or {}
            return self._answer(session)

    def _line_items(self, items: list, now: int, currency: Optional[str]) -> tuple[list, str]:
        built = []
        for i, item in enumerate(items):
            path = "line_items[%d]" % i
            price_id = None
            data = item.get("price_data")
            if item.get("price"):
                # a Price of the generic store: its amount, currency and product
                price = self.require_object(item["price"], "price", path + "[price]")
                price_id = price["id"]
                product = self.find_object(price["product"]) if isinstance(price.get("product"), str) else None
                data = {"currency": price["currency"], "unit_amount": price.get("unit_amount") or 0,
                        "product": price.get("product"),
                        "product_data": {"name": (product or {}).get("name") or "product"}}
            if not data:
                raise InvalidRequestError("Missing required param: %s[price_data]." % path,
                                          param=path + "[price_data]")
            if "unit_amount" not in data:
                raise InvalidRequestError("Missing required param: %s[price_data][unit_amount]." % path,
                                          param=path + "[price_data][unit_amount]")
            if not data.get("product") and not data.get("product_data"):
                raise InvalidRequestError("Missing required param: %s[price_data][product_data]." % path,
                                          param=path + "[price_data][product_data]")
            if "quantity" not in item:
                raise InvalidRequestError("Missing required param: %s[quantity]." % path,
                                          param=path + "[quantity]")
            currency = currency or data["currency"]
            if data["currency"] != currency:
                raise InvalidRequestError("All line items must use the same currency (%s)." % currency,
                                          param=path + "[price_data][currency]")
            product_data = data.get("product_data") or {}
            product = data.get("product") or self.new_id("prod")[:19]
            built.append(builders.line_item(
                self.new_id("li"), price_id or self.new_id("price"), product, now, currency,
                data["unit_amount"], item["quantity"], product_data.get("name")))
        return built, currency

    def _session(self, id: str) -> dict:
        return self._get("checkout_sessions", id, "checkout.session")

    def retrieve_checkout_session(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_checkout_session", params)
        with self.lock:
            return self._read("checkout_sessions", id, "checkout.session")

    def list_checkout_sessions(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_checkout_sessions", params)
        with self.lock:
            return self._page_filtered(self.checkout_sessions, p, ("payment_intent", "customer"))

    def list_checkout_session_line_items(self, id: str, params: Optional[dict] = None) -> dict:
        p = P.check("list_checkout_session_line_items", params)
        with self.lock:
            self._session(id)
            return self._line_items_list(id, p.get("limit") or 10)

    def _line_items_list(self, cs_id: str, limit: int = 10) -> dict:
        items = self.line_items.get(cs_id, [])
        return {"object": "list", "data": [clone(li) for li in items[:limit]],
                "has_more": len(items) > limit, "url": "/v1/checkout/sessions/%s/line_items" % cs_id}

    def complete_checkout_session(self, id: str, params: Optional[dict] = None,
                                  request: Optional[dict] = None) -> dict:
        """Test helper: the customer pays (4242 unless ``payment_method`` names a test card)."""
        p = P.check("complete_checkout_session", params)
        with self.lock:
            session = self._session(id)
            if session["status"] == "open" and self.clock.now() >= session["expires_at"]:
                self._expire(session)
            if session["status"] != "open":
                raise StateError("This Checkout Session is no longer open (status: %s)."
                                 % session["status"])
            email = p.get("customer_email") or session["customer_email"]
            intent_data = self.session_intent_data.get(id, {})
            if session["payment_intent"]:
                pi = self._intent(session["payment_intent"])
            else:
                pi = self._build_intent(self.new_intent_id(), {
                    "amount": session["amount_total"], "currency": session["currency"],
                    "metadata": intent_data.get("metadata") or {},
                    "description": intent_data.get("description"),
                    "receipt_email": intent_data.get("receipt_email"),
                    "capture_method": intent_data.get("capture_method"),
                    "statement_descriptor": intent_data.get("statement_descriptor"),
                    "statement_descriptor_suffix": intent_data.get("statement_descriptor_suffix"),
                    "customer": session["customer"]})
                self._add("payment_intents", pi)
                session["payment_intent"] = pi["id"]
                self.checkout_sessions.add_key("payment_intent", pi["id"], id)
                self.record_event("payment_intent.created", pi, request=request)
            bank = bank_debits.BY_TOKEN.get(p.get("payment_method"))
            if bank is not None:
                return self._complete_by_bank_debit(session, pi, bank, email, request)
            if p.get("payment_method"):
                pm = self._resolve_payment_method(p["payment_method"])
            else:
                pm = self._new_payment_method(cards.BY_NUMBER["4242424242424242"], email=email)

            # A decline raises CardError (402) after its events; the session stays open. So
            # does a card that needs 3-D Secure, until the challenge ends (authentication.py).
            self._confirm(pi, {}, request, pm, on_success=lambda: self._complete_session(session, pm, request))
            return self._answer(session)

    def _complete_session(self, session: dict, pm: dict, request: Optional[dict],
                          payment_status: str = "paid") -> None:
        billing = pm["billing_details"]
        session.update(
            status="complete", payment_status=payment_status,
            customer_details={"address": dict(billing["address"]), "email": billing["email"],
                              "name": billing["name"], "phone": billing["phone"],
                              "tax_exempt": "none", "tax_ids": []},
            collected_information={"shipping_details": None})
        self.record_event("checkout.session.completed", session, request=request)

    def _complete_by_bank_debit(self, session: dict, pi: dict, bank: "bank_debits.TestBankAccount",
                                email: Optional[str], request: Optional[dict]) -> dict:
        """The customer completes Checkout with a bank debit: ``charge.pending``,
        ``payment_intent.processing``, ``checkout.session.completed`` (unpaid) now; the bank's
        answer (decided by the test account) in events ``SETTLE_DELAY`` later."""
        if session["currency"] != "usd":
            raise InvalidRequestError("ACH Direct Debit (us_bank_account) only supports usd; this Checkout "
                                      "Session is in %s." % session["currency"], param="payment_method")
        now = int(self.clock.now())
        pm = bank_debits.payment_method(self.new_id("pm"), now, bank, self.fingerprint(bank.account_number),
                                        self.fake_billing(email))
        self._add("payment_methods", pm)
        charge = bank_debits.charge(self.related_id("ch", pi["id"]), now, pi, pm, self.new_id("mandate"))
        self._add("charges", charge)
        pi.update(status="processing", payment_method=pm["id"], payment_method_types=["us_bank_account"],
                  latest_charge=charge["id"], last_payment_error=None, next_action=None)
        self.record_event("charge.pending", charge, request=request)
        self.record_event("payment_intent.processing", pi, request=request)
        self._complete_session(session, pm, request, payment_status="unpaid")
        answer = clone(session)  # the helper answers with the session as the customer left it: unpaid
        delay = bank_debits.SETTLE_DELAY
        if bank.failure_code is None:
            amount = pi["amount"]
            txn = builders.balance_transaction(
                self.related_id("txn", pi["id"]), now, amount, charge["currency"], charge["id"], "charge",
                fee=min(amount * 8 // 1000, 500), description=charge["description"],  # ACH: 0.8%, capped at $5
                available_on=now + 4 * 86400)
            self._add("balance_transactions", txn)
            charge.update(status="succeeded", paid=True, balance_transaction=txn["id"])
            self.record_event("charge.succeeded", charge, delay=delay)
            pi.update(status="succeeded", amount_received=amount)
            self.record_event("payment_intent.succeeded", pi, delay=delay)
            session.update(payment_status="paid")
            self.record_event("checkout.session.async_payment_succeeded", session, delay=delay)
        else:
            charge.update(status="failed", paid=False, failure_code=bank.failure_code,
                          failure_message=bank.failure_message)
            charge["outcome"].update(network_status="declined_by_network", reason=bank.failure_code,
                                     seller_message=bank.failure_message, type="issuer_declined")
            self.record_event("charge.failed", charge, delay=delay)
            pi.update(status="requires_payment_method", payment_method=None,
                      last_payment_error=bank_debits.failure_error(bank, charge["id"], clone(pm)))
            self.record_event("payment_intent.payment_failed", pi, delay=delay)
            self.record_event("checkout.session.async_payment_failed", session, delay=delay)
        return answer

    def _open_session_paying(self, pi_id: str) -> Optional[dict]:
        """The open Checkout Session whose payment is ``pi_id``, if any."""
        for cs_id in self.checkout_sessions.ids_with("payment_intent", pi_id):
            session = self.checkout_sessions.get(cs_id)
            if session is not None and session["status"] == "open":
                return session
        return None

    def expire_checkout_session(self, id: str, params: Optional[dict] = None,
                                request: Optional[dict] = None) -> dict:
        P.check("expire_checkout_session", params)
        with self.lock:
            session = self._session(id)
            if session["status"] != "open":
                raise StateError("Only Checkout Sessions with a status in [\"open\"] can be expired.")
            self._expire(session, request)
            return self._answer(session)

    def _expire(self, session: dict, request: Optional[dict] = None) -> None:
        session.update(status="expired", url=None)
        self.record_event("checkout.session.expired", session, request=request)
