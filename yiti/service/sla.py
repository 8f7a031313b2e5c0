"""SLA on tickets: the policy, the clock readings stored on the ticket, warnings and breaches.

The clocks themselves are pure functions (:mod:`yiti.core.sla_clock`) read from the ticket's
status history (its :class:`TicketEvent` rows with a ``to_status``) and the business calendar
of its unit. :func:`sla_refresh` runs on creation, on every transition and in the periodic
sweep; it stores the due times, the combined state and ``sla_next_at`` (the next threshold a
running clock will cross), and the first time a clock crosses its warning or breach threshold
it records that on the ticket and as a :class:`TicketEvent`, tells the assignee (warning) or
escalates to the managers of the unit (breach: in-app and e-mail, sent after commit).

An SLA computation never fails the write that triggered it: when the unit's calendar has no
working hours in reach (:class:`~yiti.core.business_time.NoWorkingHours`), the ticket is
recorded with no SLA target (state ``none``, no due times), a :class:`TicketEvent` says why,
and the managers of the unit are told, once per ticket. A later refresh on a repaired
calendar gives the ticket its target back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.business_time import (
    CalendarSpec,
    NoWorkingHours,
    add_business_seconds,
    schedule_covers,
)
from yiti.core.sla_clock import (
    ClockReading,
    ClockState,
    first_response_clock,
    resolution_clock,
)
from yiti.org.choices import Role
from yiti.org.models import Membership, User
from yiti.org.services import notify
from yiti.service.calendars import spec_for_unit, unit_chain_ids
from yiti.service.choices import OPEN_STATUSES, SlaState, TicketEventKind
from yiti.service.models import SlaPolicy, Ticket, TicketEvent

Timeline = Sequence[tuple[datetime, str]]

NO_TARGET_NOTE = gettext_lazy("No SLA target: the calendar has no working hours in reach.")

SLA_FIELDS = [
    "first_response_due_at",
    "resolution_due_at",
    "sla_state",
    "sla_warned_at",
    "sla_breached_at",
    "sla_next_at",
]


def policy_for(*, kind: str, priority: str) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(kind=kind, priority=priority, active=True).first()


def timeline_of(ticket: Ticket) -> list[tuple[datetime, str]]:
    return [
        (at, status)
        for at, status in TicketEvent.objects.filter(ticket=ticket)
        .exclude(to_status="")
        .order_by("at", "id")
        .values_list("at", "to_status")
    ]


def _combined(first: ClockReading, resolution: ClockReading) -> str:
    states = {first.state, resolution.state}
    if resolution.state in (ClockState.MET, ClockState.MISSED):
        return SlaState.MISSED if ClockState.MISSED in states else SlaState.MET
    if ClockState.BREACHED in states:
        return SlaState.BREACHED
    if resolution.state is ClockState.PAUSED:
        return SlaState.PAUSED
    if ClockState.WARNING in states:
        return SlaState.WARNING
    return SlaState.OK


def managers_of(ticket: Ticket) -> list[User]:
    """Region managers of the ticket's unit or the nearest unit above it that has one; then the
    customer's unit chain; then the administrators."""
    chains = [unit_chain_ids(ticket.unit), unit_chain_ids(ticket.customer.unit)]
    ids = {unit_id for chain in chains for unit_id in chain}
    rows = list(
        Membership.objects.current()
        .filter(unit_id__in=ids, role__in=[Role.REGION_MANAGER, Role.ADMIN], user__is_active=True)
        .select_related("user")
    )
    for role in (Role.REGION_MANAGER, Role.ADMIN):
        for chain in chains:
            for unit_id in chain:
                users = [m.user for m in rows if m.unit_id == unit_id and m.role == role]
                if users:
                    return sorted(users, key=lambda u: u.pk)
    return []


def _ticket_link(ticket: Ticket) -> str:
    return reverse("service:ticket", args=[ticket.pk])


def sla_refresh(
    ticket: Ticket,
    *,
    now: datetime,
    timeline: Timeline | None = None,
    spec: CalendarSpec | None = None,
    notify_people: bool = True,
) -> list[str]:
    """Recompute the SLA fields of ``ticket`` as of ``now``; returns the changed field names
    (the caller saves them). Records warning and breach events the first time they happen."""
    before = {name: getattr(ticket, name) for name in SLA_FIELDS}
    policy = ticket.sla_policy
    if policy is None:
        ticket.sla_state = SlaState.NONE
        ticket.first_response_due_at = ticket.resolution_due_at = ticket.sla_next_at = None
        return [name for name in SLA_FIELDS if getattr(ticket, name) != before[name]]
    spec = spec or spec_for_unit(ticket.unit)
    timeline = list(timeline) if timeline is not None else timeline_of(ticket)
    now = max(now, timeline[0][0])
    percent = max(1, min(100, round(float(policy.warning_ratio) * 100)))
    first = first_response_clock(
        spec=spec,
        target_seconds=policy.first_response_minutes * 60,
        timeline=timeline,
        now=now,
        first_response_at=ticket.first_response_at,
        warning_percent=percent,
    )
    resolution = resolution_clock(
        spec=spec,
        target_seconds=policy.resolution_minutes * 60,
        timeline=timeline,
        now=now,
        warning_percent=percent,
    )
    try:
        first_due = add_business_seconds(spec, first.started_at, policy.first_response_minutes * 60)
    except NoWorkingHours:
        first_due = None
    if first_due is None or first.unreachable or resolution.unreachable:
        _record_no_target(ticket, now=now, notify_people=notify_people)
        return [name for name in SLA_FIELDS if getattr(ticket, name) != before[name]]
    ticket.first_response_due_at = first_due
    if resolution.running:
        ticket.resolution_due_at = resolution.due_at
    elif resolution.state is ClockState.PAUSED:
        ticket.resolution_due_at = None
    elif resolution.breached_at is not None:
        ticket.resolution_due_at = resolution.breached_at
    ticket.sla_state = _combined(first, resolution)
    upcoming = [
        at
        for reading in (first, resolution)
        if reading.running
        for at in (reading.warning_at, reading.breached_at)
        if at is not None and at > now
    ]
    ticket.sla_next_at = min(upcoming) if upcoming and ticket.status in OPEN_STATUSES else None

    # a threshold instant at or before now is the instant it was crossed
    warned = [r.warning_at for r in (first, resolution) if r.warning_at and r.warning_at <= now]
    breached = [
        r.breached_at for r in (first, resolution) if r.breached_at and r.breached_at <= now
    ]
    if warned and ticket.sla_warned_at is None:
        ticket.sla_warned_at = min(warned)
        _record_warning(ticket, notify_people=notify_people)
    if breached and ticket.sla_breached_at is None:
        ticket.sla_breached_at = min(breached)
        _record_breach(ticket, notify_people=notify_people)
    return [name for name in SLA_FIELDS if getattr(ticket, name) != before[name]]


