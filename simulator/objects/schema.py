"""Check an object against Stripe's field list for API version 2025-08-27.basil.

``fieldlists.json`` is the field list of each object (from the type definitions of
Stripe's Node SDK 18.5.0, pinned to 2025-08-27.basil): name, whether it may be absent,
and its TypeScript type (``null`` in it = nullable). ``problems(obj)`` lists every
non-optional field that is missing, every field that is not in the list, and every value
of the wrong type, descending into the nested types the list describes (an event's
``data.object``, a failed intent's ``last_payment_error``, a charge's ``outcome``).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Optional

_PATH = os.path.join(os.path.dirname(__file__), "fieldlists.json")
with open(_PATH, encoding="utf-8") as _fh:
    FIELD_LISTS: dict[str, list[dict]] = {k: v for k, v in json.load(_fh).items() if not k.startswith("_")}

LIST_FOR_OBJECT = {"payment_intent": "PaymentIntent", "charge": "Charge", "dispute": "Dispute",
                   "refund": "Refund", "checkout.session": "Checkout.Session", "event": "Event"}

# Named types that are string enums (the rest of the dotted names are objects).
_ENUM_SUFFIXES = {"CancellationReason", "CaptureMethod", "ConfirmationMethod", "SetupFutureUsage",
                  "Status", "Reason", "BillingAddressCollection", "CustomerCreation", "Locale", "Mode",
                  "PaymentMethodCollection", "PaymentStatus", "SubmitType", "UiMode", "OriginContext",
                  "Type", "Code", "AdviceCode", "EnhancedEligibilityType", "ExcludedPaymentMethodType"}


def _alternatives(ts_type: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in ts_type:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def _matches(value: Any, alt: str) -> bool:
    if alt == "null":
        return value is None
    if alt == "string":
        return isinstance(value, str)
    if alt == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if alt == "boolean":
        return isinstance(value, bool)
    if alt.startswith("'") and alt.endswith("'"):
        return value == alt[1:-1]
    if re.match(r"^Array\s*<", alt):
        return isinstance(value, list)
    if alt.startswith("ApiList<"):
        return isinstance(value, dict) and value.get("object") == "list"
    if alt == "Stripe.Metadata":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    last = alt.rsplit(".", 1)[-1]
    if last in _ENUM_SUFFIXES:
        return isinstance(value, str)
    return isinstance(value, dict)


def type_ok(value: Any, ts_type: str) -> bool:
    return any(_matches(value, alt) for alt in _alternatives(ts_type))


def problems(obj: dict, list_name: Optional[str] = None, where: str = "") -> list[str]:
    """Every deviation of ``obj`` from its field list (empty list: conforms)."""
    if list_name is None:
        list_name = LIST_FOR_OBJECT.get(obj.get("object"))
        if list_name is None:
            return ["%s: no field list for object %r" % (where or "object", obj.get("object"))]
    fields = FIELD_LISTS[list_name]
    known = {f["name"]: f for f in fields}
    found = []
    for f in fields:
        if not f["optional"] and f["name"] not in obj:
            found.append("%s%s: missing (non-optional in %s)" % (where, f["name"], list_name))
    for name, value in obj.items():
        spec = known.get(name)
        if spec is None:
            found.append("%s%s: not a field of %s" % (where, name, list_name))
            continue
        if not type_ok(value, spec["type"]):
            found.append("%s%s: %r does not match %s" % (where, name, value, spec["type"]))
            continue
        nested = NESTED.get((list_name, name))
        if nested and isinstance(value, dict):
            found.extend(problems(value, nested, "%s%s." % (where, name)))
    if list_name == "Event.Data" and isinstance(obj.get("object"), dict) and "object" in obj["object"]:
        found.extend(problems(obj["object"], None, where + "object."))
    return found


NESTED = {("PaymentIntent", "last_payment_error"): "PaymentIntent.LastPaymentError",
          ("Charge", "outcome"): "Charge.Outcome",
          ("Event", "data"): "Event.Data",
          ("Event", "request"): "Event.Request"}
