"""Forms: recording a contact on the customer's timeline; the contact policy's settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
    SuppressionReason,
    Weekday,
)


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=InteractionChannel.choices, initial=InteractionChannel.CALL
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=InteractionPurpose.choices, initial=InteractionPurpose.SERVICE
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- the contact policy's administration pages ------------------------------------------------


class ContactRuleForm(forms.Form):
    """A contact cap; the weights table has one field per purpose (``weight_<purpose>``)."""

    name = forms.CharField(label=_("Name"), max_length=80)
    max_contacts = forms.IntegerField(label=_("At most (contacts)"), min_value=1)
    window_days = forms.IntegerField(label=_("In any window of (days)"), min_value=1, max_value=366)
    purposes = forms.MultipleChoiceField(
        label=_("Purposes counted"),
        choices=InteractionPurpose.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every purpose."),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels counted"),
        choices=InteractionChannel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every channel."),
    )
    calendar_days = forms.BooleanField(
        label=_("Count whole calendar days"),
        required=False,
        help_text=_(
            "Off: at most this many contacts in every span of the window's days × 24 hours "
            "(rolling). On: count whole local days: a 7-day window holds every contact of "
            "7 consecutive dates, whatever the hour."
        ),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    confirm = forms.BooleanField(
        label=_("I have seen the impact on the planned waves and want to save"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for purpose, label in InteractionPurpose.choices:
            self.fields[f"weight_{purpose}"] = forms.DecimalField(
                label=label,
                required=False,
                min_value=0,
                max_value=10,
                decimal_places=3,
                widget=forms.NumberInput(attrs={"step": "0.001", "placeholder": "1"}),
            )

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{p}"] for p in InteractionPurpose.values]

    def plain_fields(self) -> list[forms.BoundField]:
        names = ("name", "max_contacts", "window_days", "calendar_days", "purposes", "channels")
        return [self[n] for n in names]

    def values(self) -> dict[str, Any]:
        """The service's keywords (cleaned data)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "max_contacts": data["max_contacts"],
            "window_days": data["window_days"],
            "purposes": data["purposes"],
            "channels": data["channels"],
            "calendar_days": bool(data.get("calendar_days")),
            "weights": {
                p: str(data[f"weight_{p}"])
                for p in InteractionPurpose.values
                if data.get(f"weight_{p}") is not None
            },
        }

    @classmethod
    def initial_of(cls, rule: Any) -> dict[str, Any]:
        initial = {
            "name": rule.name,
            "max_contacts": rule.max_contacts,
            "window_days": rule.window_days,
            "purposes": rule.purposes,
            "channels": rule.channels,
            "calendar_days": rule.calendar_days,
            "active": rule.active,
        }
        for purpose, weight in (rule.weights or {}).items():
            initial[f"weight_{purpose}"] = weight
        return initial


class QuietHoursForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    days = forms.TypedMultipleChoiceField(
        label=_("Days of the week"),
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    start = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("Until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Before the start: the quiet time runs over midnight (21:00–09:00)."),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=InteractionChannel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every channel."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SuppressionFilterForm(forms.Form):
    """Only renders the filter bar; ``SuppressionFilters`` reads the values."""

    q = forms.CharField(
        label=_("Customer"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, phone or external id"), "type": "search"}
        ),
    )
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("Any reason")), *SuppressionReason.choices],
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("active", _("In force")), ("ended", _("Ended")), ("all", _("All"))],
    )


class SuppressionAddForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer"),
        max_length=100,
        help_text=_("Name, phone or external id of a customer you can see."),
    )
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[c for c in SuppressionReason.choices if c[0] != SuppressionReason.OPEN_COMPLAINT],
        initial=SuppressionReason.DO_NOT_DISTURB,
    )
    expires_at = forms.DateField(
        label=_("Until (last day)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: until lifted."),
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)
