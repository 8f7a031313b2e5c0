"""Messages kept inside Yiti (web push, the portal inbox) and the outbox of messages to send."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiti.channels.choices import Channel, OutboxStatus
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


class OutboxMessage(TimeStampedModel):
    """A message queued in the transaction of the change it tells about, sent by the worker.

    The row commits (or rolls back) with the change, so a rolled-back write sends nothing; the
    worker sends it through the channel's adapter with ``idempotency_key`` (the e-mail's
    Message-ID), retries a failure with a growing delay, and marks it ``sent`` only once the
    provider took it. ``claimed_until`` keeps two workers from sending the same row at once.
    ``kind`` names what the message is for (``service.customer_news``, ``org.notification``):
    the owner's hook, registered in ``channels.outbox``, runs when it is sent (the service
    desk puts a customer's e-mail on the timeline then, not before).
    """

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="channels_outbox_due",
                condition=models.Q(status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="channels_outbox_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.idempotency_key} ({self.status})"
