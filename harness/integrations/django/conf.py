"""The drop-in's settings: ``settings.POSX_HARNESS`` over these defaults."""
from __future__ import annotations

import os
import re
from typing import Any, Dict

MIDDLEWARE_PATH = "harness.integrations.django.middleware.FaultHooksMiddleware"

DEFAULTS: Dict[str, Any] = {
    # Requests the fault hooks act on (POST only): the contract's webhook route.
    "WEBHOOK_PATHS": ("/api/v1/webhooks/stripe/",),
    # "Crash mid-transaction": the worker dies right after the first SQL statement matching
    # this ran, before the view's transaction commits. The default, the first UPDATE, is the
    # order's update in a POSX webhook; name your order table to be exact, e.g.
    # r'^\s*UPDATE\s+"orders_order"'.
    "CRASH_AFTER_SQL": r"^\s*UPDATE\b",
    # "exit": os._exit, the process dies (gunicorn starts a new worker); "raise": the request
    # is aborted by an exception (its transaction rolls back) and answered 500, for in-process
    # servers such as pytest-django's live_server; "auto": exit under gunicorn, else raise.
    "CRASH_MODE": "auto",
    # Database alias holding the counters.
    "DATABASE": "default",
    # Put the middleware first in MIDDLEWARE when the app loads.
    "AUTO_MIDDLEWARE": True,
    # Load even with DEBUG off (a test deploy served like production). Never in production.
    "ALLOW_WITHOUT_DEBUG": False,
}

ENV_ALLOW = "POSX_HARNESS_ALLOW_WITHOUT_DEBUG"


def get(name: str) -> Any:
    from django.conf import settings

    overrides = getattr(settings, "POSX_HARNESS", None) or {}
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        from django.core.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured("POSX_HARNESS has unknown key(s) %s (known: %s)"
                                   % (", ".join(sorted(unknown)), ", ".join(sorted(DEFAULTS))))
    return overrides.get(name, DEFAULTS[name])


def allowed_without_debug() -> bool:
    env = (os.environ.get(ENV_ALLOW) or "").strip().lower() in ("1", "true", "yes", "on")
    return bool(get("ALLOW_WITHOUT_DEBUG")) or env


def crash_pattern() -> "re.Pattern":
    value = get("CRASH_AFTER_SQL")
    try:
        return re.compile(value, re.IGNORECASE)
    except (re.error, TypeError) as exc:
        from django.core.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured("POSX_HARNESS['CRASH_AFTER_SQL'] is not a regular expression: %s" % exc)


def webhook_paths() -> frozenset:
    paths = get("WEBHOOK_PATHS")
    if isinstance(paths, str):
        paths = (paths,)
    return frozenset(paths)
