"""Parameter validation, compiled from Stripe's definitions (``simulator.definitions``).

Parameters arrive decoded from Stripe's bracket form encoding: nested dicts and lists with
string leaves. ``check(action, params)`` checks them against that operation's parameter type
from the definitions: names (unknown: ``parameter_unknown``), required members
(``parameter_missing``), the type of every leaf (``parameter_invalid_*``), converting leaves to
Python values, with ``param`` in bracket form (``payment_method_data[card][number]``).
The definitions say "a string"; a few rules by parameter name add what Stripe checks beyond
that (currencies, metadata limits, e-mail and URL shapes, the list ``limit``); those are
rules, not a table per action.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional

from simulator.errors import InvalidRequestError

# Stripe's supported presentment currencies (lowercase ISO codes).
CURRENCIES = tuple("""
usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn
bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf
gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr
lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd
top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
""".split())
CURRENCY_SET = frozenset(CURRENCIES)
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())

# Bounded: int() refuses strings over 4300 digits with a ValueError (a 500), and no amount needs 40.
_INT_RE = re.compile(r"^-?\d{1,40}$")


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def join(path: str, key: Any) -> str:
    return str(key) if not path else "%s[%s]" % (path, key)


class Spec:
    """Checks and converts one value; ``path`` is the bracket-form parameter name."""
    nullable = False

    def parse(self, value: Any, path: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class Any_(Spec):
    """Accepted as sent (a real Stripe parameter the simulator stores or ignores)."""

    def parse(self, value, path):
        return value


class Str(Spec):
    def __init__(self, max_length: Optional[int] = None, nullable: bool = True):
        self.max_length = max_length
        self.nullable = nullable

    def parse(self, value, path):
        if not isinstance(value, str):
            raise InvalidRequestError("Invalid string: %s" % _show(value), param=path,
                                      code="parameter_invalid_string")
        if value == "" and self.nullable:
            return None  # Stripe: an empty string unsets the field.
        if self.max_length is not None and len(value) > self.max_length:
            raise InvalidRequestError(
                "Invalid string: %s...; must be at most %d characters" % (value[:20], self.max_length),
                param=path)
        return value


class Int(Spec):
    def __init__(self, min: Optional[int] = None, max: Optional[int] = None):
        self.min = min
        self.max = max

    def parse(self, value, path):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # direct (non-HTTP) callers may pass numbers
        if not isinstance(value, str) or not _INT_RE.match(value.strip()):
            raise InvalidRequestError("Invalid integer: %s" % _show(value), param=path,
                                      code="parameter_invalid_integer")
        number = int(value)
        if self.min is not None and number < self.min:
            raise InvalidRequestError("This value must be greater than or equal to %d." % self.min, param=path)
        if self.max is not None and number > self.max:
            raise InvalidRequestError("This value must be less than or equal to %d." % self.max, param=path)
        return number


class Bool(Spec):
    def parse(self, value, path):
        if value in ("true", True):
            return True
        if value in ("false", False):
            return False
        raise InvalidRequestError("Invalid boolean: %s" % _show(value), param=path,
                                  code="parameter_invalid_boolean")


class Enum(Spec):
    def __init__(self, *values: str, nullable: bool = False):
        self.values = values
        self.nullable = nullable

    def parse(self, value, path):
        if value == "" and self.nullable:
            return None
        if value not in self.values:
            if len(self.values) > 1:
                listing = "%s, or %s" % (", ".join(self.values[:-1]), self.values[-1])
            else:
                listing = self.values[0]
            raise InvalidRequestError("Invalid %s: must be one of %s" % (path, listing), param=path,
                                      code="parameter_invalid_string" if isinstance(value, str) else None)
        return value


class Currency(Spec):
    def parse(self, value, path):
        if not isinstance(value, str):
            raise InvalidRequestError("Invalid currency: %s" % _show(value), param=path)
        lowered = value.lower()
        if lowered not in CURRENCY_SET:
            raise InvalidRequestError(
                "Invalid currency: %s. Stripe currently supports these currencies: %s"
                % (value, ", ".join(CURRENCIES)), param=path)
        return lowered


class Email(Str):
    def parse(self, value, path):
        value = super().parse(value, path)
        if value is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise InvalidRequestError("Invalid email address: %s" % value, param=path)
        return value


class Url(Str):
    def parse(self, value, path):
        value = super().parse(value, path)
        if value is not None and not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
            raise InvalidRequestError("Invalid URL: %s" % value, param=path)
        return value


class Metadata(Spec):
    """Up to 50 keys, keys up to 40 characters, values up to 500; "" unsets (None)."""
    nullable = True
    MAX_KEYS, MAX_KEY, MAX_VALUE = 50, 40, 500

    def parse(self, value, path):
        if value == "":
            return None
        if not isinstance(value, dict):
            raise InvalidRequestError("Invalid object", param=path)
        if len(value) > self.MAX_KEYS:
            raise InvalidRequestError(
                "Invalid metadata: metadata can have up to %d keys, but you passed in %d keys."
                % (self.MAX_KEYS, len(value)), param=path)
        out = {}
        for key, item in value.items():
            if len(key) > self.MAX_KEY:
                raise InvalidRequestError(
                    "Invalid metadata: keys can have up to %d characters, but you passed in a key "
                    "with %d characters: %s" % (self.MAX_KEY, len(key), key), param=join(path, key))
            if not isinstance(item, str):
                raise InvalidRequestError(
                    "Invalid metadata: values must be strings, but %s is not" % key, param=join(path, key))
            if len(item) > self.MAX_VALUE:
                raise InvalidRequestError(
                    "Invalid metadata: values can have up to %d characters, but you passed in a value "
                    "with %d characters for key %s" % (self.MAX_VALUE, len(item), key),
                    param=join(path, key))
            out[key] = item
        return out


class List(Spec):
    def __init__(self, item: Spec, max_items: Optional[int] = None, nullable: bool = True):
        self.item = item
        self.max_items = max_items
        self.nullable = nullable

    def parse(self, value, path):
        if value == "" and self.nullable:
            return None
        if isinstance(value, dict) and all(isinstance(k, str) and k.isdigit() for k in value):
            # a[0]=x&a[1]=y decoded as a dict by index
            value = [value[k] for k in sorted(value, key=int)]
        if not isinstance(value, list):
            raise InvalidRequestError("Invalid array", param=path, code="parameter_invalid_array")
        if self.max_items is not None and len(value) > self.max_items:
            raise InvalidRequestError("Invalid array: must have at most %d items" % self.max_items,
                                      param=path)
        return [self.item.parse(v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]


class Obj(Spec):
    def __init__(self, fields: dict[str, Spec], required: Iterable[str] = (), nullable: bool = True):
        self.fields = fields
        self.required = tuple(required)
        self.nullable = nullable

    def parse(self, value, path):
        if value is None:
            value = {}
        if value == "" and self.nullable and path:
            return None
        if not isinstance(value, dict):
            raise InvalidRequestError("Invalid object", param=path or None, code="parameter_invalid_object")
        for key in value:
            if key not in self.fields:
                raise InvalidRequestError("Received unknown parameter: %s" % join(path, key),
                                          param=join(path, key), code="parameter_unknown")
        for key in self.required:
            if key not in value or value[key] in ("", None):
                raise InvalidRequestError("Missing required param: %s." % join(path, key),
                                          param=join(path, key), code="parameter_missing")
        return {key: self.fields[key].parse(item, join(path, key)) for key, item in value.items()}



class Float(Spec):
    def parse(self, value, path):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            number = float(value) if isinstance(value, str) and len(value) < 60 else None
        except ValueError:
            number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise InvalidRequestError("Invalid decimal: %s" % _show(value), param=path,
                                      code="parameter_invalid_decimal")
        return number


class Map(Spec):
    """A hash of free keys (``{"d": T}`` in the definitions)."""
    nullable = True

    def __init__(self, item: Spec):
        self.item = item

    def parse(self, value, path):
        if value == "":
            return None
        if not isinstance(value, dict):
            raise InvalidRequestError("Invalid object", param=path, code="parameter_invalid_object")
        return {k: self.item.parse(v, join(path, k)) for k, v in value.items()}


class OneOf(Spec):
    """One of several types (an id or an object, ``now`` or a timestamp, ...): the first that fits."""

    def __init__(self, options: list, nullable: bool = False):
        self.options = options
        self.nullable = nullable

    def parse(self, value, path):
        if value == "" and self.nullable:
            return None
        # a hash goes to the object members, a string to the scalar ones
        ordered = sorted(self.options, key=lambda o: not isinstance(o, (Obj, Map, Ref)) if isinstance(value, dict)
                         else isinstance(o, (Obj, Map, Ref)))
        first = None
        for option in ordered:
            try:
                return option.parse(value, path)
            except InvalidRequestError as exc:
                first = first or exc
        raise first


class Ref(Spec):
    """A named parameter type, compiled on first use (the types refer to each other)."""

    def __init__(self, name: str, nullable: bool = False):
        self.name = name
        self.nullable = nullable
        self._spec: Optional[Spec] = None

    def parse(self, value, path):
        if value == "" and self.nullable and path:
            return None
        if self._spec is None:
            self._spec = compile_type(self.name)
        return self._spec.parse(value, path)


class Created(Spec):
    """``created=<int>`` or ``created[gt|gte|lt|lte]=<int>`` (any range filter of a list)."""
    nullable = False
    RANGE = None

    def parse(self, value, path):
        if isinstance(value, dict):
            for key in value:
                if key not in ("gt", "gte", "lt", "lte"):
                    raise InvalidRequestError("Received unknown parameter: %s" % join(path, key),
                                              param=join(path, key), code="parameter_unknown")
            return {k: INT.parse(v, join(path, k)) for k, v in value.items()}
        return {"eq": INT.parse(value, path)}


# The basil Dispute.Evidence text and file fields (files are file ids; no Files API here).
DISPUTE_EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
    "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
    "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
    "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt",
    "refund_policy", "refund_policy_disclosure", "refund_refusal_explanation", "service_date",
    "service_documentation", "shipping_address", "shipping_carrier", "shipping_date",
    "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text")
MAX_EVIDENCE_CHARS = 150000


class Evidence(Spec):
    """Stripe caps the text of all evidence fields together at 150,000 characters.

    ``enhanced_evidence`` (and newer SDKs' ``appeal``) are accepted and not kept: basil's
    evidence object has no place for them beyond an empty ``enhanced_evidence``.
    """

    def __init__(self, inner: Spec):
        self.inner = inner

    def parse(self, value, path):
        if isinstance(value, dict):
            value = dict(value)
            value.pop("appeal", None)
        out = self.inner.parse(value, path)
        if out:
            total = sum(len(out[k]) for k in DISPUTE_EVIDENCE_FIELDS if isinstance(out.get(k), str))
            if total > MAX_EVIDENCE_CHARS:
                raise InvalidRequestError(
                    "Invalid evidence: the combined length of the evidence fields is %d characters; "
                    "at most %d are allowed." % (total, MAX_EVIDENCE_CHARS), param=path)
            out.pop("enhanced_evidence", None)
        return out


ANY = Any_()
STR = Str()
BOOL = Bool()
INT = Int()
CURRENCY = Currency()
METADATA = Metadata()
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")

# What Stripe checks beyond "a string", by parameter name (any operation).
_STATEMENT = Str(max_length=22)
_NAMED_STRINGS = {"currency": CURRENCY, "statement_descriptor": _STATEMENT,
                  "statement_descriptor_suffix": _STATEMENT, "limit": Int(min=1, max=100)}
_STR_FALLBACK = Str()

# Simulator extensions to Stripe's parameters (documented in docs/API_COVERAGE.md).
EXTRA_FIELDS = {
    # A known signing secret for an endpoint the harness creates (Stripe always mints one).
    "WebhookEndpointService.CreateParams": {"secret": ["s", 0]},
}


def _named(key: str, node, spec: Spec) -> Spec:
    if key in _NAMED_STRINGS and node in ("s", "i"):
        return _NAMED_STRINGS[key]
    if node == "s" and (key == "email" or key.endswith("_email")):
        return Email()
    if node == "s" and (key == "url" or key.endswith("_url")):
        return Url(nullable=False) if key == "url" else Url()
    if key == "created" or (isinstance(node, dict) and "u" in node and key in ("created", "arrival_date",
                                                                                "available_on", "date")):
        return Created() if isinstance(node, dict) and "u" in node and "i" in node["u"] else spec
    if key == "evidence":
        return Evidence(spec)
    return spec


def compile_node(node, key: str = "") -> Spec:
    nullable = False
    if isinstance(node, dict) and node.get("z"):
        nullable = True
        node = node["k"] if "k" in node else {k: v for k, v in node.items() if k != "z"}
    if node == "s":
        spec = Str()
    elif node == "i":
        spec = Int()
    elif node == "f":
        spec = Float()
    elif node == "b":
        spec = BOOL
    elif node == "m":
        spec = METADATA
    elif node == "*":
        spec = ANY
    elif "e" in node:
        spec = Enum(*node["e"], nullable=nullable)
    elif "l" in node:
        spec = List(compile_node(node["l"]), nullable=nullable)
    elif "d" in node:
        spec = Map(compile_node(node["d"]))
    elif "u" in node:
        spec = OneOf([compile_node(n, key) for n in node["u"]], nullable=nullable)
    elif "r" in node:
        spec = Ref(node["r"], nullable=nullable)
    else:  # pragma: no cover - the generator writes no other node
        raise ValueError("unknown parameter node %r" % (node,))
    return _named(key, node, spec)


_COMPILED: dict[str, Obj] = {}


def compile_type(name: str) -> Obj:
    spec = _COMPILED.get(name)
    if spec is None:
        from simulator import definitions
        fields = dict(definitions.params_type(name))
        fields.update(EXTRA_FIELDS.get(name, {}))
        for later in definitions.later_params(name):
            fields.setdefault(later, ["*", 0])  # a newer SDK's parameter: taken, not checked
        if name.endswith("ParamsPaymentMethodData") and "card" not in fields:
            # Raw test card numbers inline (Stripe allows it to accounts with raw card access;
            # the simulator's README documents it): the same hash as PaymentMethod.create's card.
            fields["card"] = [{"r": "PaymentMethodService.CreateParamsCard"}, 0]
            node, required = fields["type"]
            if isinstance(node, dict) and "card" not in node.get("e", ["card"]):
                fields["type"] = [dict(node, e=["card"] + node["e"]), required]
        fields.pop("expand", None)  # taken out before the action (simulator.api.app)
        spec = Obj({k: compile_node(node, k) for k, (node, _req) in fields.items()},
                   required=[k for k, (_node, req) in fields.items() if req])
        _COMPILED[name] = spec
    return spec


def spec_for(action: str) -> Obj:
    """The parameter spec of an operation, by its action name."""
    from simulator import definitions
    op = definitions.by_action().get(action)
    if op is None or op.params is None:
        return Obj({})
    return compile_type(op.params)


def check(action: str, params: Optional[dict]) -> dict:
    """Check ``params`` of ``action`` against the definitions; the converted values (only those sent)."""
    return spec_for(action).parse(params or {}, "")


def validate(spec: Obj, params: Optional[dict]) -> dict:
    """Check ``params`` against an explicit spec (control-plane and in-process inputs)."""
    return spec.parse(params or {}, "")
