"""StripeBackend: every resource of the fake Stripe API, in plain dicts, behind one lock.

One method per API action (named after it), composed from a mixin per concern:
payments (intents, methods, charges), refunds, disputes, checkout, webhook endpoints,
events and expansion. ``state.BackendState`` holds the collections, ids, reset and snapshot.
"""
from __future__ import annotations

from typing import Optional

from simulator.objects import clone

from . import params as P
from .authentication import AuthenticationMixin
from .checkout import CheckoutMixin
from .disputes import DisputesMixin
from .expand import ExpandMixin
from .payments import PaymentsMixin
from .recording import EventsMixin
from .refunds import RefundsMixin
from .state import COLLECTIONS, BackendState
from .webhooks import WebhookEndpointsMixin


class StripeBackend(PaymentsMixin, AuthenticationMixin, RefundsMixin, DisputesMixin, CheckoutMixin,
                    WebhookEndpointsMixin,
                    ExpandMixin, EventsMixin, BackendState):

    def counts(self) -> dict[str, int]:
        """How many objects of each kind the backend holds (for the control plane)."""
        with self.lock:
            out = {name: len(getattr(self, name)) for name in COLLECTIONS
                   if name != "webhook_endpoints_index"}
            out["webhook_endpoints"] = len(self.webhook_endpoints)
            out["events"] = len(self.events)
            return out

    def retrieve_account(self, params: Optional[dict] = None) -> dict:
        P.validate(P.RETRIEVE, params)
        with self.lock:
            return clone(self.account)
