"""Forms of the quality pages. They read input; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.campaigns.models import Campaign
from yiti.customers.models import Product
from yiti.org.choices import UnitKind
from yiti.quality.choices import Direction
from yiti.quality.defaults import RANKED_KINDS
from yiti.quality.models import Indicator
from yiti.service.choices import TicketKind

NUMBER = {"step": "0.01", "inputmode": "decimal"}


class IndicatorForm(forms.Form):
    """Direction, whether it counts, and target / zero-score line / weight per unit kind."""

    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    active = forms.BooleanField(label=_("Counts in the score"), required=False)
    note = forms.CharField(label=_("How it is counted"), max_length=300, required=False)

    def __init__(self, *args: Any, indicator: Indicator, **kwargs: Any) -> None:
        targets = {t.unit_kind: t for t in indicator.targets.all()}
        initial = {
            "direction": indicator.direction,
            "active": indicator.active,
            "note": indicator.note,
        }
        for kind in RANKED_KINDS:
            row = targets.get(kind)
            initial[f"{kind}-target"] = row.target if row else None
            initial[f"{kind}-floor"] = row.floor if row else None
            initial[f"{kind}-weight"] = row.weight if row else Decimal(0)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for kind in RANKED_KINDS:
            label = UnitKind(kind).label
            self.fields[f"{kind}-target"] = forms.DecimalField(
                label=_("%(kind)s: target") % {"kind": label},
                max_digits=9,
                decimal_places=2,
                widget=forms.NumberInput(attrs=NUMBER),
            )
            self.fields[f"{kind}-floor"] = forms.DecimalField(
                label=_("%(kind)s: zero-score line") % {"kind": label},
                max_digits=9,
                decimal_places=2,
                widget=forms.NumberInput(attrs=NUMBER),
            )
            self.fields[f"{kind}-weight"] = forms.DecimalField(
                label=_("%(kind)s: weight") % {"kind": label},
                max_digits=5,
                decimal_places=2,
                min_value=Decimal(0),
                widget=forms.NumberInput(attrs=NUMBER),
            )

    def targets(self) -> dict[str, dict[str, Any]]:
        data = self.cleaned_data
        return {
            kind: {
                "target": data[f"{kind}-target"],
                "floor": data[f"{kind}-floor"],
                "weight": data[f"{kind}-weight"],
            }
            for kind in RANKED_KINDS
        }


class TopicForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    applies_to = forms.ChoiceField(
        label=_("For"),
        choices=[
            ("", _("Consultations and complaints")),
            (TicketKind.CONSULTATION, TicketKind.CONSULTATION.label),
            (TicketKind.COMPLAINT, TicketKind.COMPLAINT.label),
        ],
        required=False,
    )
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.filter(active=True),
        required=False,
        empty_label=_("No product"),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.order_by("-created_at"),
        required=False,
        empty_label=_("No campaign"),
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        max_length=255,
        required=False,
        help_text=_(
            "Words that belong to this topic, separated by spaces or commas; the hot-issue "
            "mining keeps them whole."
        ),
    )
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)
