"""pytest-django's settings: the test settings, with Celery tasks run in-process.

``CELERY_TASK_ALWAYS_EAGER``: ``.delay()`` runs the task at once in the caller, here inside
``transaction.on_commit`` of the webhook, so the scenarios need no broker or worker.
gate.sh is the run with a real worker on Redis.
"""
from .settings_test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = True
