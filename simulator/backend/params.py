"""Declarative parameter validation, one spec per API action.

Parameters arrive decoded from Stripe's bracket form encoding: nested dicts and lists with
string leaves. A spec checks names (unknown ones are rejected, as Stripe does), required
members, and the type of every leaf, converts leaves to Python values, and raises
``InvalidRequestError`` with Stripe's wording and ``param`` in bracket form
(``payment_method_data[card][number]``).
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
            raise InvalidRequestError("Invalid string: %s" % _show(value), param=path)
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
            raise InvalidRequestError("Invalid integer: %s" % _show(value), param=path)
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
        raise InvalidRequestError("Invalid boolean: %s" % _show(value), param=path)


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
            raise InvalidRequestError("Invalid %s: must be one of %s" % (path, listing), param=path)
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
            raise InvalidRequestError("Invalid array", param=path)
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
            raise InvalidRequestError("Invalid object", param=path or None)
        for key in value:
            if key not in self.fields:
                raise InvalidRequestError("Received unknown parameter: %s" % join(path, key),
                                          param=join(path, key), code="parameter_unknown")
        for key in self.required:
            if key not in value or value[key] in ("", None):
                raise InvalidRequestError("Missing required param: %s." % join(path, key),
                                          param=join(path, key))
        return {key: self.fields[key].parse(item, join(path, key)) for key, item in value.items()}


ANY = Any_()
STR = Str()
BOOL = Bool()
INT = Int()
CURRENCY = Currency()
METADATA = Metadata()

ADDRESS = Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")})
BILLING_DETAILS = Obj({"address": ADDRESS, "email": Email(), "name": Str(), "phone": Str(),
                       "tax_id": Str()})
CARD = Obj({"number": Str(nullable=False), "exp_month": Int(), "exp_year": Int(),
            "cvc": Str(), "networks": ANY, "token": Str()})
PAYMENT_METHOD_DATA = Obj({
    "type": Enum("card"), "card": CARD, "billing_details": BILLING_DETAILS, "metadata": METADATA,
    "allow_redisplay": Enum("always", "limited", "unspecified"), "radar_options": ANY,
}, required=("type",))
SHIPPING = Obj({"address": ADDRESS, "name": Str(), "carrier": Str(), "phone": Str(),
                "tracking_number": Str()})
AUTOMATIC_PAYMENT_METHODS = Obj({"enabled": BOOL, "allow_redirects": Enum("always", "never")},
                                required=("enabled",))
CAPTURE_METHOD = Enum("automatic", "automatic_async", "manual")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")

_INTENT_COMMON = {
    "amount": INT,
    "currency": CURRENCY,
    "customer": Str(),
    "description": Str(max_length=1000),
    "metadata": METADATA,
    "payment_method": Str(),
    "payment_method_data": PAYMENT_METHOD_DATA,
    "payment_method_types": List(Str(nullable=False)),
    "payment_method_options": ANY,
    "payment_method_configuration": Str(),
    "receipt_email": Email(),
    "setup_future_usage": Enum("off_session", "on_session", nullable=True),
    "shipping": SHIPPING,
    "statement_descriptor": Str(max_length=22),
    "statement_descriptor_suffix": Str(max_length=22),
    "transfer_group": Str(),
    "application_fee_amount": INT,
    "capture_method": CAPTURE_METHOD,
    "excluded_payment_method_types": List(Str(nullable=False)),
    "amount_details": ANY,
    "payment_details": ANY,
    "hooks": ANY,
    "transfer_data": ANY,
    # Newer SDKs (dahlia) send these names; same meaning for a card-only simulator.
    "allowed_payment_method_types": List(Str(nullable=False)),
    "customer_account": Str(),
}

CONFIRM_EXTRA = {
    "confirmation_token": Str(),
    "error_on_requires_action": BOOL,
    "mandate": Str(),
    "mandate_data": ANY,
    "off_session": ANY,
    "radar_options": ANY,
    "return_url": Url(),
    "use_stripe_sdk": BOOL,
}

CREATE_PAYMENT_INTENT = Obj(dict(_INTENT_COMMON, **CONFIRM_EXTRA, **{
    "automatic_payment_methods": AUTOMATIC_PAYMENT_METHODS,
    "confirm": BOOL,
    "confirmation_method": Enum("automatic", "manual"),
    "on_behalf_of": Str(),
    "statement_descriptor": Str(max_length=22),
}), required=("amount", "currency"))

UPDATE_PAYMENT_INTENT = Obj(dict(_INTENT_COMMON))

CONFIRM_PAYMENT_INTENT = Obj(dict(CONFIRM_EXTRA, **{
    "allowed_payment_method_types": List(Str(nullable=False)),
    "amount_details": ANY,
    "amount_to_confirm": INT,
    "excluded_payment_method_types": List(Str(nullable=False)),
    "hooks": ANY,
    "payment_details": ANY,
    "capture_method": CAPTURE_METHOD,
    "payment_method": Str(),
    "payment_method_data": PAYMENT_METHOD_DATA,
    "payment_method_options": ANY,
    "payment_method_types": List(Str(nullable=False)),
    "receipt_email": Email(),
    "setup_future_usage": Enum("off_session", "on_session", nullable=True),
    "shipping": SHIPPING,
}))

CANCEL_PAYMENT_INTENT = Obj({"cancellation_reason": Enum(*CANCELLATION_REASONS)})

CAPTURE_PAYMENT_INTENT = Obj({
    "amount_to_capture": INT, "application_fee_amount": INT, "final_capture": BOOL,
    "metadata": METADATA, "statement_descriptor": Str(max_length=22),
    "statement_descriptor_suffix": Str(max_length=22), "transfer_data": ANY,
    "amount_details": ANY, "hooks": ANY, "payment_details": ANY,
})

CREATED_FILTER = Obj({"gt": INT, "gte": INT, "lt": INT, "lte": INT})


class Created(Spec):
    """``created=<int>`` or ``created[gt|gte|lt|lte]=<int>``."""
    nullable = False

    def parse(self, value, path):
        if isinstance(value, dict):
            return CREATED_FILTER.parse(value, path)
        return {"eq": INT.parse(value, path)}


LIST_BASE = {
    "limit": Int(min=1, max=100),
    "starting_after": Str(nullable=False),
    "ending_before": Str(nullable=False),
    "created": Created(),
}


def list_spec(**filters: Spec) -> Obj:
    return Obj(dict(LIST_BASE, **filters))


LIST_PAYMENT_INTENTS = list_spec(customer=Str(), customer_account=Str())
LIST_CHARGES = list_spec(customer=Str(), payment_intent=Str(), transfer_group=Str())
LIST_REFUNDS = list_spec(charge=Str(), payment_intent=Str())
LIST_DISPUTES = list_spec(charge=Str(), payment_intent=Str())
LIST_EVENTS = list_spec(type=Str(nullable=False), types=List(Str(nullable=False), max_items=20),
                        delivery_success=BOOL)
LIST_WEBHOOK_ENDPOINTS = list_spec()
LIST_CHECKOUT_SESSIONS = list_spec(payment_intent=Str(), customer=Str())

CREATE_REFUND = Obj({
    "amount": INT, "charge": Str(), "payment_intent": Str(), "currency": CURRENCY,
    "customer": Str(), "instructions_email": Email(), "metadata": METADATA,
    "origin": Enum("customer_balance"),
    "reason": Enum("duplicate", "fraudulent", "requested_by_customer"),
    "refund_application_fee": BOOL, "reverse_transfer": BOOL,
})

CREATE_PAYMENT_METHOD = Obj({
    "type": Enum("card"), "card": CARD, "billing_details": BILLING_DETAILS, "metadata": METADATA,
    "allow_redisplay": Enum("always", "limited", "unspecified"), "customer": Str(),
    "payment_method": Str(), "radar_options": ANY,
}, required=("type",))

PRODUCT_DATA = Obj({"name": Str(nullable=False), "description": Str(), "images": List(Url()),
                    "metadata": METADATA, "tax_code": Str(), "unit_label": Str()}, required=("name",))
PRICE_DATA = Obj({"currency": CURRENCY, "product": Str(), "product_data": PRODUCT_DATA,
                  "unit_amount": Int(min=0), "unit_amount_decimal": Str(),
                  "tax_behavior": Enum("exclusive", "inclusive", "unspecified"), "recurring": ANY},
                 required=("currency",))
LINE_ITEM = Obj({"price": Str(), "price_data": PRICE_DATA, "quantity": Int(min=1),
                 "adjustable_quantity": ANY, "dynamic_tax_rates": ANY, "tax_rates": ANY})
PAYMENT_INTENT_DATA = Obj({
    "application_fee_amount": INT, "capture_method": CAPTURE_METHOD, "description": Str(),
    "metadata": METADATA, "on_behalf_of": Str(), "receipt_email": Email(),
    "setup_future_usage": Enum("off_session", "on_session"), "shipping": SHIPPING,
    "statement_descriptor": Str(max_length=22), "statement_descriptor_suffix": Str(max_length=22),
    "transfer_data": ANY, "transfer_group": Str(),
})

CREATE_CHECKOUT_SESSION = Obj({
    "mode": Enum("payment", "setup", "subscription"),
    "line_items": List(LINE_ITEM, max_items=100),
    "success_url": Url(), "cancel_url": Url(), "return_url": Url(),
    "client_reference_id": Str(max_length=200), "currency": CURRENCY, "customer": Str(),
    "customer_email": Email(), "customer_creation": Enum("always", "if_required"),
    "expires_at": INT, "locale": Str(), "metadata": METADATA,
    "payment_intent_data": PAYMENT_INTENT_DATA,
    "payment_method_types": List(Str(nullable=False)),
    "payment_method_collection": Enum("always", "if_required"),
    "payment_method_options": ANY, "payment_method_configuration": Str(),
    "ui_mode": Enum("embedded", "hosted", "custom"),
    "submit_type": Enum("auto", "book", "donate", "pay", "subscribe"),
    "billing_address_collection": Enum("auto", "required"),
    "allow_promotion_codes": BOOL, "automatic_tax": ANY, "consent_collection": ANY,
    "custom_fields": ANY, "custom_text": ANY, "discounts": ANY, "invoice_creation": ANY,
    "phone_number_collection": ANY, "redirect_on_completion": Enum("always", "if_required", "never"),
    "saved_payment_method_options": ANY, "shipping_address_collection": ANY,
    "shipping_options": ANY, "tax_id_collection": ANY, "adaptive_pricing": ANY,
    "after_expiration": ANY, "wallet_options": ANY, "origin_context": ANY,
    "allowed_payment_method_types": List(Str(nullable=False)), "branding_settings": ANY,
    "customer_account": Str(), "customer_update": ANY,
    "excluded_payment_method_types": List(Str(nullable=False)), "integration_identifier": Str(),
    "managed_payments": ANY, "name_collection": ANY, "optional_items": ANY,
    "payment_method_data": ANY, "permissions": ANY, "setup_intent_data": ANY,
    "subscription_data": ANY,
}, required=("mode",))

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


class Evidence(Obj):
    """The evidence hash; Stripe caps the text of all its fields together at 150,000 characters.

    ``enhanced_evidence`` and (newer SDKs) ``appeal`` are accepted and not kept: basil's
    evidence object has no place for them beyond an empty ``enhanced_evidence``.
    """

    def parse(self, value, path):
        out = super().parse(value, path)
        if out:
            total = sum(len(out[k]) for k in DISPUTE_EVIDENCE_FIELDS if isinstance(out.get(k), str))
            if total > MAX_EVIDENCE_CHARS:
                raise InvalidRequestError(
                    "Invalid evidence: the combined length of the evidence fields is %d characters; "
                    "at most %d are allowed." % (total, MAX_EVIDENCE_CHARS), param=path)
            out.pop("enhanced_evidence", None)
            out.pop("appeal", None)
        return out


UPDATE_DISPUTE = Obj({
    "evidence": Evidence(dict({k: Str() for k in DISPUTE_EVIDENCE_FIELDS},
                              enhanced_evidence=ANY, appeal=ANY)),
    "metadata": METADATA,
    "submit": BOOL,
    "intended_submission_method": Enum("manual", "prefer_manual", "prefer_smart_disputes",
                                       "smart_disputes"),
})

COMPLETE_CHECKOUT_SESSION = Obj({"payment_method": Str(), "customer_email": Email()})

ENABLED_EVENTS = List(Str(nullable=False), nullable=False)
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")

CREATE_WEBHOOK_ENDPOINT = Obj({
    "url": Url(nullable=False), "enabled_events": ENABLED_EVENTS, "api_version": Str(),
    "description": Str(max_length=5000), "metadata": METADATA, "connect": BOOL,
    "secret": Str(nullable=False),
}, required=("url", "enabled_events"))

UPDATE_WEBHOOK_ENDPOINT = Obj({
    "url": Url(nullable=False), "enabled_events": ENABLED_EVENTS, "disabled": BOOL,
    "description": Str(max_length=5000), "metadata": METADATA,
})

RETRIEVE = Obj({})


def validate(spec: Obj, params: Optional[dict]) -> dict:
    """Check ``params`` against ``spec``; returns the converted values (only those sent)."""
    return spec.parse(params or {}, "")
