"""Forms for the work-order pages: creation and one form per step of the chain.

Each step form knows how to turn its cleaned data into the keyword arguments of its service
(``service_kwargs``); the rules themselves live in the services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiti.org.models import User
from yiti.service.dispatch.choices import ContactChannel, LineKind, Origin
from yiti.service.dispatch.models import CostLine, WorkOrder
from yiti.service.dispatch.services import LineInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class CreateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    origin = forms.ChoiceField(
        label=_("Requested by"),
        choices=[
            (Origin.CUSTOMER_REQUEST, Origin.CUSTOMER_REQUEST.label),
            (Origin.DEALER_REQUEST, Origin.DEALER_REQUEST.label),
        ],
    )
    description = forms.CharField(
        label=_("What the trip is for"), required=False, widget=_textarea(4)
    )

    def __init__(self, *args: Any, from_ticket: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if from_ticket:
            del self.fields["origin"]


class NoteForm(forms.Form):
    """Approve, approve the budget, archive: an optional note."""

    note = forms.CharField(label=_("Note"), required=False, widget=_textarea(2))

    def service_kwargs(self) -> dict[str, Any]:
        return {"note": self.cleaned_data["note"]}


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=_textarea(2),
        help_text=_("Required: the person it goes back to reads this."),
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {"reason": self.cleaned_data["reason"]}


class AssignForm(forms.Form):
    traveller: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Traveller"), queryset=User.objects.none()
    )
    note = forms.CharField(label=_("Note for the traveller"), required=False, widget=_textarea(2))

    def __init__(self, *args: Any, travellers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["traveller"].queryset = travellers  # type: ignore[attr-defined]
        self.fields["traveller"].empty_label = _("Choose a field engineer")  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        return {"traveller": self.cleaned_data["traveller"], "note": self.cleaned_data["note"]}


class LinesMixin(forms.Form):
    """One amount and note per cost kind (transport, lodging, allowance, other)."""

    line_prefix = "budget"

    def add_line_fields(self) -> None:
        for value, label in LineKind.choices:
            self.fields[f"{self.line_prefix}_{value}"] = forms.DecimalField(
                label=label,
                required=False,
                min_value=Decimal("0"),
                max_digits=12,
                decimal_places=2,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
            )
            self.fields[f"{self.line_prefix}_{value}_note"] = forms.CharField(
                label=_("Note"), required=False, max_length=200
            )

    def line_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"{self.line_prefix}_{v}"], self[f"{self.line_prefix}_{v}_note"])
            for v in LineKind.values
        ]

    def main_fields(self) -> list[forms.BoundField]:
        """The fields other than the cost lines."""
        return [self[name] for name in self.fields if not name.startswith(f"{self.line_prefix}_")]

    def line_inputs(self) -> list[LineInput]:
        data = self.cleaned_data
        return [
            LineInput(
                kind=v,
                amount=data[f"{self.line_prefix}_{v}"],
                note=data[f"{self.line_prefix}_{v}_note"],
            )
            for v in LineKind.values
            if data.get(f"{self.line_prefix}_{v}") is not None
        ]

    @classmethod
    def initial_lines(cls, lines: list[CostLine]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for line in lines:
            initial[f"{cls.line_prefix}_{line.kind}"] = line.amount
            initial[f"{cls.line_prefix}_{line.kind}_note"] = line.note
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f"{self.line_prefix}_{v}") is not None for v in LineKind.values):
            raise forms.ValidationError(_("Enter at least one amount."))
        return data


class PlanForm(LinesMixin):
    line_prefix = "budget"

    contact_name = forms.CharField(label=_("Contact person"), max_length=80)
    contact_channel = forms.ChoiceField(label=_("Contacted by"), choices=ContactChannel.choices)
    contact_at = forms.DateTimeField(
        label=_("Contacted at"), widget=_datetime_widget(), input_formats=[DATETIME_LOCAL]
    )
    contact_agreed = forms.CharField(label=_("What was agreed"), widget=_textarea(3))
    destination = forms.CharField(label=_("Destination"), max_length=120)
    purpose = forms.CharField(label=_("Purpose of the trip"), widget=_textarea(2))
    depart_on = forms.DateField(label=_("Departure"), widget=_date_widget())
    return_on = forms.DateField(label=_("Return"), widget=_date_widget())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_line_fields()

    @classmethod
    def initial_for(cls, wo: WorkOrder, lines: list[CostLine]) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "contact_name": wo.contact_name,
            "contact_channel": wo.contact_channel or ContactChannel.CALL,
            "contact_at": timezone.localtime(wo.contact_at) if wo.contact_at else None,
            "contact_agreed": wo.contact_agreed,
            "destination": wo.destination or wo.customer.city,
            "purpose": wo.purpose or wo.subject,
            "depart_on": wo.depart_on,
            "return_on": wo.return_on,
        }
        return {**initial, **cls.initial_lines(lines)}

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "contact_name": d["contact_name"],
            "contact_channel": d["contact_channel"],
            "contact_at": d["contact_at"],
            "contact_agreed": d["contact_agreed"],
            "destination": d["destination"],
            "purpose": d["purpose"],
            "depart_on": d["depart_on"],
            "return_on": d["return_on"],
            "budget": self.line_inputs(),
        }


class ReportForm(forms.Form):
    carried_out_at = forms.DateTimeField(
        label=_("Carried out at"), widget=_datetime_widget(), input_formats=[DATETIME_LOCAL]
    )
    findings = forms.CharField(label=_("Findings"), widget=_textarea(3))
    work_done = forms.CharField(label=_("Work done"), widget=_textarea(3))
    parts = forms.CharField(label=_("Parts used"), required=False, widget=_textarea(2))
    customer_signed_off = forms.BooleanField(label=_("The customer signed off"), required=False)
    signed_off_by = forms.CharField(label=_("Signed off by"), required=False, max_length=80)

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ClaimForm(LinesMixin):
    line_prefix = "expense"

    receipts_count = forms.IntegerField(label=_("Receipts"), min_value=0, max_value=1000)
    over_budget_reason = forms.CharField(
        label=_("Reason for exceeding the budget"),
        required=False,
        widget=_textarea(2),
        # xgettext:no-python-format
        help_text=_("Required when the claim is more than 10% over the approved budget."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_line_fields()

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "lines": self.line_inputs(),
            "receipts_count": d["receipts_count"],
            "over_budget_reason": d["over_budget_reason"],
        }


class ReimburseForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount reimbursed"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=_textarea(2),
        help_text=_("Required when less than claimed is reimbursed."),
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {"amount": self.cleaned_data["amount"], "note": self.cleaned_data["note"]}
