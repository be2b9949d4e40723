"""Deliberate delivery faults: definitions as data, parsing, and how each is applied.

A fault is named in a trigger (``--fault duplicate:3``) or in a standing per-endpoint
policy. Four kinds:

* ``copies``    - how many times an event goes out, one after another or all at once;
* ``order``     - the order/timing of a batch of events (reverse, shuffle, hold back, delay);
* ``signature`` - what goes in ``Stripe-Signature``;
* ``payload``   - what body is signed and sent.

``expect`` says what a receiver built on the official SDK's ``construct_event`` should do
with it: ``accept`` (2xx), ``reject`` (non-2xx), ``either`` (both are defensible, e.g. a
future timestamp that stripe-python accepts but a stricter receiver refuses). ``sdk_error`` is the start of the message
stripe-python raises for a ``reject`` fault, so tests and the log can tell the *intended*
rejection from an accidental one.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Optional

from simulator import jsoncodec, signing

ACCEPT, REJECT, EITHER = "accept", "reject", "either"


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    default: Any
    help: str
    minimum: Optional[float] = None


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str
    description: str
    expect: str = ACCEPT
    sdk_error: Optional[str] = None
    params: tuple = ()
    # The parameter a bare ``name:value`` sets.
    primary: Optional[str] = None

    def to_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "description": self.description,
            "expect": self.expect, "sdk_error": self.sdk_error,
            "params": [{"name": p.name, "type": p.kind.__name__, "default": p.default, "help": p.help}
                       for p in self.params],
        }


_COUNT = Param("count", int, 2, "total deliveries of the event (>= 1)", minimum=1)
_SEED = Param("seed", int, None, "seed for the shuffle (default: the trigger's seed)")
_RATE = Param("rate", float, 1.0, "standing policies: share of events it applies to (0..1), drawn from the seed", minimum=0)
_TYPE = Param("type", str, None, "only events of this type (default: every event of the batch)")

_DEFS = [
    Fault("duplicate", "copies", "Send the same event (same id, freshly signed) N times, one after another.",
          params=(_COUNT, _TYPE, _RATE), primary="count"),
    Fault("duplicate_concurrent", "copies", "Send the same event N times at the same instant, in parallel.",
          params=(_COUNT, _TYPE, _RATE), primary="count"),
    Fault("reverse", "order", "Deliver the batch's events in reverse record order, one after another.",
          params=(Param("seconds", float, 2.0, "standing policies: window (simulated s) that forms a batch", minimum=0),)),
    Fault("shuffle", "order", "Deliver the batch's events in a seeded random order, one after another.",
          params=(_SEED, Param("seconds", float, 2.0, "standing policies: window (simulated s) that forms a batch", minimum=0)),
          primary="seed"),
    Fault("hold_back", "order", "Hold one event back until every other event of the batch was delivered.",
          params=(Param("index", int, 0, "position (0-based, record order) of the held event", minimum=0),
                  _TYPE, Param("seconds", float, 0.0, "extra simulated seconds after the others", minimum=0)),
          primary="index"),
    Fault("delay", "order", "Deliver each event this many simulated seconds late.",
          params=(Param("seconds", float, 60.0, "simulated seconds", minimum=0), _TYPE, _RATE), primary="seconds"),
    Fault("wrong_secret", "signature", "Sign with a secret the endpoint does not have.", REJECT,
          "No signatures found matching the expected signature for payload", params=(_TYPE, _RATE)),
    Fault("tampered_body", "signature", "Sign the body, then change it before sending.", REJECT,
          "No signatures found matching the expected signature for payload", params=(_TYPE, _RATE)),
    Fault("stale_timestamp", "signature", "Sign with a timestamp older than the SDK's 300 s tolerance.", REJECT,
          "Timestamp outside the tolerance zone",
          params=(Param("seconds", float, 600.0, "how old the timestamp is (> 300 to be stale)", minimum=0), _TYPE, _RATE),
          primary="seconds"),
    Fault("future_timestamp", "signature",
          "Sign with a timestamp in the future (stripe-python accepts it; a receiver that also bounds "
          "the future rejects it).", EITHER,
          params=(Param("seconds", float, 600.0, "how far ahead", minimum=0), _TYPE, _RATE), primary="seconds"),
    Fault("missing_signature", "signature", "Send no Stripe-Signature header at all.", REJECT,
          "No Stripe-Signature header value was provided", params=(_TYPE, _RATE)),
    Fault("malformed_signature", "signature", "Send a Stripe-Signature header that cannot be parsed.", REJECT,
          "Unable to extract timestamp and signatures from header", params=(_TYPE, _RATE)),
    Fault("v0_only", "signature", "Send only a test-mode v0 signature, no v1.", REJECT,
          "No signatures found with expected scheme v1", params=(_TYPE, _RATE)),
    Fault("rolled_secret", "signature",
          "Several v1 signatures, only one made with the receiver's secret (a secret being rolled): must be accepted.",
          ACCEPT, params=(_TYPE, _RATE)),
    Fault("invalid_json", "payload", "A valid signature over a body that is not valid JSON.", REJECT,
          "Expecting", params=(_TYPE, _RATE)),
    Fault("unknown_event_type", "payload", "A correctly signed event of a type the receiver cannot know (fresh id).",
          ACCEPT, params=(Param("event_type", str, "simulator.unknown_event", "the type to send"), _TYPE, _RATE),
          primary="event_type"),
    Fault("other_api_version", "payload",
          "The event claims another api_version (fresh id); stripe-python parses it, a receiver pinned to one "
          "version may refuse it.", EITHER,
          params=(Param("api_version", str, "2024-06-20", "the api_version to claim"), _TYPE, _RATE),
          primary="api_version"),
    Fault("thin_event", "payload",
          "A v2 thin-event notification body (object v2.core.event), correctly signed; construct_event refuses "
          "it, a receiver may also acknowledge and ignore it.",
          EITHER, "You passed a thin event notification", params=(_TYPE, _RATE)),
]

FAULTS: dict[str, Fault] = {f.name: f for f in _DEFS}


class InputError(ValueError):
    """Bad input to the delivery side; ``field`` names what was wrong (for a 400 or a CLI error)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class FaultError(InputError):
    """Bad fault input."""

    def __init__(self, message: str, field: str = "faults"):
        super().__init__(message, field)


