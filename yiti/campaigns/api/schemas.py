"""Request and response schemas of the campaigns API (what OpenAPI documents).

Out-schemas build themselves from the models with ``of``/``fields_of``; personal data leaves
only masked (``DeliveryCustomer``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

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
from yiti.campaigns.models import (
    Campaign,
    ChecklistItem,
    Conflict,
    Delivery,
    Offer,
    Segment,
    Wave,
)
from yiti.campaigns.rules import can_sign
from yiti.core.pagination import MAX_PAGE_SIZE
from yiti.customers.choices import ContactKind
from yiti.customers.selectors import mask_contact
from yiti.org.api import UnitRef, UserRef

Ref = int | str


class PageQuery(Schema):
    """``page`` and ``page_size`` of every list (pages answer ``has_next``, never a count)."""

    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class PageOut(Schema):
    page: int
    page_size: int
    has_next: bool


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


class CampaignBrief(Schema):
    id: int
    code: str
    name: str
    status: str

    @classmethod
    def of(cls, c: Campaign) -> CampaignBrief:
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


class OfferPage(PageOut):
    items: list[OfferOut]


class OfferQuery(PageQuery):
    active: bool = Field(False, description="Only offers that are still active.")


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


class SegmentPage(PageOut):
    items: list[SegmentOut]


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


class SegmentCountOut(Schema):
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


class CampaignPage(PageOut):
    items: list[CampaignOut]


class CampaignQuery(PageQuery):
    q: str = Field("", max_length=100, description="Part of the name or the code.")
    status: CampaignStatus | None = None


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
    holdout_share: Decimal = Field(description="Share of the audience held out as a control group.")
    holdout_seed: int | None = Field(description="The recorded seed of the control group.")
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
            holdout_share=Decimal(w.holdout_share),
            holdout_seed=w.holdout_seed,
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
    campaign: CampaignBrief
    other: CampaignBrief
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
            campaign=CampaignBrief.of(c.campaign),
            other=CampaignBrief.of(c.other),
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
    campaign: CampaignBrief
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
    holdout_share: Decimal | None = Field(
        None,
        ge=0,
        le=Decimal("0.5"),
        description="Hold out this share (0–0.5) of the eligible, reachable audience as a "
        "control group (excluded as `holdout`, seeded and recorded at the first plan).",
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
    holdout_share: Decimal | None = Field(None, ge=0, le=Decimal("0.5"))


class WavePlanIn(Schema):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="Count everything, write nothing.")


class PlanQuery(Schema):
    dry_run: bool = Field(False, description="Same as the body's dry_run.")


class PlanOutcomes(Schema):
    planned: int
    excluded: int


class WavePlanOut(Schema):
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
    id: int | None = Field(
        description="None for a customer the plan excluded for good: such exclusions are "
        "kept packed, not as delivery rows."
    )
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


class DeliveryPage(PageOut):
    items: list[DeliveryOut]


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None
    reason: str = Field(
        "", max_length=120, description="An exclusion reason, or its head (cap, suppressed)."
    )


class CallOut(DeliveryOut):
    campaign: CampaignBrief
    wave: WaveRef
    offer: OfferRef | None

    @classmethod
    def context_of(cls, d: Delivery) -> dict[str, Any]:
        return {
            "campaign": CampaignBrief.of(d.campaign),
            "wave": WaveRef.of(d.wave),
            "offer": OfferRef.of(d.wave.offer),
        }


class CallPage(PageOut):
    items: list[CallOut]


class CallQuery(PageQuery):
    mine: bool = Field(True, description="Only calls assigned to you; false adds unassigned ones.")


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
