"""Service desk: tickets with their event history, SLA policies, business calendars, routing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.core.models import TimeStampedModel
from yiti.customers.models import Customer, Order
from yiti.org.models import OrgUnit
from yiti.service.choices import (
    ComplaintClass,
    ComplaintReason,
    HolidayDateKind,
    Priority,
    SlaState,
    TicketChannel,
    TicketEventKind,
    TicketKind,
    TicketStatus,
)


class BusinessCalendar(TimeStampedModel):
    """Working hours of a unit, as data editable in the UI.

    ``weekly_hours`` maps ``mon``..``sun`` to a list of ``["09:00", "12:00"]`` intervals; the gap
    between intervals is the lunch break. ``use_cn_holidays`` applies the statutory holidays and
    adjusted working weekends (调休): a year loaded as a :class:`HolidaySchedule` first, else the
    ``chinesecalendar`` library; an adjusted working day uses the hours of
    ``adjusted_workday_as``.

    A calendar without a unit is **the company default**: there is at most one (the constraint
    ``calendar_one_default``, on ``COALESCE(unit_id, 0)``, since a plain unique constraint lets
    any number of NULLs through), only administrators create or change it, and it applies to
    every unit that has no calendar of its own nor on a unit above it. Without it the built-in
    default applies: Monday to Friday 09:00–12:00 and 13:30–18:00 with the Chinese holidays.

    Every calendar has working hours on at least one weekday (checked when saved); a calendar
    that still has no working hours in reach (its exceptions close every day for ten years, or
    it was saved before the check) never fails a ticket: the ticket gets no SLA target.
    """

    unit = models.OneToOneField(
        OrgUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar"
    )
    name = models.CharField(_("name"), max_length=80)
    time_zone = models.CharField(_("time zone"), max_length=40, default="Asia/Shanghai")
    weekly_hours = models.JSONField(_("weekly hours"), default=dict)
    use_cn_holidays = models.BooleanField(
        _("Chinese public holidays and adjusted workdays"), default=True
    )
    adjusted_workday_as = models.CharField(max_length=3, default="mon")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Coalesce("unit", Value(0)), name="calendar_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarException(models.Model):
    """A manual exception to a calendar: a day closed (no intervals) or with special hours."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions"
    )
    date = models.DateField(_("date"))
    intervals = models.JSONField(_("hours"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_exception_unique")
        ]

    def __str__(self) -> str:
        return f"{self.calendar} {self.date}"


class HolidaySchedule(TimeStampedModel):
    """A year's official holiday schedule (the State Council's), loaded as data; company-wide.

    It applies to every calendar that follows the national schedule (``use_cn_holidays``) and,
    for its year, replaces the ``chinesecalendar`` package, which ships only the years known
    when it was released. Its :class:`HolidayDate` rows are the public holidays (closed) and the
    adjusted working days (调休上班: weekends worked with the hours of ``adjusted_workday_as``);
    every other date of the year keeps its weekly hours. ``source`` says where it came from
    (a file name, or that it was entered on the calendar page).
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__gte=2000, year__lte=2200), name="holiday_schedule_year_range"
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)


class HolidayDate(models.Model):
    """One date of a :class:`HolidaySchedule`: a public holiday or an adjusted working day."""

    schedule = models.ForeignKey(HolidaySchedule, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    kind = models.CharField(_("type"), max_length=8, choices=HolidayDateKind.choices)
    name = models.CharField(_("name"), max_length=40, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "date"], name="holiday_date_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=HolidayDateKind.values), name="holiday_date_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.kind} {self.name}"


class SlaPolicy(TimeStampedModel):
    """Targets in business minutes for a ticket kind and priority."""

    kind = models.CharField(_("kind"), max_length=24, choices=TicketKind.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"))
    warning_ratio = models.DecimalField(
        _("warning at"), max_digits=3, decimal_places=2, default=0.8
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "priority"], name="sla_policy_unique"),
            models.CheckConstraint(
                condition=Q(resolution_minutes__gt=0), name="sla_resolution_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.get_priority_display()}"


class RoutingRule(TimeStampedModel):
    """Which unit takes a new ticket: first active rule (by ``position``) that matches wins.

    Blank ``kind``/``complaint_class`` match any; ``territory`` matches customers whose unit is
    that unit or below it.
    """

    position = models.PositiveIntegerField(_("order"), default=100)
    kind = models.CharField(_("kind"), max_length=24, choices=TicketKind.choices, blank=True)
    complaint_class = models.CharField(
        _("complaint class"), max_length=16, choices=ComplaintClass.choices, blank=True
    )
    territory = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    target_unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"#{self.position} → {self.target_unit}"


class Topic(TimeStampedModel):
    """A consultation or complaint topic of the catalogue (热点问题), chosen on the ticket.

    Linked to the product and the campaign it is about (``campaign_id`` is a plain id: campaigns
    sit above service). ``applies_to`` blank: any ticket kind. ``keywords`` (separated by
    commas or spaces) teach the hot-issue mining to keep these words whole. Company-wide data,
    kept by administrators and region managers; a topic in use is deactivated, never deleted.
    """

    name = models.CharField(_("name"), max_length=80, unique=True)
    applies_to = models.CharField(
        _("for tickets of kind"), max_length=24, choices=TicketKind.choices, blank=True
    )
    product = models.ForeignKey(
        "customers.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product"),
    )
    campaign_id = models.BigIntegerField(_("campaign"), null=True, blank=True)
    keywords = models.CharField(_("keywords"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        indexes = [models.Index(fields=["active", "applies_to"], name="topic_active_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(applies_to="") | Q(applies_to__in=TicketKind.values),
                name="topic_applies_to_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(TimeStampedModel):
    """A service ticket. Complaints carry a class, and may name the campaign and the staff member.

    ``campaign_id`` is a plain id (campaigns sit above service); ``followup_id`` likewise points
    at the care follow-up that opened it. SLA fields are denormalised for the queue page and
    recomputed from the event history by the SLA clock on every transition and sweep;
    ``sla_next_at`` is the next instant at which a running clock crosses its warning or breach
    threshold, so the periodic sweep finds the tickets to look at with one indexed query.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    kind = models.CharField(_("kind"), max_length=24, choices=TicketKind.choices)
    complaint_class = models.CharField(
        _("complaint class"), max_length=16, choices=ComplaintClass.choices, blank=True
    )
    complaint_reason = models.CharField(
        _("complaint reason"), max_length=32, choices=ComplaintReason.choices, blank=True
    )
    campaign_id = models.BigIntegerField(_("campaign"), null=True, blank=True)
    staff_concerned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff concerned"),
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    followup_id = models.BigIntegerField(null=True, blank=True)
    topic = models.ForeignKey(
        Topic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("topic"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=TicketChannel.choices, default=TicketChannel.PHONE
    )
    status = models.CharField(
        _("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("service unit")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(pgettext_lazy("ticket", "opened"))
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_state = models.CharField(
        _("SLA"), max_length=10, choices=SlaState.choices, default=SlaState.NONE
    )
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    sla_next_at = models.DateTimeField(
        null=True, blank=True, help_text="When the SLA state changes next (for the sweep)."
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["unit", "status", "-opened_at"], name="ticket_queue"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["customer", "-opened_at"], name="ticket_customer"),
            models.Index(fields=["kind", "status"], name="ticket_kind_status"),
            models.Index(
                fields=["campaign_id", "complaint_class"],
                name="ticket_campaign_class",
                condition=Q(campaign_id__isnull=False),
            ),
            models.Index(fields=["unit", "-opened_at"], name="ticket_unit_opened"),
            models.Index(fields=["unit", "kind", "-opened_at"], name="ticket_unit_kind"),
            models.Index(fields=["unit", "sla_state", "-opened_at"], name="ticket_unit_sla"),
            models.Index(
                fields=["sla_next_at"],
                name="ticket_sla_next",
                condition=Q(sla_next_at__isnull=False),
            ),
            models.Index(fields=["resolved_at"], name="ticket_resolved_at"),
            models.Index(
                fields=["topic", "opened_at"],
                name="ticket_topic_opened",
                condition=Q(topic__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=TicketKind.COMPLAINT) | ~Q(complaint_class=""),
                name="complaint_has_class",
            ),
            models.CheckConstraint(
                condition=Q(kind=TicketKind.COMPLAINT) | Q(complaint_class=""),
                name="only_complaints_have_class",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class TicketEvent(models.Model):
    """The ticket's history: creation, status changes, assignment, replies, notes, SLA events."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=TicketEventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    body = models.TextField(blank=True)
    public = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_ticket_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
