"""The order and what Stripe reports about its payment (refunds, disputes).

Money is integers in the currency's minor unit, currencies lowercase ISO codes, as Stripe
writes them (docs/CONTRACT.md, Money).
"""
import uuid

from django.db import models


class Order(models.Model):
    PENDING, PAID, FAILED, CANCELED, REFUNDED, MISMATCH = (
        "pending", "paid", "failed", "canceled", "refunded", "payment_mismatch")
    STATUSES = [(s, s) for s in (PENDING, PAID, FAILED, CANCELED, REFUNDED, MISMATCH)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site_code = models.CharField(max_length=16)
    tier_id = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    amount = models.BigIntegerField()          # tier price x quantity
    currency = models.CharField(max_length=3)
    tokens = models.BigIntegerField()          # tier tokens x quantity: what the order buys
    referrer = models.CharField(max_length=200, null=True, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=PENDING, db_index=True)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    client_secret = models.CharField(max_length=255, blank=True, default="")
    payment_method = models.CharField(max_length=32, null=True, blank=True)
    amount_refunded = models.BigIntegerField(default=0)
    payment_error = models.CharField(max_length=255, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_refunded__lte=models.F("amount")),
                                   name="refund_at_most_the_amount"),
        ]

    def __str__(self):
        return "Order %s (%s)" % (self.id, self.status)

    @property
    def is_paid(self) -> bool:
        """Paid and not taken back by a mismatch: what allocations and commissions need."""
        return self.paid_at is not None and self.status in (self.PAID, self.REFUNDED)


class Refund(models.Model):
    """One Stripe refund of the order's payment (refund.created / refund.updated)."""
    id = models.CharField(primary_key=True, max_length=255)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)


class Dispute(models.Model):
    id = models.CharField(primary_key=True, max_length=255)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="disputes")
    charge = models.CharField(max_length=255, null=True, blank=True)
    amount = models.BigIntegerField(null=True)
    reason = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
