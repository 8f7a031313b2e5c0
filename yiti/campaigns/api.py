"""API endpoints of campaigns (``router``; mounted at /api/v1/campaigns).

Thin, like the other routers: schemas in, one selector or service call, schemas out, with the
scoping of the web UI. Campaigns, offers, segments, checklists, conflicts and funnels are
company-wide plans every role with ``campaign.view`` reads (aggregates, no personal data);
changing them needs ``campaign.manage`` for the campaign's owner unit. Deliveries are shown
only for the customers the caller may see, with phones and e-mails masked (reveal one
customer at a time through ``GET /customers/{id}?reveal=true``, audited).

Gift reservations are not an endpoint: a gift is reserved when the customer accepts, through
``POST /deliveries/{id}/outcome`` (a call or visit) or ``POST /deliveries/{id}/responses``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yiti.campaigns import outcomes, segments, selectors, services
from yiti.campaigns.choices import (
    AgentRole,
    BenefitKind,
    CallOutcome,
    CampaignStatus,
    DeliveryStatus,
    ResponseKind,
    WaveChannel,
    WaveKind,
    WaveSource,
)
from yiti.campaigns.conflicts import conflict_accept, conflicts_check, conflicts_of
from yiti.campaigns.models import (
    Campaign,
    ChecklistItem,
    Conflict,
    Delivery,
    Offer,
    Segment,
    Wave,
)
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.rules import can_manage, can_record, can_sign, can_work, require_manage
from yiti.core.errors import ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.customers.choices import ContactKind
from yiti.customers.models import Order, Product
from yiti.customers.selectors import mask_contact
from yiti.org.access import access_for
from yiti.org.api import UnitRef, UserRef
from yiti.org.models import OrgUnit, User

router = Router(tags=["campaigns"])

Ref = int | str


# --- schemas: references --------------------------------------------------------------------


class ProductRef(Schema):
    id: int
    code: str
    name: str


class OfferRef(Schema):
    id: int
    code: str
    name: str
    benefit: str

    @classmethod
    def of(cls, offer: Offer | None) -> OfferRef | None:
        if offer is None:
            return None
        return cls(id=offer.pk, code=offer.code, name=offer.name, benefit=offer.benefit)


class SegmentRef(Schema):
    id: int
    name: str


class CampaignRef(Schema):
    id: int
    code: str
    name: str
    status: str

    @classmethod
    def of(cls, c: Campaign) -> CampaignRef:
        return cls(id=c.pk, code=c.code, name=c.name, status=c.status)


class WaveRef(Schema):
    id: int
    number: int
    name: str
    kind: str
    status: str

    @classmethod
    def of(cls, w: Wave) -> WaveRef:
        return cls(id=w.pk, number=w.number, name=w.name, kind=w.kind, status=w.status)


# --- schemas: offers ------------------------------------------------------------------------


class OfferOut(Schema):
    id: int
    code: str
    name: str
    product: ProductRef
    benefit: str
    benefit_value: Decimal = Field(
        description="Discount in per cent, credit in yuan, or the gift's cost in yuan."
    )
    gift_name: str
    stock_total: int
    stock_reserved: int
    stock_available: int | None = Field(description="Gifts left; none for an offer without.")
    eligibility: dict[str, Any] = Field(description="A segment rule (see /segments/fields).")
    terms: str
    faq: str
    incompatible_with: list[int] = Field(description="Ids of offers that clash with this one.")
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, o: Offer) -> OfferOut:
        return cls(
            id=o.pk,
            code=o.code,
            name=o.name,
            product=ProductRef(id=o.product.pk, code=o.product.code, name=o.product.name),
            benefit=o.benefit,
            benefit_value=Decimal(o.benefit_value),
            gift_name=o.gift_name,
            stock_total=o.stock_total,
            stock_reserved=o.stock_reserved,
            stock_available=o.stock_available,
            eligibility=o.eligibility or {"match": "all", "conditions": []},
            terms=o.terms,
            faq=o.faq,
            incompatible_with=sorted(x.pk for x in o.incompatible_with.all()),
            active=o.active,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )


class OfferDetailOut(OfferOut):
    eligibility_summary: list[str] = Field(description="Each eligibility condition in words.")


class OfferPage(Schema):
    items: list[OfferOut]
    page: int
    page_size: int
    has_next: bool


class OfferQuery(Schema):
    active: bool = Field(False, description="Only offers that are still active.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class OfferIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40, description="Letters, digits, hyphens and underscores.")
    name: str = Field(max_length=120)
    product: Ref = Field(description="Product id or code.")
    benefit: BenefitKind
    benefit_value: Decimal = Field(Decimal(0), ge=0)
    gift_name: str = Field("", max_length=120, description="Required for a gift.")
    stock_total: int = Field(0, ge=0, description="Gifts in stock.")
    eligibility: dict[str, Any] | None = Field(
        None, description="Who may be offered it: a segment rule; none for everyone."
    )
    terms: str = Field("", max_length=20_000)
    faq: str = Field("", max_length=20_000, description="Answers for the front line.")
    incompatible_with: list[Ref] = Field(
        default_factory=list, max_length=100, description="Offer ids or codes."
    )


class OfferPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=120)
    product: Ref | None = Field(None, description="Product id or code.")
    benefit: BenefitKind | None = None
    benefit_value: Decimal | None = Field(None, ge=0)
    gift_name: str | None = Field(None, max_length=120)
    stock_total: int | None = Field(None, ge=0, description="Not below the gifts reserved.")
    eligibility: dict[str, Any] | None = None
    terms: str | None = Field(None, max_length=20_000)
    faq: str | None = Field(None, max_length=20_000)
    active: bool | None = None
    incompatible_with: list[Ref] | None = Field(None, max_length=100)


# --- schemas: segments ----------------------------------------------------------------------


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    rules: dict[str, Any]
    unit: UnitRef
    created_by: UserRef | None
    last_count: int | None = Field(description="The audience when last counted.")
    last_counted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, s: Segment) -> dict[str, Any]:
        return {
            "id": s.pk,
            "name": s.name,
            "description": s.description,
            "rules": s.rules,
            "unit": UnitRef.of(s.unit),
            "created_by": UserRef.of(s.created_by),
            "last_count": s.last_count,
            "last_counted_at": s.last_counted_at,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
        }

    @classmethod
    def of(cls, s: Segment) -> SegmentOut:
        return cls(**cls.fields_of(s))


class SegmentDetailOut(SegmentOut):
    summary: list[str] = Field(description="Each condition in words.")


class SegmentPage(Schema):
    items: list[SegmentOut]
    page: int
    page_size: int
    has_next: bool


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class SegmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=120)
    rules: dict[str, Any] | None = Field(
        None, description='{"match": "all", "conditions": [...]}; none matches everyone.'
    )
    unit: Ref = Field(description="Owner unit id or code.")
    description: str = Field("", max_length=5000)


class SegmentPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=120)
    rules: dict[str, Any] | None = None
    description: str | None = Field(None, max_length=5000)


class CountIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any] | None = Field(None, description="A segment rule.")
    units: list[Ref] | None = Field(
        None, max_length=200, description="Only customers of these units and below (ids or codes)."
    )


class CountOut(Schema):
    count: int


class OptionOut(Schema):
    value: str
    label: str


class OpOut(Schema):
    code: str
    label: str


class RuleFieldOut(Schema):
    name: str
    label: str
    group: str
    kind: str = Field(
        description="choices: a list of option values; texts: a list of strings; number; "
        "window: a number over the last `days` days; flag: true or false."
    )
    ops: list[OpOut]
    options: list[OptionOut] | None = Field(description="The values a choices field accepts.")
    unit: str | None = Field(description="What the number counts (days, yuan).")


class RuleLanguageOut(Schema):
    match: list[str] = Field(description="How conditions combine: all (AND) or any (OR).")
    max_conditions: int
    max_values: int
    max_days: int
    fields: list[RuleFieldOut]


# --- schemas: campaigns ---------------------------------------------------------------------


class ReadinessOut(Schema):
    ok: bool
    missing: list[str] = Field(description="What stands between the campaign and its launch.")


class NotReadyOut(Schema):
    code: str = Field(description='"not_ready"')
    message: str
    field: str | None
    missing: list[str] = Field(description="What is missing, one sentence each.")


class CampaignOut(Schema):
    id: int
    code: str
    name: str
    status: str
    owner_unit: UnitRef
    owner: UserRef
    segment: SegmentRef
    starts_on: date
    ends_on: date
    priority: int
    goal: str
    launched_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def fields_of(cls, c: Campaign) -> dict[str, Any]:
        return {
            "id": c.pk,
            "code": c.code,
            "name": c.name,
            "status": c.status,
            "owner_unit": UnitRef.of(c.owner_unit),
            "owner": UserRef.of(c.owner),
            "segment": SegmentRef(id=c.segment.pk, name=c.segment.name),
            "starts_on": c.starts_on,
            "ends_on": c.ends_on,
            "priority": c.priority,
            "goal": c.goal,
            "launched_at": c.launched_at,
            "completed_at": c.completed_at,
        }

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        return cls(**cls.fields_of(c))


class CampaignPage(Schema):
    items: list[CampaignOut]
    page: int
    page_size: int
    has_next: bool


class CampaignQuery(Schema):
    q: str = Field("", max_length=100, description="Part of the name or the code.")
    status: CampaignStatus | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class WaveOut(Schema):
    id: int
    campaign_id: int
    number: int
    name: str
    kind: str
    channels: list[str] = Field(description="In order of preference.")
    source: str
    source_wave_id: int | None
    offer: OfferRef | None
    scheduled_at: datetime
    ends_at: datetime | None
    subject: str
    message: str = Field(description="Placeholders: {name} {offer} {gift} {link}.")
    agent_role: str
    agents: int
    hours: Decimal
    calls_per_agent_hour: int
    capacity: int | None = Field(description="Calls the agents can make (call waves).")
    visit_min_value: Decimal | None
    status: str
    planned_at: datetime | None
    plan_summary: dict[str, Any] = Field(description="The last plan (as POST .../plan answers).")
    sending_started_at: datetime | None
    done_at: datetime | None

    @classmethod
    def of(cls, w: Wave) -> WaveOut:
        return cls(
            id=w.pk,
            campaign_id=w.campaign_id,
            number=w.number,
            name=w.name,
            kind=w.kind,
            channels=list(w.channels or []),
            source=w.source,
            source_wave_id=w.source_wave_id,
            offer=OfferRef.of(w.offer),
            scheduled_at=w.scheduled_at,
            ends_at=w.ends_at,
            subject=w.subject,
            message=w.message,
            agent_role=w.agent_role,
            agents=w.agents,
            hours=Decimal(w.hours),
            calls_per_agent_hour=w.calls_per_agent_hour,
            capacity=w.capacity,
            visit_min_value=None if w.visit_min_value is None else Decimal(w.visit_min_value),
            status=w.status,
            planned_at=w.planned_at,
            plan_summary=w.plan_summary or {},
            sending_started_at=w.sending_started_at,
            done_at=w.done_at,
        )


class CampaignDetailOut(CampaignOut):
    description: str
    participating_units: list[UnitRef]
    service_unit: UnitRef
    stock_unit: UnitRef | None
    offers: list[OfferRef]
    goal_conversions: int
    expected_take_up: Decimal = Field(description="Share of the audience expected to accept.")
    lead_days: int = Field(description="Days the front line needs to learn the offer.")
    complaint_threshold: Decimal = Field(description="Pause at complaints per 1,000 contacts.")
    complaint_min_contacts: int
    attribution_days: int
    submitted_at: datetime | None
    paused_at: datetime | None
    pause_reason: str
    conflicts_checked_at: datetime | None
    readiness: ReadinessOut
    waves: list[WaveOut]
    can_manage: bool = Field(description="Whether you may change and run this campaign.")


class CampaignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40, description="Letters, digits, hyphens and underscores.")
    name: str = Field(max_length=120)
    description: str = Field("", max_length=20_000)
    owner_unit: Ref = Field(description="Unit id or code; must be in your scope.")
    owner: int | None = Field(None, description="Campaign owner (user id); you by default.")
    segment: int = Field(description="Segment id.")
    offers: list[Ref] = Field(min_length=1, max_length=50, description="Offer ids or codes.")
    participating_units: list[Ref] = Field(
        min_length=1, max_length=200, description="Unit ids or codes; their customers and below."
    )
    service_unit: Ref = Field(description="Unit that reviews the offer (id or code).")
    stock_unit: Ref | None = Field(None, description="Unit that holds the gift stock.")
    starts_on: date
    ends_on: date
    priority: int = Field(5, ge=1, le=10, description="Rank against competing campaigns.")
    goal: str = Field("", max_length=255)
    goal_conversions: int = Field(0, ge=0)
    expected_take_up: Decimal = Field(Decimal("0.05"), ge=0, le=1)
    lead_days: int = Field(3, ge=0, le=365)
    complaint_threshold: Decimal = Field(Decimal(5), ge=0)
    complaint_min_contacts: int = Field(200, ge=0)
    attribution_days: int = Field(14, ge=1, le=365)


class CampaignPatch(Schema):
    """Only a draft changes; return a submitted campaign to draft first."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=120)
    description: str | None = Field(None, max_length=20_000)
    owner_unit: Ref | None = None
    owner: int | None = None
    segment: int | None = None
    offers: list[Ref] | None = Field(None, min_length=1, max_length=50)
    participating_units: list[Ref] | None = Field(None, min_length=1, max_length=200)
    service_unit: Ref | None = None
    stock_unit: Ref | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    priority: int | None = Field(None, ge=1, le=10)
    goal: str | None = Field(None, max_length=255)
    goal_conversions: int | None = Field(None, ge=0)
    expected_take_up: Decimal | None = Field(None, ge=0, le=1)
    lead_days: int | None = Field(None, ge=0, le=365)
    complaint_threshold: Decimal | None = Field(None, ge=0)
    complaint_min_contacts: int | None = Field(None, ge=0)
    attribution_days: int | None = Field(None, ge=1, le=365)


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=500)


class OptionalReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=500)


class ChecklistItemOut(Schema):
    id: int
    campaign_id: int
    kind: str
    label: str
    unit: UnitRef = Field(description="The responsible unit; its signers sign.")
    signed: bool
    signed_by: UserRef | None
    signed_at: datetime | None
    note: str
    can_sign: bool = Field(description="Whether you may sign (or withdraw) this line.")

    @classmethod
    def of(cls, item: ChecklistItem, user: Any) -> ChecklistItemOut:
        return cls(
            id=item.pk,
            campaign_id=item.campaign_id,
            kind=item.kind,
            label=str(item.get_kind_display()),
            unit=UnitRef.of(item.unit),
            signed=item.signed,
            signed_by=UserRef.of(item.signed_by),
            signed_at=item.signed_at,
            note=item.note,
            can_sign=can_sign(user, item.kind, item.unit),
        )


class ConflictOut(Schema):
    id: int
    campaign: CampaignRef
    other: CampaignRef
    kind: str
    label: str
    detail: str
    overlap_customers: int = Field(description="Customers in both audiences.")
    status: str
    accepted_by: UserRef | None
    accepted_at: datetime | None
    reason: str
    checked_at: datetime

    @classmethod
    def of(cls, c: Conflict) -> ConflictOut:
        return cls(
            id=c.pk,
            campaign=CampaignRef.of(c.campaign),
            other=CampaignRef.of(c.other),
            kind=c.kind,
            label=str(c.get_kind_display()),
            detail=c.detail,
            overlap_customers=c.overlap_customers,
            status=c.status,
            accepted_by=UserRef.of(c.accepted_by),
            accepted_at=c.accepted_at,
            reason=c.reason,
            checked_at=c.checked_at,
        )


