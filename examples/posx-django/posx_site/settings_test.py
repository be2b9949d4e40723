"""Test settings: the production settings plus the harness's drop-in fault hooks.

This is the whole integration a Django POSX needs for the recovery scenarios: one app in
INSTALLED_APPS (it puts its middleware in front of the others itself) and, because the
gate serves this production-like with DEBUG off, the explicit permission to load anyway.
"""
import os

from .settings import *  # noqa: F401,F403
from .settings import INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["harness.integrations.django"]

POSX_HARNESS = {
    # Loading fault hooks with DEBUG off is refused unless said here (never in production settings).
    "ALLOW_WITHOUT_DEBUG": True,
    "WEBHOOK_PATHS": ["/api/v1/webhooks/stripe/"],
    # "Crash mid-transaction" = the worker dies right after this statement ran, before commit.
    "CRASH_AFTER_SQL": r'^\s*UPDATE\s+"orders_order"',
    # auto: the process dies under gunicorn. gate.sh's load mode says "raise" (the request is
    # aborted and rolled back, answered 500): a dying gthread worker also cuts the other
    # requests it is serving, such as order creations the load test would count as errors.
    "CRASH_MODE": os.environ.get("POSX_HARNESS_CRASH_MODE") or "auto",
}
