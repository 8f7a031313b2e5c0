"""Forms of the service desk pages. They read input; the services decide."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.core.errors import ValidationFailed
from yiti.org.models import OrgUnit, User
from yiti.service.calendars import (
    DAYS,
    NO_HOURS_MESSAGE,
    has_weekly_hours,
    hours_from_text,
    hours_text,
)
from yiti.service.choices import (
    ComplaintClass,
    ComplaintReason,
    Priority,
    TicketChannel,
    TicketKind,
)
from yiti.service.models import BusinessCalendar, RoutingRule, SlaPolicy, Topic

BLANK = [("", "—")]


class TicketForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=TicketKind.choices)
    complaint_class = forms.ChoiceField(
        label=_("Complaint class"), choices=BLANK + list(ComplaintClass.choices), required=False
    )
    complaint_reason = forms.ChoiceField(
        label=_("Complaint reason"), choices=BLANK + list(ComplaintReason.choices), required=False
    )
    campaign_id = forms.IntegerField(
        label=_("Campaign id"),
        required=False,
        min_value=1,
        help_text=_("The campaign the complaint is about, if any."),
    )
    staff_concerned = forms.ModelChoiceField(
        label=_("Staff concerned"), queryset=User.objects.none(), required=False
    )
    topic = forms.ModelChoiceField(
        label=_("Topic"),
        queryset=Topic.objects.filter(active=True),
        required=False,
        help_text=_("What the customer asks or complains about, from the topic catalogue."),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial="normal")
    channel = forms.ChoiceField(label=_("Channel"), choices=TicketChannel.choices, initial="phone")
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )

    COMPLAINT_FIELDS = ("complaint_class", "complaint_reason", "campaign_id", "staff_concerned")

    def __init__(
        self,
        *args: Any,
        staff: Any = None,
        campaigns: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["staff_concerned"].queryset = staff  # type: ignore[attr-defined]
        self.fields["staff_concerned"].widget.attrs["data-search"] = "1"
        if campaigns is not None:  # a picker of names instead of the bare id
            self.fields["campaign_id"] = forms.TypedChoiceField(
                label=_("Campaign"),
                choices=[("", "—"), *campaigns],
                coerce=int,
                empty_value=None,
                required=False,
                help_text=_("The campaign the complaint is about, if any."),
                widget=forms.Select(attrs={"data-search": "1"}),
            )
        for name in self.COMPLAINT_FIELDS:
            self.fields[name].widget.attrs["data-complaint-only"] = "1"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") != TicketKind.COMPLAINT:
            # fields hidden for other kinds may still carry a value picked before switching
            data["complaint_class"] = data["complaint_reason"] = ""
        return data


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}))
    public = forms.BooleanField(
        label=_("Send to the customer (public reply)"), required=False, initial=True
    )


class TransitionForm(forms.Form):
    to_status = forms.CharField(widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Comment or resolution"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.none())

    def __init__(self, *args: Any, agents: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [a.pk for a in agents or []]
        self.fields["assignee"].queryset = User.objects.filter(pk__in=ids)  # type: ignore[attr-defined]


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "kind",
            "priority",
            "first_response_minutes",
            "resolution_minutes",
            "warning_ratio",
            "active",
        ]
        help_texts = {
            "first_response_minutes": _("Business minutes, e.g. 120 = two working hours."),
            "resolution_minutes": _("Business minutes, e.g. 1500 = about three working days."),
            "warning_ratio": _("Warn when this share of the target is used, e.g. 0.80."),
        }


class RoutingRuleForm(forms.ModelForm):
    """One routing rule; the unit choices are the units the manager can see."""

    class Meta:
        model = RoutingRule
        fields = ["position", "kind", "complaint_class", "territory", "target_unit", "active"]
        labels = {
            "position": pgettext_lazy("position", "Order"),
            "kind": _("Ticket kind"),
            "complaint_class": _("Complaint class"),
            "territory": _("Customers of unit"),
            "target_unit": _("Route to unit"),
            "active": _("Active"),
        }
        help_texts = {
            "position": _("Rules are tried from the lowest number; the first match wins."),
            "kind": _("Blank: any kind."),
            "complaint_class": _("Blank: any class. Only for complaints."),
            "territory": _("Customers of this unit and the units below it. Blank: anywhere."),
            "target_unit": _("The service unit whose queue takes the ticket."),
        }

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].empty_label = _("Anywhere")  # type: ignore[attr-defined]
        if units is not None:
            self.fields["territory"].queryset = units  # type: ignore[attr-defined]
            self.fields["target_unit"].queryset = units  # type: ignore[attr-defined]


WEEKDAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}


class CalendarForm(forms.Form):
    """A calendar with one text field of hours per weekday and the exceptions as lines."""

    name = forms.CharField(label=_("Name"), max_length=80)
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("Company default"),
    )
    time_zone = forms.CharField(label=_("Time zone"), max_length=40, initial="Asia/Shanghai")
    use_cn_holidays = forms.BooleanField(
        label=_("Chinese public holidays and adjusted workdays"), required=False, initial=True
    )
    adjusted_workday_as = forms.ChoiceField(
        label=_("Adjusted working weekend days work like"),
        choices=[(d, WEEKDAY_LABELS[d]) for d in DAYS],
        initial="mon",
    )
    exceptions = forms.CharField(
        label=_("Exceptions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text=_(
            "One per line: date | hours | note. Blank hours close the day, e.g. "
            "“2026-12-31 | 09:00-12:00 | year end” or “2026-06-01 | | company day off”."
        ),
    )

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        for day in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=WEEKDAY_LABELS[day],
                required=False,
                help_text=_("e.g. 09:00-12:00, 13:30-18:00; blank: closed") if day == "mon" else "",
            )
        # show the weekdays right after the name and unit
        order = ["name", "unit", *[f"hours_{d}" for d in DAYS]]
        self.order_fields(order)

    @staticmethod
    def initial_for(calendar: BusinessCalendar | None) -> dict[str, Any]:
        from yiti.service.calendars import default_weekly_hours

        weekly = calendar.weekly_hours if calendar else default_weekly_hours()
        initial: dict[str, Any] = {f"hours_{d}": hours_text(weekly.get(d, [])) for d in DAYS}
        if calendar is not None:
            initial.update(
                name=calendar.name,
                unit=calendar.unit_id,
                time_zone=calendar.time_zone,
                use_cn_holidays=calendar.use_cn_holidays,
                adjusted_workday_as=calendar.adjusted_workday_as,
                exceptions="\n".join(
                    f"{e.date:%Y-%m-%d} | {hours_text(e.intervals)} | {e.note}"
                    for e in calendar.exceptions.all()
                ),
            )
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        weekly: dict[str, list[list[str]]] = {}
        for day in DAYS:
            try:
                weekly[day] = hours_from_text(data.get(f"hours_{day}", ""), field=f"hours_{day}")
            except ValidationFailed as exc:
                self.add_error(f"hours_{day}", exc.message)
        data["weekly_hours"] = weekly
        if not self.errors and not has_weekly_hours(weekly):
            self.add_error("hours_mon", NO_HOURS_MESSAGE)
        rows: list[tuple[date, list[list[str]], str]] = []
        for number, line in enumerate((data.get("exceptions") or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            parts += [""] * (3 - len(parts))
            try:
                on = date.fromisoformat(parts[0])
                hours = hours_from_text(parts[1], field="exceptions")
            except (ValueError, ValidationFailed):
                self.add_error(
                    "exceptions",
                    _("Line %(n)s: use “YYYY-MM-DD | HH:MM-HH:MM | note”.") % {"n": number},
                )
                continue
            rows.append((on, hours, parts[2]))
        data["exception_rows"] = rows
        return data


class HolidayScheduleForm(forms.Form):
    """A year's official schedule: a file, or the dates typed one per line."""

    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_(
            "CSV, XLSX or text with one date per row: date, type (holiday/workday, 假/班), name. "
            "A header row (日期, 类型, 名称) is optional."
        ),
    )
    dates = forms.CharField(
        label=_("Or type the dates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
        help_text=_(
            "One per line, e.g. “2027-02-06, holiday, 春节” or “2027-02-14, workday, 春节调休”. "
            "Saving replaces the whole year."
        ),
    )
