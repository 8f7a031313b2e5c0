from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class IndicatorCode(models.TextChoices):
    """The service indicators a unit is judged on (the seed's nine service indicators).

    The code names the computation (``yiti.quality.indicators``); targets, floors, weights
    and whether an indicator counts at all are data (:class:`~yiti.quality.models.Indicator`).
    """

    SLA_ATTAINMENT = "sla_attainment", _("SLA attainment")
    FIRST_CONTACT_RESOLUTION = "first_contact_resolution", _("First-contact resolution")
    COMPLAINT_RATE = "complaint_rate", _("Complaints per thousand customers")
    REPEAT_COMPLAINTS = "repeat_complaints", _("Repeat complaints within 30 days")
    CARE_ON_TIME = "care_on_time", _("Care calls completed in time")
    CSAT = "csat", _("Satisfaction (CSAT)")
    NPS = "nps", _("Net promoter score (NPS)")
    HANDLING_TIME = "handling_time", _("Average handling time")
    REOPEN_RATE = "reopen_rate", _("Reopen rate")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class Measure(models.TextChoices):
    """How an indicator's value reads."""

    PERCENT = "percent", pgettext_lazy("measure", "%")
    PER_THOUSAND = "per_thousand", pgettext_lazy("measure", "per 1,000 customers")
    SCORE_5 = "score_5", pgettext_lazy("measure", "of 5")
    NPS = "nps", pgettext_lazy("measure", "points (−100 to 100)")
    HOURS = "hours", pgettext_lazy("measure", "hours")


class RunKind(models.TextChoices):
    RANKING = "ranking", _("Monthly ranking")
    THEMES = "themes", _("Weekly themes")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Computing")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
