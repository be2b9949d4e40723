"""A tiny stand-in backend for testing the API layers on their own (forms, auth, idempotency,
routing, error rendering, the server), independent of the real backend's business rules."""
from __future__ import annotations

import threading

from simulator.errors import CardError, InvalidRequestError, ResourceMissingError


class DoubleBackend:
    def __init__(self, rng=None, clock=None):
        self.lock = threading.RLock()
        self.rng = rng
        self.calls = []
        self.payment_intents = {}
        self._n = 0
        self.explode = False

    def reset(self):
        with self.lock:
            self.payment_intents.clear()
            self.calls.clear()
            self._n = 0

    def snapshot(self):
        return {"payment_intents": dict(self.payment_intents), "n": self._n}

    def restore(self, state):
        self.payment_intents = dict(state["payment_intents"])
        self._n = state["n"]

    def create_payment_intent(self, params, request):
        self.calls.append(("create_payment_intent", params, request))
        if self.explode:
            raise ZeroDivisionError("boom")
        unknown = set(params) - {"amount", "currency", "metadata", "confirm", "payment_method"}
        if unknown:
            raise InvalidRequestError("Received unknown parameter: %s" % sorted(unknown)[0], param=sorted(unknown)[0])
        if "amount" not in params:
            raise InvalidRequestError("Missing required param: amount.", param="amount")
        if not params["amount"].isdigit():
            raise InvalidRequestError("Invalid integer: %s" % params["amount"], param="amount")
        with self.lock:
            self._n += 1
            pi = {"id": "pi_%d" % self._n, "object": "payment_intent", "amount": int(params["amount"]),
                  "currency": params.get("currency", "usd"), "metadata": params.get("metadata", {}),
                  "status": "requires_payment_method", "latest_charge": None}
            self.payment_intents[pi["id"]] = pi
        if params.get("payment_method") == "pm_card_chargeDeclined":
            raise CardError("Your card was declined.", code="card_declined", decline_code="generic_decline")
        return dict(pi)

    def retrieve_payment_intent(self, id, params):
        self.calls.append(("retrieve_payment_intent", id, params))
        try:
            return dict(self.payment_intents[id])
        except KeyError:
            raise ResourceMissingError("No such payment_intent: '%s'" % id) from None

    def confirm_payment_intent(self, id, params, request):
        self.calls.append(("confirm_payment_intent", id, params, request))
        pi = self.payment_intents.get(id)
        if pi is None:
            raise ResourceMissingError("No such payment_intent: '%s'" % id)
        pi["status"] = "succeeded"
        pi["latest_charge"] = "ch_%s" % id[3:]
        return dict(pi)

    def list_payment_intents(self, params):
        self.calls.append(("list_payment_intents", params))
        data = [dict(p) for p in self.payment_intents.values()]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/payment_intents"}

    def expand(self, obj, paths):
        for path in paths:
            if path == "latest_charge" and obj.get("latest_charge"):
                obj = dict(obj, latest_charge={"id": obj["latest_charge"], "object": "charge"})
            else:
                raise InvalidRequestError("This property cannot be expanded (%s)." % path, param="expand")
        return obj
