"""The guide's two webhook tables: ``IdempotencyKey`` (one row per event id ever processed)
and ``WebhookEvent`` (the log its troubleshooting section queries)."""
from django.db import models


class IdempotencyKey(models.Model):
    key = models.CharField(max_length=255, unique=True)
    source = models.CharField(max_length=32, default="stripe")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key


class WebhookEvent(models.Model):
    PROCESSED, PENDING, IGNORED = "processed", "pending", "ignored"

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    status = models.CharField(max_length=20)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL)
    # What finds the order once it exists (an event can arrive before its order is created).
    order_ref = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    payment_intent = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    payload = models.JSONField(null=True, blank=True)   # kept only while pending
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return "%s %s (%s)" % (self.event_type, self.event_id, self.status)
