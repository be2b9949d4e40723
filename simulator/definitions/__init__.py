"""Stripe's API surface at 2025-08-27.basil, as generated data (``stripe_api.json`` beside this module).

Made by ``tools/gen_stripe_api.py`` from the SDKs Stripe generates from its OpenAPI spec; never
edited by hand. Everything that used to be a hand-kept table reads this: the routes
(``operations()``), the parameter checks (``params_type``), what an action answers
(``Operation.answer``), the fields of every object and which of them expand (``fields``).

Node formats (compact on purpose, the file is read at import):
- parameter nodes: "s" str, "i" int, "f" float, "b" bool, "m" metadata, "*" anything,
  {"e": [...]} enum, {"l": T} array, {"d": T} map, {"u": [T...]} one of, {"r": name} a named
  object (``params_type(name)`` = {field: [node, required]}), {"k": T, "z": 1} / "z" on a
  dict node: "" is accepted too (it unsets).
- field nodes: [type, flags] with flags 1 nullable, 2 may be absent, 4 only there when
  expanded; types "s" "n" "b" "m" "*", {"e"}, {"l"}, {"d"}, {"u"}, {"t": interface} a nested
  object, {"o": object} an embedded resource, {"x": [objects]} an id expandable to one of
  those, {"L": object} a list object.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import NamedTuple, Optional

_PATH = os.path.join(os.path.dirname(__file__), "stripe_api.json")

NULLABLE, OPTIONAL, INCLUDABLE = 1, 2, 4


class Operation(NamedTuple):
    method: str
    path: str           # /v1/customers/{customer}
    action: str         # the backend method that carries its behaviour
    kind: str           # "obj", "list" or "search"
    answer: Optional[str]  # object name of the answer (of its items for lists), None if several
    params: Optional[str]  # name of the parameter type


class Resource(NamedTuple):
    object: str
    iface: str
    prefix: Optional[str]
    events: tuple
    fields: dict


# Routes of the simulator's own that Stripe does not have (kept beside Stripe's so the router,
# the parameter checks and the expand checks treat them alike).
EXTRA_OPERATIONS = [
    # The stand-in for a customer paying on the hosted checkout page.
    Operation("POST", "/v1/test_helpers/checkout/sessions/{session}/complete", "complete_checkout_session",
              "obj", "checkout.session", "_sim.CompleteCheckoutSession"),
]
EXTRA_PARAMS = {
    "_sim.CompleteCheckoutSession": {"payment_method": ["s", 0], "customer_email": ["s", 0],
                                     "expand": [{"l": "s"}, 0]},
}


try:
    from orjson import dumps as _dumps, loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency
    def _dumps(obj):
        return json.dumps(obj, separators=(",", ":"))
    _loads = json.loads

_SECTIONS = ("params", "resources", "types", "later_params")


@lru_cache(maxsize=1)
def data() -> dict:
    """The definitions. The big sections (3,000 parameter types, 160 resources, their nested
    types) are kept as one compact JSON text per entry and decoded on first use: as Python
    dicts they were 28,000 more objects for the garbage collector to walk in every full
    collection of a server that keeps its own state as text for that reason."""
    with open(_PATH, encoding="utf-8") as fh:
        raw = json.load(fh)
    for section in _SECTIONS:
        raw[section] = {k: _dumps(v) for k, v in raw.get(section, {}).items()}
    return raw


@lru_cache(maxsize=None)
def _entry(section: str, name: str):
    text = data()[section].get(name)
    return None if text is None else _loads(text)


def api_version() -> str:
    return data()["api_version"]


def later_params(name: str) -> list:
    """Parameter names a newer SDK sends for this parameter type that basil lacks."""
    return _entry("later_params", name) or []


@lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    seen = set()
    out = []
    for raw in data()["operations"]:
        op = Operation(*raw)
        if (op.method, op.path) in seen:  # two SDK services name one route (sources detach)
            continue
        seen.add((op.method, op.path))
        out.append(op)
    return tuple(out) + tuple(EXTRA_OPERATIONS)


@lru_cache(maxsize=1)
def by_action() -> dict[str, Operation]:
    return {op.action: op for op in operations()}


def params_type(name: str) -> dict:
    if name in EXTRA_PARAMS:
        return EXTRA_PARAMS[name]
    found = _entry("params", name)
    if found is None:
        raise KeyError(name)
    return found


@lru_cache(maxsize=None)
def resource(obj: str) -> Optional[Resource]:
    raw = _entry("resources", obj)
    if raw is None:
        return None
    return Resource(obj, raw["iface"], raw.get("prefix"), tuple(raw.get("events", ())), raw["fields"])


def resources() -> list[str]:
    return [k for k in data()["resources"] if not k.startswith("deleted:")]


@lru_cache(maxsize=None)
def fields(iface_or_object: str) -> Optional[dict]:
    """{field: [node, flags]} of a resource (by object name) or of a nested type (by interface)."""
    res = resource(iface_or_object)
    if res is not None:
        return res.fields
    return _entry("types", iface_or_object)


def includable_fields(iface_or_object: str) -> list[str]:
    return [k for k, (_, flags) in (fields(iface_or_object) or {}).items() if flags & INCLUDABLE]


def event_types() -> list[str]:
    return data()["event_types"]
