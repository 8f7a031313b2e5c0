"""API endpoints for the timeline: a customer's interactions (mounted at /api/v1)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import BeforeValidator, ConfigDict, WithJsonSchema

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.core.schema_types import Clock, Flag, Id, Int, IsoDate, IsoDateTime, Text
from yiti.customers.selectors import customer_get_for
from yiti.engagement import selectors, services
from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
    SuppressionReason,
)
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.org.api import UserRef

router = Router(tags=["interactions"])
MAX_WINDOW_DAYS = services.MAX_WINDOW_DAYS


def _number(value: Any) -> Any:
    """A JSON number (not a boolean, not text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


# a local wall-clock time, "HH:MM:SS" (JSON schema's "time" format would need an offset)
ClockOut = Annotated[time, WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}:\d{2}$"})]
MAX_CONTACTS = 10_000  # a cap on contacts in a window (the column is a 32-bit integer)
Weight = Annotated[float, BeforeValidator(_number), Field(ge=0, le=10, allow_inf_nan=False)]
Weekday = Annotated[Int, Field(ge=0, le=6)]


class InteractionOut(Schema):
    id: int
    customer_id: int
    occurred_at: datetime
    channel: str
    direction: str
    purpose: str
    outcome: str
    subject: str
    body: str
    actor: UserRef | None
    unit_id: int | None
    campaign_id: int | None
    wave_id: int | None
    ticket_id: int | None
    external_ref: str
    created_at: datetime

    @classmethod
    def of(cls, i: Interaction) -> InteractionOut:
        return cls(
            id=i.pk,
            customer_id=i.customer_id,
            occurred_at=i.occurred_at,
            channel=i.channel,
            direction=i.direction,
            purpose=i.purpose,
            outcome=i.outcome,
            subject=i.subject,
            body=i.body,
            actor=UserRef.of(i.actor),
            unit_id=i.unit_id,
            campaign_id=i.campaign_id,
            wave_id=i.wave_id,
            ticket_id=i.ticket_id,
            external_ref=i.external_ref,
            created_at=i.created_at,
        )


class InteractionPage(Schema):
    items: list[InteractionOut]
    page: int
    page_size: int
    has_next: bool


class InteractionQuery(Schema):
    channel: InteractionChannel | None = None
    purpose: InteractionPurpose | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class InteractionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: InteractionChannel
    direction: Direction
    purpose: InteractionPurpose
    outcome: Outcome = Outcome.COMPLETED
    subject: Text = Field("", max_length=200)
    body: Text = Field("", max_length=20_000)
    occurred_at: IsoDateTime | None = Field(
        None, description="ISO 8601; defaults to now; never in the future."
    )
    campaign_id: Id | None = Field(None, description="A campaign (its id).")
    wave_id: Id | None = Field(None, description="A wave of that campaign (its id).")
    ticket_id: Id | None = Field(
        None, description="A ticket of this customer that you may see (its id)."
    )
    external_ref: Text = Field("", max_length=64)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get(
    "/customers/{customer_id}/interactions",
    response=InteractionPage,
    summary="The customer's timeline, newest first",
)
def interactions_list(
    request: HttpRequest, customer_id: int, query: Query[InteractionQuery]
) -> InteractionPage:
    customer = customer_get_for(_user(request), customer_id)
    filters = selectors.TimelineFilters.from_mapping(query.model_dump())
    page = paginate(selectors.timeline(customer, filters), page=query.page, size=query.page_size)
    return InteractionPage(
        items=[InteractionOut.of(i) for i in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "/customers/{customer_id}/interactions",
    response={201: InteractionOut},
    summary="Record a contact with the customer",
)
def interactions_create(
    request: HttpRequest, customer_id: int, payload: InteractionIn
) -> Status[InteractionOut]:
    user = _user(request)
    customer = customer_get_for(user, customer_id)
    occurred_at = payload.occurred_at
    if occurred_at is not None and timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    interaction = services.interaction_record(
        actor=user,
        customer=customer,
        channel=payload.channel,
        direction=payload.direction,
        purpose=payload.purpose,
        outcome=payload.outcome,
        subject=payload.subject,
        body=payload.body,
        occurred_at=occurred_at,
        campaign_id=payload.campaign_id,
        wave_id=payload.wave_id,
        ticket_id=payload.ticket_id,
        external_ref=payload.external_ref,
    )
    return Status(201, InteractionOut.of(interaction))


# --- the contact policy: rules, quiet hours, suppressions (/api/v1/engagement/…) -------------
#
# Changes need ``org.manage`` or ``campaign.manage`` (administrators and campaign managers);
# reading the rules and quiet hours is open to every signed-in user (they explain why a
# contact was not planned). The suppression list is scoped by the caller's customers.


class ContactRuleOut(Schema):
    id: int
    name: str
    max_contacts: int
    window_days: int
    purposes: list[str]
    channels: list[str]
    weights: dict[str, float]
    calendar_days: bool = Field(description="Whole local days instead of spans of W × 24 h.")
    active: bool
    updated_at: datetime

    @classmethod
    def of(cls, r: ContactPolicyRule) -> ContactRuleOut:
        return cls(
            id=r.pk,
            name=r.name,
            max_contacts=r.max_contacts,
            window_days=r.window_days,
            purposes=list(r.purposes or []),
            channels=list(r.channels or []),
            weights={str(k): float(v) for k, v in (r.weights or {}).items()},
            calendar_days=r.calendar_days,
            active=r.active,
            updated_at=r.updated_at,
        )


class ContactRuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(..., min_length=1, max_length=200)
    max_contacts: Int = Field(..., ge=1, le=MAX_CONTACTS)
    window_days: Int = Field(..., ge=1, le=MAX_WINDOW_DAYS, description="Days.")
    purposes: list[InteractionPurpose] = Field(default_factory=list, description="Empty: all.")
    channels: list[InteractionChannel] = Field(default_factory=list, description="Empty: all.")
    weights: dict[str, Weight] = Field(
        default_factory=dict, description="Per purpose, 0 to 10, at most 3 decimals; missing: 1."
    )
    calendar_days: Flag = Field(
        False,
        description="false (default): at most N in every span of W × 24 hours; "
        "true: count whole local calendar days.",
    )


class ContactRulePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, min_length=1, max_length=200)
    max_contacts: Int | None = Field(None, ge=1, le=MAX_CONTACTS)
    window_days: Int | None = Field(None, ge=1, le=MAX_WINDOW_DAYS)
    purposes: list[InteractionPurpose] | None = None
    channels: list[InteractionChannel] | None = None
    weights: dict[str, Weight] | None = None
    calendar_days: Flag | None = None
    active: Flag | None = None


class QuietHoursOut(Schema):
    id: int
    name: str
    days: list[int]
    start: ClockOut
    end: ClockOut
    channels: list[str]
    active: bool
    updated_at: datetime

    @classmethod
    def of(cls, q: QuietHours) -> QuietHoursOut:
        return cls(
            id=q.pk,
            name=q.name,
            days=[int(d) for d in q.days or []],
            start=q.start,
            end=q.end,
            channels=list(q.channels or []),
            active=q.active,
            updated_at=q.updated_at,
        )


class QuietHoursIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(..., min_length=1, max_length=200)
    start: Clock = Field(..., description="HH:MM, local time.")
    end: Clock = Field(..., description="HH:MM; before start: runs over midnight.")
    days: list[Weekday] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], max_length=7, description="Monday 0."
    )
    channels: list[InteractionChannel] = Field(default_factory=list, description="Empty: all.")


class QuietHoursPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, min_length=1, max_length=200)
    start: Clock | None = None
    end: Clock | None = None
    days: list[Weekday] | None = Field(None, max_length=7)
    channels: list[InteractionChannel] | None = None
    active: Flag | None = None


class SuppressionOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    reason: str
    note: str
    source: str = Field(description="manual (by hand, API or import) or what set it, e.g. ticket")
    active: bool
    created_at: datetime
    created_by: UserRef | None
    expires_at: datetime | None
    lifted_at: datetime | None
    lifted_by: UserRef | None

    @classmethod
    def of(cls, s: Suppression) -> SuppressionOut:
        return cls(
            id=s.pk,
            customer_id=s.customer_id,
            customer_name=s.customer.name,
            reason=s.reason,
            note=s.note,
            source=s.source_type or "manual",
            active=s.active,
            created_at=s.created_at,
            created_by=UserRef.of(s.created_by),
            expires_at=s.expires_at,
            lifted_at=s.lifted_at,
            lifted_by=UserRef.of(s.lifted_by),
        )


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    page: int
    page_size: int
    has_next: bool


class SuppressionQuery(Schema):
    customer_id: int | None = None
    q: str = Field("", max_length=100, description="Customer name, phone or external id.")
    reason: SuppressionReason | None = None
    state: Literal["active", "ended", "all"] = "active"
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class SuppressionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    reason: SuppressionReason = SuppressionReason.DO_NOT_DISTURB
    expires_at: IsoDateTime | IsoDate | None = Field(
        None, description="The end (a date: to the end of that day); none: until lifted."
    )
    note: Text = Field("", max_length=255)


def _policy_tag() -> list[str]:
    return ["contact policy"]