class ReasonCount(Schema):
    reason: str
    label: str
    count: int


class WaveFunnelOut(Schema):
    wave: WaveRef
    audience: int
    excluded: int
    planned: int
    sent: int
    delivered: int
    opened: int
    responded: int
    accepted: int
    converted: int
    failed: int
    excluded_by_reason: list[ReasonCount]


class ComplaintCount(Schema):
    complaint_class: str
    label: str
    count: int


class FunnelOut(Schema):
    campaign: CampaignRef
    waves: list[WaveFunnelOut]
    complaints: list[ComplaintCount] = Field(description="Complaints about it, by class.")


# --- schemas: waves and plans ---------------------------------------------------------------


class WaveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=120)
    kind: WaveKind
    scheduled_at: datetime = Field(description="When sending (or calling) starts.")
    channels: list[WaveChannel] = Field(
        default_factory=list, max_length=6, description="Preference order; a call wave: call."
    )
    source: WaveSource = Field(WaveSource.AUDIENCE, description="Whom the wave addresses.")
    source_wave: int | None = Field(None, description="Earlier wave (id) for an outcome source.")
    offer: Ref | None = Field(None, description="One of the campaign's offers (id or code).")
    ends_at: datetime | None = Field(None, description="When the calls end (call waves).")
    subject: str = Field("", max_length=200)
    message: str = Field("", max_length=5000)
    agent_role: AgentRole | None = Field(None, description="Who works a call wave.")
    agents: int | None = Field(None, ge=0, le=10_000)
    hours: Decimal | None = Field(None, ge=0)
    calls_per_agent_hour: int | None = Field(None, ge=0, le=200)
    visit_min_value: Decimal | None = Field(
        None, ge=0, description="Follow-ups: customers worth this much get a visit instead."
    )


