import uuid

from django.db import models


def _new_key() -> str:
    return uuid.uuid4().hex


class Commission(models.Model):
    """The commission on a paid order: to its referrer, or ``house:<site_code>``.

    ``key`` is unique, like Allocation's: ``order:<id>`` in the correct task.
    """
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="commissions")
    key = models.CharField(max_length=80, unique=True, default=_new_key)
    beneficiary = models.CharField(max_length=220)
    rate_bps = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
