"""Disputes: opened by a dispute test card, answered with evidence or accepted, then closed.

Like refunds, a dispute's state moves at once and the events that tell of the later steps
carry a delay (``available_at``): the bank's decision on submitted evidence comes
``DISPUTE_DECISION_DELAY`` simulated seconds after the submission. The API answers with the
dispute as the request left it (``under_review``); a retrieve afterwards shows the outcome.
"""
from __future__ import annotations

from typing import Optional

from simulator.errors import InvalidRequestError
from simulator.objects import builders, clone

from . import cards
from . import params as P
from .payments import merge_metadata

DAY = 86400
DISPUTE_DELAY = 4.0            # charge.dispute.created shortly after the payment
DISPUTE_DECISION_DELAY = 5.0   # the bank's decision on submitted test-mode evidence
DISPUTE_FEE = 1500

# Test mode: this exact text in evidence[uncategorized_text] decides a submitted dispute.
WINNING_EVIDENCE = "winning_evidence"
LOSING_EVIDENCE = "losing_evidence"

OPEN = ("needs_response", "warning_needs_response")
SUBMITTED = ("under_review", "warning_under_review")
CLOSED = ("won", "lost", "warning_closed")
# An inquiry (warning_*) has no funds withdrawn, so accepting it loses nothing: warning_closed.
ACCEPTED = {"needs_response": "lost", "warning_needs_response": "warning_closed"}
REVIEWED = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}


class DisputesMixin:
    def _open_dispute(self, charge: dict, spec: cards.DisputeSpec) -> None:
        now = int(self.clock.now())
        dp_id = self.related_id("dp", charge["payment_intent"])
        txns = []
        if spec.status == "needs_response":
            txn = builders.balance_transaction(
                self.related_id("txn", charge["payment_intent"]), now, -charge["amount"],
                charge["currency"], dp_id, "adjustment", fee=DISPUTE_FEE,
                description="Chargeback withdrawal for %s" % charge["id"],
                available_on=now, status="available", reporting_category="dispute",
                fee_description="Dispute fee")
            self._add("balance_transactions", txn)
            txns.append(clone(txn))
        dispute = builders.dispute(
            dp_id, now, charge, spec.reason, spec.status, due_by=(now // DAY + 8) * DAY - 1,
            balance_transactions=txns, case_type=spec.case_type,
            network_reason_code=spec.network_reason_code)
        self._add("disputes", dispute)
        charge["disputed"] = True
        delay = self._after_open(dispute)
        self.record_event("charge.dispute.created", dispute, delay=delay)
        if txns:
            # A chargeback takes the money at once; an inquiry moves none.
            self.record_event("charge.dispute.funds_withdrawn", dispute, delay=delay)

    def retrieve_dispute(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_dispute", params)
        with self.lock:
            return self._read("disputes", id, "dispute")

    def list_disputes(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_disputes", params)
        with self.lock:
            return self._page_filtered(self.disputes, p, ("charge", "payment_intent"))

    def _after_open(self, dispute: dict) -> float:
        """The delay until the dispute shows: DISPUTE_DELAY after its (whole-second) creation.

        Every event about the dispute waits at least this long, so none goes out before
        charge.dispute.created even when the merchant answers at once (a flow does)."""
        return max(0.0, dispute["created"] + DISPUTE_DELAY - self.clock.now())

    def _open_for_change(self, id: str, action: str) -> dict:
        dispute = self._get("disputes", id, "dispute")
        if dispute["status"] in CLOSED:
            raise InvalidRequestError(
                "This dispute is already closed (status %s): it can no longer be %s."
                % (dispute["status"], action), param="id")
        return dispute

    def update_dispute(self, id: str, params: Optional[dict] = None,
                       request: Optional[dict] = None) -> dict:
        p = P.check("update_dispute", params)
        evidence = p.get("evidence") or {}
        # Stripe: `submit` defaults to true, so sending evidence submits it unless told not to
        # (even evidence the basil object has no place for, like enhanced_evidence alone).
        submit = p.get("submit", p.get("evidence") is not None)
        with self.lock:
            dispute = self._open_for_change(id, "updated")
            if (evidence or submit) and dispute["status"] in SUBMITTED:
                raise InvalidRequestError(
                    "This dispute's evidence has already been submitted (status %s): it can no "
                    "longer be changed or submitted again." % dispute["status"], param="evidence")
            previous: dict = {}
            if "metadata" in p:
                previous["metadata"] = clone(dispute["metadata"])
                dispute["metadata"] = merge_metadata(dispute["metadata"], p["metadata"])
            if evidence:
                before = dispute["evidence"]
                changed = {k: v for k, v in evidence.items() if before.get(k) != v}
                if changed:
                    previous["evidence"] = {k: before.get(k) for k in changed}
                    before.update(changed)
                details = dispute["evidence_details"]
                if not details["has_evidence"]:
                    previous.setdefault("evidence_details", {})["has_evidence"] = False
                    details["has_evidence"] = True
            if submit:
                details = dispute["evidence_details"]
                previous.setdefault("evidence_details", {})["submission_count"] = details["submission_count"]
                details["submission_count"] += 1
                previous["status"] = dispute["status"]
                dispute["status"] = REVIEWED[dispute["status"]]
            if previous:  # an update that changes nothing tells nobody
                self.record_event("charge.dispute.updated", dispute, previous_attributes=previous,
                                  request=request, delay=self._after_open(dispute))
            answer = clone(dispute)
            if submit:
                self._decide(dispute)
            return answer

    def _decide(self, dispute: dict) -> None:
        """Test mode: the magic evidence text closes a submitted dispute a little later."""
        text = (dispute["evidence"].get("uncategorized_text") or "").strip()
        inquiry = dispute["status"] == "warning_under_review"
        if text == WINNING_EVIDENCE:
            outcome = "warning_closed" if inquiry else "won"
        elif text == LOSING_EVIDENCE and not inquiry:
            outcome = "lost"
        else:
            return  # no decision in sight: it stays under review
        previous = {"status": dispute["status"]}
        dispute["status"] = outcome
        delay = self._after_open(dispute) + DISPUTE_DECISION_DELAY
        if outcome == "won":
            # The amount comes back with the dispute fee (a negative fee: a credit), dated
            # when the bank decides.
            decided = int(self.clock.now() + delay)
            txn = builders.balance_transaction(
                self.related_id("txn", dispute["payment_intent"]), decided, dispute["amount"],
                dispute["currency"], dispute["id"], "adjustment", fee=-DISPUTE_FEE,
                description="Chargeback reversal for %s" % dispute["charge"], available_on=decided,
                status="available", reporting_category="dispute_reversal", fee_description="Dispute fee")
            self._add("balance_transactions", txn)
            dispute["balance_transactions"].append(clone(txn))
        self.record_event("charge.dispute.closed", dispute, previous_attributes=previous, delay=delay)
        if outcome == "won":
            self.record_event("charge.dispute.funds_reinstated", dispute, delay=delay)

    def close_dispute(self, id: str, params: Optional[dict] = None,
                      request: Optional[dict] = None) -> dict:
        P.check("close_dispute", params)
        with self.lock:
            dispute = self._open_for_change(id, "closed")
            if dispute["status"] in SUBMITTED:
                raise InvalidRequestError(
                    "This dispute is under review (status %s): it can no longer be accepted."
                    % dispute["status"], param="id")
            previous = {"status": dispute["status"]}
            dispute["status"] = ACCEPTED[dispute["status"]]
            self.record_event("charge.dispute.closed", dispute, previous_attributes=previous,
                              request=request, delay=self._after_open(dispute))
            return self._answer(dispute)
