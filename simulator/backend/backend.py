"""StripeBackend: every resource of the fake Stripe API, in plain dicts, behind one lock.

One method per API action (named after it), composed from a mixin per concern:
payments (intents, methods, charges), refunds, disputes, checkout, webhook endpoints,
events and expansion. ``state.BackendState`` holds the collections, ids, reset and snapshot.
"""
from __future__ import annotations

from typing import Optional

from simulator.errors import ResourceMissingError
from simulator.objects import clone

from . import params as P
from .authentication import AuthenticationMixin
from .checkout import CheckoutMixin
from .disputes import DisputesMixin
from .expand import ExpandMixin
from .generic import GenericMixin
from .setup_intents import SetupIntentsMixin
from .payments import PaymentsMixin
from .recording import EventsMixin
from .refunds import RefundsMixin
from .state import COLLECTIONS, BackendState
from .webhooks import WebhookEndpointsMixin


class StripeBackend(PaymentsMixin, AuthenticationMixin, RefundsMixin, DisputesMixin, CheckoutMixin,
                    WebhookEndpointsMixin, SetupIntentsMixin, GenericMixin,
                    ExpandMixin, EventsMixin, BackendState):

    def counts(self) -> dict[str, int]:
        """How many objects of each kind the backend holds (for the control plane)."""
        with self.lock:
            out = {name: len(getattr(self, name)) for name in COLLECTIONS
                   if name != "webhook_endpoints_index"}
            out["webhook_endpoints"] = len(self.webhook_endpoints)
            out["events"] = len(self.events)
            return out

    def retrieve_current_account(self, params: Optional[dict] = None) -> dict:
        P.check("retrieve_current_account", params)
        with self.lock:
            return clone(self.account)

    def retrieve_account(self, id=None, params: Optional[dict] = None) -> dict:
        """``GET /v1/accounts/{id}``: only this simulator's own account exists here.
        (Called in process with no id, it is the current account.)"""
        if id is None or isinstance(id, dict):
            return self.retrieve_current_account(id)
        P.check("retrieve_account", params)
        with self.lock:
            if id == self.account["id"]:
                return clone(self.account)
            index = self.generic.get("account")  # connected accounts made through the API
            if index is None or id not in index:
                raise ResourceMissingError("No such account: '%s'" % id, param="account")
            return self._render(index.get(id))
