"""Forms for sign-in related pages, API tokens and the audit filter, plus the error helper."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.core.errors import YitiError


def apply_error(
    form: forms.Form, error: YitiError, *, fields: Mapping[str, str] | None = None
) -> None:
    """Show a service error next to the field it names (``fields`` maps service names to form
    fields), or above the form when the field is not on it."""
    name = (fields or {}).get(error.field or "", error.field)
    form.add_error(name if name in form.fields else None, error.message)


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=80,
        help_text=_("What uses it, e.g. “CRM nightly sync”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class AuditFilterForm(forms.Form):
    """Only renders the filter bar; ``core.selectors.AuditFilters`` reads the values."""

    action = forms.CharField(
        label=_("Action"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. customer.update or customer.")}),
    )
    actor = forms.CharField(label=_("Actor (username)"), required=False, widget=forms.TextInput())
    object_type = forms.CharField(
        label=_("Object type"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. customers.customer")}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
