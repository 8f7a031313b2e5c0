"""API of attribution (mounted at /api/v1/attribution; thin: schemas in, a selector or
service call, schemas out).

A campaign's credit per unit and the comparison of the models are aggregates, read by every
role with ``campaign.view``; the allocations of orders list only orders of customers the
caller may see; changing the plan needs ``campaign.manage`` for the owner unit, and a reason
once the campaign has been launched. Shares that do not add up to 100 % are a 422 with the
code ``shares_not_100``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from yiti.attribution import selectors, services
from yiti.attribution.attribute import plan_of
from yiti.attribution.choices import AgreementBasis, AttributionModel
from yiti.attribution.models import AttributionPlan, Credit
from yiti.campaigns.models import Campaign
from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE
from yiti.org.api import UnitRef
from yiti.org.models import OrgUnit

router = Router(tags=["attribution"])


# --- schemas -----------------------------------------------------------------------------------


class CampaignRef(Schema):
    id: int
    code: str
    name: str


class ShareOut(Schema):
    unit: UnitRef
    percent: Decimal


class PlanOut(Schema):
    model: str
    basis: str
    touch_weight: Decimal = Field(description="Share of each order by touches in a mix (0–1).")
    lookback_days: int
    half_life_days: Decimal
    shares: list[ShareOut]
    saved: bool = Field(description="False: the campaign has no plan yet (the default).")
    change_reason: str


class UnitCreditOut(Schema):
    unit: UnitRef
    agreed_percent: Decimal | None
    orders: int
    conversions: float
    revenue: Decimal
    margin: Decimal


class ChannelCreditOut(Schema):
    channel: str = Field(description="The touches' channel; empty for the agreed shares.")
    conversions: float
    revenue: Decimal
    margin: Decimal


class CampaignCreditOut(Schema):
    campaign: CampaignRef
    plan: PlanOut
    units: list[UnitCreditOut]
    channels: list[ChannelCreditOut]
    total_orders: int
    total_revenue: Decimal
    total_margin: Decimal
    computed_at: datetime | None


class ModelUnitOut(Schema):
    unit_id: int
    conversions: float
    revenue: Decimal
    margin: Decimal


class ModelSplitOut(Schema):
    model: str
    chosen: bool
    units: list[ModelUnitOut]


class CreditOut(Schema):
    unit: UnitRef
    basis: str
    channel: str
    touched_at: datetime | None
    share: float
    revenue: Decimal
    margin: Decimal
    model: str


class OrderRef(Schema):
    id: int
    customer_id: int
    product: str
    ordered_at: datetime
    amount: Decimal
    margin: Decimal


class AllocationOut(Schema):
    campaign: CampaignRef
    order: OrderRef
    explanation: str
    credits: list[CreditOut]


class AllocationPage(Schema):
    items: list[AllocationOut]
    page: int
    page_size: int
    has_next: bool


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ShareIn(Schema):
    unit: int | str = Field(description="The unit's id or code (owner or participating unit).")
    percent: Decimal = Field(ge=0, le=100)


class PlanIn(Schema):
    model: AttributionModel
    basis: AgreementBasis = AgreementBasis.TOUCHES
    shares: list[ShareIn] = []
    touch_weight: Decimal = Field(Decimal("0.5"), ge=0, le=1)
    lookback_days: int = Field(30, ge=1, le=365)
    half_life_days: Decimal = Field(Decimal(7), gt=0, le=365)
    reason: str = Field("", max_length=500)


# --- helpers -----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _campaign_ref(campaign: Campaign) -> CampaignRef:
    return CampaignRef(id=campaign.pk, code=campaign.code, name=campaign.name)


def _plan_out(plan: AttributionPlan) -> PlanOut:
    shares = (
        [ShareOut(unit=UnitRef.of(s.unit), percent=s.percent) for s in plan.shares.all()]
        if plan.pk
        else []
    )
    return PlanOut(
        model=plan.model,
        basis=plan.basis,
        touch_weight=Decimal(plan.touch_weight),
        lookback_days=plan.lookback_days,
        half_life_days=Decimal(plan.half_life_days),
        shares=shares,
        saved=plan.pk is not None,
        change_reason=plan.change_reason,
    )


def _credit_out(credit: selectors.CampaignCredit) -> CampaignCreditOut:
    return CampaignCreditOut(
        campaign=_campaign_ref(credit.campaign),
        plan=_plan_out(credit.plan),
        units=[
            UnitCreditOut(
                unit=UnitRef.of(line.unit),
                agreed_percent=line.agreed_percent,
                orders=line.orders,
                conversions=line.conversions,
                revenue=line.revenue,
                margin=line.margin,
            )
            for line in credit.units
        ],
        channels=[
            ChannelCreditOut(
                channel=line.channel,
                conversions=line.conversions,
                revenue=line.revenue,
                margin=line.margin,
            )
            for line in credit.channels
        ],
        total_orders=credit.total_orders,
        total_revenue=credit.total_revenue,
        total_margin=credit.total_margin,
        computed_at=credit.computed_at,
    )


def _credit_row(row: Credit) -> CreditOut:
    return CreditOut(
        unit=UnitRef.of(row.unit),
        basis=row.basis,
        channel=row.channel,
        touched_at=row.touched_at,
        share=row.share,
        revenue=row.revenue,
        margin=row.margin,
        model=row.model,
    )


def _allocation_out(allocation: selectors.OrderAllocation) -> AllocationOut:
    order = allocation.order
    return AllocationOut(
        campaign=_campaign_ref(allocation.campaign),
        order=OrderRef(
            id=order.pk,
            customer_id=order.customer_id,
            product=order.product.name,
            ordered_at=order.ordered_at,
            amount=order.amount,
            margin=order.margin,
        ),
        explanation=allocation.explanation,
        credits=[_credit_row(r) for r in allocation.rows],
    )


def _unit_of(ref: int | str) -> int:
    text = str(ref).strip()
    unit = OrgUnit.objects.filter(code=text).first() if isinstance(ref, str) else None
    if unit is None and text.isdigit():
        unit = OrgUnit.objects.filter(pk=int(text)).first()
    if unit is None:
        raise ValidationFailed(
            _("No unit “%(ref)s”.") % {"ref": text}, field="shares", code="unknown_unit"
        )
    return unit.pk


# --- endpoints ---------------------------------------------------------------------------------


@router.get(
    "/campaigns/{int:campaign_id}/credit",
    response=CampaignCreditOut,
    summary="A campaign's stored credit per unit, its model and agreement",
)
def campaign_credit(request: HttpRequest, campaign_id: int) -> CampaignCreditOut:
    return _credit_out(selectors.campaign_credit(_user(request), campaign_id))


@router.get(
    "/campaigns/{int:campaign_id}/models",
    response=list[ModelSplitOut],
    summary="What each unit would get under every model (computed now, nothing stored)",
)
def campaign_models(request: HttpRequest, campaign_id: int) -> list[ModelSplitOut]:
    return [
        ModelSplitOut(
            model=split.model,
            chosen=split.chosen,
            units=[
                ModelUnitOut(unit_id=u, conversions=c, revenue=r, margin=m)
                for u, (c, r, m) in sorted(split.units.items())
            ],
        )
        for split in selectors.campaign_compare(_user(request), campaign_id)
    ]


@router.get(
    "/campaigns/{int:campaign_id}/orders",
    response=AllocationPage,
    summary="The campaign's credited orders with each one's allocation (visible customers)",
)
def campaign_orders(
    request: HttpRequest, campaign_id: int, query: Query[PageQuery]
) -> AllocationPage:
    page = selectors.order_allocations(
        _user(request), campaign_id, page=query.page, size=query.page_size
    )
    return AllocationPage(
        items=[_allocation_out(a) for a in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.get(
    "/orders/{int:order_id}",
    response=list[AllocationOut],
    summary="One order's allocation under every campaign that converted it",
)
def order_allocation(request: HttpRequest, order_id: int) -> list[AllocationOut]:
    return [_allocation_out(a) for a in selectors.order_allocation(_user(request), order_id)]


@router.put(
    "/campaigns/{int:campaign_id}/plan",
    response=PlanOut,
    summary="Choose the model and the allocation agreement (a reason after launch)",
)
def plan_put(request: HttpRequest, campaign_id: int, body: PlanIn) -> PlanOut:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    selectors.campaign_credit(_user(request), campaign)  # may the caller see campaigns?
    shares: dict[int, Decimal] = {}
    for share in body.shares:
        unit_id = _unit_of(share.unit)
        shares[unit_id] = shares.get(unit_id, Decimal(0)) + share.percent
    services.plan_set(
        actor=_user(request),
        campaign=campaign,
        model=body.model.value,
        basis=body.basis.value,
        shares=shares,
        touch_weight=body.touch_weight,
        lookback_days=body.lookback_days,
        half_life_days=body.half_life_days,
        reason=body.reason,
    )
    return _plan_out(plan_of(campaign))
