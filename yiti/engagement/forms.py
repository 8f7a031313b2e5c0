"""The form for recording a contact on the customer's timeline."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose, Outcome


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