@dataclass
class FaultSpec:
    name: str
    params: dict = field(default_factory=dict)

    @property
    def fault(self) -> Fault:
        return FAULTS[self.name]

    @property
    def kind(self) -> str:
        return self.fault.kind

    def get(self, key: str):
        if key in self.params:
            return self.params[key]
        for p in self.fault.params:
            if p.name == key:
                return p.default
        raise KeyError(key)

    def label(self) -> str:
        if not self.params:
            return self.name
        return "%s:%s" % (self.name, ",".join("%s=%s" % kv for kv in sorted(self.params.items())))

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params)}

    def applies_to(self, event_type: str) -> bool:
        wanted = self.get("type") if any(p.name == "type" for p in self.fault.params) else None
        return wanted is None or wanted == event_type


def _coerce(fault: Fault, key: str, raw) -> Any:
    param = next((p for p in fault.params if p.name == key), None)
    if param is None:
        known = ", ".join(p.name for p in fault.params) or "none"
        raise FaultError("fault %r has no parameter %r (parameters: %s)" % (fault.name, key, known))
    try:
        value = param.kind(raw) if not isinstance(raw, param.kind) else raw
    except (TypeError, ValueError):
        raise FaultError("fault %s: %s must be %s, got %r" % (fault.name, key, param.kind.__name__, raw)) from None
    if param.minimum is not None and value < param.minimum:
        raise FaultError("fault %s: %s must be >= %s, got %r" % (fault.name, key, param.minimum, raw))
    if key == "rate" and value > 1:
        raise FaultError("fault %s: rate must be between 0 and 1, got %r" % (fault.name, raw))
    return value


