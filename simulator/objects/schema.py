"""Check an object against Stripe's definitions of its fields (2025-08-27.basil).

``problems(obj)`` lists every field that must be there and is missing, every field the
definitions do not have, and every value of the wrong type or outside its enum, descending
into nested objects, lists, expanded objects and an event's ``data.object``. The fields come
from ``simulator.definitions`` (generated from Stripe's SDKs), nothing here is per object.
"""
from __future__ import annotations

from typing import Any, Optional

from simulator import definitions as D


def owner_for(obj: dict) -> Optional[str]:
    kind = obj.get("object")
    if not isinstance(kind, str):
        return None
    if obj.get("deleted") is True and D.resource("deleted:" + kind) is not None:
        return "deleted:" + kind
    return kind if D.resource(kind) is not None else None


def problems(obj: dict, owner: Optional[str] = None, where: str = "") -> list[str]:
    """Every deviation of ``obj`` from its definition (empty list: conforms). ``owner`` is an
    object name (``payment_intent``) or a nested type (``Charge.Outcome``); default: the object's own."""
    if owner is None:
        owner = owner_for(obj)
        if owner is None:
            return ["%s: no definition for object %r" % (where or "object", obj.get("object"))]
    fields = D.fields(owner)
    if fields is None:
        return ["%s: no definition %r" % (where or "object", owner)]
    found = []
    for name, (_node, flags) in fields.items():
        if not flags & (D.OPTIONAL | D.INCLUDABLE) and name not in obj:
            found.append("%s%s: missing (always present in %s)" % (where, name, owner))
    for name, value in obj.items():
        entry = fields.get(name)
        if entry is None:
            found.append("%s%s: not a field of %s" % (where, name, owner))
            continue
        node, flags = entry
        if value is None:
            if not flags & D.NULLABLE:
                found.append("%s%s: null, but not nullable in %s" % (where, name, owner))
            continue
        found.extend(_check(value, node, "%s%s" % (where, name)))
    if owner == "event" and isinstance(obj.get("data"), dict) and isinstance(obj["data"].get("object"), dict):
        found.extend(problems(obj["data"]["object"], None, where + "data.object."))
    return found


def _check(value: Any, node, where: str) -> list[str]:
    if node == "*":
        return []
    if node == "s":
        return [] if isinstance(value, str) else ["%s: %r is not a string" % (where, value)]
    if node == "n":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else ["%s: %r is not a number" % (where, value)]
    if node == "b":
        return [] if isinstance(value, bool) else ["%s: %r is not a boolean" % (where, value)]
    if node == "m":
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return [] if ok else ["%s: %r is not metadata" % (where, value)]
    if "e" in node:
        return [] if value in node["e"] else ["%s: %r is not one of %s" % (where, value, node["e"][:8])]
    if "l" in node:
        if not isinstance(value, list):
            return ["%s: %r is not an array" % (where, value)]
        out = []
        for i, item in enumerate(value):
            out.extend(_check(item, node["l"], "%s[%d]" % (where, i)))
        return out
    if "L" in node:
        if not (isinstance(value, dict) and value.get("object") == "list" and isinstance(value.get("data"), list)):
            return ["%s: %r is not a list object" % (where, value)]
        out = []
        for i, item in enumerate(value["data"]):
            out.extend(_check(item, {"o": node["L"]} if node["L"] != "*" else "*", "%s.data[%d]" % (where, i)))
        return out
    if "d" in node:
        return [] if isinstance(value, dict) else ["%s: %r is not a hash" % (where, value)]
    if "t" in node:
        if not isinstance(value, dict):
            return ["%s: %r is not an object" % (where, value)]
        return problems(value, node["t"], where + ".")
    if "o" in node:
        if not isinstance(value, dict):
            return ["%s: %r is not an object" % (where, value)]
        return problems(value, None, where + ".")
    if "x" in node:
        if isinstance(value, str):
            return []
        if isinstance(value, dict) and value.get("object") in node["x"]:
            return problems(value, None, where + ".")
        return ["%s: %r is neither an id nor one of %s" % (where, value, node["x"])]
    if "u" in node:
        for option in node["u"]:
            if not _check(value, option, where):
                return []
        return ["%s: %r matches none of its types" % (where, value)]
    return []
