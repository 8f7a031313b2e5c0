"""Forms for the customer pages. They collect input; services decide and raise typed errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.customers.choices import (
    Channel,
    ConsentSource,
    ContactKind,
    CustomerKind,
    CustomerStatus,
    Purpose,
    ReassignRule,
)
from yiti.customers.models import Customer
from yiti.org.models import OrgUnit, User
from yiti.org.selectors import account_managers_departing, account_managers_visible, units_visible

# Service error fields that name a contact kind belong to the value box on the contact form.
CONTACT_ERROR_FIELDS = {kind: "value" for kind in ContactKind.values}


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} ({obj.username})" if str(obj) != obj.username else obj.username


class UserMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} ({obj.username})" if str(obj) != obj.username else obj.username


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return "\u2003" * max(obj.depth - 1, 0) + obj.name


class CustomerForm(forms.Form):
    """Create or edit a customer. On create it also takes the first phone and e-mail."""

    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    unit = UnitChoiceField(label=_("Territory / unit"), queryset=OrgUnit.objects.none())
    owner = UserChoiceField(
        label=_("Account manager"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— unassigned —"),
    )
    phone = forms.CharField(label=_("Mobile phone"), required=False, max_length=32)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    external_id = forms.CharField(
        label=_("External id"),
        required=False,
        max_length=64,
        help_text=_("The customer's number in another system (billing, CRM)."),
    )
    city = forms.CharField(label=_("City"), required=False, max_length=60)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=60)
    address = forms.CharField(label=_("Address"), required=False, max_length=255)
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    since = forms.DateField(
        label=_("Customer since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, user: Any, customer: Customer | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        units = units_visible(user)
        if customer is not None:
            # an owner may see his customer in a unit outside his own scope: keep it choosable
            units = units | OrgUnit.objects.filter(pk=customer.unit_id)
            for name in ("owner", "phone", "email"):
                del self.fields[name]  # ownership moves by reassignment; contacts on the 360 page
        else:
            self.fields["owner"].queryset = account_managers_visible(user)  # type: ignore[attr-defined]
        self.fields["unit"].queryset = units.order_by("path")  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, customer: Customer) -> dict[str, Any]:
        fields = ("name", "kind", "external_id", "city", "industry", "address", "birth_date")
        initial = {name: getattr(customer, name) for name in fields}
        initial.update(unit=customer.unit_id, since=customer.since, note=customer.note)
        return initial

    def changes(self) -> dict[str, Any]:
        """The editable values, ready for ``customer_update``."""
        data = self.cleaned_data
        keys = ("name", "kind", "external_id", "unit", "city", "industry", "address")
        changes = {key: data[key] for key in keys}
        changes.update(birth_date=data["birth_date"], since=data["since"], note=data["note"])
        return changes


class ContactPointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices)
    value = forms.CharField(label=_("Phone, e-mail or account id"), max_length=254)
    label = forms.CharField(
        label=_("Label"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. work, home")}),
    )
    primary = forms.BooleanField(label=_("Make primary"), required=False)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    granted = forms.TypedChoiceField(
        label=_("Consent"),
        choices=[("1", _("Given")), ("0", _("Withdrawn"))],
        coerce=lambda v: v == "1",
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=ConsentSource.choices, initial=ConsentSource.STAFF
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class ReassignForm(forms.Form):
    to_user = UserChoiceField(
        label=_("New account manager"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— unassigned —"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. territory change")}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = account_managers_visible(user)  # type: ignore[attr-defined]


class BulkReassignForm(forms.Form):
    from_user = UserChoiceField(
        label=_("Departing account manager"),
        queryset=User.objects.none(),
        empty_label=_("— choose —"),
    )
    to_users = UserMultipleChoiceField(
        label=_("Colleagues taking over"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose one or several."),
    )
    rule = forms.ChoiceField(
        label=_("How to share the customers"),
        choices=ReassignRule.choices,
        initial=ReassignRule.TERRITORY,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. resigned 2025-03-31")}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        managers = account_managers_visible(user)
        # a deactivated account manager's customers are the ones most in need of a new owner
        self.fields["from_user"].queryset = account_managers_departing(user)  # type: ignore[attr-defined]
        self.fields["to_users"].queryset = managers  # type: ignore[attr-defined]


STATUS_FILTER_CHOICES = [*CustomerStatus.choices, ("all", _("All"))]
