"""Forms of the value pages. Plain forms: the stored settings change only through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.forms.models import fields_for_model
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from yiti.customers.choices import SalesChannel, ValueTier
from yiti.decisions.choices import ActionKind, ContactReason, CostItem
from yiti.decisions.models import ServiceCost, ValueSettings
from yiti.decisions.services import SETTINGS_FIELDS
from yiti.decisions.weights import CHANNEL, MAX_WEIGHT, ContextWeights, keys
from yiti.engagement.choices import InteractionChannel


class ValueSettingsForm(forms.Form):
    """The tier thresholds and model settings, with the model's own validators."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(ValueSettings, fields=SETTINGS_FIELDS))
        # a rule as data: the tiers proposed care actions only, ticked
        self.fields["no_offer_tiers"] = forms.MultipleChoiceField(
            label=_("Tiers without sales offers"),
            choices=ValueTier.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("The next best action proposes only care actions to these tiers."),
        )

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


class ContextWeightsForm(forms.Form):
    """The next best action's context weights: per reason for contact, one for offers and
    one for care actions; per channel, one. Field names are the weights' keys with ``:``
    written ``__`` (``offer__complaint``). A blank field stands for the default weight."""

    def __init__(self, *args: Any, weights: ContextWeights, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = weights.flat()
        self.defaults = ContextWeights.of(None).flat()
        for key in keys():
            group, name = key.split(":", 1)
            label = (
                InteractionChannel(name).label
                if group == CHANNEL
                else format_lazy("{} · {}", ContactReason(name).label, ActionKind(group).label)
            )
            self.fields[key.replace(":", "__")] = forms.DecimalField(
                label=label,
                min_value=Decimal("0"),
                max_value=MAX_WEIGHT,
                max_digits=4,
                decimal_places=2,
                required=False,
                initial=Decimal(str(current[key])).quantize(Decimal("0.01")),
                widget=forms.NumberInput(
                    attrs={
                        "step": "0.05",
                        "class": "num",
                        "placeholder": f"{self.defaults[key]:.2f}",
                    }
                ),
            )

    def reason_rows(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        """(reason label, its offer field, its care field) per reason for contact."""
        return [
            (
                label,
                self[f"{ActionKind.OFFER.value}__{value}"],
                self[f"{ActionKind.CARE.value}__{value}"],
            )
            for value, label in ContactReason.choices
        ]

    def channel_fields(self) -> list[forms.BoundField]:
        return [self[f"{CHANNEL}__{value}"] for value in InteractionChannel.values]

    def weights(self) -> dict[str, Any]:
        """The cleaned weights by key (``offer:complaint``), the default for a blank field."""
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            key = name.replace("__", ":", 1)
            out[key] = self.defaults[key] if value is None else value
        return out


class RefitForm(forms.Form):
    end = forms.DateField(
        label=_("Data until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Blank: up to now."),
    )


class NbaOrderForm(forms.Form):
    """The order of an accepted offer: how many, for how much, through which channel. The
    product is the offer's; ``outcomes.nba_outcome_record`` checks everything again."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=1000, initial=1)
    amount = forms.DecimalField(
        label=_("Amount (¥)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Leave empty for the offer's price × quantity."),
    )
    sales_channel = forms.ChoiceField(label=_("Sales channel"), choices=SalesChannel.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=255)
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)


class NbaUndoForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it undone?"),
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. the customer changed their mind")}),
    )
