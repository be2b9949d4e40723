"""Triggers: run a flow, deliver the events it recorded to one target with faults, and
judge the outcome. Shared by ``stripe-sim trigger`` (in-process) and ``POST /_sim/trigger``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from simulator import flows
from simulator.delivery import faults as F
from simulator.delivery.targets import check_secrets, is_adhoc
from simulator.delivery.transport import TargetError, split_url

CURRENCY_LEN = 3


class TriggerError(F.InputError):
    """Bad trigger input; ``field`` names it."""


@dataclass
class TriggerRequest:
    flow: str
    faults: list = field(default_factory=list)
    endpoint: Optional[str] = None
    to: Optional[str] = None
    secrets: list = field(default_factory=list)
    seed: Optional[int] = None
    payment_intent: Optional[str] = None
    amount: int = 2000
    currency: str = "usd"
    card: Optional[str] = None
    metadata: dict = field(default_factory=dict)
    wait: bool = True
    timeout: float = 30.0


def _int(value, name, minimum=None) -> int:
    if isinstance(value, bool):
        raise TriggerError("%s must be an integer, got %r" % (name, value), name)
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise TriggerError("%s must be an integer, got %r" % (name, value), name) from None
    if isinstance(value, float) and value != out:
        raise TriggerError("%s must be an integer, got %r" % (name, value), name)
    if minimum is not None and out < minimum:
        raise TriggerError("%s must be >= %d, got %r" % (name, minimum, value), name)
    return out


def card_token(card: Optional[str]) -> Optional[str]:
    """``pm_card_visa`` / ``tok_visa`` as given; a test card number (or its last 4) mapped to its ``pm_card_*``."""
    if card is None:
        return None
    card = card.strip().replace(" ", "")
    if card.startswith(("pm_", "tok_")):
        return card
    if card.isdigit():
        from simulator.backend.cards import ALL_CARDS, card_for_number

        match = None
        if len(card) == 4:
            match = next((c for c in ALL_CARDS if c.number.endswith(card)), None)
        else:
            match = card_for_number(card)
        if match is not None and match.tokens:
            return match.tokens[0]
    raise TriggerError("card must be a pm_card_*/tok_* id or a Stripe test card number, got %r" % card, "card")


KNOWN_FIELDS = {"flow", "faults", "endpoint", "to", "secret", "secrets", "seed", "payment_intent", "amount",
                "currency", "card", "metadata", "wait", "timeout"}


def parse_request(body: dict) -> TriggerRequest:
    """Validate a control-plane body; every problem names its field."""
    if not isinstance(body, dict):
        raise TriggerError("the body must be a JSON object", "body")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise TriggerError("unknown field %r (known: %s)" % (unknown[0], ", ".join(sorted(KNOWN_FIELDS))), unknown[0])
    if not body.get("flow") or not isinstance(body["flow"], str):
        raise TriggerError("flow is required: an event type or flow name (see GET /_sim/flows)", "flow")
    # Wrong JSON types reached code that expects strings ({"card": {}} -> .strip(): a 500).
    for name in ("endpoint", "to", "secret", "currency", "payment_intent", "card"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise TriggerError("%s must be a string" % name, name)
    if body.get("secrets") is not None and (not isinstance(body["secrets"], list)
                                            or not all(isinstance(x, str) for x in body["secrets"])):
        raise TriggerError("secrets must be a list of whsec_... strings", "secrets")
    secrets = body.get("secrets") or ([body["secret"]] if body.get("secret") else [])
    req = TriggerRequest(flow=body["flow"], endpoint=body.get("endpoint"), to=body.get("to"), secrets=list(secrets))
    try:
        req.faults = F.parse_faults(body.get("faults"))
    except F.FaultError as exc:
        raise TriggerError(str(exc), "faults") from None
    if body.get("seed") is not None:
        req.seed = _int(body["seed"], "seed")
    if body.get("amount") is not None:
        req.amount = _int(body["amount"], "amount", 1)
    if body.get("currency") is not None:
        req.currency = body["currency"]
    if body.get("payment_intent") is not None:
        req.payment_intent = body["payment_intent"]
    if body.get("card") is not None:
        req.card = body["card"]
    if body.get("metadata") is not None:
        if not isinstance(body["metadata"], dict):
            raise TriggerError("metadata must be an object of strings", "metadata")
        req.metadata = {str(k): str(v) for k, v in body["metadata"].items()}
    if "wait" in body:
        if not isinstance(body["wait"], bool):
            raise TriggerError("wait must be true or false", "wait")
        req.wait = body["wait"]
    if body.get("timeout") is not None:
        try:
            req.timeout = float(body["timeout"])
        except (TypeError, ValueError):
            raise TriggerError("timeout must be a number of seconds", "timeout") from None
        if not 0 < req.timeout <= 600:
            raise TriggerError("timeout must be between 0 and 600 seconds", "timeout")
    validate(req)
    return req


def validate(req: TriggerRequest) -> None:
    try:
        flows.resolve(req.flow)
    except flows.FlowError as exc:
        raise TriggerError(str(exc), "flow") from None
    if req.endpoint and req.to:
        raise TriggerError("give either endpoint (a registered webhook endpoint id) or to + secret, not both", "to")
    if not req.endpoint and not req.to:
        raise TriggerError("a target is needed: endpoint (a registered webhook endpoint id) or to + secret", "to")
    if req.to:
        try:
            split_url(req.to)
        except TargetError as exc:
            raise TriggerError(str(exc), "to") from None
        try:
            check_secrets(req.secrets)
        except ValueError as exc:
            raise TriggerError(str(exc), "secret") from None
    if not isinstance(req.currency, str) or len(req.currency) != CURRENCY_LEN or not req.currency.isalpha():
        raise TriggerError("currency must be a three-letter ISO code such as usd, got %r" % (req.currency,), "currency")
    req.currency = req.currency.lower()
    if req.payment_intent is not None:
        if not isinstance(req.payment_intent, str) or not req.payment_intent.startswith("pi_"):
            raise TriggerError("payment_intent must be an id starting with pi_, got %r" % (req.payment_intent,),
                               "payment_intent")
        flow = flows.load(req.flow)
        if not any(s.get("adoptable") for s in flow["steps"]):
            raise TriggerError("flow %s cannot run on an existing payment intent" % flow["name"], "payment_intent")
    req.card = card_token(req.card)


def run(engine, req: TriggerRequest) -> dict:
    """Run ``req`` through ``engine`` (and its backend); return a JSON-ready report."""
    validate(req)
    backend = engine.backend
    if req.endpoint:
        if req.endpoint not in backend.webhook_endpoints and not is_adhoc(req.endpoint):
            raise TriggerError("no such webhook endpoint: %r" % req.endpoint, "endpoint")
        target = req.endpoint
    else:
        target = engine.add_target(req.to, req.secrets)
    from simulator.errors import StripeError

    with engine.capture() as records:
        try:
            flows.run(backend, req.flow, amount=req.amount, currency=req.currency, card=req.card,
                      payment_intent=req.payment_intent, metadata=req.metadata)
        except flows.FlowError as exc:
            raise TriggerError(str(exc), exc.field) from None
        except StripeError as exc:
            raise TriggerError("the flow's API call failed: %s" % exc.message, "flow") from None
    if not records:
        raise TriggerError("flow %s recorded no events" % req.flow, "flow")
    try:
        trigger = engine.deliver(records, [target], req.faults, seed=req.seed)
    except F.FaultError as exc:
        raise TriggerError(str(exc), "faults") from None
    report = {"trigger": trigger, "flow": flows.resolve(req.flow), "target": target,
              "events": [{"id": r.event["id"], "type": r.event["type"]} for r in records],
              "payment_intent": next((r.payment_intent for r in records if getattr(r, "payment_intent", None)), None),
              "faults": [s.label() for s in req.faults], "waited": req.wait}
    if req.wait:
        entries = engine.wait_trigger(trigger, req.timeout)
        report.update(judge(entries, target))
    return report


def judge(entries: list, target: str) -> dict:
    """Did the target do what each delivery expected? One line per problem."""
    last: dict = {}
    for e in entries:
        if e["endpoint_id"] != target:
            continue
        last[(e["event_id"], e["copy"], tuple(e["faults"]))] = e
    problems = []
    for e in sorted(last.values(), key=lambda x: x["seq"]):
        if e["outcome"] == "abandoned":
            problems.append("%s %s: not delivered: %s" % (e["event_id"], e["event_type"], e["error"]))
        elif e["as_expected"] is False:
            got = ("HTTP %s" % e["status"]) if e["status"] is not None else e["error"]
            fault = (" with fault %s" % ",".join(e["faults"])) if e["faults"] else ""
            if e["expect"] == "accept":
                problems.append("%s %s%s: expected a 2xx, got %s%s (attempt %d)" % (
                    e["event_id"], e["event_type"], fault, got,
                    (": %s" % e["response_head"][:120]) if e.get("response_head") else "", e["attempt"]))
            else:
                problems.append("%s %s%s: the receiver accepted it (HTTP %s) but should have rejected it" % (
                    e["event_id"], e["event_type"], fault, e["status"]))
    return {"ok": not problems, "problems": problems, "deliveries": entries}
