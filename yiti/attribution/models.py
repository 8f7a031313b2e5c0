"""Attribution data: each campaign's plan (model and allocation agreement among its units)
and the stored credit of each converted order.

``Credit`` rows are what the rest of the product reads (campaign economics, unit × product
accounting and scorecards, through ``selectors.credit_by_unit``): for one order and one
campaign, the shares of revenue and margin given to each unit, each tied to the touch that
earned it (or to the unit's agreed fixed share). The shares of one (order, campaign) sum to 1
and its revenue and margin to the order's amount and margin.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiti.attribution.choices import AgreementBasis, AttributionModel, CreditBasis
from yiti.campaigns.models import Campaign
from yiti.core.models import TimeStampedModel
from yiti.customers.models import Order
from yiti.engagement.models import Interaction
from yiti.org.models import OrgUnit

DEFAULT_LOOKBACK_DAYS = 30
DEFAULT_HALF_LIFE_DAYS = 7


class AttributionPlan(TimeStampedModel):
    """How one campaign's conversions are attributed and shared among its units.

    The owner chooses the ``model`` and the agreement: by attributed touches, by fixed
    shares agreed in advance (``AgreedShare`` rows summing to 100 %), or a mix, where
    ``touch_weight`` of each order goes by touches and the rest by the fixed shares. The plan
    may change freely before launch; afterwards only with a reason, which is audited.
    A campaign without a plan is attributed by the linear model and by touches.
    """

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="attribution_plan"
    )
    model = models.CharField(
        _("attribution model"),
        max_length=16,
        choices=AttributionModel.choices,
        default=AttributionModel.LINEAR,
    )
    basis = models.CharField(
        _("agreement"),
        max_length=10,
        choices=AgreementBasis.choices,
        default=AgreementBasis.TOUCHES,
    )
    touch_weight = models.DecimalField(
        _("share by touches in a mix"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.5"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    lookback_days = models.PositiveSmallIntegerField(
        _("touches count within (days before the order)"), default=DEFAULT_LOOKBACK_DAYS
    )
    half_life_days = models.DecimalField(
        _("half-life of a touch (days, time decay)"),
        max_digits=6,
        decimal_places=2,
        default=Decimal(DEFAULT_HALF_LIFE_DAYS),
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_reason = models.CharField(_("reason for the change"), max_length=500, blank=True)

    class Meta:
        ordering = ["campaign_id"]
        verbose_name = _("attribution plan")
        verbose_name_plural = _("attribution plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(touch_weight__gte=0) & Q(touch_weight__lte=1),
                name="attr_plan_touch_weight_range",
            ),
            models.CheckConstraint(
                condition=Q(lookback_days__gte=1), name="attr_plan_lookback_positive"
            ),
            models.CheckConstraint(
                condition=Q(half_life_days__gt=0), name="attr_plan_half_life_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.model}/{self.basis}"


class AgreedShare(TimeStampedModel):
    """One unit's fixed share (percent) of a campaign's conversions, agreed in advance."""

    plan = models.ForeignKey(AttributionPlan, on_delete=models.CASCADE, related_name="shares")
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    percent = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["plan_id", "-percent", "unit_id"]
        verbose_name = _("agreed share")
        verbose_name_plural = _("agreed shares")
        constraints = [
            models.UniqueConstraint(fields=["plan", "unit"], name="attr_share_plan_unit"),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="attr_share_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit}: {self.percent} %"


class Credit(models.Model):
    """One unit's credit for one converted order of one campaign, under the campaign's model.

    ``share`` is the fraction of the order (0–1); ``revenue`` and ``margin`` are that fraction
    of the order's amount and margin (rounded so that an order's rows add up exactly).
    ``touch`` is the contact that earned it (null for an agreed fixed share); ``channel`` and
    ``touched_at`` are copied from it so the explanation needs no join. Written only by the
    attribution run, which replaces an order's rows as a whole (a re-run gives the same rows).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False)
    basis = models.CharField(max_length=10, choices=CreditBasis.choices)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    touch = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    touched_at = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=16, choices=AttributionModel.choices)
    share = models.FloatField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    margin = models.DecimalField(max_digits=14, decimal_places=2)
    ordered_at = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["order_id", "campaign_id", "-share", "id"]
        verbose_name = _("attributed credit")
        verbose_name_plural = _("attributed credit")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "campaign", "unit", "touch"],
                condition=Q(touch__isnull=False),
                name="attr_credit_touch_once",
            ),
            models.UniqueConstraint(
                fields=["order", "campaign", "unit"],
                condition=Q(touch__isnull=True),
                name="attr_credit_agreed_once",
            ),
            models.CheckConstraint(
                condition=Q(share__gte=0) & Q(share__lte=1), name="attr_credit_share_range"
            ),
        ]
        indexes = [
            models.Index(fields=["order", "campaign"], name="attr_credit_order"),
            models.Index(fields=["campaign", "unit"], name="attr_credit_campaign_unit"),
            models.Index(fields=["unit", "ordered_at"], name="attr_credit_unit_at"),
            models.Index(fields=["ordered_at"], name="attr_credit_at"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} → unit {self.unit_id}: {self.share:.2%}"
