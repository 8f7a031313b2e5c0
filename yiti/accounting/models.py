"""Accounting: campaign budgets and cost lines, contact costs as data, and the weekly
account-manager scorecard snapshots.

Unit × product results and the live scorecards are computed when asked (set-based, from
orders, campaign credit, costs and service use); only what must be kept as it was — money
entered by hand and last week's scorecards — is stored here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiti.accounting.choices import CostKind
from yiti.campaigns.choices import WaveChannel
from yiti.campaigns.models import Campaign
from yiti.core.models import TimeStampedModel
from yiti.org.models import OrgUnit


class ContactCost(TimeStampedModel):
    """What one contact on a channel costs: the carrier's or provider's charge, and the
    agent's minutes at an hourly cost (calls and visits). A channel without a row costs its
    default (``accounting.economics.DEFAULT_CONTACT_COSTS``)."""

    channel = models.CharField(_("channel"), max_length=8, choices=WaveChannel.choices, unique=True)
    per_contact = models.DecimalField(
        _("charge per contact (yuan)"), max_digits=10, decimal_places=4, default=0
    )
    agent_minutes = models.DecimalField(
        _("agent minutes per contact"), max_digits=6, decimal_places=1, default=0
    )
    agent_hour_cost = models.DecimalField(
        _("agent cost per hour (yuan)"), max_digits=10, decimal_places=2, default=0
    )

    class Meta:
        ordering = ["channel"]
        verbose_name = _("contact cost")
        verbose_name_plural = _("contact costs")
        constraints = [
            models.CheckConstraint(
                condition=Q(per_contact__gte=0)
                & Q(agent_minutes__gte=0)
                & Q(agent_hour_cost__gte=0),
                name="contact_cost_nonnegative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.per_contact}"


class CampaignBudget(TimeStampedModel):
    """The money a unit puts into a campaign (its share of the joint budget)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    amount = models.DecimalField(_("budget (yuan)"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["campaign_id", "unit_id"]
        verbose_name = _("campaign budget")
        verbose_name_plural = _("campaign budgets")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit"], name="campaign_budget_unit"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="campaign_budget_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.unit_id}: {self.amount}"


class CostLine(TimeStampedModel):
    """A cost a unit incurred for a campaign, entered by hand: materials, an agency's invoice,
    agents' overtime. ``amount`` is ``quantity × unit_cost``, kept so sums are one query."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CostKind.choices)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    unit_cost = models.DecimalField(_("unit cost (yuan)"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2)
    incurred_on = models.DateField(_("incurred on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["campaign_id", "incurred_on", "id"]
        verbose_name = _("cost line")
        verbose_name_plural = _("cost lines")
        indexes = [
            models.Index(fields=["campaign", "unit"], name="cost_line_campaign_unit"),
            models.Index(fields=["incurred_on", "unit"], name="cost_line_period"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(unit_cost__gte=0) & Q(amount__gte=0),
                name="cost_line_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.kind}: {self.amount}"


class ScorecardSnapshot(models.Model):
    """One account manager's scorecard for one week (Monday to Sunday), as it stood when the
    weekly job ran: the measures in ``data`` and his rank within his unit."""

    week_start = models.DateField(_("week from"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField(_("rank in the unit"))
    of = models.PositiveIntegerField(_("account managers in the unit"))
    profit = models.DecimalField(_("margin sold and credited"), max_digits=14, decimal_places=2)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start", "unit_id", "rank"]
        verbose_name = _("scorecard snapshot")
        verbose_name_plural = _("scorecard snapshots")
        constraints = [
            models.UniqueConstraint(fields=["week_start", "user"], name="scorecard_week_user"),
        ]
        indexes = [models.Index(fields=["week_start", "unit"], name="scorecard_week_unit")]

    def __str__(self) -> str:
        return f"{self.week_start} · {self.user_id}: #{self.rank}"


class DailyResult(models.Model):
    """One unit's own results for one product (``product_key`` 0: no product) on one local
    day, as ``accounting.results`` computes them: what the unit × product page sums for the
    days already built (``ResultDay``), so a year is one grouped read of small rows instead of
    a scan of every order, credit row, contact and ticket of the year."""

    day = models.DateField()
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    product_key = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    margin = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    orders = models.PositiveIntegerField(default=0)
    credit_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    credit_margin = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    campaign_cost = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    cost_to_serve = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        ordering = ["day", "unit_id", "product_key"]
        verbose_name = _("daily result")
        verbose_name_plural = _("daily results")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "unit", "product_key"], name="daily_result_day_unit_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.unit_id} · {self.product_key}"


class ResultDay(models.Model):
    """A local day whose ``DailyResult`` rows are built (after the day ended). A day without
    a row — today, or one whose costs changed since — is computed live."""

    day = models.DateField(unique=True)
    built_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]
        verbose_name = _("built result day")
        verbose_name_plural = _("built result days")

    def __str__(self) -> str:
        return f"{self.day} built {self.built_at:%Y-%m-%d %H:%M}"
