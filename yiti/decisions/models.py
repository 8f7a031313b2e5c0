"""Decisions: the value model's fits, the tier history, unit costs to serve, value settings;
the next best action's propensities and outcomes.

The per-customer scores themselves live in ``yiti.customers.models.CustomerValue`` (ADR 0005)
so that campaigns can filter by tier without importing this app.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.campaigns.models import Offer, OfferReservation
from yiti.care.models import CareTask
from yiti.core.models import TimeStampedModel
from yiti.customers.choices import ValueTier
from yiti.customers.models import Customer, Order
from yiti.decisions.choices import (
    ActionKind,
    ContactReason,
    CostItem,
    FitStatus,
    FitTrigger,
    NbaResult,
)
from yiti.engagement.models import Interaction
from yiti.org.models import OrgUnit


class ValueModelFit(TimeStampedModel):
    """One refit of the value model: its data window, parameters, diagnostics and outcome.

    BG/NBD (r, alpha, a, b) in ``time_unit`` (alpha is in days for ``day``), Gamma-Gamma
    (p, q, v) in yuan; log-likelihoods are totals over the customers fitted. A failed fit
    keeps its reason in ``error`` and leaves the previous scores in place. The holdout check
    refits on the window minus the last ``holdout_months`` and compares the purchases it
    predicts for those months with the purchases made.
    """

    status = models.CharField(
        _("status"), max_length=12, choices=FitStatus.choices, default=FitStatus.QUEUED
    )
    trigger = models.CharField(
        _("started by"), max_length=12, choices=FitTrigger.choices, default=FitTrigger.MANUAL
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    fitted_at = models.DateTimeField(_("fitted"), null=True, blank=True)
    window_start = models.DateField(_("data from"), null=True, blank=True)
    window_end = models.DateField(_("data until"), null=True, blank=True)
    time_unit = models.CharField(_("time unit"), max_length=8, default="day")
    horizon_months = models.PositiveSmallIntegerField(_("horizon (months)"), default=12)
    discount_rate = models.FloatField(_("monthly discount rate"), default=0.01)
    bgnbd_r = models.FloatField(null=True, blank=True)
    bgnbd_alpha = models.FloatField(null=True, blank=True)
    bgnbd_a = models.FloatField(null=True, blank=True)
    bgnbd_b = models.FloatField(null=True, blank=True)
    bgnbd_log_likelihood = models.FloatField(null=True, blank=True)
    gg_p = models.FloatField(null=True, blank=True)
    gg_q = models.FloatField(null=True, blank=True)
    gg_v = models.FloatField(null=True, blank=True)
    gg_log_likelihood = models.FloatField(null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers scored"), default=0)
    buyers = models.PositiveIntegerField(_("customers with orders"), default=0)
    transactions = models.PositiveIntegerField(_("orders used"), default=0)
    repeat_buyers = models.PositiveIntegerField(_("repeat buyers"), default=0)
    holdout_months = models.PositiveSmallIntegerField(_("holdout (months)"), default=0)
    holdout_predicted = models.FloatField(_("holdout: predicted purchases"), null=True, blank=True)
    holdout_actual = models.FloatField(_("holdout: actual purchases"), null=True, blank=True)
    tier_counts = models.JSONField(_("customers per tier"), default=dict, blank=True)
    tier_changes = models.PositiveIntegerField(_("tier changes"), default=0)
    care_tasks = models.PositiveIntegerField(_("retention calls created"), default=0)
    total_clv = models.FloatField(_("total lifetime value"), null=True, blank=True)
    mean_p_alive = models.FloatField(_("mean probability active"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)
    phases = models.JSONField(_("seconds per phase"), default=dict, blank=True)
    inputs = models.JSONField(_("settings and unit costs used"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("value model fit")
        verbose_name_plural = _("value model fits")
        indexes = [
            models.Index(fields=["status", "-created_at"], name="value_fit_status_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.window_end or ''} {self.status}"

    @property
    def holdout_error(self) -> float | None:
        """(predicted − actual) / actual purchases in the holdout months."""
        if not self.holdout_actual or self.holdout_predicted is None:
            return None
        return (self.holdout_predicted - self.holdout_actual) / self.holdout_actual


class TierChange(models.Model):
    """A customer's tier changed at a fit (``from_tier`` blank: the customer's first tier).

    Only changes are stored, so the tier of a customer at fit F is that of its latest change
    at or before F, and the migration between two consecutive fits is one grouped query over
    the later fit's rows (ADR 0005).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tier_changes")
    fit = models.ForeignKey(ValueModelFit, on_delete=models.CASCADE, related_name="changes")
    from_tier = models.CharField(_("from"), max_length=10, choices=ValueTier.choices, blank=True)
    to_tier = models.CharField(_("to"), max_length=10, choices=ValueTier.choices)
    clv = models.FloatField(_("lifetime value"))
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [
            models.Index(fields=["fit", "from_tier", "to_tier"], name="tier_change_matrix"),
            models.Index(fields=["customer", "-at"], name="tier_change_customer"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(from_tier=models.F("to_tier")), name="tier_changed")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier or '-'} → {self.to_tier}"


