"""Money checks for scenarios: what an order was paid, allocated, commissioned and refunded.

The rules are the contract's (docs/CONTRACT.md, "## Money"). The expected figures come from
the target itself (``GET /api/v1/tiers/``: each tier's price and tokens, and
``commission_rate_bps``), never from constants here, so the same scenarios gate any POSX.

A check reads the order's JSON by the contract's field names (``tokens``,
``amount_refunded``, ``payment_error``, ``allocations[].tokens``, ``commissions[].amount``
and ``rate_bps``); a target whose order JSON lacks one cannot be checked for it, and the
check raises ``Unsupported`` (reported as not checked, never as passed), naming what it would
have caught.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from harness.engine import target as t
from harness.engine.report import ScenarioFailure
from harness.engine.waiting import hold, poll

MONEY = "money"                   # the capability a money check needs (for Unsupported)
DEFAULT_RATE_BPS = 1000           # the contract's default when the target does not say
TIERS_PATH = "/api/v1/tiers/"


@dataclass(frozen=True)
class Tier:
    id: str
    price: int
    tokens: int
    currency: str


@dataclass(frozen=True)
class Pricing:
    """What the target sells: its tiers (in its order) and its commission rate."""
    tiers: tuple
    rate_bps: int

    def usd_tier(self) -> Tier:
        """A tier a bank debit (ACH, usd only) can pay; not checked when the target sells none."""
        for tier in self.tiers:
            if tier.currency == "usd":
                return tier
        raise not_checked("the target sells no tier in usd, and ACH Direct Debit (the delayed payment method "
                          "the harness simulates) is usd only", "bank_debit")

    def tier(self, which) -> Tier:
        """A tier by id, or by position (``0``, ``1``, ``-1``; wraps when the target has fewer)."""
        if isinstance(which, str):
            for tier in self.tiers:
                if tier.id == which:
                    return tier
            raise t.TargetError("the target's %s lists no tier %r (it has: %s)"
                                % (TIERS_PATH, which, ", ".join(x.id for x in self.tiers)))
        return self.tiers[which % len(self.tiers)]


def tokens_for(tier: Tier, quantity: int) -> int:
    """What an order buys: the tier's tokens x the quantity."""
    return tier.tokens * quantity


def commission_for(amount: int, rate_bps: int) -> int:
    """The contract's commission: floor(amount x rate_bps / 10000) in the minor unit (the
    fraction of a cent is never paid out)."""
    return amount * rate_bps // 10000


# What a money check would have caught, by the figure it reads: named when the target cannot
# show that figure, so a run that could not check it says which bug may still be there.
CATCHES = {
    "tokens": "an order that allocates the wrong number of tokens (the tier's tokens x the quantity)",
    "allocations": "an order that allocates the wrong number of tokens (the tier's tokens x the quantity)",
    "commissions": "a commission at the wrong rate, on the wrong base or rounded the wrong way",
    "amount_refunded": "a partial refund that marks the order refunded, or refunds that are lost or counted twice",
    "payment_error": "an order paid although Stripe received less than its amount, or another currency",
    "tiers": "wrong tokens, a wrong commission, wrong refunds, and payments of the wrong amount",
    "bank_debit": "an order paid by a Checkout whose bank debit has not succeeded (completed, payment_status unpaid)",
}


def not_checked(reason: str, *figures: str) -> t.Unsupported:
    """``Unsupported`` for a money check, carrying what it would have caught (the verdict's
    not-checked report names it when the scenario has no ``catches`` marker of its own)."""
    catches = "; ".join(dict.fromkeys(CATCHES[f] for f in figures if f in CATCHES)) or CATCHES["tiers"]
    return t.Unsupported(MONEY, reason, catches=catches)


_pricing_cache: dict = {}


def pricing(posx) -> Pricing:
    """The target's tiers and commission rate (read once per target)."""
    key = id(posx.target)
    if key not in _pricing_cache:
        _pricing_cache[key] = _read_pricing(posx.target)
    return _pricing_cache[key]


