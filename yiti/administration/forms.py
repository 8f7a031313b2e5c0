"""Forms of the administration pages. They render and parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yiti.org.choices import Role, UnitKind
from yiti.org.models import OrgUnit


class UnitPicker(forms.ModelChoiceField):
    """Units indented by depth; only the active units passed in are offered."""

    def label_from_instance(self, obj: Any) -> str:
        return "\u2003" * obj.depth + f"{obj.name} · {obj.get_kind_display()}"


class UnitCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Short and unique, used by imports and the API, e.g. hz or east-sales."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=UnitKind.choices)
    parent = UnitPicker(
        label=_("Parent unit"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("— none: the company itself —"),
    )

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = units  # type: ignore[attr-defined]


class UnitRenameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)


class UnitMoveForm(forms.Form):
    parent = UnitPicker(label=_("Move under"), queryset=OrgUnit.objects.none())

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = units  # type: ignore[attr-defined]


ROLE_CHOICES = Role.choices


def _role_choices(*, with_admin: bool) -> list[tuple[str, Any]]:
    # no role chosen by default: granting one (above all the administrator) is deliberate
    return [("", _("— choose —"))] + [
        (v, label) for v, label in Role.choices if with_admin or v != Role.ADMIN
    ]


class MembershipForm(forms.Form):
    unit = UnitPicker(label=_("Unit"), queryset=OrgUnit.objects.none(), empty_label=_("— choose —"))
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    starts_on = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Until (first day without the role)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(
        self, *args: Any, units: QuerySet[OrgUnit], with_admin: bool = True, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["role"].choices = _role_choices(with_admin=with_admin)  # type: ignore[attr-defined]


PASSWORD_SET = "set"  # noqa: S105 - a form choice, not a secret
PASSWORD_LINK = "link"  # noqa: S105 - a form choice, not a secret


class UserCreateForm(MembershipForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Name"), max_length=80, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    password_mode = forms.ChoiceField(
        label=_("First password"),
        choices=[
            (PASSWORD_LINK, _("E-mail a link to choose a password")),
            (PASSWORD_SET, _("Set a first password now")),
        ],
        initial=PASSWORD_LINK,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = [
        "username",
        "display_name",
        "email",
        "phone",
        "password_mode",
        "password",
        "unit",
        "role",
        "starts_on",
        "ends_on",
    ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password_mode") == PASSWORD_SET and not data.get("password"):
            self.add_error("password", _("Enter the first password, or send a link instead."))
        if data.get("password_mode") == PASSWORD_LINK and not data.get("email"):
            self.add_error("email", _("A set-password link needs an e-mail address."))
        return data


class UserEditForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=80, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)


class PasswordResetForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("How"),
        choices=[
            (PASSWORD_LINK, _("E-mail a link to choose a new password")),
            (PASSWORD_SET, _("Set a new password now")),
        ],
        initial=PASSWORD_LINK,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label=_("New password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == PASSWORD_SET and not data.get("password"):
            self.add_error("password", _("Enter the new password."))
        return data


class UserFilterForm(forms.Form):
    """Only renders the filter bar; ``administration.selectors.UserFilters`` reads the values."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Username, name or e-mail")}),
    )
    unit = UnitPicker(
        label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("All units")
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("All roles")), *Role.choices], required=False
    )
    active = forms.ChoiceField(
        label=_("Status"),
        choices=[("yes", _("Active")), ("no", _("Deactivated")), ("all", _("All"))],
        required=False,
    )

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
