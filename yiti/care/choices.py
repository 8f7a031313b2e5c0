from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Trigger(models.TextChoices):
    """What makes a follow-up rule create a care task."""

    REPAIR_RESOLVED = "repair_resolved", _("Repair resolved")
    COMPLAINT_RESOLVED = "complaint_resolved", _("Complaint resolved")
    ORDER_FULFILLED = "order_fulfilled", _("Order fulfilled")
    VALUE_AT_RISK = "value_at_risk", _("Most valuable customer at risk")
    AGENT_REQUEST = "agent_request", _("Accepted while serving the customer")
    HANDOVER = "handover", _("Customers handed over to another account manager")


class TaskKind(models.TextChoices):
    FIRST = "first", _("Follow-up call")
    SECOND = "second", _("Second follow-up")
    SATISFACTION = "satisfaction", _("Satisfaction call")
    RETENTION = "retention", _("Retention call")
    HANDOVER = "handover", _("Handover call")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("care task status", "Open")
    DONE = "done", _("Done")
    ESCALATED = "escalated", _("Escalated")
    CANCELLED = "cancelled", _("Cancelled")


class AttemptOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    REFUSED = "refused", _("Refused")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class QuestionKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (1–5)")
    NPS = "nps", _("Would recommend (0–10)")
    TEXT = "text", _("Free text")


class QuestionTarget(models.TextChoices):
    """Whom a question rates: the satisfaction call after an order rates sales and service apart."""

    GENERAL = "", _("Overall")
    SALES = "sales", _("Salesperson")
    SERVICE = "service", _("Service")


class ResponseChannel(models.TextChoices):
    CALL = "call", _("Care call")
    LINK = "link", _("Customer link")


class Bucket(models.TextChoices):
    """Views of the care queue."""

    DUE_TODAY = "due_today", _("Due today")
    OVERDUE = "overdue", _("Overdue")
    UPCOMING = "upcoming", _("Upcoming")
    OPEN = "open", _("All open")
    ESCALATED = "escalated", _("Escalated")
    DONE = "done", _("Done")


SCORE_RANGES = {QuestionKind.CSAT: (1, 5), QuestionKind.NPS: (0, 10)}
