"""API endpoints of the service desk (``router``; mounted at /api/v1/service).

Thin, like the customer endpoints: schemas in, one selector or service call, schemas out.
Lists use the same filter as the queue page (:class:`TicketFilters`) and the same pagination
without a count; errors are the usual ``{"code", "message", "field"}`` answers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.core.schema_types import Clock, Flag, Id, Int, IsoDate, Text
from yiti.customers.selectors import customer_get_for
from yiti.org.api import UnitRef, UserRef
from yiti.org.models import OrgUnit, User
from yiti.service import holidays, selectors, services
from yiti.service.choices import (
    ComplaintClass,
    ComplaintReason,
    Priority,
    SlaState,
    TicketChannel,
    TicketKind,
    TicketStatus,
)
from yiti.service.filters import TicketFilters
from yiti.service.models import (
    BusinessCalendar,
    HolidaySchedule,
    SlaPolicy,
    Ticket,
    TicketEvent,
    Topic,
)

router = Router(tags=["service"])


# --- schemas --------------------------------------------------------------------------------


class CustomerRef(Schema):
    id: int
    name: str


class TicketOut(Schema):
    id: int
    kind: str
    status: str
    priority: str
    channel: str
    subject: str
    customer: CustomerRef
    unit: UnitRef
    assignee: UserRef | None
    complaint_class: str
    complaint_reason: str
    campaign_id: int | None
    order_id: int | None
    topic_id: int | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_state: str
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_warned_at: datetime | None
    sla_breached_at: datetime | None

    @classmethod
    def fields_of(cls, t: Ticket) -> dict[str, Any]:
        return {
            "id": t.pk,
            "kind": t.kind,
            "status": t.status,
            "priority": t.priority,
            "channel": t.channel,
            "subject": t.subject,
            "customer": CustomerRef(id=t.customer_id, name=t.customer.name),
            "unit": UnitRef.of(t.unit),
            "assignee": UserRef.of(t.assignee),
            "complaint_class": t.complaint_class,
            "complaint_reason": t.complaint_reason,
            "campaign_id": t.campaign_id,
            "order_id": t.order_id,
            "topic_id": t.topic_id,
            "opened_at": t.opened_at,
            "first_response_at": t.first_response_at,
            "resolved_at": t.resolved_at,
            "closed_at": t.closed_at,
            "sla_state": t.sla_state,
            "first_response_due_at": t.first_response_due_at,
            "resolution_due_at": t.resolution_due_at,
            "sla_warned_at": t.sla_warned_at,
            "sla_breached_at": t.sla_breached_at,
        }

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        return cls(**cls.fields_of(t))


class EventOut(Schema):
    id: int
    kind: str
    at: datetime
    actor: UserRef | None
    from_status: str
    to_status: str
    body: str
    public: bool

    @classmethod
    def of(cls, e: TicketEvent) -> EventOut:
        return cls(
            id=e.pk,
            kind=e.kind,
            at=e.at,
            actor=UserRef.of(e.actor),
            from_status=e.from_status,
            to_status=e.to_status,
            body=e.body,
            public=e.public,
        )


class TicketDetailOut(TicketOut):
    description: str
    resolution: str
    staff_concerned: UserRef | None
    events: list[EventOut]


class TicketPage(Schema):
    items: list[TicketOut]
    page: int
    page_size: int
    has_next: bool


class TicketQuery(Schema):
    status: Literal["open", "all"] | TicketStatus = "open"
    kind: TicketKind | None = None
    complaint_class: ComplaintClass | None = None
    sla_state: SlaState | None = None
    assignee: int | None = Field(None, description="Assignee (user id).")
    mine: bool = Field(False, description="Only tickets assigned to you.")
    unit: int | None = Field(None, description="One unit's queue (unit id).")
    customer: int | None = Field(None, description="Only this customer's tickets.")
    campaign: int | None = Field(None, description="Complaints about this campaign (id).")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class TicketIn(Schema):
    customer: Id
    kind: TicketKind
    subject: Text = Field(max_length=200)
    description: Text = Field("", max_length=20_000)
    priority: Priority = Priority.NORMAL
    channel: TicketChannel = TicketChannel.PHONE
    complaint_class: ComplaintClass | Literal[""] = ""
    complaint_reason: ComplaintReason | Literal[""] = ""
    campaign_id: Id | None = None
    staff_concerned: Id | None = Field(None, description="User id of the staff member concerned.")
    topic: Id | None = Field(None, description="Topic id (GET /api/v1/quality/topics).")


class TransitionIn(Schema):
    to_status: TicketStatus
    body: Text = Field("", max_length=20_000, description="Comment; the resolution when resolving.")


class ReplyIn(Schema):
    body: Text = Field(max_length=20_000)
    public: Flag = Field(True, description="False for an internal note.")


class TicketAssignIn(Schema):
    assignee: Id = Field(description="User id of a service agent of the ticket's unit.")


class PolicyOut(Schema):
    id: int
    kind: str
    priority: str
    first_response_minutes: int
    resolution_minutes: int
    warning_ratio: Decimal
    active: bool

    @classmethod
    def of(cls, p: SlaPolicy) -> PolicyOut:
        return cls(
            id=p.pk,
            kind=p.kind,
            priority=p.priority,
            first_response_minutes=p.first_response_minutes,
            resolution_minutes=p.resolution_minutes,
            warning_ratio=Decimal(str(p.warning_ratio)),
            active=p.active,
        )


MAX_TARGET_MINUTES = 366 * 24 * 60  # an SLA target of at most a year


class PolicyIn(Schema):
    kind: TicketKind
    priority: Priority
    first_response_minutes: Int = Field(gt=0, le=MAX_TARGET_MINUTES)
    resolution_minutes: Int = Field(gt=0, le=MAX_TARGET_MINUTES)
    warning_ratio: Decimal = Field(
        Decimal("0.80"), gt=0, le=1, max_digits=3, decimal_places=2, allow_inf_nan=False
    )
    active: Flag = True


Hours = list[tuple[str, str]]
# what a calendar is given: "HH:MM" pairs (24:00 ends a day), at most a few a day
HoursIn = Annotated[list[tuple[Clock, Clock]], Field(max_length=12)]


class ExceptionIO(Schema):
    date: date
    hours: Hours = Field(default_factory=list, description="Empty: closed that day.")
    note: str = Field("", max_length=120)


class ExceptionIn(Schema):
    date: IsoDate
    hours: HoursIn = Field(default_factory=list, description="Empty: closed that day.")
    note: Text = Field("", max_length=120)


class CalendarOut(Schema):
    id: int
    name: str
    unit: UnitRef | None
    time_zone: str
    weekly_hours: dict[str, Hours]
    use_cn_holidays: bool
    adjusted_workday_as: str
    exceptions: list[ExceptionIO]

    @classmethod
    def of(cls, c: BusinessCalendar) -> CalendarOut:
        return cls(
            id=c.pk,
            name=c.name,
            unit=UnitRef.of(c.unit) if c.unit else None,
            time_zone=c.time_zone,
            weekly_hours={k: [(a, b) for a, b in v] for k, v in (c.weekly_hours or {}).items()},
            use_cn_holidays=c.use_cn_holidays,
            adjusted_workday_as=c.adjusted_workday_as,
            exceptions=[
                ExceptionIO(date=e.date, hours=[(a, b) for a, b in e.intervals], note=e.note)
                for e in c.exceptions.all()
            ],
        )


class CalendarIn(Schema):
    name: Text = Field(max_length=80)
    unit: Id | None = Field(None, description="Unit id; none for the company default.")
    time_zone: Text = Field("Asia/Shanghai", max_length=40)
    weekly_hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], HoursIn] = Field(
        description='{"mon": [["09:00", "12:00"], ["13:30", "18:00"]], ..., "sun": []}'
    )
    use_cn_holidays: Flag = True
    adjusted_workday_as: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    exceptions: list[ExceptionIn] | None = Field(
        None, max_length=3660, description="Replaces the exceptions when given."
    )


# --- helpers --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _user_ref(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationFailed(
            _("No user with id %(id)s.") % {"id": user_id}, field=field, code="unknown_user"
        )
    return user


def _topic_ref(topic_id: int | None) -> Topic | None:
    if topic_id is None:
        return None
    topic = Topic.objects.filter(pk=topic_id).first()
    if topic is None:
        raise ValidationFailed(
            _("No topic with id %(id)s.") % {"id": topic_id}, field="topic", code="unknown_topic"
        )
    return topic


def _detail(user: Any, ticket_id: int) -> TicketDetailOut:
    t = selectors.ticket_get_for(user, ticket_id)
    return TicketDetailOut(
        **TicketOut.fields_of(t),
        description=t.description,
        resolution=t.resolution,
        staff_concerned=UserRef.of(t.staff_concerned),
        events=[EventOut.of(e) for e in selectors.ticket_history(t)],
    )


# --- tickets --------------------------------------------------------------------------------


@router.get("/tickets", response=TicketPage, summary="List the tickets you may see")
def tickets_list(request: HttpRequest, query: Query[TicketQuery]) -> TicketPage:
    user = _user(request)
    filters = TicketFilters.from_mapping(query.model_dump())
    qs = (
        selectors.queue(user, query.unit, filters)
        if query.unit
        else selectors.ticket_list(user, filters)
    )
    page = paginate(qs, page=query.page, size=query.page_size)
    return TicketPage(
        items=[TicketOut.of(t) for t in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post("/tickets", response={201: TicketDetailOut}, summary="Open a ticket")
def tickets_create(request: HttpRequest, payload: TicketIn) -> Status[TicketDetailOut]:
    user = _user(request)
    customer = customer_get_for(user, payload.customer)
    ticket = services.ticket_create(
        actor=user,
        customer=customer,
        kind=payload.kind,
        subject=payload.subject,
        description=payload.description,
        priority=payload.priority,
        channel=payload.channel,
        complaint_class=payload.complaint_class,
        complaint_reason=payload.complaint_reason,
        campaign_id=payload.campaign_id,
        staff_concerned=_user_ref(payload.staff_concerned, "staff_concerned"),
        topic=_topic_ref(payload.topic),
    )
    return Status(201, _detail(user, ticket.pk))


@router.get("/tickets/{ticket_id}", response=TicketDetailOut, summary="One ticket and its history")
def tickets_detail(request: HttpRequest, ticket_id: int) -> TicketDetailOut:
    return _detail(_user(request), ticket_id)


@router.post(
    "/tickets/{ticket_id}/transition",
    response=TicketDetailOut,
    summary="Change the status (422 invalid_transition when the state machine refuses)",
)
def tickets_transition(
    request: HttpRequest, ticket_id: int, payload: TransitionIn
) -> TicketDetailOut:
    user = _user(request)
    ticket = selectors.ticket_get_for(user, ticket_id)
    services.ticket_transition(
        actor=user, ticket=ticket, to_status=payload.to_status, body=payload.body
    )
    return _detail(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/reply",
    response={201: EventOut},
    summary="A public reply, or an internal note with public=false",
)
def tickets_reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> Status[EventOut]:
    user = _user(request)
    ticket = selectors.ticket_get_for(user, ticket_id)
    event = services.ticket_reply(
        actor=user, ticket=ticket, body=payload.body, public=payload.public
    )
    return Status(201, EventOut.of(event))


@router.post("/tickets/{ticket_id}/assign", response=TicketDetailOut, summary="Assign the ticket")
def tickets_assign(
    request: HttpRequest, ticket_id: int, payload: TicketAssignIn
) -> TicketDetailOut:
    user = _user(request)
    ticket = selectors.ticket_get_for(user, ticket_id)
    assignee = _user_ref(payload.assignee, "assignee")
    assert assignee is not None
    services.ticket_assign(actor=user, ticket=ticket, assignee=assignee)
    return _detail(user, ticket_id)


# --- SLA policies ---------------------------------------------------------------------------


@router.get("/sla-policies", response=list[PolicyOut], summary="SLA policies")
def policies_list(request: HttpRequest) -> list[PolicyOut]:
    return [PolicyOut.of(p) for p in selectors.sla_policies()]


@router.post("/sla-policies", response={201: PolicyOut}, summary="Create an SLA policy")
def policies_create(request: HttpRequest, payload: PolicyIn) -> Status[PolicyOut]:
    policy = services.sla_policy_save(actor=_user(request), **payload.model_dump())
    return Status(201, PolicyOut.of(policy))


@router.put("/sla-policies/{policy_id}", response=PolicyOut, summary="Change an SLA policy")
def policies_update(request: HttpRequest, policy_id: int, payload: PolicyIn) -> PolicyOut:
    policy = SlaPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("SLA policy not found."))
    policy = services.sla_policy_save(actor=_user(request), policy=policy, **payload.model_dump())
    return PolicyOut.of(policy)


# --- business calendars ---------------------------------------------------------------------


def _unit(unit_id: int | None) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise ValidationFailed(
            _("No unit with id %(ref)s.") % {"ref": unit_id}, field="unit", code="unknown_unit"
        )
    return unit


def _calendar_args(payload: CalendarIn) -> dict[str, Any]:
    return {
        "unit": _unit(payload.unit),
        "name": payload.name,
        "time_zone": payload.time_zone,
        "weekly_hours": {k: [list(p) for p in v] for k, v in payload.weekly_hours.items()},
        "use_cn_holidays": payload.use_cn_holidays,
        "adjusted_workday_as": payload.adjusted_workday_as,
        "exceptions": None
        if payload.exceptions is None
        else [(e.date, [list(p) for p in e.hours], e.note) for e in payload.exceptions],
    }


@router.get("/calendars", response=list[CalendarOut], summary="Business calendars you may see")
def calendars_list(request: HttpRequest) -> list[CalendarOut]:
    calendars = selectors.calendars_visible(_user(request)).prefetch_related("exceptions")
    return [CalendarOut.of(c) for c in calendars]


@router.post("/calendars", response={201: CalendarOut}, summary="Create a business calendar")
def calendars_create(request: HttpRequest, payload: CalendarIn) -> Status[CalendarOut]:
    calendar = services.calendar_save(actor=_user(request), **_calendar_args(payload))
    return Status(201, CalendarOut.of(calendar))


@router.put("/calendars/{calendar_id}", response=CalendarOut, summary="Change a business calendar")
def calendars_update(request: HttpRequest, calendar_id: int, payload: CalendarIn) -> CalendarOut:
    user = _user(request)
    calendar = selectors.calendar_get_for(user, calendar_id)
    calendar = services.calendar_save(actor=user, calendar=calendar, **_calendar_args(payload))
    return CalendarOut.of(calendar)


# --- official holiday schedules ---------------------------------------------------------------


class HolidayDateIO(Schema):
    date: date
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: a public holiday (closed); workday: an adjusted working day (调休)."
    )
    name: str = Field("", max_length=40, description="The holiday's name, e.g. 春节.")


class HolidayScheduleOut(Schema):
    year: int
    source: str
    dates: list[HolidayDateIO]

    @classmethod
    def of(cls, schedule: HolidaySchedule) -> HolidayScheduleOut:
        return cls(
            year=schedule.year,
            source=schedule.source,
            dates=[
                HolidayDateIO(date=d.date, kind=d.kind, name=d.name)  # type: ignore[arg-type]
                for d in schedule.dates.all()
            ],
        )


class HolidayScheduleIn(Schema):
    dates: list[HolidayDateIO] = Field(max_length=holidays.MAX_ROWS)


@router.get(
    "/holiday-schedules",
    response=list[HolidayScheduleOut],
    summary="Official holiday schedules loaded as data",
)
def holiday_schedules_list(request: HttpRequest) -> list[HolidayScheduleOut]:
    _user(request)
    schedules = HolidaySchedule.objects.prefetch_related("dates").order_by("-year")
    return [HolidayScheduleOut.of(s) for s in schedules]


@router.put(
    "/holiday-schedules/{year}",
    response=HolidayScheduleOut,
    summary="Load or replace one year's holidays and adjusted working days (administrators)",
)
def holiday_schedules_put(
    request: HttpRequest, year: int, payload: HolidayScheduleIn
) -> HolidayScheduleOut:
    rows = [
        holidays.ScheduleRow(line=n, day=d.date, kind=d.kind, name=d.name.strip())
        for n, d in enumerate(payload.dates, start=1)
    ]
    try:
        schedule = holidays.holiday_schedule_load(
            actor=_user(request), rows=rows, source=_("API"), year=year
        )
    except holidays.ScheduleInvalid as exc:
        raise ValidationFailed(exc.message, field="dates", code=exc.code) from exc
    return HolidayScheduleOut.of(holidays.holiday_schedule_get(schedule.year))


@router.delete(
    "/holiday-schedules/{year}",
    response={204: None},
    summary="Remove a loaded year (the built-in schedule applies again)",
)
def holiday_schedules_delete(request: HttpRequest, year: int) -> Status[None]:
    holidays.holiday_schedule_delete(actor=_user(request), year=year)
    return Status(204, None)
