from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class InteractionChannel(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    PUSH = "push", _("Web push")
    PORTAL = "portal", _("Portal")
    COUNTER = "counter", _("Branch counter")
    IM = "im", _("IM / WeChat")
    FAX = "fax", _("Fax")


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class InteractionPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")
    CARE = "care", _("Care")
    SALES = "sales", _("Sales")


class Outcome(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    REFUSED = "refused", _("Refused")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    OPENED = "opened", pgettext_lazy("response", "Opened")
    RESPONDED = "responded", _("Responded")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CONVERTED = "converted", _("Converted")


class SuppressionReason(models.TextChoices):
    OPEN_COMPLAINT = "open_complaint", _("Open complaint")
    DO_NOT_DISTURB = "do_not_disturb", _("Do not disturb")
    LEGAL = "legal", _("Legal hold")
    OTHER = "other", _("Other")


class Weekday(models.IntegerChoices):
    """Days of the week as Python's ``date.weekday()`` numbers them (Monday is 0)."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")
