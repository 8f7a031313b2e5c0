"""The cockpit's rollups: small daily (or weekly) aggregates per org unit, kept by the worker.

Every rollup row is derived data: ``yiti insights rebuild`` deletes and recomputes all of it from
the domain tables, and the scheduled refresh (``rollups.rollups_refresh``) recomputes only the
days touched since its watermark. The unit of a row is the customer's unit (片区 / branch) at
refresh time, so a region manager's cockpit sums the rows of his subtree; the cockpit never reads
the domain tables on a page view, only these.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiti.campaigns.models import Campaign
from yiti.core.models import TimeStampedModel
from yiti.org.models import OrgUnit


class RollupWatermark(TimeStampedModel):
    """How far one rollup has been brought up to date.

    ``changed_until`` is the time up to which changes of the source rows have been folded in
    (the next run looks at rows changed after it); ``last_id`` the highest source id seen where
    the source has no change time of its own. ``rebuilt_at`` is the last full rebuild.
    """

    name = models.CharField(max_length=40, unique=True)
    changed_until = models.DateTimeField(null=True, blank=True)
    last_id = models.BigIntegerField(default=0)
    mark = models.CharField(max_length=120, blank=True)  # a source's state where neither fits
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    days_refreshed = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.changed_until}"


class FunnelDay(TimeStampedModel):
    """One campaign's funnel among one unit's customers, for the deliveries planned on ``day``.

    Counted by the day a delivery was planned for (a cohort), so every later step is a subset
    of the earlier one and the funnel only narrows. ``revenue`` and ``margin`` are those of the
    orders the conversions produced (ROI inputs).
    """

    day = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    planned = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    margin = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        ordering = ["day", "unit_id", "campaign_id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "campaign"], name="funnel_day_unique"),
            models.CheckConstraint(
                condition=Q(sent__lte=models.F("planned")) & Q(converted__lte=models.F("planned")),
                name="funnel_day_narrows",
            ),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="funnel_day_unit")]

    def __str__(self) -> str:
        return f"{self.day} {self.campaign_id}@{self.unit_id}: {self.planned}"


class TicketDay(TimeStampedModel):
    """The tickets of one unit's customers opened on ``day``, per kind (and, for complaints,
    per class and campaign): opened, resolved, breached SLA, resolved within SLA."""

    day = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24)
    complaint_class = models.CharField(max_length=16, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    opened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    attained = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "unit_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "unit", "kind", "complaint_class", "campaign"],
                name="ticket_day_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(attained__lte=models.F("resolved")), name="ticket_day_attained"
            ),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="ticket_day_unit")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}@{self.unit_id}: {self.opened}"


class CareDay(TimeStampedModel):
    """The care calls of one unit's customers due on ``day``, per kind: how many were due,
    done (and done by the due time), escalated, cancelled, still open."""

    day = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    due = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    done_on_time = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "unit_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "kind"], name="care_day_unique"),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="care_day_unit")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}@{self.unit_id}: {self.due}"


class SatisfactionDay(TimeStampedModel):
    """Survey answers submitted on ``day`` by one unit's customers, per line (overall, sales,
    service): CSAT (1–5) sum, count and satisfied (4–5); NPS (0–10) count, promoters (9–10)
    and detractors (0–6)."""

    day = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    line = models.CharField(max_length=8, blank=True)
    csat_count = models.PositiveIntegerField(default=0)
    csat_sum = models.PositiveIntegerField(default=0)
    csat_satisfied = models.PositiveIntegerField(default=0)
    nps_count = models.PositiveIntegerField(default=0)
    promoters = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "unit_id", "line"]
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "line"], name="satisfaction_day_unique"),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="satisfaction_day_unit")]

    def __str__(self) -> str:
        return f"{self.day} {self.line or 'overall'}@{self.unit_id}"


class PressureWeek(TimeStampedModel):
    """Contact pressure: how many of one unit's customers had ``contacts`` interactions (any
    channel, any department, marketing and service together) in the week starting ``week``
    (a Monday). ``contacts`` is capped at ``PRESSURE_TOP`` (that bucket means "or more");
    customers with no contact are the unit's customers less the other buckets."""

    week = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    contacts = models.PositiveSmallIntegerField()
    customers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["week", "unit_id", "contacts"]
        constraints = [
            models.UniqueConstraint(
                fields=["week", "unit", "contacts"], name="pressure_week_unique"
            ),
        ]
        indexes = [models.Index(fields=["unit", "week"], name="pressure_week_unit")]

    def __str__(self) -> str:
        return f"{self.week} {self.contacts}@{self.unit_id}: {self.customers}"


class UnitCustomers(TimeStampedModel):
    """How many active customers a unit has, and how many in each value tier and at risk of
    churning (churn risk at or above the value settings' threshold): a snapshot refreshed with
    the rollups."""

    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    tier = models.CharField(max_length=10, blank=True)  # "" for customers without a value
    customers = models.PositiveIntegerField(default=0)
    at_risk = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["unit_id", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "tier"], name="unit_customers_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.tier}: {self.customers}"


class TierMoveDay(TimeStampedModel):
    """Customers of one unit whose value tier moved ``from_tier`` → ``to_tier`` on ``day``."""

    day = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    from_tier = models.CharField(max_length=10, blank=True)
    to_tier = models.CharField(max_length=10)
    customers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "unit_id", "from_tier", "to_tier"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "unit", "from_tier", "to_tier"], name="tier_move_day_unique"
            ),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="tier_move_day_unit")]

    def __str__(self) -> str:
        return f"{self.day} {self.from_tier}->{self.to_tier}@{self.unit_id}"


class CockpitSubscription(TimeStampedModel):
    """Who receives the cockpit report of a unit: everyone holding ``role`` in ``unit``, each
    Monday for the week before (``weekly``) or by the 5th for the month before (``monthly``),
    e-mailed as XLSX and PDF with the key figures in the body and shown in notifications."""

    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=24)
    cadence = models.CharField(_("cadence"), max_length=8)  # weekly or monthly
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["unit_id", "role", "cadence"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "role", "cadence"], name="cockpit_subscription_unique"
            ),
            models.CheckConstraint(
                condition=Q(cadence__in=["weekly", "monthly"]), name="cockpit_subscription_cadence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.role} {self.cadence}"


class CockpitReport(TimeStampedModel):
    """One period's cockpit report of a subscription: its files and key figures. Each
    recipient's e-mail is an outbox message (``channels.OutboxMessage``, idempotency key
    ``cockpit-report-<id>-<user id>``) that the worker sends and retries."""

    subscription = models.ForeignKey(
        CockpitSubscription, on_delete=models.CASCADE, related_name="reports"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    xlsx_path = models.CharField(max_length=500)
    pdf_path = models.CharField(max_length=500)
    figures = models.JSONField(default=dict, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="cockpit_report_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_start}–{self.period_end}"
