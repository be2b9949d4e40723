"""Drive any POSX target over HTTP, described by a small profile file (YAML or JSON).

A profile says where the order API and the webhook are, which headers to send, and where
status, paid_at, allocations, commissions and disputes are found in the order JSON. Leave
out a field the target cannot show: the checks that need it are skipped with that reason.
``${NAME}`` in strings is replaced from the harness options (POSX_API_TOKEN, POSX_SITE_CODE,
POSX_TIER), the environment, and per-call values (``${id}``, ``${quantity}``, ``${count}``);
a JSON string that is exactly ``${quantity}`` keeps the value's type.

Example (the POSX contract; this is also the default profile)::

    base_url: https://posx-backend-staging.up.railway.app
    headers:
      Authorization: Bearer ${POSX_API_TOKEN}
      X-Site-Code: ${POSX_SITE_CODE}
    create_order: {method: POST, path: /api/v1/orders/, json: {tier_id: "${POSX_TIER}", quantity: "${quantity}"}}
    get_order: {method: GET, path: "/api/v1/orders/${id}/"}
    webhook_path: /api/v1/webhooks/stripe/
    fields: {id: id, status: status, paid_at: paid_at, payment_intent: stripe_payment_intent_id,
             amount: amount, currency: currency,
             allocations: allocations, commissions: commissions, disputes: disputes}
    # optional: the target's fault hooks (test deploys only). Left out, the harness asks
    # the contract's GET /_posx/faults/ and uses the contract's hooks when it answers;
    # `fault_hooks: false` never asks.
    fault_hooks:
      fail_next: {method: POST, path: /_admin/faults/, json: {fail_next: "${count}"}}
      crash_next: {method: POST, path: /_admin/faults/, json: {crash_next: "${count}"}}
      delay_next: {method: POST, path: /_admin/faults/, json: {delay_next: "${count}", delay_ms: "${milliseconds}"}}
"""
from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Optional

import requests

from harness.adapters import jsonpath
from harness.engine import target as t
from harness.engine.options import HarnessOptions

CONTRACT_PROFILE: dict = {
    "name": "posx-contract",
    "headers": {"Authorization": "Bearer ${POSX_API_TOKEN}", "X-Site-Code": "${POSX_SITE_CODE}"},
    "create_order": {"method": "POST", "path": "/api/v1/orders/",
                     "json": {"tier_id": "${POSX_TIER}", "quantity": "${quantity}"}},
    "get_order": {"method": "GET", "path": "/api/v1/orders/${id}/"},
    "webhook_path": "/api/v1/webhooks/stripe/",
    "fields": {"id": "id", "status": "status", "paid_at": "paid_at",
               "payment_intent": "stripe_payment_intent_id", "amount": "amount", "currency": "currency",
               "client_secret": "client_secret",
               "allocations": "allocations", "commissions": "commissions", "disputes": "disputes"},
    "status_map": {},
}

KNOWN_KEYS = {"name", "base_url", "headers", "create_order", "get_order", "webhook_path", "webhook_url",
              "fields", "status_map", "fault_hooks", "timeout", "verify_tls"}
KNOWN_FIELDS = {"id", "status", "paid_at", "payment_intent", "amount", "currency", "client_secret",
                "allocations", "commissions", "disputes"}
FIELD_CAPABILITIES = {"allocations": t.ALLOCATIONS, "commissions": t.COMMISSIONS,
                      "disputes": t.DISPUTES, "paid_at": t.PAID_AT}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# The contract's fault-hook interface (docs/CONTRACT.md, "Fault hooks"): one route, the
