"""Settings of the POSX example, all from the environment (12-factor, as on Railway).

The guide's variables: STRIPE_WEBHOOK_SECRET, STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY,
MOCK_STRIPE. Ours: STRIPE_API_BASE (where the official SDK sends API calls: the harness's
simulator in a gate), DATABASE_URL (PostgreSQL, else SQLite), CELERY_BROKER_URL,
POSX_VARIANT (``correct``, or ``guide`` for the guide's code as written), and the
POSX_* order settings shared with the reference receiver. docs/DJANGO.md lists them all.
"""
import os
from pathlib import Path

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "posx-example-not-a-secret"
DEBUG = env.flag("DJANGO_DEBUG")
ALLOWED_HOSTS = list(env.words("DJANGO_ALLOWED_HOSTS", ("127.0.0.1", "localhost", "[::1]", "testserver")))

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "apps.orders",
    "apps.webhooks",
    "apps.allocations",
    "apps.commissions",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "posx_site.urls"
WSGI_APPLICATION = "posx_site.wsgi.application"
APPEND_SLASH = False  # a POST to /api/v1/webhooks/stripe without the slash must not be redirected
STATIC_URL = "static/"  # no static files; pytest-django's live_server needs the setting

DATABASES = {"default": env.database(os.environ.get("DATABASE_URL") or "sqlite:///" + str(BASE_DIR / "posx-django.sqlite3"),
                                     os.environ.get("POSX_DB_SCHEMA") or None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# -- Stripe (the guide's variables) --------------------------------------------------------
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")  # used exactly as given
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or "sk_test_posx_django_example"
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY") or "pk_test_posx_django_example"
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None
MOCK_STRIPE = env.flag("MOCK_STRIPE")
STRIPE_SIGNATURE_TOLERANCE = int(os.environ.get("POSX_SIGNATURE_TOLERANCE") or 300)

# -- POSX ----------------------------------------------------------------------------------
POSX_VARIANT = os.environ.get("POSX_VARIANT") or "correct"
if POSX_VARIANT not in ("correct", "guide"):
    raise ValueError("POSX_VARIANT must be 'correct' or 'guide', got %r" % POSX_VARIANT)
# The guide variant only: milliseconds between its unlocked read of the order and its write
# (apps/webhooks/guide.py says why).
POSX_GUIDE_READ_GAP_MS = float(os.environ.get("POSX_GUIDE_READ_GAP_MS") or 50)
POSX_API_TOKENS = env.words("POSX_API_TOKENS", ("posx-test-token",))
POSX_SITE_CODES = env.words("POSX_SITE_CODES", ("NA", "EU", "APAC", "LATAM"))
POSX_TIERS = env.tiers()
POSX_MAX_QUANTITY = int(os.environ.get("POSX_MAX_QUANTITY") or 100)
POSX_COMMISSION_RATE_BPS = int(os.environ.get("POSX_COMMISSION_RATE_BPS") or 1000)

# -- Celery (Redis broker) -----------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("POSX_CELERY_QUEUE") or "posx"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True           # a worker that dies mid-task leaves it for the next one
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.flag("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"guide": {"format": "[%(levelname)s] %(message)s"}},  # the guide's log line shape
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "guide"}},
    "loggers": {
        "apps": {"handlers": ["console"], "level": os.environ.get("POSX_LOG_LEVEL") or "INFO", "propagate": False},
        "posx_harness": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
