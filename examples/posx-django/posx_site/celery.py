"""The Celery app: Redis broker, settings from Django's (``CELERY_*``), tasks from the apps.

``POSX_CELERY_READY_FILE``: the worker writes this file once it consumes, so a script that
starts it (gate.sh) can wait for that instead of guessing a delay.
"""
import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posx_site.settings")

app = Celery("posx_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _announce_ready(**_):
    path = os.environ.get("POSX_CELERY_READY_FILE")
    if path:
        Path(path).write_text(str(os.getpid()))