@router.get(
    "/engagement/contact-rules",
    response=list[ContactRuleOut],
    tags=_policy_tag(),
    summary="The contact caps, active first",
)
def contact_rules_list(request: HttpRequest) -> list[ContactRuleOut]:
    return [ContactRuleOut.of(r) for r in selectors.contact_rules()]


@router.post(
    "/engagement/contact-rules",
    response={201: ContactRuleOut},
    tags=_policy_tag(),
    summary="Add a contact cap",
)
def contact_rules_create(request: HttpRequest, payload: ContactRuleIn) -> Status[ContactRuleOut]:
    rule = services.contact_rule_create(actor=_user(request), **payload.model_dump())
    return Status(201, ContactRuleOut.of(rule))


def _rule(rule_id: int) -> ContactPolicyRule:
    rule = ContactPolicyRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Rule not found."))
    return rule


@router.patch(
    "/engagement/contact-rules/{rule_id}",
    response=ContactRuleOut,
    tags=_policy_tag(),
    summary="Change a contact cap (active: false stops applying it)",
)
def contact_rules_update(
    request: HttpRequest, rule_id: int, payload: ContactRulePatch
) -> ContactRuleOut:
    user = _user(request)
    services.require_policy_manage(user)
    changes = payload.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        field = next(k for k, v in changes.items() if v is None)
        raise ValidationFailed(_("This field cannot be empty."), field=field)
    rule = services.contact_rule_update(actor=user, rule=_rule(rule_id), **changes)
    return ContactRuleOut.of(rule)


@router.get(
    "/engagement/quiet-hours",
    response=list[QuietHoursOut],
    tags=_policy_tag(),
    summary="The quiet hours, active first",
)
def quiet_hours_list(request: HttpRequest) -> list[QuietHoursOut]:
    return [QuietHoursOut.of(q) for q in selectors.quiet_hours_all()]


@router.post(
    "/engagement/quiet-hours",
    response={201: QuietHoursOut},
    tags=_policy_tag(),
    summary="Add quiet hours",
)
def quiet_hours_create(request: HttpRequest, payload: QuietHoursIn) -> Status[QuietHoursOut]:
    quiet = services.quiet_hours_create(actor=_user(request), **payload.model_dump())
    return Status(201, QuietHoursOut.of(quiet))


@router.patch(
    "/engagement/quiet-hours/{quiet_id}",
    response=QuietHoursOut,
    tags=_policy_tag(),
    summary="Change quiet hours (active: false stops applying them)",
)
def quiet_hours_update(
    request: HttpRequest, quiet_id: int, payload: QuietHoursPatch
) -> QuietHoursOut:
    user = _user(request)
    services.require_policy_manage(user)
    quiet = QuietHours.objects.filter(pk=quiet_id).first()
    if quiet is None:
        raise NotFound(_("Quiet hours not found."))
    changes = payload.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        field = next(k for k, v in changes.items() if v is None)
        raise ValidationFailed(_("This field cannot be empty."), field=field)
    return QuietHoursOut.of(services.quiet_hours_update(actor=user, quiet=quiet, **changes))


@router.get(
    "/engagement/suppressions",
    response=SuppressionPage,
    tags=_policy_tag(),
    summary="Suppressions (do not disturb, legal, complaints) of the customers you see",
)
def suppressions_list(request: HttpRequest, query: Query[SuppressionQuery]) -> SuppressionPage:
    filters = selectors.SuppressionFilters.from_mapping(query.model_dump())
    page = paginate(
        selectors.suppressions_for(_user(request), filters), page=query.page, size=query.page_size
    )
    return SuppressionPage(
        items=[SuppressionOut.of(s) for s in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "/engagement/suppressions",
    response={201: SuppressionOut},
    tags=_policy_tag(),
    summary="Put a customer on the do-not-disturb (or legal, other) list",
)
def suppressions_create(request: HttpRequest, payload: SuppressionIn) -> Status[SuppressionOut]:
    user = _user(request)
    customer = customer_get_for(user, payload.customer_id)
    row = services.suppression_add(
        actor=user,
        customer=customer,
        reason=payload.reason,
        expires_at=payload.expires_at,
        note=payload.note,
    )
    return Status(201, SuppressionOut.of(row))


@router.post(
    "/engagement/suppressions/{suppression_id}/lift",
    response=SuppressionOut,
    tags=_policy_tag(),
    summary="Lift a suppression now",
)
def suppressions_lift(request: HttpRequest, suppression_id: int) -> SuppressionOut:
    user = _user(request)
    row = selectors.suppression_get_for(user, suppression_id)
    return SuppressionOut.of(services.suppression_lift_entry(actor=user, suppression=row))
