from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Channels a message can be sent through (values match customers' consent channels)."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Web push")
    INBOX = "inbox", _("Portal")


class SendStatus(models.TextChoices):
    """Outcome of one send: ``failed`` may be retried, ``rejected`` must not be."""

    SENT = "sent"
    FAILED = "failed"
    REJECTED = "rejected"


class OutboxStatus(models.TextChoices):
    """Where a queued message stands: waiting (first try or a retry), sent, refused by the
    provider, or given up after the last retry."""

    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    REJECTED = "rejected", _("Refused by the provider")
    GAVE_UP = "gave_up", _("Given up after retries")
