"""The form of a campaign's attribution plan: the model, the agreement and one share field
per unit of the campaign (owner and participating units)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.attribution.choices import AgreementBasis, AttributionModel
from yiti.attribution.models import AttributionPlan
from yiti.org.models import OrgUnit

SHARE_PREFIX = "share_"


class PlanForm(forms.Form):
    model = forms.ChoiceField(label=_("Attribution model"), choices=AttributionModel.choices)
    basis = forms.ChoiceField(
        label=_("How the units share"),
        choices=AgreementBasis.choices,
        widget=forms.RadioSelect,
    )
    touch_percent = forms.DecimalField(
        label=_("Part by touches in a mix (%)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
        initial=50,
        help_text=_("The rest of each order goes by the agreed shares."),
    )
    lookback_days = forms.IntegerField(
        label=_("Touches count within (days before the order)"),
        min_value=1,
        max_value=365,
        initial=30,
    )
    half_life_days = forms.DecimalField(
        label=_("Half-life of a touch (days, time decay)"),
        min_value=Decimal("0.1"),
        max_value=365,
        decimal_places=2,
        initial=7,
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required once the campaign has been launched; it is kept in the audit trail."),
    )

    def __init__(self, *args: Any, units: Sequence[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = list(units)
        for unit in self.units:
            self.fields[f"{SHARE_PREFIX}{unit.pk}"] = forms.DecimalField(
                label=_("%(unit)s: agreed share (%%)") % {"unit": unit.name},
                min_value=0,
                max_value=100,
                decimal_places=2,
                required=False,
            )

    @staticmethod
    def initial_for(plan: AttributionPlan) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "model": plan.model,
            "basis": plan.basis,
            "touch_percent": (Decimal(plan.touch_weight) * 100).normalize(),
            "lookback_days": plan.lookback_days,
            "half_life_days": Decimal(plan.half_life_days).normalize(),
        }
        if plan.pk:
            for share in plan.shares.all():
                initial[f"{SHARE_PREFIX}{share.unit_id}"] = share.percent.normalize()
        return initial

    def shares(self) -> dict[int, Decimal]:
        return {
            unit.pk: self.cleaned_data[f"{SHARE_PREFIX}{unit.pk}"]
            for unit in self.units
            if self.cleaned_data.get(f"{SHARE_PREFIX}{unit.pk}") is not None
        }

    def share_fields(self) -> list[forms.BoundField]:
        return [self[f"{SHARE_PREFIX}{unit.pk}"] for unit in self.units]

    def main_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in ("model", "basis", "touch_percent", "lookback_days", "half_life_days")
        ]
