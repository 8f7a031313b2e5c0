"""Quality management (质量管理层): the indicator catalogue, the monthly unit scores and the
weekly themes mined from the free text of tickets, replies and survey answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yiti.core.models import TimeStampedModel
from yiti.org.choices import UnitKind
from yiti.org.models import OrgUnit
from yiti.quality.choices import Direction, IndicatorCode, Measure, RunKind, RunStatus


class Indicator(TimeStampedModel):
    """One indicator of the catalogue. ``code`` names its computation; the name shown is the
    code's label (translated). Inactive indicators are neither computed into the score nor
    shown in the ranking. Targets and weights per unit kind are :class:`IndicatorTarget` rows."""

    code = models.CharField(
        _("indicator"), max_length=32, choices=IndicatorCode.choices, unique=True
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    measure = models.CharField(_("measure"), max_length=16, choices=Measure.choices)
    position = models.PositiveSmallIntegerField(_("order"), default=10)
    note = models.CharField(_("how it is counted"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__in=IndicatorCode.values), name="indicator_code_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="indicator_direction_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(self.get_code_display())


class IndicatorTarget(TimeStampedModel):
    """The target, the floor and the weight of an indicator for the units of one kind.

    An indicator scores 100 at (or beyond) its target and 0 at (or beyond) its floor, linearly
    between; the floor lies on the bad side of the target (below it when higher is better).
    A unit's score is the weighted mean of the scores of the indicators it has data for.
    """

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets")
    unit_kind = models.CharField(_("unit kind"), max_length=16, choices=UnitKind.choices)
    target = models.DecimalField(_("target"), max_digits=9, decimal_places=2)
    floor = models.DecimalField(_("zero-score line"), max_digits=9, decimal_places=2)
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["indicator__position", "unit_kind"]
        verbose_name = _("indicator target")
        verbose_name_plural = _("indicator targets")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "unit_kind"], name="indicator_target_unique"
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="indicator_weight_nonnegative"),
            models.CheckConstraint(
                condition=~Q(target=F("floor")), name="indicator_target_not_floor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} · {self.get_unit_kind_display()}"


class QualityRun(TimeStampedModel):
    """One computation of a period: the monthly ranking (``period_start`` the 1st) or the weekly
    themes (``period_start`` a Monday). Computing a period again replaces its rows."""

    kind = models.CharField(_("kind"), max_length=8, choices=RunKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    status = models.CharField(
        _("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "kind"]
        verbose_name = _("quality computation")
        verbose_name_plural = _("quality computations")
        constraints = [
            models.UniqueConstraint(fields=["kind", "period_start"], name="quality_run_once"),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="quality_run_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}"


class UnitScore(models.Model):
    """One unit's month: its weighted score, its rank among the units of its kind, and per
    indicator the value, its base (numerator and denominator), score, weight and contribution
    (``indicators``, keyed by code). The numbers cover the customers of the unit and of every
    unit below it. ``score`` is null (and the unit unranked) when no weighted indicator had data.
    """

    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="scores")
    month = models.DateField(_("month"))
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    unit_kind = models.CharField(_("unit kind"), max_length=16, choices=UnitKind.choices)
    score = models.FloatField(_("score"), null=True, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    ranked_of = models.PositiveIntegerField(default=0)
    coverage = models.FloatField(default=0)
    indicators = models.JSONField(default=dict)

    class Meta:
        ordering = ["month", "unit_kind", F("rank").asc(nulls_last=True), "unit_id"]
        verbose_name = _("unit score")
        verbose_name_plural = _("unit scores")
        constraints = [
            models.UniqueConstraint(fields=["month", "unit"], name="unit_score_once"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100),
                name="unit_score_range",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "-month"], name="unit_score_unit_month"),
            models.Index(fields=["month", "unit_kind", "rank"], name="unit_score_month_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%Y-%m} {self.score}"


class ThemeWeek(models.Model):
    """The free-text documents of one week about the customers of one unit (not of its
    subtree: a scope adds up the rows of its units). ``documents`` counts them."""

    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="theme_weeks")
    week = models.DateField(_("week"))
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    documents = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-week", "unit_id"]
        constraints = [models.UniqueConstraint(fields=["week", "unit"], name="theme_week_once")]

    def __str__(self) -> str:
        return f"{self.week} {self.unit_id} ({self.documents})"


class ThemeTerm(models.Model):
    """A term (a word from the segmentation, not a stop word) and in how many of the week's
    documents of the unit it occurs; ``examples`` holds up to a few ids of tickets it came from."""

    theme_week = models.ForeignKey(ThemeWeek, on_delete=models.CASCADE, related_name="terms")
    week = models.DateField(_("week"))
    term = models.CharField(_("term"), max_length=40)
    documents = models.PositiveIntegerField(default=0)
    examples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-documents", "term"]
        constraints = [
            models.UniqueConstraint(fields=["theme_week", "term"], name="theme_term_once"),
            models.CheckConstraint(condition=Q(documents__gt=0), name="theme_term_counted"),
        ]
        indexes = [models.Index(fields=["week", "term"], name="theme_term_week")]

    def __str__(self) -> str:
        return f"{self.term} ({self.documents})"