def parse_fault(spec) -> FaultSpec:
    """``"duplicate"``, ``"duplicate:3"``, ``"delay:seconds=30,type=charge.updated"``, or
    ``{"name": "duplicate", "count": 3}`` / ``{"name": ..., "params": {...}}``."""
    if isinstance(spec, FaultSpec):
        return spec
    if isinstance(spec, dict):
        if "name" not in spec:
            raise FaultError("a fault object needs a 'name' (known: %s)" % ", ".join(FAULTS))
        name = spec["name"]
        raw = dict(spec.get("params") or {})
        raw.update({k: v for k, v in spec.items() if k not in ("name", "params")})
    elif isinstance(spec, str):
        name, _, rest = spec.strip().partition(":")
        raw = {}
        if rest:
            for item in rest.split(","):
                key, eq, value = item.partition("=")
                if not eq:
                    fault = FAULTS.get(name)
                    if fault is None or fault.primary is None:
                        raise FaultError("fault %r takes no bare value (use key=value), got %r" % (name, item))
                    key, value = fault.primary, item
                raw[key.strip()] = value.strip()
    else:
        raise FaultError("a fault must be a string or an object, got %r" % (spec,))
    if name not in FAULTS:
        raise FaultError("unknown fault %r (known: %s)" % (name, ", ".join(FAULTS)))
    fault = FAULTS[name]
    return FaultSpec(name, {k: _coerce(fault, k, v) for k, v in raw.items()})


def parse_faults(specs) -> list[FaultSpec]:
    if specs is None:
        return []
    if isinstance(specs, (str, dict)):
        specs = [specs]
    if not isinstance(specs, (list, tuple)):
        raise FaultError("faults must be a list, got %r" % (specs,))
    return [parse_fault(s) for s in specs]


# ---------------------------------------------------------------- per-attempt application

# ---------------------------------------------------------------- copies and order
# How the ``copies`` and ``order`` kinds shape a batch, beside how ``signature`` and
# ``payload`` shape one attempt (below). Pure: the planner (planner.py) calls these.

def applies(spec: FaultSpec, event_type: str, rng) -> bool:
    """Whether ``spec`` touches an event of this type (its ``type`` filter, then its ``rate``)."""
    if not spec.applies_to(event_type):
        return False
    rate = spec.get("rate") if any(p.name == "rate" for p in spec.fault.params) else 1.0
    return rate >= 1.0 or rng.random() < rate


@dataclass
class EventShape:
    """What the faults make of one event: attempt faults, copies, a burst, a delay."""
    mutations: list = field(default_factory=list)  # signature/payload specs applied per attempt
    labels: list = field(default_factory=list)
    copies: int = 1  # sequential deliveries (a chain)
    burst: int = 1  # identical attempts at one instant
    delay: float = 0.0


def shape_event(specs, event_type: str, rng) -> EventShape:
    out = EventShape()
    for s in specs:
        if s.kind in ("signature", "payload") and applies(s, event_type, rng):
            out.mutations.append(s)
        elif s.name == "delay" and applies(s, event_type, rng):
            out.delay += float(s.get("seconds"))
        elif s.name == "duplicate" and applies(s, event_type, rng):
            out.copies = int(s.get("count"))
        elif s.name == "duplicate_concurrent" and applies(s, event_type, rng):
            out.burst = int(s.get("count"))
        else:
            continue
        out.labels.append(s.label())
    return out


def batch_order(specs) -> list:
    """The order faults that act on a whole batch (``delay`` acts per event)."""
    return [s for s in specs if s.kind == "order" and s.name != "delay"]


def reorder(groups: list, specs, rng, event_type_of) -> bool:
    """Apply reverse / shuffle / hold_back to ``groups`` (one list of jobs per event, record
    order) in place; True when the result must go out as a chain, one after another.

    A held-back group gets its extra ``seconds`` on each job's ``due`` and the label."""
    from simulator.rng import SeededRandom

    chain = False
    for s in specs:
        if s.name == "reverse":
            groups.reverse()
            chain = True
        elif s.name == "shuffle":
            seed = s.get("seed")
            (SeededRandom(seed) if seed is not None else rng).shuffle(groups)
            chain = True
        elif s.name == "hold_back" and groups:
            wanted = s.get("type")
            idx = next((i for i, g in enumerate(groups) if event_type_of(g[0]) == wanted), None) \
                if wanted else int(s.get("index"))
            if idx is None or idx >= len(groups):
                raise FaultError("hold_back: no event %s in this batch of %d" % (
                    "of type %r" % wanted if wanted else "at index %d" % idx, len(groups)))
            held = groups.pop(idx)
            for j in held:
                j.due += float(s.get("seconds"))
                j.labels.append(s.label())
            groups.append(held)
            chain = True
    # Every job of the batch carries the batch's order faults, so the log can be filtered by them.
    for s in batch_order(specs):
        for g in groups:
            for j in g:
                if s.label() not in j.labels:
                    j.labels.append(s.label())
    return chain