class ServiceCost(TimeStampedModel):
    """The unit cost in yuan of one thing that serves a customer (a ticket of a kind, a care
    call attempt, an account-manager visit). Data, edited on the value settings page."""

    item = models.CharField(_("item"), max_length=32, choices=CostItem.choices, unique=True)
    cost = models.DecimalField(
        _("unit cost (yuan)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        ordering = ["item"]
        verbose_name = _("unit cost to serve")
        verbose_name_plural = _("unit costs to serve")
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="service_cost_nonnegative")
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: ¥{self.cost}"


def no_offer_tiers_default() -> list[str]:
    return ["bz"]


class ValueSettings(TimeStampedModel):
    """The tier thresholds and model settings, one row (pk 1). Data, edited by administrators.

    See ``yiti.decisions.tiers`` for the precise tier definitions these feed.
    """

    horizon_months = models.PositiveSmallIntegerField(
        _("horizon (months)"), default=12, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    discount_rate = models.FloatField(
        _("monthly discount rate"),
        default=0.01,
        validators=[MinValueValidator(0), MaxValueValidator(0.5)],
    )
    window_months = models.PositiveSmallIntegerField(
        _("data window (months)"),
        default=36,
        help_text=_("Orders this many months before the end date are fitted; 0: all orders."),
        validators=[MaxValueValidator(240)],
    )
    holdout_months = models.PositiveSmallIntegerField(
        _("holdout check (months)"),
        default=3,
        help_text=_("Refit without the last months and compare the forecast; 0: no check."),
        validators=[MaxValueValidator(24)],
    )
    mvc_share = models.FloatField(
        _("most valuable: top share"),
        default=0.10,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    mgc_share = models.FloatField(
        _("most growable: top share of growth gaps"),
        default=0.10,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    peer_percentile = models.FloatField(
        _("peer value percentile"),
        default=75,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    min_peers = models.PositiveIntegerField(
        _("smallest peer group"), default=20, validators=[MinValueValidator(1)]
    )
    trend_months = models.PositiveSmallIntegerField(
        _("trend period (months)"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    trend_rise = models.FloatField(
        _("rising trend: at least this rise"),
        default=0.5,
        validators=[MinValueValidator(0)],
    )
    churn_threshold = models.FloatField(
        _("at risk: churn risk at least"),
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    cost_lookback_months = models.PositiveSmallIntegerField(
        _("cost to serve: months counted"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    # {"offer": {reason: w}, "care": {reason: w}, "channel": {channel: w}} over the defaults
    # of ``decisions.weights``; the next best action reads them at once (not at the refit)
    context_weights = models.JSONField(_("context weights"), default=dict, blank=True)
    # How long an agent may undo a recorded acceptance of a next best action (the order is
    # cancelled, the gift released, the propensity set back), in minutes; 0: never.
    undo_minutes = models.PositiveSmallIntegerField(
        _("undo an acceptance within (minutes)"),
        default=30,
        validators=[MaxValueValidator(1440)],
    )
    # Value tiers that are proposed no sales offer (only care actions): below-zero customers
    # cost more than they bring, a discount deepens the loss.
    no_offer_tiers = models.JSONField(
        _("tiers without sales offers"), default=no_offer_tiers_default, blank=True
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("value settings")
        verbose_name_plural = _("value settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="value_settings_singleton"),
            models.CheckConstraint(
                condition=Q(mvc_share__gte=0, mvc_share__lte=1), name="value_settings_mvc_share"
            ),
            models.CheckConstraint(
                condition=Q(mgc_share__gte=0, mgc_share__lte=1), name="value_settings_mgc_share"
            ),
            models.CheckConstraint(
                condition=Q(churn_threshold__gte=0, churn_threshold__lte=1),
                name="value_settings_churn",
            ),
            models.CheckConstraint(condition=Q(horizon_months__gte=1), name="value_settings_h"),
        ]

    def __str__(self) -> str:
        return str(_("Value settings"))


UNSCORED = "unscored"  # the segment of a customer the value model has not scored yet


class Propensity(TimeStampedModel):
    """The learned acceptance rate of one action in one segment (a value tier).

    ``action`` is ``offer:<id>`` or ``care:<care action>``. Beta-Binomial
    (``yiti.decisions.propensity``): the prior Beta(``prior_alpha``, ``prior_beta``) plus the
    ``successes`` (acceptances) and ``failures`` (declines) recorded; the propensity is the
    posterior mean. A row is created at the first outcome; until then the prior decides.
    """

    action = models.CharField(_("action"), max_length=40)
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    segment = models.CharField(pgettext_lazy("nba", "segment"), max_length=10)
    prior_alpha = models.FloatField(_("prior α"))
    prior_beta = models.FloatField(_("prior β"))
    successes = models.PositiveIntegerField(_("acceptances"), default=0)
    failures = models.PositiveIntegerField(_("declines"), default=0)

    class Meta:
        ordering = ["action", "segment"]
        verbose_name = _("propensity")
        verbose_name_plural = _("propensities")
        constraints = [
            models.UniqueConstraint(fields=["action", "segment"], name="propensity_unique"),
            models.CheckConstraint(
                condition=Q(prior_alpha__gt=0, prior_beta__gt=0), name="propensity_prior_positive"
            ),
        ]
        indexes = [models.Index(fields=["segment"], name="propensity_segment")]

    def __str__(self) -> str:
        return f"{self.action} × {self.segment}: {self.successes}/{self.successes + self.failures}"

    @property
    def prior_mean(self) -> float:
        return self.prior_alpha / (self.prior_alpha + self.prior_beta)

    @property
    def posterior_mean(self) -> float:
        a = self.prior_alpha + self.successes
        return a / (a + self.prior_beta + self.failures)


class NbaOutcome(TimeStampedModel):
    """What came of one proposed next best action: accepted or declined, in which context.

    Accepting an offer reserves its gift and records the sale, credited to ``unit`` (the
    agent's unit that serves the customer); every outcome is on the customer's timeline
    (``interaction``) and updates the propensity of the action in the customer's segment
    (``propensity_before`` → ``propensity_after``).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=ActionKind.choices)
    action = models.CharField(_("action"), max_length=40)
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.CharField(pgettext_lazy("nba", "segment"), max_length=10)
    result = models.CharField(_("result"), max_length=10, choices=NbaResult.choices)
    channel = models.CharField(_("channel"), max_length=16)
    reason = models.CharField(_("reason for contact"), max_length=20, choices=ContactReason.choices)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    propensity_before = models.FloatField(_("propensity before"))
    propensity_after = models.FloatField(_("propensity after"))
    unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reservation = models.ForeignKey(
        OfferReservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    care_task = models.ForeignKey(
        CareTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    # an acceptance undone in time (``outcomes.nba_outcome_undo``): when, by whom, why
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_reason = models.CharField(_("reason for the undo"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("next best action outcome")
        verbose_name_plural = _("next best action outcomes")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="nba_outcome_customer"),
            models.Index(fields=["action", "segment"], name="nba_outcome_action"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True) | (Q(result="accepted") & ~Q(undo_reason="")),
                name="nba_outcome_undo_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.action}: {self.result}"
