"""The portal's forms: input shapes only; the rules are in ``auth`` and ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.customers.choices import ContactKind
from yiti.portal.choices import PortalTicketKind
from yiti.service.choices import ComplaintClass

# What a complaint is about, in the customer's words (the desk's three classes).
COMPLAINT_ABOUT = [
    ("", _("— choose —")),
    (ComplaintClass.OFFER_DESIGN.value, _("The offer itself: its terms or conditions")),
    (ComplaintClass.STAFF_CONDUCT.value, _("How I was served or what I was told")),
    (ComplaintClass.FULFILMENT.value, _("What was promised did not arrive: gift, credit, set-up")),
]


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0000 0000"}
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )


class TicketForm(forms.Form):
    kind = forms.ChoiceField(label=_("I need"), choices=PortalTicketKind.choices)
    complaint_class = forms.ChoiceField(
        label=_("The complaint is about"), choices=COMPLAINT_ABOUT, required=False
    )
    campaign = forms.TypedChoiceField(
        label=_("Campaign it concerns"), coerce=int, required=False, empty_value=None
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Tell us more"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    def __init__(self, *args: Any, campaigns: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["campaign"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("— none —")), *[(c.id, c.name) for c in campaigns or []]]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it not solved?"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ContactForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Change my"),
        choices=[
            (ContactKind.PHONE.value, _("Mobile number")),
            (ContactKind.EMAIL.value, _("E-mail")),
        ],
    )
    value = forms.CharField(label=_("New value"), max_length=254)