class WavePatch(Schema):
    """A wave changes until it starts sending; a planned wave must then be planned again."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=120)
    kind: WaveKind | None = None
    scheduled_at: datetime | None = None
    channels: list[WaveChannel] | None = Field(None, max_length=6)
    source: WaveSource | None = None
    source_wave: int | None = None
    offer: Ref | None = None
    ends_at: datetime | None = None
    subject: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=5000)
    agent_role: AgentRole | None = None
    agents: int | None = Field(None, ge=0, le=10_000)
    hours: Decimal | None = Field(None, ge=0)
    calls_per_agent_hour: int | None = Field(None, ge=0, le=200)
    visit_min_value: Decimal | None = Field(None, ge=0)


class PlanIn(Schema):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="Count everything, write nothing.")


class PlanQuery(Schema):
    dry_run: bool = Field(False, description="Same as the body's dry_run.")


class PlanOutcomes(Schema):
    planned: int
    excluded: int


class PlanOut(Schema):
    campaign: str = Field(description="The campaign's code.")
    wave: int = Field(description="The wave's number.")
    dry_run: bool
    audience: int
    outcomes: PlanOutcomes
    excluded: dict[str, int] = Field(
        description="Per reason: opted_out, quiet_hours, cap:<rule>, suppressed:<reason>, "
        "lost_arbitration:<campaign id>, no_contact_point, not_eligible, capacity."
    )
    channels: dict[str, int] = Field(description="Planned contacts per channel.")
    displaced: dict[str, int] = Field(
        description="Planned contacts of other campaigns (by code) this plan takes the place of."
    )
    capacity: int | None
    assigned: dict[str, int] = Field(description="Calls per agent (username).")
    seconds: float


# --- schemas: deliveries --------------------------------------------------------------------


class DeliveryCustomer(Schema):
    id: int
    name: str
    unit_id: int
    primary_phone: str = Field(description="Always masked.")
    primary_email: str = Field(description="Always masked.")


class DeliveryOut(Schema):
    id: int
    campaign_id: int
    wave_id: int
    customer: DeliveryCustomer
    channel: str
    status: str
    reason: str = Field(description="Why the contact was excluded or cancelled.")
    reason_label: str
    planned_for: datetime
    expected_value: float
    rank: int
    assignee: UserRef | None
    attempts: int
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    responded_at: datetime | None
    response: str
    outcome: str
    converted_at: datetime | None
    order_id: int | None
    note: str

    @classmethod
    def fields_of(cls, d: Delivery, labels: dict[str, str]) -> dict[str, Any]:
        c = d.customer

        def masked(kind: str, value: str) -> str:
            return mask_contact(kind, value) if value else ""

        return {
            "id": d.pk,
            "campaign_id": d.campaign_id,
            "wave_id": d.wave_id,
            "customer": DeliveryCustomer(
                id=c.pk,
                name=c.name,
                unit_id=c.unit_id,
                primary_phone=masked(ContactKind.PHONE, c.primary_phone),
                primary_email=masked(ContactKind.EMAIL, c.primary_email),
            ),
            "channel": d.channel,
            "status": d.status,
            "reason": d.reason,
            "reason_label": labels.get(d.reason, ""),
            "planned_for": d.planned_for,
            "expected_value": d.expected_value,
            "rank": d.rank,
            "assignee": UserRef.of(d.assignee),
            "attempts": d.attempts,
            "sent_at": d.sent_at,
            "delivered_at": d.delivered_at,
            "opened_at": d.opened_at,
            "responded_at": d.responded_at,
            "response": d.response,
            "outcome": d.outcome,
            "converted_at": d.converted_at,
            "order_id": d.order_id,
            "note": d.note,
        }


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    page: int
    page_size: int
    has_next: bool


class DeliveryQuery(Schema):
    status: DeliveryStatus | None = None
    reason: str = Field(
        "", max_length=120, description="An exclusion reason, or its head (cap, suppressed)."
    )
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class CallOut(DeliveryOut):
    campaign: CampaignRef
    wave: WaveRef
    offer: OfferRef | None

    @classmethod
    def context_of(cls, d: Delivery) -> dict[str, Any]:
        return {
            "campaign": CampaignRef.of(d.campaign),
            "wave": WaveRef.of(d.wave),
            "offer": OfferRef.of(d.wave.offer),
        }


class CallPage(Schema):
    items: list[CallOut]
    page: int
    page_size: int
    has_next: bool


class CallQuery(Schema):
    mine: bool = Field(True, description="Only calls assigned to you; false adds unassigned ones.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class DeliveryDetailOut(CallOut):
    can_work: bool = Field(description="Whether you may record a call or visit outcome.")
    can_record: bool = Field(description="Whether you may record a response or a conversion.")


class OutcomeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    outcome: CallOutcome
    note: str = Field("", max_length=500)


class ResponseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: ResponseKind
    at: datetime | None = Field(None, description="When the customer answered; now by default.")
    note: str = Field("", max_length=2000, description="e.g. the text of an SMS reply.")


class ConversionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    order: int = Field(description="Id of the customer's order this contact led to.")


# --- helpers --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _one(
    model: type[Model], ref: Ref, *, field: str, code: str, message: str, by: str = "code"
) -> Any:
    """The row ``ref`` names — its id, or its ``by`` (code) — else a 422 naming ``field``."""
    text = str(ref).strip()
    manager = model._default_manager
    found = manager.filter(**{by: text}).first() if by and isinstance(ref, str) else None
    if found is None and text.isdigit():
        found = manager.filter(pk=int(text)).first()
    if found is None:
        raise ValidationFailed(message % {"ref": text}, field=field, code=code)
    return found


def _unit(ref: Ref, field: str) -> OrgUnit:
    message = _("No unit with the id or code %(ref)s.")
    return _one(OrgUnit, ref, field=field, code="unknown_unit", message=message)


def _units(refs: Sequence[Ref], field: str) -> list[OrgUnit]:
    return [_unit(r, f"{field}.{i}") for i, r in enumerate(refs)]


def _offer(ref: Ref, field: str) -> Offer:
    message = _("No offer with the id or code %(ref)s.")
    return _one(Offer, ref, field=field, code="unknown_offer", message=message)


def _offers(refs: Sequence[Ref], field: str) -> list[Offer]:
    return [_offer(r, f"{field}.{i}") for i, r in enumerate(refs)]


def _user_ref(ref: int, field: str) -> User:
    user = User.objects.filter(pk=ref, is_active=True).first()
    if user is None:
        raise ValidationFailed(
            _("No active user with the id %(ref)s.") % {"ref": ref},
            field=field,
            code="unknown_user",
        )
    return user


def _segment(ref: int) -> Segment:
    message = _("No segment with the id %(ref)s.")
    return _one(Segment, ref, field="segment", code="unknown_segment", message=message, by="")


@contextmanager
def _rule_errors_under(name: str) -> Iterator[None]:
    """The rule language names its errors ``rules.…``; an offer's rule is its ``eligibility``."""
    try:
        yield
    except ValidationFailed as exc:
        if exc.field == "rules" or (exc.field or "").startswith("rules."):
            exc.field = name + (exc.field or "")[len("rules") :]
        raise


