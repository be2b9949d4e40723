"""Refunds (disputes live in ``disputes.py``)."""
from __future__ import annotations

from typing import Optional

from simulator.errors import InvalidRequestError
from simulator.objects import builders, clone

from . import params as P
from .payments import money

REFUND_SETTLE_DELAY = 13.0   # refund.updated / charge.refund.updated, as observed (~13 s)


class RefundsMixin:
    def create_refund(self, params: dict, request: Optional[dict] = None) -> dict:
        p = P.check("create_refund", params)
        with self.lock:
            charge = self._refundable_charge(p)
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            amount = p.get("amount", remaining)
            if amount < 1:
                raise InvalidRequestError("Invalid positive integer", param="amount")
            if amount > remaining:
                raise InvalidRequestError(
                    "Refund amount (%s) is greater than unrefunded amount on charge (%s)"
                    % (money(amount, charge["currency"]), money(remaining, charge["currency"])),
                    param="amount", code="amount_too_large")
            now = int(self.clock.now())
            re_id = self.related_id("re", charge["payment_intent"])
            txn = builders.balance_transaction(
                self.related_id("txn", charge["payment_intent"]), now, -amount, charge["currency"],
                re_id, "refund", description="REFUND FOR CHARGE (%s)" % (charge["description"] or "charge"),
                available_on=now)
            self._add("balance_transactions", txn)
            refund = builders.refund(re_id, now, amount, charge, txn["id"], p.get("reason"),
                                     merge_meta(p.get("metadata")), p.get("instructions_email"))
            self._add("refunds", refund)
            self.record_event("refund.created", refund, request=request)
            answer = clone(refund)  # the API answers with the refund as created (reference pending)
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
            self.record_event("charge.refunded", charge, request=request)
            # The acquirer reference number arrives later: refund.updated + charge.refund.updated.
            card = refund["destination_details"]["card"]
            previous = {"destination_details": {"card": {"reference": None,
                                                         "reference_status": card["reference_status"]}}}
            refund["destination_details"]["card"] = {
                "reference": self.digits(23), "reference_status": "available",
                "reference_type": "acquirer_reference_number", "type": "refund"}
            self.record_event("refund.updated", refund, previous_attributes=previous,
                              delay=REFUND_SETTLE_DELAY)
            self.record_event("charge.refund.updated", refund, previous_attributes=previous,
                              delay=REFUND_SETTLE_DELAY)
            return answer

    def _refundable_charge(self, p: dict) -> dict:
        charge_id, pi_id = p.get("charge"), p.get("payment_intent")
        if not charge_id and not pi_id:
            raise InvalidRequestError("One of the following params should be provided for this "
                                      "request: payment_intent or charge.", param="charge")
        if pi_id:
            pi = self._get("payment_intents", pi_id, "payment_intent", param="payment_intent")
            if charge_id and charge_id != pi["latest_charge"]:
                raise InvalidRequestError("The charge %s does not belong to the PaymentIntent %s."
                                          % (charge_id, pi_id), param="charge")
            if pi["status"] != "succeeded" or not pi["latest_charge"]:
                raise InvalidRequestError(
                    "This PaymentIntent (%s) does not have a successful charge to refund." % pi_id,
                    param="payment_intent")
            charge_id = pi["latest_charge"]
        charge = self._get("charges", charge_id, "charge", param="charge")
        if charge["status"] != "succeeded":
            raise InvalidRequestError("Charge %s cannot be refunded because it has a status of %s."
                                      % (charge["id"], charge["status"]), param="charge")
        if not charge["captured"]:
            raise InvalidRequestError(
                "Charge %s has not been captured; cancel its PaymentIntent to release the funds."
                % charge["id"], param="charge")
        if charge["disputed"]:
            raise InvalidRequestError("Charge %s has been charged back; cannot issue a refund."
                                      % charge["id"], param="charge", code="charge_disputed")
        if charge["refunded"]:
            raise InvalidRequestError("Charge %s has already been refunded." % charge["id"],
                                      param="charge", code="charge_already_refunded")
        return charge

    def retrieve_refund(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_refund", params)
        with self.lock:
            return self._read("refunds", id, "refund")

    def list_refunds(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_refunds", params)
        with self.lock:
            return self._page_filtered(self.refunds, p, ("charge", "payment_intent"))


def merge_meta(metadata: Optional[dict]) -> dict:
    return {k: v for k, v in (metadata or {}).items() if v != ""}

