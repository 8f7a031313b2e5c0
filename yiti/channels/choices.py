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
