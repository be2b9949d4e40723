"""SetupIntents with Stripe's test cards: the one generic resource with a card life cycle.

The object is the generic store's (``create_setup_intent`` builds it there); confirming runs
the card behind the payment method, as a payment would without the charge: a plain card
succeeds (``setup_intent.succeeded``, the method attached to the customer), a 3-D Secure card
stops at ``requires_action`` (``setup_intent.requires_action``), a declining card fails with
its decline (402 ``card_error``, ``setup_intent.setup_failed``, back to
``requires_payment_method`` with ``last_setup_error``). ``cancel`` is the generic action.
"""
from __future__ import annotations

from typing import Optional

from simulator.errors import CardError, StateError

from . import cards
from . import params as P

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


class SetupIntentsMixin:
    def create_setup_intent(self, params: Optional[dict] = None, request: Optional[dict] = None) -> dict:
        p = P.check("create_setup_intent", params)
        with self.lock:
            if p.get("customer"):
                self.require_object(p["customer"], "customer", "customer")
            pm = self._payment_method_param(p) if p.get("payment_method") or p.get("payment_method_data") else None
            fields = {k: v for k, v in p.items() if k not in ("payment_method", "payment_method_data", "confirm")}
            si = self._build("setup_intent", fields, None)
            si.update(status="requires_confirmation" if pm else "requires_payment_method",
                      payment_method=pm["id"] if pm else None, usage=p.get("usage") or "off_session",
                      client_secret="%s_secret_%s" % (si["id"], self.token(24)), next_action=None,
                      last_setup_error=None, latest_attempt=None, cancellation_reason=None,
                      payment_method_types=p.get("payment_method_types") or ["card"])
            self._generic_index("setup_intent").add(si)
            self._event("setup_intent", "created", si, request=request)
            if p.get("confirm"):
                return self._confirm_setup(si, pm, request, p)
            return self._render(si)

    def confirm_setup_intent(self, id: str, params: Optional[dict] = None, request: Optional[dict] = None) -> dict:
        p = P.check("confirm_setup_intent", params)
        with self.lock:
            si = self._generic_get("setup_intent", id)
            if si["status"] not in CONFIRMABLE:
                raise StateError("You cannot confirm this SetupIntent because it has a status of %s."
                                 % si["status"], code="setup_intent_unexpected_state", param=None)
            pm = self._payment_method_param(p) if p.get("payment_method") or p.get("payment_method_data") else None
            return self._confirm_setup(si, pm, request, p)

    def _confirm_setup(self, si: dict, pm: Optional[dict], request, p: dict) -> dict:
        if pm is None and si.get("payment_method"):
            pm = self._resolve_payment_method(si["payment_method"])
        if pm is None:
            raise StateError("You cannot confirm this SetupIntent because it's missing a payment method.",
                             code="setup_intent_unexpected_state", param="payment_method")
        si["payment_method"] = pm["id"]
        card = cards.card_for_number(self.pm_cards.get(pm["id"], "")) if pm.get("card") else None
        if card is not None and card.authentication == cards.REQUIRED and si["status"] != "requires_action":
            si.update(status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {
                "type": "three_d_secure_redirect", "stripe_js": "", "source": pm["id"]}})
            self._event("setup_intent", "requires_action", si, request=request)
            return self._render(si)
        if card is not None and card.decline is not None:
            d = card.decline
            error = {"code": d.code, "decline_code": d.decline_code, "message": d.message,
                     "type": "card_error", "payment_method": clone_pm(pm), "doc_url": cards.DOC_URL % d.code}
            si.update(status="requires_payment_method", last_setup_error=error, next_action=None,
                      payment_method=None)
            self._event("setup_intent", "setup_failed", si, request=request)
            raise CardError(d.message, code=d.code, decline_code=d.decline_code,
                            extra={"setup_intent": self._render(si)})
        si.update(status="succeeded", next_action=None, last_setup_error=None)
        if si.get("customer") and pm.get("customer") is None:
            stored = self.payment_methods.get(pm["id"])
            if stored is not None:
                stored["customer"] = si["customer"]
        self._event("setup_intent", "succeeded", si, request=request)
        return self._render(si)


def clone_pm(pm: dict) -> dict:
    return {k: v for k, v in pm.items()}
