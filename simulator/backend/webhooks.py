"""Webhook endpoints (an API resource) and their signing secrets, including rolling."""
from __future__ import annotations

from typing import Optional

from simulator.errors import InvalidRequestError, ResourceMissingError
from simulator.objects import builders, clone

from . import params as P
from .events import EVENT_TYPES

MAX_TEST_ENDPOINTS = 16
MAX_ROLL_SECONDS = 24 * 3600   # Stripe keeps an old secret for at most 24 hours


def check_enabled_events(events: list) -> list:
    if not events:
        raise InvalidRequestError("Missing required param: enabled_events.", param="enabled_events")
    for i, name in enumerate(events):
        if name != "*" and name not in EVENT_TYPES:
            raise InvalidRequestError("Invalid enabled_events[%d]: %s is not a valid event type."
                                      % (i, name), param="enabled_events[%d]" % i)
    return list(dict.fromkeys(events))


class WebhookEndpointsMixin:
    def _endpoint(self, id: str, change: bool = True) -> dict:
        # To change it: through the index, which notes it as changed for the state journal.
        index = self.webhook_endpoints_index
        ep = (index.get(id) if change else index.objects.get(id)) if isinstance(id, str) else None
        if ep is None:
            raise ResourceMissingError("No such webhook endpoint: '%s'" % id)
        return ep

    @staticmethod
    def _public(ep: dict) -> dict:
        shown = clone(ep)
        shown.pop("secret", None)
        return shown

    def create_webhook_endpoint(self, params: dict, request: Optional[dict] = None) -> dict:
        p = P.check("create_webhook_endpoint", params)
        events = check_enabled_events(p["enabled_events"])
        api_version = p.get("api_version")
        if api_version is not None and not P.API_VERSION_RE.match(api_version):
            raise InvalidRequestError("Invalid API version: %s" % api_version, param="api_version")
        secret = p.get("secret")
        if secret is not None and (len(secret) < 8 or any(c.isspace() for c in secret)):
            raise InvalidRequestError("Invalid secret: must be at least 8 characters without spaces.",
                                      param="secret")
        with self.lock:
            if len(self.webhook_endpoints) >= MAX_TEST_ENDPOINTS:
                raise InvalidRequestError("You have reached the maximum of %d test webhook endpoints."
                                          % MAX_TEST_ENDPOINTS, param="url")
            ep = builders.webhook_endpoint(
                self.new_id("we"), int(self.clock.now()), p["url"], events, api_version=api_version,
                description=p.get("description"), metadata=dict(p.get("metadata") or {}))
            ep["secret"] = secret or "whsec_%s" % self.token(32)
            self._add("webhook_endpoints_index", ep)
            self.endpoint_secrets[ep["id"]] = [[ep["secret"], None]]
            self._subscriptions_changed()
            return clone(ep)  # the only answer that shows the secret, as in Stripe

    def retrieve_webhook_endpoint(self, id: str, params: Optional[dict] = None) -> dict:
        P.check("retrieve_webhook_endpoint", params)
        with self.lock:
            return self._public(self._endpoint(id, change=False))

    def update_webhook_endpoint(self, id: str, params: dict, request: Optional[dict] = None) -> dict:
        p = P.check("update_webhook_endpoint", params)
        if "enabled_events" in p:
            p["enabled_events"] = check_enabled_events(p["enabled_events"])
        with self.lock:
            ep = self._endpoint(id)
            for field in ("url", "enabled_events", "description"):
                if field in p:
                    ep[field] = p[field]
            if "metadata" in p:
                from .payments import merge_metadata
                ep["metadata"] = merge_metadata(ep["metadata"], p["metadata"])
            if "disabled" in p:
                ep["status"] = "disabled" if p["disabled"] else "enabled"
            self._subscriptions_changed()
            return self._public(ep)

    def delete_webhook_endpoint(self, id: str, params: Optional[dict] = None,
                                request: Optional[dict] = None) -> dict:
        P.check("delete_webhook_endpoint", params)
        with self.lock:
            self._endpoint(id, change=False)
            self.webhook_endpoints_index.remove(id)
            self.endpoint_secrets.pop(id, None)
            self._subscriptions_changed()
            return {"id": id, "object": "webhook_endpoint", "deleted": True}

    def list_webhook_endpoints(self, params: Optional[dict] = None) -> dict:
        p = P.check("list_webhook_endpoints", params)
        with self.lock:
            return self.webhook_endpoints_index.page(p, render=self._public)

    def roll_webhook_secret(self, id: str, expires_in_seconds: float = 0,
                            secret: Optional[str] = None) -> dict:
        """A new secret signs from now on; the old one stays valid ``expires_in_seconds`` more."""
        if not 0 <= expires_in_seconds <= MAX_ROLL_SECONDS:
            raise InvalidRequestError("expires_in_seconds must be between 0 and %d."
                                      % MAX_ROLL_SECONDS, param="expires_in_seconds")
        with self.lock:
            ep = self._endpoint(id)
            now = self.clock.now()
            secrets = [s for s in self.endpoint_secrets.get(id, []) if s[1] is None or s[1] > now]
            for entry in secrets:
                if entry[1] is None:
                    entry[1] = now + expires_in_seconds
            new = secret or "whsec_%s" % self.token(32)
            self.endpoint_secrets[id] = [[new, None]] + [s for s in secrets if s[1] > now]
            ep["secret"] = new
            return clone(ep)

    def active_secrets(self, endpoint_id: str) -> list[str]:
        """Secrets a delivery is signed with now: the current one first, then unexpired old ones."""
        with self.lock:
            self._endpoint(endpoint_id, change=False)
            now = self.clock.now()
            return [s for s, expires in self.endpoint_secrets.get(endpoint_id, [])
                    if expires is None or expires > now]
