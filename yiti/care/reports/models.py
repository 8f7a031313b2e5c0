"""Report snapshots: the numbers of one period for one unit (or the company), frozen as JSON."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yiti.care.reports.choices import ReportKind, SnapshotStatus
from yiti.core.models import TimeStampedModel
from yiti.org.models import OrgUnit


class ReportSnapshot(TimeStampedModel):
    """One generated report: ``kind`` over ``period_start``..``period_end`` (both inclusive, local
    dates) for ``unit`` and the units below it, or for the whole company when ``unit`` is null.

    Generating a period again replaces the numbers in place (one row per kind, period and unit,
    enforced by the two unique constraints: SQL sees two null units as different). ``data`` holds
    the measures, the breakdown by unit and the problem customers with phones already masked.
    The company row of a period also carries the status of the latest generation run.
    """

    kind = models.CharField(_("report"), max_length=8, choices=ReportKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unit"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=SnapshotStatus.choices, default=SnapshotStatus.QUEUED
    )
    generated_at = models.DateTimeField(_("generated"), null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "kind", F("unit_id").asc(nulls_first=True)]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start", "unit"],
                condition=Q(unit__isnull=False),
                name="report_one_per_unit_period",
            ),
            models.UniqueConstraint(
                fields=["kind", "period_start"],
                condition=Q(unit__isnull=True),
                name="report_one_company_per_period",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="report_period_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "-period_start"], name="report_kind_period"),
            models.Index(fields=["unit", "kind", "-period_start"], name="report_unit_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}–{self.period_end}"

    @property
    def is_company(self) -> bool:
        return self.unit_id is None