# reference receiver's JSON. A target that answers GET on it gets these without a profile.
FAULT_HOOKS_PATH = "/_posx/faults/"
CONTRACT_FAULT_HOOKS: dict = {
    "fail_next": {"method": "POST", "path": FAULT_HOOKS_PATH, "json": {"fail_next": "${count}"}},
    "crash_next": {"method": "POST", "path": FAULT_HOOKS_PATH, "json": {"crash_next": "${count}"}},
    "delay_next": {"method": "POST", "path": FAULT_HOOKS_PATH,
                   "json": {"delay_next": "${count}", "delay_ms": "${milliseconds}"}},
}
# hook name in the profile -> (capability, the field GET /_posx/faults/ shows it by)
HOOKS = {"fail_next": (t.FAULT_HOOKS, "fail_next"), "crash_next": (t.CRASH_HOOK, "crash_next"),
         "delay_next": (t.DELAY_HOOK, "delay_next")}


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and the key."""


def load_profile(path: str) -> dict:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ProfileError("cannot read profile %s: %s" % (path, exc.strerror or exc))
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as exc:  # yaml and json both say where
        raise ProfileError("profile %s is not valid %s: %s"
                           % (path, "JSON" if p.suffix.lower() == ".json" else "YAML", exc))
    if not isinstance(data, dict):
        raise ProfileError("profile %s must be a mapping of settings, got %s" % (path, type(data).__name__))
    return merge_profile(data, source=path)


def merge_profile(data: Mapping, source: str = "profile") -> dict:
    """The contract profile with ``data`` laid over it, after checking every key."""
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise ProfileError("%s: unknown key(s) %s (known: %s)"
                           % (source, ", ".join(sorted(unknown)), ", ".join(sorted(KNOWN_KEYS))))
    prof = copy.deepcopy(CONTRACT_PROFILE)
    for key, value in data.items():
        if key == "fields":
            if not isinstance(value, dict):
                raise ProfileError("%s: fields must be a mapping of name -> JSON path" % source)
            bad = set(value) - KNOWN_FIELDS
            if bad:
                raise ProfileError("%s: unknown field(s) %s (known: %s)"
                                   % (source, ", ".join(sorted(bad)), ", ".join(sorted(KNOWN_FIELDS))))
            for name, path in value.items():
                if path is None:
                    prof["fields"].pop(name, None)  # the target cannot show it
                else:
                    try:
                        jsonpath.parse(path)
                    except ValueError as exc:
                        raise ProfileError("%s: fields.%s: %s" % (source, name, exc))
                    prof["fields"][name] = path
        elif key in ("create_order", "get_order") and not (isinstance(value, dict) and value.get("path")):
            raise ProfileError("%s: %s needs at least a path" % (source, key))
        else:
            prof[key] = value
    for required in ("id", "status"):
        if required not in prof["fields"]:
            raise ProfileError("%s: fields.%s is required" % (source, required))
    return prof


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace ``${NAME}`` in strings, recursively; a string that is exactly one variable keeps its type."""
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if not isinstance(value, str):
        return value
    whole = _VAR.fullmatch(value)
    if whole:
        return variables.get(whole.group(1), os.environ.get(whole.group(1), ""))
    return _VAR.sub(lambda m: str(variables.get(m.group(1), os.environ.get(m.group(1), ""))), value)


