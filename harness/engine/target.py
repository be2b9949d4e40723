"""What the harness needs from a POSX target, whatever drives it (adapters implement this).

The contract is the one in the receiver issue: create an order, read it back, and a webhook
URL. Everything beyond that (allocation counts, fault hooks) is a capability a target may
lack; a check that needs a missing capability is skipped with the reason, never passed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

# Capabilities a target may have.
ALLOCATIONS = "allocations"
COMMISSIONS = "commissions"
DISPUTES = "disputes"
PAID_AT = "paid_at"
FAULT_HOOKS = "fault_hooks"      # fail the next N webhook calls with 500
CRASH_HOOK = "crash_hook"        # crash in the middle of processing the next webhook call
DELAY_HOOK = "delay_hook"        # process the next webhook call, then answer late
API_MODE = "api_mode"            # the target's Stripe API base is the simulator
ALL_CAPABILITIES = (ALLOCATIONS, COMMISSIONS, DISPUTES, PAID_AT, FAULT_HOOKS, CRASH_HOOK, DELAY_HOOK)

# What a scenario that needs a capability would have caught: shown for every scenario not
# checked, so a run that could not check something says which bug may still be there.
CATCHES = {
    CRASH_HOOK: "a receiver that marks an event before processing it loses the event when it crashes "
                "(Stripe's retry is answered as a duplicate and the order is never paid)",
    FAULT_HOOKS: "a receiver that, after answering 5xx, does not finish the job on Stripe's retry, or "
                 "finishes it twice",
    DELAY_HOOK: "a receiver that allocates again when Stripe retries an event it processed but answered too late",
    ALLOCATIONS: "a payment that allocates tokens twice, or never",
    COMMISSIONS: "a payment that makes two commissions, or none",
    DISPUTES: "a dispute that is never recorded on its order",
    PAID_AT: "a paid order without its paid_at time",
    API_MODE: "a receiver that drops an event arriving before its order is committed (Stripe can answer the "
              "order's own create-intent call and send the event before the order's transaction ends)",
}


class TargetError(Exception):
    """The target answered something the contract does not allow (the message says what)."""


class Misconfigured(TargetError):
    """The harness was set up in a way this target cannot work with (a usage error, exit 2):
    the message names the flag to change."""


class TargetUnreachable(TargetError):
    """The target could not be reached at all (connection refused, DNS, TLS...)."""


class Unsupported(Exception):
    """A check needs something this target cannot show; carries the reason for the skip."""

    def __init__(self, capability: str, reason: str, catches: str = ""):
        super().__init__(reason)
        self.capability = capability
        self.reason = reason
        self.catches = catches or CATCHES.get(capability, "")


@dataclass
class Order:
    """An order as created: what the harness needs to pay it and to find it again."""
    id: str
    payment_intent: Optional[str]
    amount: Optional[int] = None
    currency: str = "usd"
    client_secret: Optional[str] = None
    raw: dict = field(default_factory=dict)


@dataclass
class OrderView:
    """An order as the target shows it now. Counts are None when the target cannot show them."""
    id: str
    status: Optional[str]
    paid_at: Any = None
    payment_intent: Optional[str] = None
    allocations: Optional[int] = None
    commissions: Optional[int] = None
    disputes: Optional[int] = None
    http_status: int = 200
    raw: Any = None

    def summary(self) -> dict:
        return {"status": self.status, "paid_at": self.paid_at, "allocations": self.allocations,
                "commissions": self.commissions, "disputes": self.disputes}


class Target:
    """Base class of target adapters. Subclasses implement the three contract calls."""

    name = "target"
    capabilities: frozenset = frozenset()
    #: why each missing capability is missing (shown in skip reasons)
    missing_reasons: dict = {}

    @property
    def webhook_url(self) -> str:
        raise NotImplementedError

    def create_order(self, quantity: int = 1, tier: Optional[str] = None) -> Order:
        raise NotImplementedError

    def get_order(self, order_id: str) -> OrderView:
        raise NotImplementedError

    # Optional fault hooks (capabilities FAULT_HOOKS / CRASH_HOOK).
    def fail_next_webhooks(self, count: int) -> None:
        raise Unsupported(FAULT_HOOKS, self.why_missing(FAULT_HOOKS))

    def crash_next_webhooks(self, count: int) -> None:
        raise Unsupported(CRASH_HOOK, self.why_missing(CRASH_HOOK))

    def delay_next_webhooks(self, count: int, milliseconds: int) -> None:
        raise Unsupported(DELAY_HOOK, self.why_missing(DELAY_HOOK))

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def why_missing(self, capability: str) -> str:
        return self.missing_reasons.get(capability) or "%s cannot show %s" % (self.name, capability)

    def require(self, capability: str) -> None:
        if not self.has(capability):
            raise Unsupported(capability, self.why_missing(capability))

    def start(self) -> None:
        """Bring the target up (the bundled receiver starts a server; HTTP targets check reachability)."""

    def stop(self) -> None:
        """Release what ``start`` took."""

    def describe(self) -> str:
        return self.name
