"""Receiver configuration, read from the same environment variables as the POSX guide.

Everything the receiver needs is in one frozen ``ReceiverConfig``; ``from_env()`` builds it
from the environment so gunicorn workers (separate processes) see the same settings as the
command that started them.

``STRIPE_WEBHOOK_SECRET`` is used exactly as given: surrounding whitespace is *not*
stripped. The guide's troubleshooting section names a pasted space or newline as a cause
of "Invalid signature"; stripping it here would hide that deploy mistake, which
``posx-harness doctor`` looks for. The receiver logs a warning when it sees one.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Dict, Mapping, Optional, Tuple

from simulator.signing import redact_secret

log = logging.getLogger("posx.receiver")

DEFAULT_DATABASE_URL = "sqlite:///posx-receiver.sqlite3"
DEFAULT_API_TOKENS = ("posx-test-token",)
DEFAULT_SITE_CODES = ("NA", "EU", "APAC", "LATAM")


@dataclasses.dataclass(frozen=True)
class Tier:
    """A purchasable package: price per unit in minor units and POSX tokens per unit."""

    id: str
    price: int
    tokens: int
    currency: str = "usd"


DEFAULT_TIERS: Tuple[Tier, ...] = (
    Tier("tier_starter", price=1000, tokens=100),
    Tier("tier_growth", price=5000, tokens=550),
    Tier("tier_whale", price=50000, tokens=6000),
)

TRUE_WORDS = {"1", "true", "yes", "on"}


def _flag(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


def _words(value: Optional[str], default: Tuple[str, ...]) -> Tuple[str, ...]:
    if value is None or not value.strip():
        return default
    return tuple(w.strip() for w in value.split(",") if w.strip())


def parse_tiers(value: Optional[str]) -> Tuple[Tier, ...]:
    """``POSX_TIERS``: JSON ``{"tier_id": {"price": 1000, "tokens": 100}, ...}``."""
    if value is None or not value.strip():
        return DEFAULT_TIERS
    try:
        raw = json.loads(value)
        return tuple(
            Tier(str(k), price=int(v["price"]), tokens=int(v["tokens"]), currency=str(v.get("currency", "usd")))
            for k, v in raw.items()
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError("POSX_TIERS must be JSON like {\"tier_x\": {\"price\": 1000, \"tokens\": 100}}: %s" % exc) from exc


@dataclasses.dataclass(frozen=True)
class ReceiverConfig:
    webhook_secret: str = ""
    stripe_secret_key: str = "sk_test_posx_reference"
    stripe_publishable_key: str = "pk_test_posx_reference"
    mock_stripe: bool = False
    stripe_api_base: Optional[str] = None
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL only: run in this schema (created if missing). Tests isolate themselves so.
    database_schema: Optional[str] = None
    api_tokens: Tuple[str, ...] = DEFAULT_API_TOKENS
    site_codes: Tuple[str, ...] = DEFAULT_SITE_CODES
    tiers: Tuple[Tier, ...] = DEFAULT_TIERS
    max_quantity: int = 100
    # One commission per paid order, to the order's referrer (or the site's house account).
    commission_rate_bps: int = 1000
    flavor: str = "reference"
    enable_fault_hooks: bool = False
    # How a "crash" fault ends the worker: "exit" = os._exit (gunicorn restarts the worker);
    # "raise" = abort the request like a crash would, for the in-thread development server
    # where exiting would kill the test process.
    crash_mode: str = "exit"
    signature_tolerance: int = 300
    # Outbox worker threads started inside each app process (0 = run `receiver --worker`).
    outbox_threads: int = 1
    # The worker polls rather than being woken per payment: under load it then takes tasks
    # in batches (one write transaction for ~100 tasks instead of one each).
    outbox_poll_interval: float = 0.02

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides) -> "ReceiverConfig":
        env = os.environ if environ is None else environ
        values = dict(
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or cls.stripe_secret_key,
            stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY") or cls.stripe_publishable_key,
            mock_stripe=_flag(env.get("MOCK_STRIPE")),
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            database_schema=env.get("POSX_DB_SCHEMA") or None,
            api_tokens=_words(env.get("POSX_API_TOKENS"), DEFAULT_API_TOKENS),
            site_codes=_words(env.get("POSX_SITE_CODES"), DEFAULT_SITE_CODES),
            tiers=parse_tiers(env.get("POSX_TIERS")),
            max_quantity=int(env.get("POSX_MAX_QUANTITY") or cls.max_quantity),
            commission_rate_bps=int(env.get("POSX_COMMISSION_RATE_BPS") or cls.commission_rate_bps),
            flavor=env.get("POSX_FLAVOR") or "reference",
            enable_fault_hooks=_flag(env.get("POSX_ENABLE_FAULT_HOOKS")),
            crash_mode=env.get("POSX_CRASH_MODE") or "exit",
            signature_tolerance=int(env.get("POSX_SIGNATURE_TOLERANCE") or 300),
            outbox_threads=int(env.get("POSX_OUTBOX_THREADS") or 1),
        )
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> Dict[str, str]:
        """The environment that makes ``from_env()`` rebuild this config (for gunicorn)."""
        env = {
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_SECRET_KEY": self.stripe_secret_key,
            "STRIPE_PUBLISHABLE_KEY": self.stripe_publishable_key,
            "MOCK_STRIPE": "true" if self.mock_stripe else "false",
            "DATABASE_URL": self.database_url,
            "POSX_API_TOKENS": ",".join(self.api_tokens),
            "POSX_SITE_CODES": ",".join(self.site_codes),
            "POSX_TIERS": json.dumps({t.id: {"price": t.price, "tokens": t.tokens, "currency": t.currency} for t in self.tiers}),
            "POSX_MAX_QUANTITY": str(self.max_quantity),
            "POSX_COMMISSION_RATE_BPS": str(self.commission_rate_bps),
            "POSX_FLAVOR": self.flavor,
            "POSX_ENABLE_FAULT_HOOKS": "1" if self.enable_fault_hooks else "0",
            "POSX_CRASH_MODE": self.crash_mode,
            "POSX_SIGNATURE_TOLERANCE": str(self.signature_tolerance),
            "POSX_OUTBOX_THREADS": str(self.outbox_threads),
        }
        if self.stripe_api_base:
            env["STRIPE_API_BASE"] = self.stripe_api_base
        if self.database_schema:
            env["POSX_DB_SCHEMA"] = self.database_schema
        return env

    @property
    def tiers_by_id(self) -> Dict[str, Tier]:
        return {t.id: t for t in self.tiers}

    def describe(self) -> str:
        """One log line; the secret only ever appears redacted."""
        return "flavor=%s db=%s secret=%s mock_stripe=%s api_base=%s fault_hooks=%s" % (
            self.flavor, self.database_url.split("@")[-1], redact_secret(self.webhook_secret),
            self.mock_stripe, self.stripe_api_base, self.enable_fault_hooks)

    def warn_about_secret(self) -> None:
        secret = self.webhook_secret
        if not secret:
            log.warning("STRIPE_WEBHOOK_SECRET is not set: every webhook will be rejected as 'Invalid signature'")
        elif secret != secret.strip():
            log.warning("STRIPE_WEBHOOK_SECRET has surrounding whitespace (%s); signatures made with the real "
                        "secret will not match. Remove the space/newline from the variable.", redact_secret(secret.strip()))
        elif not secret.startswith("whsec_"):
            log.warning("STRIPE_WEBHOOK_SECRET does not start with whsec_ (%s)", redact_secret(secret))