def _offer_args(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("product") is not None:
        data["product"] = _one(
            Product,
            data["product"],
            field="product",
            code="unknown_product",
            message=_("No product with the id or code %(ref)s."),
        )
    if data.get("incompatible_with") is not None:
        data["incompatible_with"] = _offers(data["incompatible_with"], "incompatible_with")
    return data


def _offer_detail(user: Any, offer_id: int) -> OfferDetailOut:
    offer = selectors.offer_get(user, offer_id)
    return OfferDetailOut(
        **OfferOut.of(offer).model_dump(),
        eligibility_summary=segments.describe(offer.eligibility or {}),
    )


def _segment_detail(user: Any, segment_id: int) -> SegmentDetailOut:
    segment = selectors.segment_get(user, segment_id)
    return SegmentDetailOut(
        **SegmentOut.fields_of(segment), summary=segments.describe(segment.rules or {})
    )


_CAMPAIGN_UNITS = ("owner_unit", "service_unit", "stock_unit")


def _campaign_args(data: dict[str, Any]) -> dict[str, Any]:
    """Ids and codes of the body made into the rows the services take."""
    for name in _CAMPAIGN_UNITS:
        if data.get(name) is not None:
            data[name] = _unit(data[name], name)
    if data.get("owner") is not None:
        data["owner"] = _user_ref(data["owner"], "owner")
    if data.get("segment") is not None:
        data["segment"] = _segment(data["segment"])
    if data.get("offers") is not None:
        data["offers"] = _offers(data["offers"], "offers")
    if data.get("participating_units") is not None:
        data["participating_units"] = _units(data["participating_units"], "participating_units")
    return data


def _campaign_detail(user: Any, campaign_id: int) -> CampaignDetailOut:
    c = selectors.campaign_get(user, campaign_id)
    readiness = services.campaign_readiness(c)
    return CampaignDetailOut(
        **CampaignOut.fields_of(c),
        description=c.description,
        participating_units=[UnitRef.of(u) for u in c.participating_units.order_by("path")],
        service_unit=UnitRef.of(c.service_unit),
        stock_unit=UnitRef.of(c.stock_unit) if c.stock_unit else None,
        offers=[o for o in map(OfferRef.of, c.offers.order_by("code")) if o is not None],
        goal_conversions=c.goal_conversions,
        expected_take_up=Decimal(c.expected_take_up),
        lead_days=c.lead_days,
        complaint_threshold=Decimal(c.complaint_threshold),
        complaint_min_contacts=c.complaint_min_contacts,
        attribution_days=c.attribution_days,
        submitted_at=c.submitted_at,
        paused_at=c.paused_at,
        pause_reason=c.pause_reason,
        conflicts_checked_at=c.conflicts_checked_at,
        readiness=ReadinessOut(ok=readiness.ok, missing=readiness.missing),
        waves=[WaveOut.of(w) for w in selectors.waves_of(c)],
        can_manage=can_manage(access_for(user), c),
    )


def _wave_args(data: dict[str, Any]) -> dict[str, Any]:
    if "source_wave" in data:
        ref = data["source_wave"]
        data["source_wave"] = (
            None
            if ref is None
            else _one(
                Wave,
                ref,
                field="source_wave",
                code="unknown_wave",
                message=_("No wave %(ref)s."),
                by="",
            )
        )
    if "offer" in data:
        data["offer"] = None if data["offer"] is None else _offer(data["offer"], "offer")
    if data.get("channels") is not None:
        data["channels"] = [str(c) for c in data["channels"]]
    for name in ("scheduled_at", "ends_at"):
        if isinstance(data.get(name), datetime) and timezone.is_naive(data[name]):
            data[name] = timezone.make_aware(data[name])  # a time without offset is local time
    return data


def _delivery_detail(user: Any, delivery_id: int) -> DeliveryDetailOut:
    d = selectors.delivery_get_for(user, delivery_id)
    return DeliveryDetailOut(
        **DeliveryOut.fields_of(d, selectors.reason_labels([d.reason])),
        **CallOut.context_of(d),
        can_work=can_work(user, d),
        can_record=can_record(user, d),
    )


# --- offers ---------------------------------------------------------------------------------


@router.get("/offers", response=OfferPage, summary="Offers (a product with a benefit)")
def offers_list(request: HttpRequest, query: Query[OfferQuery]) -> OfferPage:
    qs = selectors.offers_list(_user(request), active_only=query.active)
    page = paginate(qs, page=query.page, size=query.page_size)
    return OfferPage(
        items=[OfferOut.of(o) for o in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "/offers",
    response={201: OfferDetailOut},
    summary="Create an offer",
    description="Campaign managers. A gift names the gift and its stock; the eligibility is a "
    "segment rule the customer must match to be offered it.",
)
def offers_create(request: HttpRequest, payload: OfferIn) -> Status[OfferDetailOut]:
    user = _user(request)
    args = _offer_args(payload.model_dump())
    with _rule_errors_under("eligibility"):
        offer = services.offer_create(actor=user, **args)
    return Status(201, _offer_detail(user, offer.pk))


@router.get("/offers/{int:offer_id}", response=OfferDetailOut, summary="One offer")
def offers_get(request: HttpRequest, offer_id: int) -> OfferDetailOut:
    return _offer_detail(_user(request), offer_id)


@router.patch(
    "/offers/{int:offer_id}",
    response=OfferDetailOut,
    summary="Change an offer (only the fields sent)",
    description="The stock cannot go below the gifts already reserved; `active: false` retires "
    "the offer (no new campaign may use it).",
)
def offers_update(request: HttpRequest, offer_id: int, payload: OfferPatch) -> OfferDetailOut:
    user = _user(request)
    offer = selectors.offer_get(user, offer_id)
    args = _offer_args(payload.model_dump(exclude_unset=True))
    with _rule_errors_under("eligibility"):
        services.offer_update(actor=user, offer=offer, **args)
    return _offer_detail(user, offer_id)


# --- segments -------------------------------------------------------------------------------


@router.get(
    "/segments/fields",
    response=RuleLanguageOut,
    summary="The segment rule language: fields, operators and options",
    description='A rule is `{"match": "all"|"any", "conditions": [{"field", "op", "value"'
    ', "days"?}]}`; this lists every field with its label, group, kind, operators and, for '
    "choices, the values it accepts, so that an integration can build rules.",
)
def segment_fields(request: HttpRequest) -> RuleLanguageOut:
    selectors.segments_list(_user(request))  # the rule language is open to campaign viewers
    return RuleLanguageOut(
        match=["all", "any"],
        max_conditions=segments.MAX_CONDITIONS,
        max_values=segments.MAX_LIST,
        max_days=segments.MAX_DAYS,
        fields=[
            RuleFieldOut(
                name=spec.name,
                label=str(spec.label),
                group=str(spec.group),
                kind=spec.kind,
                ops=[OpOut(code=op.code, label=str(op.label)) for op in spec.ops],
                options=[OptionOut(value=v, label=label) for v, label in spec.options()]
                if spec.options
                else None,
                unit=str(spec.unit) if spec.unit else None,
            )
            for spec in segments.FIELDS.values()
        ],
    )


@router.post(
    "/segments/count",
    response=CountOut,
    summary="Count the active customers a rule selects",
    description="Campaign managers, while they build a rule. One COUNT in the database. A bad "
    "rule is a 422 whose field names the condition, e.g. `rules.conditions.2.value`.",
)
def segment_count(request: HttpRequest, payload: CountIn) -> CountOut:
    require_manage(_user(request))
    unit_ids = None if payload.units is None else [u.pk for u in _units(payload.units, "units")]
    return CountOut(count=services.segment_count(payload.rules, unit_ids=unit_ids))


@router.get("/segments", response=SegmentPage, summary="Saved segments")
def segments_list(request: HttpRequest, query: Query[PageQuery]) -> SegmentPage:
    page = paginate(selectors.segments_list(_user(request)), page=query.page, size=query.page_size)
    return SegmentPage(
        items=[SegmentOut.of(s) for s in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post("/segments", response={201: SegmentDetailOut}, summary="Save a segment")
def segments_create(request: HttpRequest, payload: SegmentIn) -> Status[SegmentDetailOut]:
    user = _user(request)
    segment = services.segment_create(
        actor=user,
        name=payload.name,
        rules=payload.rules,
        unit=_unit(payload.unit, "unit"),
        description=payload.description,
    )
    return Status(201, _segment_detail(user, segment.pk))


@router.get("/segments/{int:segment_id}", response=SegmentDetailOut, summary="One segment")
def segments_get(request: HttpRequest, segment_id: int) -> SegmentDetailOut:
    return _segment_detail(_user(request), segment_id)


@router.patch("/segments/{int:segment_id}", response=SegmentDetailOut, summary="Change a segment")
def segments_update(
    request: HttpRequest, segment_id: int, payload: SegmentPatch
) -> SegmentDetailOut:
    user = _user(request)
    segment = selectors.segment_get(user, segment_id)
    services.segment_update(actor=user, segment=segment, **payload.model_dump(exclude_unset=True))
    return _segment_detail(user, segment_id)


# --- the call list (before /{campaign_id} so that the paths read in order) -------------------


@router.get(
    "/calls",
    response=CallPage,
    summary="Your call list: calls and visits to make now, best first",
    description="Open waves of running campaigns. Phones are masked; reveal the customer's "
    "contacts with `GET /customers/{id}?reveal=true` (audited) when you call.",
)
def calls_list(request: HttpRequest, query: Query[CallQuery]) -> CallPage:
    qs = selectors.call_list(_user(request), mine_only=query.mine)
    page = paginate(qs, page=query.page, size=query.page_size)
    labels = selectors.reason_labels(d.reason for d in page.items)
    return CallPage(
        items=[
            CallOut(**DeliveryOut.fields_of(d, labels), **CallOut.context_of(d)) for d in page.items
        ],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


# --- campaigns ------------------------------------------------------------------------------


@router.get("", response=CampaignPage, summary="Campaigns")
def campaigns_list(request: HttpRequest, query: Query[CampaignQuery]) -> CampaignPage:
    filters = selectors.CampaignFilters.from_mapping(query.model_dump())
    qs = selectors.campaigns_list(_user(request), filters)
    page = paginate(qs, page=query.page, size=query.page_size)
    return CampaignPage(
        items=[CampaignOut.of(c) for c in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "",
    response={201: CampaignDetailOut},
    summary="Create a draft campaign",
    description="Campaign managers of the owner unit. Add waves, then submit it for review.",
)
def campaigns_create(request: HttpRequest, payload: CampaignIn) -> Status[CampaignDetailOut]:
    user = _user(request)
    args = _campaign_args(payload.model_dump(exclude_unset=True))
    campaign = services.campaign_create(actor=user, **args)
    return Status(201, _campaign_detail(user, campaign.pk))


@router.get(
    "/{int:campaign_id}",
    response=CampaignDetailOut,
    summary="One campaign with its offers, units, waves and readiness",
)
def campaigns_get(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    return _campaign_detail(_user(request), campaign_id)


@router.patch(
    "/{int:campaign_id}",
    response=CampaignDetailOut,
    summary="Change a draft campaign (only the fields sent)",
    description="422 `not_draft` once submitted: return it to draft first.",
)
def campaigns_update(
    request: HttpRequest, campaign_id: int, payload: CampaignPatch
) -> CampaignDetailOut:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    args = _campaign_args(payload.model_dump(exclude_unset=True))
    services.campaign_update(actor=user, campaign=campaign, **args)
    return _campaign_detail(user, campaign_id)


@router.post(
    "/{int:campaign_id}/submit",
    response=CampaignDetailOut,
    summary="Submit a draft for review",
    description="Draws up the launch checklist for the responsible units, tells the signers, "
    "starts the front line's lead time and checks conflicts with other campaigns.",
)
def campaigns_submit(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    user = _user(request)
    services.campaign_submit(actor=user, campaign=selectors.campaign_get(user, campaign_id))
    return _campaign_detail(user, campaign_id)


@router.post(
    "/{int:campaign_id}/return-to-draft",
    response=CampaignDetailOut,
    summary="Take a campaign in review back to draft (every signature is withdrawn)",
)
def campaigns_return_to_draft(
    request: HttpRequest, campaign_id: int, payload: OptionalReasonIn
) -> CampaignDetailOut:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    services.campaign_return_to_draft(actor=user, campaign=campaign, reason=payload.reason)
    return _campaign_detail(user, campaign_id)


@router.post(
    "/{int:campaign_id}/launch",
    response={200: CampaignDetailOut, 422: NotReadyOut},
    summary="Launch a ready campaign",
    description="Refused with 422 `not_ready` while anything is missing: the message says it "
    "all and `missing` lists it, one sentence each (see also `GET .../readiness`).",
)
def campaigns_launch(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    user = _user(request)
    services.campaign_launch(actor=user, campaign=selectors.campaign_get(user, campaign_id))
    return _campaign_detail(user, campaign_id)


@router.post(
    "/{int:campaign_id}/pause",
    response=CampaignDetailOut,
    summary="Pause a running campaign (batches stop before their next message)",
)
def campaigns_pause(request: HttpRequest, campaign_id: int, payload: ReasonIn) -> CampaignDetailOut:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    services.campaign_pause(actor=user, campaign=campaign, reason=payload.reason)
    return _campaign_detail(user, campaign_id)


@router.post(
    "/{int:campaign_id}/resume", response=CampaignDetailOut, summary="Resume a paused campaign"
)
def campaigns_resume(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    user = _user(request)
    services.campaign_resume(actor=user, campaign=selectors.campaign_get(user, campaign_id))
    return _campaign_detail(user, campaign_id)


@router.post(
    "/{int:campaign_id}/complete",
    response=CampaignDetailOut,
    summary="Complete a campaign (contacts still planned are cancelled)",
)
def campaigns_complete(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    user = _user(request)
    services.campaign_complete(actor=user, campaign=selectors.campaign_get(user, campaign_id))
    return _campaign_detail(user, campaign_id)


@router.get(
    "/{int:campaign_id}/readiness",
    response=ReadinessOut,
    summary="What stands between the campaign and its launch",
)
def campaigns_readiness(request: HttpRequest, campaign_id: int) -> ReadinessOut:
    readiness = services.campaign_readiness(selectors.campaign_get(_user(request), campaign_id))
    return ReadinessOut(ok=readiness.ok, missing=readiness.missing)


@router.get(
    "/{int:campaign_id}/funnel",
    response=FunnelOut,
    summary="The funnel of every wave, exclusions by reason, complaints by class",
)
def campaigns_funnel(request: HttpRequest, campaign_id: int) -> FunnelOut:
    campaign = selectors.campaign_get(_user(request), campaign_id)
    funnels = selectors.campaign_funnel(campaign)
    names = selectors.arbitration_names(funnels)
    return FunnelOut(
        campaign=CampaignRef.of(campaign),
        waves=[
            WaveFunnelOut(
                wave=WaveRef.of(f.wave),
                audience=f.audience,
                excluded=f.excluded,
                planned=f.planned,
                sent=f.sent,
                delivered=f.delivered,
                opened=f.opened,
                responded=f.responded,
                accepted=f.accepted,
                converted=f.converted,
                failed=f.failed,
                excluded_by_reason=[
                    ReasonCount(reason=r, label=selectors.reason_label(r, names), count=n)
                    for r, n in f.reasons
                ],
            )
            for f in funnels
        ],
        complaints=[
            ComplaintCount(complaint_class=value, label=label, count=n)
            for value, label, n in selectors.campaign_complaints(campaign)
        ],
    )


# --- the launch checklist -------------------------------------------------------------------


@router.get(
    "/{int:campaign_id}/checklist",
    response=list[ChecklistItemOut],
    summary="The launch checklist (drawn up when the campaign is submitted)",
)
def checklist_list(request: HttpRequest, campaign_id: int) -> list[ChecklistItemOut]:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    return [ChecklistItemOut.of(item, user) for item in selectors.checklist_of(campaign)]


@router.post(
    "/checklist/{int:item_id}/sign",
    response=ChecklistItemOut,
    summary="Sign a checklist line",
    description="By a signer role of the line's unit or a unit above it. The gift-stock line "
    "checks the stock, the conflict line runs the conflict check; the campaign is ready "
    "once every line is signed.",
)
def checklist_sign(request: HttpRequest, item_id: int, payload: NoteIn) -> ChecklistItemOut:
    user = _user(request)
    item = selectors.checklist_item_get(user, item_id)
    services.checklist_sign(actor=user, item=item, note=payload.note)
    return ChecklistItemOut.of(selectors.checklist_item_get(user, item_id), user)


@router.post(
    "/checklist/{int:item_id}/unsign",
    response=ChecklistItemOut,
    summary="Withdraw a signature, with the reason",
)
def checklist_unsign(request: HttpRequest, item_id: int, payload: ReasonIn) -> ChecklistItemOut:
    user = _user(request)
    item = selectors.checklist_item_get(user, item_id)
    services.checklist_unsign(actor=user, item=item, reason=payload.reason)
    return ChecklistItemOut.of(selectors.checklist_item_get(user, item_id), user)


# --- conflicts ------------------------------------------------------------------------------


@router.get(
    "/{int:campaign_id}/conflicts",
    response=list[ConflictOut],
    summary="Conflicts with other campaigns (open or accepted)",
)
def conflicts_list(request: HttpRequest, campaign_id: int) -> list[ConflictOut]:
    campaign = selectors.campaign_get(_user(request), campaign_id)
    return [ConflictOut.of(c) for c in conflicts_of(campaign)]


@router.post(
    "/{int:campaign_id}/conflicts/check",
    response=list[ConflictOut],
    summary="Check the conflicts again now",
    description="Overlapping periods and audiences with clashing offers; a conflict whose "
    "clash or overlap disappeared is resolved.",
)
def conflicts_refresh(request: HttpRequest, campaign_id: int) -> list[ConflictOut]:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    conflicts_check(actor=user, campaign=campaign)
    return [ConflictOut.of(c) for c in conflicts_of(campaign)]


@router.post(
    "/conflicts/{int:conflict_id}/accept",
    response=ConflictOut,
    summary="Accept a conflict knowingly, with the reason",
)
def conflicts_accept(request: HttpRequest, conflict_id: int, payload: ReasonIn) -> ConflictOut:
    user = _user(request)
    conflict = selectors.conflict_get(user, conflict_id)
    conflict_accept(actor=user, conflict=conflict, reason=payload.reason)
    return ConflictOut.of(selectors.conflict_get(user, conflict_id))


# --- waves and plans ------------------------------------------------------------------------


@router.get(
    "/{int:campaign_id}/waves", response=list[WaveOut], summary="The campaign's waves in order"
)
def waves_list(request: HttpRequest, campaign_id: int) -> list[WaveOut]:
    campaign = selectors.campaign_get(_user(request), campaign_id)
    return [WaveOut.of(w) for w in selectors.waves_of(campaign)]


@router.post(
    "/{int:campaign_id}/waves",
    response={201: WaveOut},
    summary="Add a wave (numbered after the last one)",
    description="A broadcast sends on the first channel each customer can be reached on and "
    "consented to; a call wave is sized by agents × hours × calls per agent-hour; a follow-up "
    "addresses an outcome of an earlier wave (`source`, `source_wave`).",
)
def waves_create(request: HttpRequest, campaign_id: int, payload: WaveIn) -> Status[WaveOut]:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    args = _wave_args(payload.model_dump(exclude_unset=True))
    wave = services.wave_create(actor=user, campaign=campaign, **args)
    return Status(201, WaveOut.of(selectors.wave_get(user, wave.pk)))


@router.get("/waves/{int:wave_id}", response=WaveOut, summary="One wave")
def waves_get(request: HttpRequest, wave_id: int) -> WaveOut:
    return WaveOut.of(selectors.wave_get(_user(request), wave_id))


@router.patch(
    "/waves/{int:wave_id}",
    response=WaveOut,
    summary="Change a wave (only the fields sent)",
    description="Until it starts sending; a planned wave returns to not planned.",
)
def waves_update(request: HttpRequest, wave_id: int, payload: WavePatch) -> WaveOut:
    user = _user(request)
    wave = selectors.wave_get(user, wave_id)
    services.wave_update(
        actor=user, wave=wave, **_wave_args(payload.model_dump(exclude_unset=True))
    )
    return WaveOut.of(selectors.wave_get(user, wave_id))


@router.delete(
    "/waves/{int:wave_id}",
    response={204: None},
    summary="Delete a wave of a draft campaign",
)
def waves_delete(request: HttpRequest, wave_id: int) -> Status[None]:
    user = _user(request)
    services.wave_delete(actor=user, wave=selectors.wave_get(user, wave_id))
    return Status(204, None)


@router.post(
    "/waves/{int:wave_id}/plan",
    response=PlanOut,
    summary="Plan a wave, or count it with dry_run",
    description="Every customer of the audience is planned on a channel or excluded with one "
    "reason, under the contact policy and against competing campaigns. `dry_run` (in the body "
    "or the query) counts everything and writes nothing, and works on a draft; a real plan "
    "needs the campaign submitted (422 `not_submitted`). Send a JSON body, `{}` or "
    '`{"dry_run": true}`.',
)
def waves_plan(
    request: HttpRequest, wave_id: int, query: Query[PlanQuery], payload: PlanIn | None = None
) -> dict[str, Any]:
    user = _user(request)
    wave = selectors.wave_get(user, wave_id)
    dry_run = query.dry_run or (payload is not None and payload.dry_run)
    return wave_plan(actor=user, wave=wave, dry_run=dry_run).as_dict()


# --- deliveries -----------------------------------------------------------------------------


@router.get(
    "/waves/{int:wave_id}/deliveries",
    response=DeliveryPage,
    summary="A wave's contacts, of the customers you may see",
    description="Planned, excluded with the reason, sent, answered and converted; best first. "
    "Phones and e-mails are masked.",
)
def deliveries_list(
    request: HttpRequest, wave_id: int, query: Query[DeliveryQuery]
) -> DeliveryPage:
    user = _user(request)
    wave = selectors.wave_get(user, wave_id)
    qs = selectors.deliveries_of_wave(
        user, wave, status=query.status or "", reason=query.reason.strip()
    )
    page = paginate(qs, page=query.page, size=query.page_size)
    labels = selectors.reason_labels(d.reason for d in page.items)
    return DeliveryPage(
        items=[DeliveryOut(**DeliveryOut.fields_of(d, labels)) for d in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.get("/deliveries/{int:delivery_id}", response=DeliveryDetailOut, summary="One contact")
def deliveries_get(request: HttpRequest, delivery_id: int) -> DeliveryDetailOut:
    return _delivery_detail(_user(request), delivery_id)


@router.post(
    "/deliveries/{int:delivery_id}/outcome",
    response=DeliveryDetailOut,
    summary="Record what a call or visit came to",
    description="By the agent it is assigned to (or who may work it). Three unanswered "
    "attempts close it; an acceptance reserves the offer's gift and records the order, "
    "credited to your unit.",
)
def deliveries_outcome(
    request: HttpRequest, delivery_id: int, payload: OutcomeIn
) -> DeliveryDetailOut:
    user = _user(request)
    delivery = selectors.delivery_get_for(user, delivery_id)
    outcomes.delivery_work(
        actor=user, delivery=delivery, outcome=payload.outcome, note=payload.note
    )
    return _delivery_detail(user, delivery_id)


@router.post(
    "/deliveries/{int:delivery_id}/responses",
    response={201: DeliveryDetailOut},
    summary="Record the customer's response to a message",
    description="For integrations such as an SMS gateway forwarding a reply, or an agent "
    "noting one. The first answer counts (`interested` may still turn into another); an "
    "acceptance reserves the gift and records the order.",
)
def deliveries_respond(
    request: HttpRequest, delivery_id: int, payload: ResponseIn
) -> Status[DeliveryDetailOut]:
    user = _user(request)
    delivery = selectors.delivery_get_for(user, delivery_id)
    outcomes.delivery_respond(
        actor=user, delivery=delivery, kind=payload.kind, at=payload.at, note=payload.note
    )
    return Status(201, _delivery_detail(user, delivery_id))


@router.post(
    "/deliveries/{int:delivery_id}/conversion",
    response=DeliveryDetailOut,
    summary="Link the order this contact led to",
)
def deliveries_convert(
    request: HttpRequest, delivery_id: int, payload: ConversionIn
) -> DeliveryDetailOut:
    user = _user(request)
    delivery = selectors.delivery_get_for(user, delivery_id)
    message = _("No order %(ref)s.")
    order = _one(Order, payload.order, field="order", code="unknown_order", message=message, by="")
    outcomes.delivery_convert(actor=user, delivery=delivery, order=order)
    return _delivery_detail(user, delivery_id)
