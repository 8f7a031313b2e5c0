"""Forms of the value pages. Plain forms: the stored settings change only through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from yiti.decisions.choices import CostItem
from yiti.decisions.models import ServiceCost, ValueSettings
from yiti.decisions.services import SETTINGS_FIELDS


class ValueSettingsForm(forms.Form):
    """The tier thresholds and model settings, with the model's own validators."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(ValueSettings, fields=SETTINGS_FIELDS))

    @staticmethod
    def initial_for(values: ValueSettings) -> dict[str, Any]:
        return {name: getattr(values, name) for name in SETTINGS_FIELDS}


class ServiceCostsForm(forms.Form):
    """One unit cost in yuan per item."""

    def __init__(self, *args: Any, costs: list[ServiceCost], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for cost in costs:
            self.fields[cost.item] = forms.DecimalField(
                label=CostItem(cost.item).label,
                min_value=Decimal("0"),
                max_digits=10,
                decimal_places=2,
                initial=cost.cost,
            )


class RefitForm(forms.Form):
    end = forms.DateField(
        label=_("Data until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Blank: up to now."),
    )