# ---------------------------------------------------------------- signature and payload

def _fresh_event(event: dict, rng) -> dict:
    out = copy.deepcopy(event)
    out["id"] = rng.new_id("evt")
    return out


def render_payload(spec: Optional[FaultSpec], event: dict, honest_body: bytes, rng) -> bytes:
    """The body to sign for this attempt: the honest one unless a payload fault changes it."""
    if spec is None or spec.kind != "payload":
        return honest_body
    if spec.name == "invalid_json":
        # Cut mid-document: a real-looking prefix that no JSON parser accepts.
        return honest_body[: max(1, len(honest_body) // 2)]
    if spec.name == "unknown_event_type":
        out = _fresh_event(event, rng)
        out["type"] = spec.get("event_type")
        return serialize_event(out)
    if spec.name == "other_api_version":
        out = _fresh_event(event, rng)
        out["api_version"] = spec.get("api_version")
        return serialize_event(out)
    if spec.name == "thin_event":
        obj = (event.get("data") or {}).get("object") or {}
        kind = obj.get("object", "object")
        thin = {
            "id": rng.new_id("evt"),
            "object": "v2.core.event",
            "type": event.get("type"),
            "created": event.get("created"),
            "livemode": bool(event.get("livemode", False)),
            "related_object": {"id": obj.get("id"), "type": kind,
                               "url": "/v1/%ss/%s" % (kind, obj.get("id"))},
            "reason": None,
        }
        return serialize_event(thin)
    raise AssertionError("unhandled payload fault %s" % spec.name)


def signature_header(spec: Optional[FaultSpec], body: bytes, secrets: list, t: int, rng,
                     include_v0: bool = False) -> tuple[bytes, Optional[str]]:
    """(body actually sent, Stripe-Signature value or None) for this attempt."""
    if spec is None or spec.kind != "signature":
        return body, signing.generate_header(body, secrets, t, include_v0=include_v0)
    name = spec.name
    if name == "wrong_secret":
        return body, signing.generate_header(body, ["whsec_" + rng.token(32)], t)
    if name == "tampered_body":
        header = signing.generate_header(body, secrets, t)
        return _tamper(body), header
    if name == "stale_timestamp":
        return body, signing.generate_header(body, secrets, t - int(spec.get("seconds")))
    if name == "future_timestamp":
        return body, signing.generate_header(body, secrets, t + int(spec.get("seconds")))
    if name == "missing_signature":
        return body, None
    if name == "malformed_signature":
        # Semicolons where commas belong: the t cannot be read as an integer.
        return body, signing.generate_header(body, secrets, t).replace(",", ";")
    if name == "v0_only":
        good = signing.generate_header(body, secrets[:1], t)
        return body, good.replace("v1=", "v0=")
    if name == "rolled_secret":
        stranger = "whsec_" + rng.token(32)
        return body, signing.generate_header(body, [stranger] + list(secrets), t)
    raise AssertionError("unhandled signature fault %s" % name)


def _tamper(body: bytes) -> bytes:
    """Change the body after signing in a way that stays valid JSON when it can."""
    for old, new in ((b'"livemode": false', b'"livemode": true'), (b'"amount": ', b'"amount": 1')):
        if old in body:
            return body.replace(old, new, 1)
    return body + b" "


def serialize_event(event: dict) -> bytes:
    """Stripe's webhook bodies are pretty-printed with two spaces; sign exactly these bytes.
    (Through orjson: the stdlib's indenting encoder is ~10x slower on a 3.6 KB event.)"""
    return jsoncodec.dumps_pretty(event)


def expectation(specs) -> tuple[str, Optional[str]]:
    """What the receiver should do with an attempt carrying these faults."""
    specs = [s for s in specs or () if s is not None]
    for s in specs:
        if s.fault.expect == REJECT:
            return REJECT, s.fault.sdk_error
    for s in specs:
        if s.fault.expect == EITHER:
            return EITHER, s.fault.sdk_error
    return ACCEPT, None