class HttpTarget(t.Target):
    """A POSX target reached over HTTP, as its profile describes it."""

    def __init__(self, options: HarnessOptions, profile: Optional[dict] = None,
                 base_url: Optional[str] = None):
        self.options = options
        self.profile = profile or copy.deepcopy(CONTRACT_PROFILE)
        base = base_url or options.target_url or self.profile.get("base_url")
        if not base:
            raise ProfileError("no target URL: give %s or base_url in the profile" % options.flag("target_url"))
        self.base_url = base.rstrip("/")
        self.name = self.profile.get("name") or self.base_url
        self.http = requests.Session()
        self.http.verify = self.profile.get("verify_tls", True)
        self.timeout = float(self.profile.get("timeout", 10))
        fields = self.profile["fields"]
        caps = {cap for name, cap in FIELD_CAPABILITIES.items() if name in fields}
        reasons = {cap: "the profile of %s gives no JSON path for %s" % (self.name, name)
                   for name, cap in FIELD_CAPABILITIES.items() if name not in fields}
        self.capabilities = frozenset(caps)
        self.missing_reasons = reasons
        #: what GET /_posx/faults/ answered when the hooks were looked for (doctor shows it)
        self.hooks_probe: Optional[str] = None
        self.tier_note: Optional[str] = None   # set when the tier was taken from the target
        self._set_hooks(self.profile.get("fault_hooks") or {})

    def _set_hooks(self, hooks: Mapping, why_none: str = "") -> None:
        caps, reasons = set(self.capabilities), dict(self.missing_reasons)
        what = {"fail_next": "fail its next webhook calls with 5xx", "crash_next": "crash mid-processing",
                "delay_next": "answer its next webhook calls late"}
        for name, (cap, _) in HOOKS.items():
            if hooks.get(name):
                caps.add(cap)
                reasons.pop(cap, None)
            else:
                caps.discard(cap)
                reasons[cap] = "%s has no hook to %s (%s)" % (self.name, what[name], why_none or
                                                             "fault_hooks.%s in its profile" % name)
        self.capabilities = frozenset(caps)
        self.missing_reasons = reasons

    def discover_hooks(self) -> list:
        """Ask the contract's ``GET /_posx/faults/``; use the contract's hooks it shows.

        Only when the profile says nothing about hooks (``fault_hooks: false`` never asks).
        Returns the hook names found."""
        if "fault_hooks" in self.profile:
            return [name for name in HOOKS if (self.profile.get("fault_hooks") or {}).get(name)]
        try:
            resp = self.call({"method": "GET", "path": FAULT_HOOKS_PATH})
        except t.TargetError as exc:
            self.hooks_probe = "GET %s failed: %s" % (FAULT_HOOKS_PATH, exc)
            found = {}
        else:
            doc = _json(resp)
            self.hooks_probe = "GET %s answered %d" % (FAULT_HOOKS_PATH, resp.status_code)
            found = {name: spec for name, spec in CONTRACT_FAULT_HOOKS.items()
                     if resp.status_code == 200 and isinstance(doc, dict) and HOOKS[name][1] in doc}
        self.profile["fault_hooks"] = found
        self._set_hooks(found, "%s; the contract's fault hooks are described in docs/CONTRACT.md" % self.hooks_probe)
        return list(found)

    # -- plumbing ---------------------------------------------------------------------------
    def variables(self, **extra: Any) -> dict:
        o = self.options
        v = {"POSX_API_TOKEN": o.api_token or os.environ.get("POSX_API_TOKEN", ""),
             "POSX_SITE_CODE": o.site_code or "", "POSX_TIER": o.tier or ""}
        v.update(extra)
        return v

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def call(self, spec: Mapping, **extra: Any) -> requests.Response:
        spec = substitute(dict(spec), self.variables(**extra))
        headers = substitute(self.profile.get("headers") or {}, self.variables(**extra))
        headers = {k: v for k, v in headers.items() if v not in ("", "Bearer ")}
        headers.update(spec.get("headers") or {})
        try:
            return self.http.request(spec.get("method", "GET"), self.url(spec["path"]), json=spec.get("json"),
                                     headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.ConnectionError as exc:
            raise t.TargetUnreachable("cannot reach %s: %s" % (self.url(spec["path"]), exc))
        except requests.RequestException as exc:
            raise t.TargetError("%s %s failed: %s" % (spec.get("method", "GET"), self.url(spec["path"]), exc))

    def field(self, doc: Any, name: str, default: Any = None) -> Any:
        path = self.profile["fields"].get(name)
        if path is None:
            return default
        try:
            return jsonpath.get(doc, path)
        except jsonpath.PathNotFound:
            return default

    # -- the contract -----------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        return self.profile.get("webhook_url") or self.url(self.profile.get("webhook_path", "/api/v1/webhooks/stripe/"))

    def start(self) -> None:
        try:
            self.http.get(self.base_url + "/", timeout=self.timeout, allow_redirects=False)
        except requests.ConnectionError as exc:
            raise t.TargetUnreachable("cannot reach the target at %s: %s" % (self.base_url, exc))
        except requests.RequestException:
            pass  # it answered something; the scenarios will say what is wrong
        self.discover_hooks()
        self._default_tier()

    def _default_tier(self) -> None:
        """No tier given: the first of the contract's ``GET /api/v1/tiers/`` (``posx-harness
        run`` does this in its preflight; here for the plugin under plain pytest)."""
        if self.options.tier or "${POSX_TIER}" not in json.dumps(self.profile.get("create_order") or {}):
            return
        try:
            resp = self.call({"method": "GET", "path": "/api/v1/tiers/"})
        except t.TargetError:
            return
        doc = _json(resp)
        data = doc.get("data") if resp.status_code == 200 and isinstance(doc, dict) else None
        if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("id"):
            self.options.tier = str(data[0]["id"])
            self.tier_note = "tier %s: the first of GET /api/v1/tiers/" % self.options.tier

    def create_order(self, quantity: int = 1, tier: Optional[str] = None) -> t.Order:
        extra = {"quantity": quantity}
        if tier:
            extra["POSX_TIER"] = tier
        resp = self.call(self.profile["create_order"], **extra)
        doc = _json(resp)
        if resp.status_code in (401, 403):
            raise t.Misconfigured("creating an order answered %d (%s): the order API refuses the harness's token; "
                                  "pass one it accepts with %s" % (resp.status_code, _snippet(resp),
                                                                   self.options.flag("api_token")))
        if resp.status_code not in (200, 201) or not isinstance(doc, dict):
            raise t.TargetError("creating an order answered %d: %s" % (resp.status_code, _snippet(resp)))
        order_id = self.field(doc, "id")
        if not order_id:
            raise t.TargetError("the created order has no id at %r: %s" % (self.profile["fields"]["id"], _snippet(resp)))
        amount = self.field(doc, "amount")
        return t.Order(id=str(order_id), payment_intent=self.field(doc, "payment_intent"),
                       amount=int(amount) if isinstance(amount, (int, float)) else None,
                       currency=self.field(doc, "currency") or "usd",
                       client_secret=self.field(doc, "client_secret"), raw=doc)

    def get_order(self, order_id: str) -> t.OrderView:
        resp = self.call(self.profile["get_order"], id=order_id)
        doc = _json(resp)
        if resp.status_code != 200 or not isinstance(doc, dict):
            return t.OrderView(id=order_id, status=None, http_status=resp.status_code, raw=doc or _snippet(resp))
        status = self.field(doc, "status")
        status = (self.profile.get("status_map") or {}).get(status, status)
        view = t.OrderView(id=order_id, status=status, paid_at=self.field(doc, "paid_at"),
                           payment_intent=self.field(doc, "payment_intent"), raw=doc)
        for name in ("allocations", "commissions", "disputes"):
            if name in self.profile["fields"]:
                setattr(view, name, jsonpath.count(self.field(doc, name)))
        return view

    def _hook(self, name: str, capability: str, count: int, **extra) -> None:
        self.require(capability)
        resp = self.call(self.profile["fault_hooks"][name], count=count, **extra)
        if resp.status_code >= 300:
            raise t.TargetError("fault hook %s answered %d: %s" % (name, resp.status_code, _snippet(resp)))

    def fail_next_webhooks(self, count: int) -> None:
        self._hook("fail_next", t.FAULT_HOOKS, count)

    def crash_next_webhooks(self, count: int) -> None:
        self._hook("crash_next", t.CRASH_HOOK, count)

    def delay_next_webhooks(self, count: int, milliseconds: int) -> None:
        self._hook("delay_next", t.DELAY_HOOK, count, milliseconds=milliseconds)

    def stop(self) -> None:
        self.http.close()

    def describe(self) -> str:
        return "%s (%s)" % (self.name, self.base_url)


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _snippet(resp: requests.Response, limit: int = 300) -> str:
    text = resp.text or ""
    return text if len(text) <= limit else text[:limit] + "…"
