"""Messages kept inside Yiti: web push notifications and the customer portal inbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiti.channels.choices import Channel
from yiti.core.models import TimeStampedModel


class InboxMessage(TimeStampedModel):
    """One message for one customer's portal inbox (or web push), unique by idempotency key.

    ``customer_id`` has no foreign key: channels sits below customers in the layers.
    """

    customer_id = models.BigIntegerField()
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    metadata = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer_id", "-created_at"], name="channels_inbox_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=[Channel.INBOX, Channel.PUSH]),
                name="channels_inbox_internal_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} for customer {self.customer_id}"
