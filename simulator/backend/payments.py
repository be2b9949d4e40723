"""PaymentIntents, PaymentMethods and Charges: the payment life cycle and its events."""
from __future__ import annotations

import json
from typing import Callable, Optional

from simulator.errors import CardError, InvalidRequestError, ResourceMissingError, StateError
from simulator.objects import builders, clone

from . import cards
from . import params as P

UNEXPECTED_STATE = "payment_intent_unexpected_state"
CONFIRMABLE = ("requires_confirmation", "requires_payment_method", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action", "processing")
AMOUNT_UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
MAX_AMOUNT = 99999999
BALANCE_DELAY = 3.0        # charge.updated with the balance transaction, as observed
DAY = 86400


def money(amount: int, currency: str) -> str:
    if currency in P.ZERO_DECIMAL:
        shown = "{:,}".format(amount)
    else:
        shown = "{:,}.{:02d}".format(*divmod(amount, 100))
    return "$%s" % shown if currency == "usd" else "%s %s" % (shown, currency.upper())


def stripe_fee(amount: int, currency: str) -> int:
    """2.9% + 30 (minor units), Stripe's standard card pricing."""
    if currency in P.ZERO_DECIMAL:
        return int(round(amount * 0.036))
    return int(round(amount * 0.029)) + 30


def merge_metadata(current: dict, update: Optional[dict]) -> dict:
    """Stripe semantics: ``metadata=""`` clears all; a key set to "" is removed."""
    if update is None:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    if amount < 0:
        raise InvalidRequestError("This value must be greater than or equal to 1.", param=param)
    minimum = 50
    if amount < minimum:
        raise InvalidRequestError("Amount must be at least %s" % money(minimum, currency)
                                  + (" usd" if currency == "usd" else ""),
                                  param=param, code="amount_too_small")
    if amount > MAX_AMOUNT:
        raise InvalidRequestError("Amount must be no more than %s" % money(MAX_AMOUNT, currency),
                                  param=param, code="amount_too_large")


class PaymentsMixin:
    # -- lookups ----------------------------------------------------------------
    def _get(self, collection: str, id: str, name: str, param: str = "id") -> dict:
        obj = getattr(self, collection).get(id) if isinstance(id, str) else None
        if obj is None:
            raise ResourceMissingError("No such %s: '%s'" % (name, id), param=param)
        return obj

    def _intent(self, id: str) -> dict:
        return self._get("payment_intents", id, "payment_intent")

    # -- payment methods --------------------------------------------------------------
    def _card_values(self, card: cards.TestCard, exp_month: Optional[int] = None,
                     exp_year: Optional[int] = None, cvc_check: Optional[str] = None) -> dict:
        # Stripe's pm_card_* methods expire one year from now, in the current month.
        now = _utc_month_year(self.clock.now())
        return {"brand": card.brand, "funding": card.funding, "country": card.country,
                "last4": card.last4, "exp_month": exp_month or now[0],
                "exp_year": exp_year or now[1] + 1, "fingerprint": self.fingerprint(card.number),
                "cvc_check": cvc_check or (card.decline.cvc_check if card.decline else "pass")}

    def _new_payment_method(self, card: cards.TestCard, billing: Optional[dict] = None,
                            metadata: Optional[dict] = None, exp_month=None, exp_year=None,
                            cvc_check=None, allow_redisplay: str = "unspecified",
                            email: Optional[str] = None) -> dict:
        if billing is None:
            billing = self.fake_billing(email)
        else:
            billing = builders.billing_details(billing)
        pm = builders.payment_method(
            self.new_id("pm"), int(self.clock.now()),
            self._card_values(card, exp_month, exp_year, cvc_check), billing, metadata,
            allow_redisplay=allow_redisplay)
        self._add("payment_methods", pm)
        self.pm_cards[pm["id"]] = card.number
        return pm

    def _payment_method_from_data(self, data: dict, param: str) -> dict:
        """``param``: where ``data`` sits in the request ("" for the create call itself)."""
        card_param = P.join(param, "card")
        card_params = data.get("card")
        if not card_params:
            raise InvalidRequestError("Missing required param: %s." % card_param, param=card_param)
        if card_params.get("token"):
            card = cards.BY_TOKEN.get(card_params["token"])
            if card is None:
                raise ResourceMissingError("No such token: '%s'" % card_params["token"],
                                           param="%s[token]" % card_param)
        else:
            number = card_params.get("number")
            if not number:
                raise InvalidRequestError("Missing required param: %s[number]." % card_param,
                                          param="%s[number]" % card_param)
            card = cards.card_for_number(number)
            if card is None:
                raise CardError("Your card number is incorrect.", code="incorrect_number",
                                param="%s[number]" % card_param)
        exp_month, exp_year = card_params.get("exp_month"), card_params.get("exp_year")
        if exp_month is not None and not 1 <= exp_month <= 12:
            raise CardError("Your card's expiration month is invalid.", code="invalid_expiry_month",
                            param="%s[exp_month]" % card_param)
        if exp_year is not None:
            if exp_year < 100:
                exp_year += 2000
            month, year = _utc_month_year(self.clock.now())
            if exp_year < year or exp_year > year + 50:
                raise CardError("Your card's expiration year is invalid.", code="invalid_expiry_year",
                                param="%s[exp_year]" % card_param)
            if exp_year == year and exp_month is not None and exp_month < month:
                raise CardError("Your card's expiration date is incorrect.", code="invalid_expiry_month",
                                param="%s[exp_month]" % card_param)
        cvc = card_params.get("cvc")
        if cvc is not None and not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise CardError("Your card's security code is invalid.", code="invalid_cvc",
                            param="%s[cvc]" % card_param)
        return self._new_payment_method(card, data.get("billing_details"), data.get("metadata"),
                                        exp_month, exp_year,
                                        allow_redisplay=data.get("allow_redisplay") or "unspecified")

    def _resolve_payment_method(self, pm_id: str, param: str = "payment_method") -> dict:
        card = cards.BY_TOKEN.get(pm_id)
        if card is not None:
            # Stripe turns a test token into a new PaymentMethod on every use.
            return self._new_payment_method(card)
        return self._get("payment_methods", pm_id, "PaymentMethod", param=param)

    def _payment_method_param(self, p: dict) -> Optional[dict]:
        if "payment_method" in p and "payment_method_data" in p:
            raise InvalidRequestError(
                "You may only specify one of these parameters: payment_method, payment_method_data.",
                param="payment_method_data")
        if p.get("payment_method_data"):
            return self._payment_method_from_data(p["payment_method_data"], "payment_method_data")
        if p.get("payment_method"):
            return self._resolve_payment_method(p["payment_method"])
        return None

    def create_payment_method(self, params: dict, request: Optional[dict] = None) -> dict:
        p = P.check("create_payment_method", params)
        with self.lock:
            if p.get("payment_method"):
                return clone(self._resolve_payment_method(p["payment_method"]))
            pm = self._payment_method_from_data(p, "")
            return self._answer(pm)

    def retrieve_payment_method(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_payment_method", params)
        with self.lock:
            return self._read("payment_methods", id, "PaymentMethod")

    # -- payment intents ------------------------------------------------------------
    def _check_payment_method_types(self, types: list) -> None:
        for t in types:
            if t != "card":
                raise InvalidRequestError(
                    'The payment method type "%s" is invalid. Please ensure the provided type is '
                    "activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) "
                    "and your account is enabled for any preview features that you are trying to use."
                    % t, param="payment_method_types")

    @staticmethod
    def _types_alias(p: dict) -> dict:
        """Newer SDKs call ``payment_method_types`` ``allowed_payment_method_types``."""
        if "allowed_payment_method_types" in p:
            if "payment_method_types" in p:
                raise InvalidRequestError(
                    "You may only specify one of these parameters: allowed_payment_method_types, "
                    "payment_method_types.", param="allowed_payment_method_types")
            p["payment_method_types"] = p.pop("allowed_payment_method_types")
        return p

    def create_payment_intent(self, params: dict, request: Optional[dict] = None) -> dict:
        p = self._types_alias(P.check("create_payment_intent", params))
        check_amount(p["amount"], p["currency"])
        if "automatic_payment_methods" in p and "payment_method_types" in p:
            raise InvalidRequestError(
                "You may only specify one of these parameters: automatic_payment_methods, "
                "payment_method_types.", param="automatic_payment_methods")
        self._check_payment_method_types(p.get("payment_method_types") or [])
        with self.lock:
            if p.get("customer"):
                self.require_object(p["customer"], "customer", "customer")
            pi_id = self.new_intent_id()
            pi = self._build_intent(pi_id, p)
            pm = self._payment_method_param(p)
            if pm is not None:
                pi["payment_method"] = pm["id"]
                pi["status"] = "requires_confirmation"
            self._add("payment_intents", pi)
            self.record_event("payment_intent.created", pi, request=request)
            if p.get("confirm"):
                self._confirm(pi, p, request, pm)
            return self._answer(pi)

    def _build_intent(self, pi_id: str, p: dict) -> dict:
        fields = {
            "metadata": merge_metadata({}, p.get("metadata") or {}),
            "description": p.get("description"),
            "receipt_email": p.get("receipt_email"),
            "customer": p.get("customer"),
            "capture_method": p.get("capture_method") or "automatic_async",
            "confirmation_method": p.get("confirmation_method") or "automatic",
            "statement_descriptor": p.get("statement_descriptor"),
            "statement_descriptor_suffix": p.get("statement_descriptor_suffix"),
            "setup_future_usage": p.get("setup_future_usage"),
            "shipping": builders.shipping(p.get("shipping")),
            "transfer_group": p.get("transfer_group"),
            "application_fee_amount": p.get("application_fee_amount"),
            "excluded_payment_method_types": p.get("excluded_payment_method_types"),
            "on_behalf_of": p.get("on_behalf_of"),
        }
        if p.get("payment_method_types"):
            fields["payment_method_types"] = list(p["payment_method_types"])
        apm = p.get("automatic_payment_methods")
        if apm and apm.get("enabled"):
            fields["automatic_payment_methods"] = {
                "allow_redirects": apm.get("allow_redirects") or "always", "enabled": True}
            fields["payment_method_configuration_details"] = {
                "id": "pmc_%s" % self.account["id"][5:], "parent": None}
        elif apm is not None:
            fields["automatic_payment_methods"] = {"allow_redirects": None, "enabled": False}
        return builders.payment_intent(
            pi_id, int(self.clock.now()), p["amount"], p["currency"],
            "%s_secret_%s" % (pi_id, self.token(25)), **fields)

    def adopt_payment_intent(self, id: str, amount: int, currency: str = "usd",
                             metadata: Optional[dict] = None,
                             status: str = "requires_payment_method") -> dict:
        """An intent whose id was chosen elsewhere (inject mode); records payment_intent.created."""
        if not isinstance(id, str) or not id.startswith("pi_"):
            raise InvalidRequestError("Invalid payment_intent id: %r" % (id,), param="id")
        if status not in ("requires_payment_method", "requires_confirmation"):
            raise InvalidRequestError("Invalid status for an adopted intent: %s" % status, param="status")
        # Callers outside the API (triggers, the harness) may pass non-string metadata values.
        meta = {str(k): v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                for k, v in (metadata or {}).items()}
        p = P.validate(P.Obj({"amount": P.INT, "currency": P.CURRENCY, "metadata": P.METADATA}),
                       {"amount": str(amount), "currency": currency, "metadata": meta})
        check_amount(p["amount"], p["currency"])
        with self.lock:
            if id in self.payment_intents:
                raise InvalidRequestError("A payment_intent with id %s already exists." % id, param="id")
            pi = self._build_intent(id, p)
            pi["status"] = status
            self._add("payment_intents", pi)
            self.record_event("payment_intent.created", pi)
            return self._answer(pi)

    def retrieve_payment_intent(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_payment_intent", params)
        with self.lock:
            return self._read("payment_intents", id, "payment_intent")

    def update_payment_intent(self, id: str, params: dict, request: Optional[dict] = None) -> dict:
        p = self._types_alias(P.check("update_payment_intent", params))
        with self.lock:
            pi = self._intent(id)
            status = pi["status"]
            for field in ("amount", "currency", "payment_method", "payment_method_data",
                          "capture_method", "payment_method_types", "application_fee_amount"):
                if field in p and status not in AMOUNT_UPDATABLE:
                    raise StateError(
                        "This PaymentIntent's %s could not be updated because it has a status of %s. "
                        "You may only update the %s of a PaymentIntent with one of the following "
                        "statuses: %s." % (field, status, field, ", ".join(AMOUNT_UPDATABLE)),
                        code=UNEXPECTED_STATE, param=field)
            currency = p.get("currency") or pi["currency"]
            if "amount" in p or "currency" in p:
                check_amount(p.get("amount", pi["amount"]), currency)
            self._check_payment_method_types(p.get("payment_method_types") or [])
            pm = self._payment_method_param(p)
            for field in ("amount", "currency", "description", "receipt_email", "customer",
                          "statement_descriptor", "statement_descriptor_suffix", "setup_future_usage",
                          "transfer_group", "application_fee_amount", "capture_method",
                          "excluded_payment_method_types"):
                if field in p:
                    pi[field] = p[field]
            if "payment_method_types" in p and p["payment_method_types"]:
                pi["payment_method_types"] = list(p["payment_method_types"])
            if "shipping" in p:
                pi["shipping"] = builders.shipping(p["shipping"])
            if "metadata" in p:
                pi["metadata"] = merge_metadata(pi["metadata"], p["metadata"])
            if pm is not None:
                pi["payment_method"] = pm["id"]
                if status == "requires_payment_method":
                    pi["status"] = "requires_confirmation"
            # Stripe has no payment_intent.updated event.
            return self._answer(pi)

    def confirm_payment_intent(self, id: str, params: Optional[dict] = None,
                               request: Optional[dict] = None) -> dict:
        p = self._types_alias(P.check("confirm_payment_intent", params))
        self._check_payment_method_types(p.get("payment_method_types") or [])
        with self.lock:
            pi = self._intent(id)
            self._check_confirmable(pi)
            pm = self._payment_method_param(p)
            self._confirm(pi, p, request, pm)
            return self._answer(pi)

    def _check_confirmable(self, pi: dict) -> None:
        status = pi["status"]
        if status == "succeeded":
            raise StateError("You cannot confirm this PaymentIntent because it has already succeeded "
                             "after being previously confirmed.", code=UNEXPECTED_STATE,
                             extra={"payment_intent": clone(pi)})
        if status not in CONFIRMABLE:
            raise StateError(
                "You cannot confirm this PaymentIntent because it has a status of %s. Only a "
                "PaymentIntent with one of the following statuses may be confirmed: %s."
                % (status, ", ".join(CONFIRMABLE)), code=UNEXPECTED_STATE,
                extra={"payment_intent": clone(pi)})

    def _confirm(self, pi: dict, p: dict, request: Optional[dict], pm: Optional[dict],
                 on_success: Optional[Callable[[], None]] = None) -> None:
        """Charge the intent's card and record the events of the outcome, in Stripe's order.

        ``on_success`` runs after the immediate success events and before the delayed ones
        (checkout.session.completed comes before the balance transaction's charge.updated).
        """
        self._check_confirmable(pi)
        for field in ("receipt_email", "setup_future_usage", "capture_method"):
            if p.get(field):
                pi[field] = p[field]
        if "shipping" in p:
            pi["shipping"] = builders.shipping(p["shipping"])
        if pm is None and pi["payment_method"]:
            pm = self.payment_methods.get(pi["payment_method"])
        if pm is None:
            raise StateError(
                "You cannot confirm this PaymentIntent because it's missing a payment method. You can "
                "either update the PaymentIntent with a payment method and then confirm it again, or "
                "confirm it again directly with a payment method.", code=UNEXPECTED_STATE,
                extra={"payment_intent": clone(pi)})
        card = self._card_of(pm)
        pi["payment_method"] = pm["id"]
        if card.authentication == cards.REQUIRED:
            self._require_authentication(pi, p, request)
        elif card.decline is not None:
            self._decline(pi, pm, card.decline, request)
        else:
            self._succeed(pi, pm, card, request, on_success)

    def _card_of(self, pm: dict) -> cards.TestCard:
        """The test card behind a payment method: its number decides a payment's outcome (a
        Luhn-valid number that is no test card is a live card, declined in test mode)."""
        return cards.card_for_number(self.pm_cards.get(pm["id"], "4242424242424242"))

    def _new_charge(self, pi: dict, pm: dict, three_d_secure: Optional[dict] = None, **fields) -> dict:
        now = int(self.clock.now())
        charge = builders.charge(self.related_id("ch", pi["id"]), now, pi, pm,
                                 self.account["settings"]["payments"]["statement_descriptor"], **fields)
        details = charge["payment_method_details"]["card"]
        details["network_transaction_id"] = self.digits(15)
        if three_d_secure is not None:
            details["three_d_secure"] = three_d_secure
        return charge

    def _decline(self, pi: dict, pm: dict, decline: cards.Decline, request: Optional[dict],
                 three_d_secure: Optional[dict] = None, raise_error: bool = True) -> None:
        """``raise_error=False``: record the decline only (no API call is waiting for a 402)."""
        reaches_issuer = decline.network_status == "declined_by_network"
        charge = self._new_charge(
            pi, pm, three_d_secure, status="failed", paid=False, captured=False, failure_code=decline.code,
            failure_message=decline.message, receipt_url=None,
            outcome={"advice_code": decline.advice_code, "network_advice_code": None,
                     "network_decline_code": decline.network_decline_code,
                     "network_status": decline.network_status,
                     "reason": decline.outcome_reason or decline.decline_code,
                     "risk_level": decline.risk_level,
                     "risk_score": 90 if decline.risk_level == "highest" else self.rng.randint(5, 60),
                     "seller_message": decline.seller_message, "type": decline.outcome_type})
        details = charge["payment_method_details"]["card"]
        details["authorization_code"] = self.digits(6) if reaches_issuer else None
        if not reaches_issuer:
            details["network_transaction_id"] = None
        self._add("charges", charge)
        error = {"advice_code": decline.advice_code, "charge": charge["id"], "code": decline.code,
                 "decline_code": decline.decline_code,
                 "doc_url": "https://stripe.com/docs/error-codes/%s" % decline.code.replace("_", "-"),
                 "message": decline.message, "network_decline_code": decline.network_decline_code}
        if decline.param:
            error["param"] = decline.param
        error["payment_method"] = clone(pm)
        error["type"] = "card_error"
        error = {k: v for k, v in error.items() if v is not None}
        pi.update(status="requires_payment_method", latest_charge=charge["id"], payment_method=None,
                  last_payment_error=error, amount_capturable=0, next_action=None)
        self.record_event("charge.failed", charge, request=request)
        self.record_event("payment_intent.payment_failed", pi, request=request)
        if not raise_error:
            return
        extra = {k: error[k] for k in ("advice_code", "charge", "doc_url", "network_decline_code")
                 if k in error}
        extra["payment_intent"] = clone(pi)
        extra["payment_method"] = clone(pm)
        if request and request.get("id"):
            extra["request_log_url"] = "https://dashboard.stripe.com/test/logs/%s" % request["id"]
        raise CardError(decline.message, code=decline.code, param=decline.param,
                        decline_code=decline.decline_code, extra=extra)

    def _succeed(self, pi: dict, pm: dict, card: cards.TestCard, request: Optional[dict],
                 on_success: Optional[Callable[[], None]], three_d_secure: Optional[dict] = None) -> None:
        manual = pi["capture_method"] == "manual"
        amount = pi["amount"]
        charge = self._new_charge(
            pi, pm, three_d_secure, status="succeeded", paid=True, captured=not manual,
            amount_captured=0 if manual else amount,
            outcome={"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                     "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                     "risk_score": self.rng.randint(0, 64), "seller_message": "Payment complete.",
                     "type": "authorized"})
        charge["receipt_url"] = self.receipt_url(charge["id"])
        details = charge["payment_method_details"]["card"]
        details["amount_authorized"] = amount
        details["authorization_code"] = self.digits(6)
        self._add("charges", charge)
        self.record_event("charge.succeeded", charge, request=request)
        pi.update(latest_charge=charge["id"], payment_method=pm["id"], last_payment_error=None,
                  next_action=None)
        if manual:
            pi.update(status="requires_capture", amount_capturable=amount)
            self.record_event("payment_intent.amount_capturable_updated", pi, request=request)
            if on_success:
                on_success()
            return
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self.record_event("payment_intent.succeeded", pi, request=request)
        if on_success:
            on_success()
        self._settle(charge, amount)
        if card.dispute is not None:
            self._open_dispute(charge, card.dispute)

    def _settle(self, charge: dict, amount: int) -> None:
        """The balance transaction lands a few seconds after the payment (charge.updated)."""
        created = charge["created"]
        txn = builders.balance_transaction(
            self.related_id("txn", charge["payment_intent"]), created, amount, charge["currency"],
            charge["id"], "charge", fee=stripe_fee(amount, charge["currency"]),
            description=charge["description"], available_on=(created // DAY + 2) * DAY)
        self._add("balance_transactions", txn)
        charge["balance_transaction"] = txn["id"]
        self.record_event("charge.updated", charge, previous_attributes={"balance_transaction": None},
                          delay=BALANCE_DELAY)

    def capture_payment_intent(self, id: str, params: Optional[dict] = None,
                               request: Optional[dict] = None) -> dict:
        p = P.check("capture_payment_intent", params)
        with self.lock:
            pi = self._intent(id)
            if pi["status"] != "requires_capture":
                raise StateError(
                    "This PaymentIntent could not be captured because it has a status of %s. Only a "
                    "PaymentIntent with one of the following statuses may be captured: "
                    "requires_capture." % pi["status"], code=UNEXPECTED_STATE)
            amount = p.get("amount_to_capture", pi["amount_capturable"])
            if amount > pi["amount_capturable"] or amount < 1:
                raise InvalidRequestError(
                    "The amount to capture must be between 1 and the capturable amount (%d)."
                    % pi["amount_capturable"], param="amount_to_capture", code="amount_too_large")
            charge = self.charges.get(pi["latest_charge"])
            if "metadata" in p:
                pi["metadata"] = merge_metadata(pi["metadata"], p["metadata"])
            charge.update(captured=True, amount_captured=amount)
            self.record_event("charge.captured", charge, request=request)
            pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
            self.record_event("payment_intent.succeeded", pi, request=request)
            self._settle(charge, amount)
            return self._answer(pi)

    def cancel_payment_intent(self, id: str, params: Optional[dict] = None,
                              request: Optional[dict] = None) -> dict:
        p = P.check("cancel_payment_intent", params)
        with self.lock:
            pi = self._intent(id)
            if pi["status"] not in CANCELABLE:
                raise StateError(
                    "You cannot cancel this PaymentIntent because it has a status of %s. Only a "
                    "PaymentIntent with one of the following statuses may be canceled: %s."
                    % (pi["status"], ", ".join(CANCELABLE)), code=UNEXPECTED_STATE)
            pi.update(status="canceled", canceled_at=int(self.clock.now()),
                      cancellation_reason=p.get("cancellation_reason"), amount_capturable=0,
                      next_action=None)
            self.record_event("payment_intent.canceled", pi, request=request)
            return self._answer(pi)

    def list_payment_intents(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_payment_intents", params)
        with self.lock:
            return self._page_filtered(self.payment_intents, p, ("customer",))

    # -- charges ------------------------------------------------------------------------
    def retrieve_charge(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_charge", params)
        with self.lock:
            return self._read("charges", id, "charge")

    def list_charges(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_charges", params)
        with self.lock:
            return self._page_filtered(self.charges, p, ("payment_intent", "customer", "transfer_group"))

    def retrieve_balance_transaction(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_balance_transaction", params)
        with self.lock:
            return self._read("balance_transactions", id, "balance_transaction")


def _utc_month_year(ts: float) -> tuple[int, int]:
    import datetime
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.month, d.year
