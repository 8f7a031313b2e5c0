from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportKind(models.TextChoices):
    DAILY = "daily", _("Daily problem customers")
    WEEKLY = "weekly", _("Weekly satisfaction")
    MONTHLY = "monthly", _("Monthly satisfaction")


class SnapshotStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Generating")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ProblemType(models.TextChoices):
    """Why a customer is on the problem list."""

    COMPLAINT = "complaint", _("Complaint")
    SLA_BREACH = "sla_breach", _("SLA breached")
    DISSATISFIED = "dissatisfied", _("Dissatisfied answer")
    UNREACHED = "unreached", _("Follow-up unreached")


# NPS buckets of the 0–10 "would you recommend" answer
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6
