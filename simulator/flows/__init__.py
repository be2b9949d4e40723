"""Flows as data: what a trigger does to the backend to make a given set of events.

Each flow is one JSON file under ``data/`` (like the Stripe CLI's fixtures): a list of
backend actions with ``{placeholders}`` and the events it is expected to record. The
registry below names every flow and its file; ``tests/delivery/test_flows.py`` checks
that the registry and the files agree. ``ALIASES`` lets a trigger name an event type that
a flow produces as a side effect (``charge.succeeded`` runs ``payment_intent.succeeded``).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

DATA = Path(__file__).with_name("data")

REGISTRY = {
    "payment_intent.succeeded": "payment_intent.succeeded.json",
    "payment_intent.payment_failed": "payment_intent.payment_failed.json",
    "insufficient_funds": "insufficient_funds.json",
    "payment_intent.canceled": "payment_intent.canceled.json",
    "payment_intent.created": "payment_intent.created.json",
    "charge.refunded": "charge.refunded.json",
    "charge.dispute.created": "charge.dispute.created.json",
    "checkout.session.completed": "checkout.session.completed.json",
    "decline_then_success": "decline_then_success.json",
    "payment_intent.requires_action": "payment_intent.requires_action.json",
    "3ds_success": "3ds_success.json",
    "3ds_failure": "3ds_failure.json",
    "3ds_failure_then_success": "3ds_failure_then_success.json",
    "charge.dispute.closed": "charge.dispute.closed.json",
    "dispute_lost": "dispute_lost.json",
    "dispute_accepted": "dispute_accepted.json",
    "dispute_inquiry": "dispute_inquiry.json",
    "partial_refunds": "partial_refunds.json",
    "checkout.session.async_payment_succeeded": "checkout.session.async_payment_succeeded.json",
    "checkout.session.async_payment_failed": "checkout.session.async_payment_failed.json",
}

ALIASES = {
    "charge.succeeded": "payment_intent.succeeded",
    "charge.updated": "payment_intent.succeeded",
    "charge.failed": "payment_intent.payment_failed",
    "refund.created": "charge.refunded",
    "charge.dispute.funds_withdrawn": "charge.dispute.created",
    "charge.dispute.updated": "charge.dispute.closed",
    "charge.dispute.funds_reinstated": "charge.dispute.closed",
}

ACTIONS = ("create_payment_intent", "confirm_payment_intent", "cancel_payment_intent", "create_refund",
           "create_checkout_session", "complete_checkout_session", "authenticate_payment_intent",
           "list_disputes", "update_dispute", "close_dispute")


class FlowError(ValueError):
    def __init__(self, message: str, field: str = "flow"):
        super().__init__(message)
        self.field = field


def names() -> list[str]:
    return sorted(REGISTRY) + sorted(ALIASES)


def resolve(name: str) -> str:
    if name in REGISTRY:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise FlowError("unknown flow or event type %r (known: %s)" % (name, ", ".join(names())))


@lru_cache(maxsize=None)
def _load(name: str) -> str:
    return (DATA / REGISTRY[name]).read_text(encoding="utf-8")


def load(name: str) -> dict:
    """The flow's definition (a fresh copy)."""
    return json.loads(_load(resolve(name)))


def describe() -> list[dict]:
    out = []
    for name in sorted(REGISTRY):
        f = load(name)
        out.append({"name": name, "description": f["description"], "events": f["events"],
                    "card": f.get("card"), "adoptable": any(s.get("adoptable") for s in f["steps"])})
    for alias, target in sorted(ALIASES.items()):
        out.append({"name": alias, "alias_of": target})
    return out


# {name} or a path into a saved answer: {pi.id}, {disputes.data.0.id} (a number indexes a list).
_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z0-9_]+)*)\}")


def _fill(value: Any, ctx: dict) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    if not isinstance(value, str):
        return value
    whole = _PLACEHOLDER.fullmatch(value)
    if whole:
        return _lookup(whole.group(1), ctx)
    return _PLACEHOLDER.sub(lambda m: str(_lookup(m.group(1), ctx)), value)


def _lookup(path: str, ctx: dict):
    head, *steps = path.split(".")
    if head not in ctx:
        raise FlowError("flow placeholder {%s} has no value" % path)
    value = ctx[head]
    for step in steps:
        try:
            value = value[int(step)] if isinstance(value, list) else value[step]
        except (KeyError, IndexError, TypeError, ValueError):
            # e.g. a dispute flow run with a --card that opens no dispute
            raise FlowError("flow placeholder {%s} has no value (the card may not fit this flow)"
                            % path, "card") from None
    return value


def run(backend, name: str, *, amount: int = 2000, currency: str = "usd", card: Optional[str] = None,
        payment_intent: Optional[str] = None, metadata: Optional[dict] = None) -> dict:
    """Run a flow's steps on ``backend``; returns the saved objects (``pi``, ``cs``...)."""
    flow = load(name)
    if payment_intent is not None and not any(s.get("adoptable") for s in flow["steps"]):
        raise FlowError("flow %s does not work on an existing payment intent (payment_intent)" % flow["name"],
                        "payment_intent")
    ctx: dict[str, Any] = {"amount": str(int(amount)), "currency": currency,
                           "card": card or flow.get("card") or "pm_card_visa", "metadata": dict(metadata or {})}
    from simulator.errors import StripeError

    for step in flow["steps"]:
        action = step["action"]
        if payment_intent is not None and step.get("adoptable"):
            result = backend.adopt_payment_intent(payment_intent, int(amount), currency, dict(metadata or {}))
        else:
            params = _fill(step.get("params") or {}, ctx)
            method = getattr(backend, action)
            try:
                result = method(_fill(step["id"], ctx), params) if "id" in step else method(params)
            except StripeError as exc:
                if step.get("expect_error") and getattr(exc, "error_type", None) == step["expect_error"]:
                    continue
                if getattr(exc, "error_type", None) == "card_error":
                    # A --card that declines ends the flow like a real customer's payment would:
                    # the decline's events are what gets delivered.
                    ctx["stopped"] = "%s: %s" % (step["action"], exc.message)
                    break
                raise
        if step.get("save_as"):
            ctx[step["save_as"]] = result
    return ctx