def _record_no_target(ticket: Ticket, *, now: datetime, notify_people: bool) -> None:
    """No working hours in reach: no SLA target; note it on the ticket and tell the managers
    of its unit, the first time only."""
    ticket.sla_state = SlaState.NONE
    ticket.first_response_due_at = ticket.resolution_due_at = ticket.sla_next_at = None
    if TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.SLA_NO_TARGET).exists():
        return
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEventKind.SLA_NO_TARGET, at=now, body=str(NO_TARGET_NOTE)
    )
    managers = managers_of(ticket) if notify_people else []
    if managers:
        notify(
            users=managers,
            title=_("No SLA target on ticket #%(id)s: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=_(
                "The business calendar of %(unit)s has no working hours in reach, so ticket "
                "#%(id)s has no SLA due time. Give the calendar working hours on the "
                "calendar page."
            )
            % {"unit": ticket.unit.name, "id": ticket.pk},
            link=_ticket_link(ticket),
            kind="sla_no_target",
        )


def sla_notes(ticket: Ticket, *, now: datetime, spec: CalendarSpec | None = None) -> list[str]:
    """What a reader of the ticket's SLA clock must know: no target, or a year on the clock
    whose holiday schedule is not loaded (counted on weekly hours only)."""
    if ticket.sla_policy_id is None:
        return []
    notes: list[str] = []
    if ticket.sla_state == SlaState.NONE:
        notes.append(str(NO_TARGET_NOTE))
    spec = spec or spec_for_unit(ticket.unit)
    ends = [ticket.first_response_due_at, ticket.resolution_due_at]
    ends.append(now if ticket.status in OPEN_STATUSES else ticket.closed_at or ticket.resolved_at)
    last = max([at for at in ends if at is not None] + [ticket.opened_at])
    first_year = ticket.opened_at.astimezone(spec.tz).year
    for year in range(first_year, last.astimezone(spec.tz).year + 1):
        if not schedule_covers(spec, year):
            notes.append(
                _("%(year)s holiday schedule not loaded: counted on weekly hours only")
                % {"year": year}
            )
    return notes


def _record_warning(ticket: Ticket, *, notify_people: bool) -> None:
    assert ticket.sla_warned_at is not None
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.SLA_WARNING,
        at=ticket.sla_warned_at,
        body=_("The SLA is nearly used up."),
    )
    if notify_people and ticket.assignee_id and ticket.status in OPEN_STATUSES:
        notify(
            users=[ticket.assignee] if ticket.assignee else [],
            title=_("SLA warning on ticket #%(id)s: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=_("Due %(due)s.") % {"due": _due_text(ticket)},
            link=_ticket_link(ticket),
            kind="sla_warning",
        )


def _record_breach(ticket: Ticket, *, notify_people: bool) -> None:
    assert ticket.sla_breached_at is not None
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.SLA_BREACH,
        at=ticket.sla_breached_at,
        body=_("The SLA was breached."),
    )
    if not notify_people or ticket.status not in OPEN_STATUSES:
        return
    managers = managers_of(ticket)
    if managers:
        notify(
            users=managers,
            title=_("SLA breached on ticket #%(id)s: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=_(
                "Ticket #%(id)s (%(kind)s, %(priority)s) of %(customer)s in %(unit)s breached "
                "its SLA at %(at)s. Assignee: %(assignee)s."
            )
            % {
                "id": ticket.pk,
                "kind": ticket.get_kind_display(),
                "priority": ticket.get_priority_display(),
                "customer": ticket.customer.name,
                "unit": ticket.unit.name,
                "at": f"{localtime(ticket.sla_breached_at):%Y-%m-%d %H:%M}",
                "assignee": ticket.assignee or _("nobody"),
            },
            link=_ticket_link(ticket),
            kind="sla_breach",
            email=True,
        )


def _due_text(ticket: Ticket) -> str:
    due = ticket.resolution_due_at or ticket.first_response_due_at
    return f"{localtime(due):%Y-%m-%d %H:%M}" if due else "—"
