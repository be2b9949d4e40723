"""Reading the environment: the guide's variables (STRIPE_*, MOCK_STRIPE) and the POSX ones.

Kept apart from settings.py so the parsing is testable and settings.py reads like settings.
"""
from __future__ import annotations

import json
import os
from urllib.parse import parse_qs, unquote, urlsplit

TRUE_WORDS = {"1", "true", "yes", "on"}


def flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in TRUE_WORDS


def words(name: str, default: tuple) -> tuple:
    value = os.environ.get(name) or ""
    got = tuple(w.strip() for w in value.split(",") if w.strip())
    return got or default


def database(url: str, schema: str | None = None) -> dict:
    """``DATABASES["default"]`` from a URL: ``sqlite:///relative.sqlite3``,
    ``sqlite:////absolute/path``, or ``postgresql://user:pass@host:port/name``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path) or "posx-django.sqlite3"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                # BEGIN IMMEDIATE: a transaction takes SQLite's write lock when it starts, so two
                # webhooks for one order queue up instead of both reading it "pending" (SQLite
                # has no row locks; select_for_update() is a no-op there).
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                # WAL: readers (order views, the Celery worker) never wait for the writer.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Tests (pytest-django's live_server) need a file: an in-memory test database is one
            # connection shared by every server thread, which would mix their transactions.
            "TEST": {"NAME": os.environ.get("POSX_TEST_SQLITE") or path + ".test"},
        }
    if parts.scheme in ("postgres", "postgresql"):
        options = {}
        query = parse_qs(parts.query)
        if "sslmode" in query:
            options["sslmode"] = query["sslmode"][0]
        if schema:
            options["options"] = "-c search_path=%s" % schema
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
        }
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://, got %r" % url.split("@")[-1])


DEFAULT_TIERS = {
    "tier_starter": {"price": 1000, "tokens": 100, "currency": "usd"},
    "tier_growth": {"price": 5000, "tokens": 550, "currency": "usd"},
    "tier_whale": {"price": 50000, "tokens": 6000, "currency": "usd"},
}


def tiers(name: str = "POSX_TIERS") -> dict:
    """``POSX_TIERS``: JSON ``{"tier_x": {"price": 1000, "tokens": 100, "currency": "usd"}}``
    (the reference receiver's variable and defaults)."""
    value = os.environ.get(name)
    if not value or not value.strip():
        return {k: dict(v) for k, v in DEFAULT_TIERS.items()}
    try:
        raw = json.loads(value)
        return {str(k): {"price": int(v["price"]), "tokens": int(v["tokens"]),
                         "currency": str(v.get("currency", "usd")).lower()} for k, v in raw.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError('%s must be JSON like {"tier_x": {"price": 1000, "tokens": 100}}: %s' % (name, exc))
