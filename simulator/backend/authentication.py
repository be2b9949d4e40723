"""3-D Secure: a confirm that needs the cardholder's authentication, and how it ends.

In Stripe test mode Stripe.js runs the challenge in the customer's browser. The simulator
has no browser, so the control plane says how the challenge ended
(``POST /_sim/payment_intents/<id>/authenticate``), which calls
``authenticate_payment_intent`` here. The card behind the intent's payment method decides
what the charge does afterwards, so nothing beyond the intent itself is stored.
"""
from __future__ import annotations

import uuid
from typing import Optional

from simulator.errors import CardError, StateError
from simulator.objects import clone

from . import cards
from . import params as P

OUTCOMES = ("complete", "fail")
AUTHENTICATE_PAYMENT_INTENT = P.Obj({"outcome": P.Enum(*OUTCOMES)}, required=("outcome",))

AUTHENTICATION_FAILURE = "payment_intent_authentication_failure"
AUTHENTICATION_REQUIRED = "authentication_required"
STRIPE_HOSTED = "https://hooks.stripe.com/3d_secure_2/hosted"
# Directory server ids of the card networks, as use_stripe_sdk names them.
DIRECTORY_SERVERS = {"visa": "A000000003", "mastercard": "A000000004", "amex": "A000000025",
                     "discover": "A000000152"}


def _doc_url(code: str) -> str:
    return cards.DOC_URL % code.replace("_", "-")


class AuthenticationMixin:
    def _require_authentication(self, pi: dict, p: dict, request: Optional[dict]) -> None:
        """The confirm stops here: no charge until the cardholder answers the challenge."""
        pm = self.payment_methods.get(pi["payment_method"])
        if p.get("error_on_requires_action"):
            self._refuse_requires_action(pi, pm, request)
        pi.update(status="requires_action", next_action=self._next_action(pi, pm, p, request),
                  last_payment_error=None, amount_capturable=0)
        self.record_event("payment_intent.requires_action", pi, request=request)

    def _next_action(self, pi: dict, pm: dict, p: dict, request: Optional[dict]) -> dict:
        source = self.new_id("payatt")
        if p.get("return_url"):
            return {"type": "redirect_to_url",
                    "redirect_to_url": {"return_url": p["return_url"],
                                        "url": self._challenge_url(pi, source, request)}}
        brand = pm["card"]["brand"]
        return {"type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "stripe_3ds2_fingerprint", "merchant": self.account["id"],
                    "three_d_secure_2_source": source, "directory_server_name": brand,
                    "server_transaction_id": self._uuid(), "three_ds_method_url": "",
                    "three_ds_optimizations": "", "one_click_authn": None,
                    "directory_server_encryption": {
                        "directory_server_id": DIRECTORY_SERVERS.get(brand, "A000000003"),
                        "algorithm": "RSA", "certificate": "", "root_certificate_authorities": []}}}

    def _challenge_url(self, pi: dict, source: str, request: Optional[dict]) -> str:
        # Through the API the redirect points at this simulator's own control route, so a
        # test (or a person with a browser) can follow it; in process it looks like Stripe's.
        base = (request or {}).get("base_url")
        if base:
            return "%s/_sim/payment_intents/%s/authenticate" % (base.rstrip("/"), pi["id"])
        return "%s?merchant=%s&payment_intent=%s&source=%s" % (STRIPE_HOSTED, self.account["id"], pi["id"],
                                                               source)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.randint(0, 2 ** 128 - 1), version=4))

    def _refuse_requires_action(self, pi: dict, pm: dict, request: Optional[dict]) -> None:
        """``error_on_requires_action``: the confirm fails rather than waiting for the customer."""
        message = "This payment needs the cardholder's authentication, and the confirm asked not to wait for it."
        error = {"code": AUTHENTICATION_REQUIRED, "decline_code": AUTHENTICATION_REQUIRED,
                 "doc_url": _doc_url(AUTHENTICATION_REQUIRED), "message": message,
                 "payment_method": clone(pm), "type": "card_error"}
        pi.update(status="requires_payment_method", payment_method=None, next_action=None,
                  last_payment_error=error, amount_capturable=0)
        self.record_event("payment_intent.payment_failed", pi, request=request)
        raise CardError(message, code=AUTHENTICATION_REQUIRED, decline_code=AUTHENTICATION_REQUIRED,
                        extra={"doc_url": error["doc_url"], "payment_intent": clone(pi),
                               "payment_method": clone(pm)})

    def authenticate_payment_intent(self, id: str, params: Optional[dict] = None,
                                    request: Optional[dict] = None) -> dict:
        """The customer answered the challenge: ``outcome`` ``complete`` or ``fail``."""
        p = P.validate(AUTHENTICATE_PAYMENT_INTENT, params)
        with self.lock:
            pi = self._intent(id)
            if pi["status"] != "requires_action":
                raise StateError(
                    "This PaymentIntent has a status of %s; only one in requires_action is waiting "
                    "for authentication." % pi["status"], code="payment_intent_unexpected_state")
            pm = self.payment_methods.get(pi["payment_method"])
            if p["outcome"] == "fail":
                self._authentication_failed(pi, pm, request)
                return self._answer(pi)
            card = self._card_of(pm)
            secure = self._three_d_secure_result()
            if card.decline is not None:
                self._decline(pi, pm, card.decline, request, three_d_secure=secure, raise_error=False)
            else:
                # Paid through Checkout: the session completes now that its payment went through.
                session = self._open_session_paying(pi["id"])
                on_success = (lambda: self._complete_session(session, pm, request)) if session else None
                self._succeed(pi, pm, card, request, on_success, three_d_secure=secure)
            return self._answer(pi)

    def _three_d_secure_result(self) -> dict:
        """What the charge's card details say about a challenge the cardholder passed."""
        return {"authentication_flow": "challenge", "electronic_commerce_indicator": "05",
                "exemption_indicator": None, "exemption_indicator_applied": False,
                "result": "authenticated", "result_reason": None, "transaction_id": self._uuid(),
                "version": "2.2.0"}

    def _authentication_failed(self, pi: dict, pm: dict, request: Optional[dict]) -> None:
        # No charge: the issuer never saw a payment. The customer may confirm again.
        error = {"code": AUTHENTICATION_FAILURE, "doc_url": _doc_url(AUTHENTICATION_FAILURE),
                 "message": "The cardholder did not pass authentication with this payment method. "
                            "Confirm again with another payment method (or the same one, to retry "
                            "the challenge).",
                 "payment_method": clone(pm), "type": "invalid_request_error"}
        pi.update(status="requires_payment_method", payment_method=None, next_action=None,
                  last_payment_error=error, amount_capturable=0)
        self.record_event("payment_intent.payment_failed", pi, request=request)
