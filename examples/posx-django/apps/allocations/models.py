import uuid

from django.db import models


def _new_key() -> str:
    return uuid.uuid4().hex


class Allocation(models.Model):
    """Tokens given for a paid order.

    ``key`` is unique: the correct task writes ``order:<id>``, so an order can hold one
    allocation whatever runs the task twice (a duplicate webhook, a redelivered Celery
    message). The guide's task creates one per call (a fresh key each), as written.
    """
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="allocations")
    key = models.CharField(max_length=80, unique=True, default=_new_key)
    tokens = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
