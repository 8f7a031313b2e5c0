"""Forms of the accounting pages. They read input; the services and selectors decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.accounting.choices import CostKind
from yiti.accounting.scorecards import DEFAULT_IDLE_DAYS
from yiti.org.models import OrgUnit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """The period and unit of the results and scorecards (GET)."""

    start = forms.DateField(label=_("From"), widget=DATE, required=False)
    end = forms.DateField(label=_("To"), widget=DATE, required=False)
    unit = forms.ModelChoiceField(
        label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("All I see")
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field: Any = self.fields["unit"]
        field.queryset = units
        field.label_from_instance = lambda u: f"{'· ' * u.depth}{u.name}"


class ScorecardForm(PeriodForm):
    idle_days = forms.IntegerField(
        label=_("Not contacted for (days)"),
        min_value=1,
        max_value=365,
        required=False,
        initial=DEFAULT_IDLE_DAYS,
    )


class BudgetForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    amount = forms.DecimalField(
        label=_("Budget (yuan)"), min_value=0, decimal_places=2, max_digits=14
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args: Any, units: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field: Any = self.fields["unit"]
        field.queryset = units


class CostLineForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=CostKind.choices)
    description = forms.CharField(label=_("Description"), max_length=200)
    quantity = forms.DecimalField(
        label=_("Quantity"), min_value=0, decimal_places=2, max_digits=12, initial=1
    )
    unit_cost = forms.DecimalField(
        label=_("Unit cost (yuan)"), min_value=0, decimal_places=2, max_digits=12
    )
    incurred_on = forms.DateField(label=_("Incurred on"), widget=DATE)

    def __init__(self, *args: Any, units: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field: Any = self.fields["unit"]
        field.queryset = units


class ContactCostForm(forms.Form):
    per_contact = forms.DecimalField(
        label=_("Charge per contact (yuan)"), min_value=0, decimal_places=4, max_digits=10
    )
    agent_minutes = forms.DecimalField(
        label=_("Agent minutes per contact"), min_value=0, decimal_places=1, max_digits=6
    )
    agent_hour_cost = forms.DecimalField(
        label=_("Agent cost per hour (yuan)"), min_value=0, decimal_places=2, max_digits=10
    )