def _read_pricing(target) -> Pricing:
    if not hasattr(target, "call") or not hasattr(target, "profile"):
        raise not_checked("%s is not an HTTP target: its tiers (%s) cannot be read" % (target.describe(), TIERS_PATH))
    resp = target.call({"method": "GET", "path": TIERS_PATH})
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if resp.status_code == 404:
        raise not_checked("%s has no %s (docs/CONTRACT.md): the expected tokens and commission cannot be known"
                          % (target.describe(), TIERS_PATH))
    if resp.status_code != 200 or not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise t.TargetError("GET %s answered %d: %s" % (TIERS_PATH, resp.status_code, (resp.text or "")[:300]))
    tiers = []
    for row in doc["data"]:
        try:
            tiers.append(Tier(str(row["id"]), int(row["price"]), int(row["tokens"]),
                              str(row.get("currency") or "usd").lower()))
        except (KeyError, TypeError, ValueError):
            raise t.TargetError("GET %s: a tier needs id, price and tokens, got %r" % (TIERS_PATH, row))
    if not tiers:
        raise t.TargetError("GET %s lists no tier" % TIERS_PATH)
    rate = doc.get("commission_rate_bps", DEFAULT_RATE_BPS)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
        raise t.TargetError("GET %s: commission_rate_bps must be a whole number of basis points, got %r"
                            % (TIERS_PATH, rate))
    return Pricing(tuple(tiers), rate)


# -- Stripe-side actions that pay the wrong amount -------------------------------------------
def pay_other_amount(posx, order: t.Order, amount: Optional[int] = None, currency: Optional[str] = None,
                     card="4242", faults=(), deliver: bool = True):
    """Pay the order's intent after changing its amount and/or currency, as a tampered client
    could before confirming (api mode), or as an adopted intent that carries another amount
    (inject mode: the harness adopted it, then changes it the same way)."""
    params = {}
    if amount is not None:
        params["amount"] = str(amount)
    if currency is not None:
        params["currency"] = currency
    posx.stripe.backend.update_payment_intent(order.payment_intent, params)
    return posx.pay(order, card=card, faults=faults, deliver=deliver)


# -- reading and expecting -------------------------------------------------------------------
@dataclass
class MoneyView:
    """The money an order shows, read from its JSON by the contract's names."""
    status: Optional[str]
    tier_id: Any = None
    quantity: Any = None
    amount: Any = None
    currency: Any = None
    tokens: Any = None
    allocations: Optional[list] = None      # tokens of each allocation
    commissions: Optional[list] = None      # (beneficiary, rate_bps, amount) of each commission
    amount_refunded: Any = None
    payment_error: Any = None
    missing: tuple = ()

    def summary(self) -> dict:
        out = {"status": self.status, "tier_id": self.tier_id, "quantity": self.quantity, "amount": self.amount,
               "currency": self.currency, "tokens": self.tokens, "allocated_tokens": self.allocations,
               "commissions": self.commissions, "amount_refunded": self.amount_refunded,
               "payment_error": self.payment_error}
        return {k: v for k, v in out.items() if v is not None}


def read(posx, order: t.Order) -> MoneyView:
    view = posx.view(order)
    doc = view.raw if isinstance(view.raw, dict) else None
    if doc is None or view.http_status != 200:
        return MoneyView(view.status, missing=("the order JSON (HTTP %s)" % view.http_status,))
    target = posx.target
    missing = []

    def get(name):
        if name not in doc:
            missing.append(name)
        return doc.get(name)

    def listed(name):
        value = target.field(doc, name) if hasattr(target, "field") else doc.get(name)
        if value is None and name not in doc:
            missing.append(name)
        return value if isinstance(value, list) else None

    allocations = listed("allocations")
    commissions = listed("commissions")
    return MoneyView(
        status=view.status, tier_id=get("tier_id"), quantity=get("quantity"), amount=get("amount"),
        currency=get("currency"), tokens=get("tokens"),
        allocations=None if allocations is None else [a.get("tokens") if isinstance(a, dict) else None
                                                      for a in allocations],
        commissions=None if commissions is None else [
            (c.get("beneficiary"), c.get("rate_bps"), c.get("amount")) if isinstance(c, dict) else None
            for c in commissions],
        amount_refunded=get("amount_refunded"), payment_error=get("payment_error"), missing=tuple(missing))


# expectation name -> the order JSON fields it needs
NEEDS = {"tier_id": ("tier_id",), "quantity": ("quantity",), "amount": ("amount",), "currency": ("currency",),
         "tokens": ("tokens",), "allocated_tokens": ("allocations",), "commission": ("commissions",),
         "commission_rate_bps": ("commissions",), "amount_refunded": ("amount_refunded",),
         "payment_error": ("payment_error",), "status": ()}


def _holds(mv: MoneyView, key: str, want) -> bool:
    if key == "status":
        return mv.status in want if isinstance(want, (tuple, list, set)) else mv.status == want
    if key == "allocated_tokens":   # the tokens of every allocation, in a list (one per allocation)
        return mv.allocations == list(want)
    if key == "commission":         # the amount of every commission, in a list
        return mv.commissions is not None and [c and c[2] for c in mv.commissions] == list(want)
    if key == "commission_rate_bps":
        return bool(mv.commissions) and all(c and c[1] == want for c in mv.commissions)
    if key == "payment_error":      # None: empty; a string: the error starts with it
        have = mv.payment_error
        return not have if want is None else isinstance(have, str) and have.startswith(want)
    if key == "currency":
        return isinstance(mv.currency, str) and mv.currency.lower() == want
    return getattr(mv, key) == want


def expect(posx, order: t.Order, timeout: Optional[float] = None, **wanted) -> MoneyView:
    """Wait until the order shows every money figure in ``wanted``; lists of allocations and
    commissions must then stay put for the settle time (no late second allocation).

    Keys: status, tier_id, quantity, amount, currency, tokens, allocated_tokens=[...],
    commission=[...], commission_rate_bps, amount_refunded, payment_error (None = empty, or
    the start of the error, e.g. "amount_mismatch").
    """
    unknown = set(wanted) - set(NEEDS)
    if unknown:
        raise TypeError("unknown money expectation(s): %s" % ", ".join(sorted(unknown)))
    first = read(posx, order)
    lacking = sorted({f for k in wanted for f in NEEDS[k] if f in first.missing})
    if lacking:
        raise not_checked("%s's order JSON has no %s (docs/CONTRACT.md, Money): its %s cannot be checked"
                          % (posx.target.describe(), ", ".join(lacking), ", ".join(sorted(wanted))), *lacking)

    def probe():
        mv = read(posx, order)
        return all(_holds(mv, k, v) for k, v in wanted.items()), mv

    result = poll(probe, posx.options.timeout if timeout is None else timeout)
    if not result.ok:
        raise ScenarioFailure(posx._report("order %s does not show the money expected" % order.id, wanted,
                                           result.seen.summary(), order, reason=result.reason))
    if {"allocated_tokens", "commission"} & set(wanted) and posx.options.settle > 0:
        steady = hold(probe, posx.options.settle)
        if not steady.ok:
            raise ScenarioFailure(posx._report("order %s showed the money expected, then changed" % order.id,
                                               wanted, steady.seen.summary(), order, reason=steady.reason))
    return result.seen


def expect_paid(posx, order: t.Order, tier: Tier, quantity: int, status="paid", **more) -> MoneyView:
    """Paid once, in full: the order's tokens allocated once and the contract's commission once
    (a refund keeps both: ``status="refunded"``)."""
    price = pricing(posx)
    amount = tier.price * quantity
    return expect(posx, order, status=status, amount=amount, currency=tier.currency,
                  tokens=tokens_for(tier, quantity), allocated_tokens=[tokens_for(tier, quantity)],
                  commission=[commission_for(amount, price.rate_bps)], commission_rate_bps=price.rate_bps, **more)
