"""API of accounting (mounted at /api/v1/accounting): a campaign's economics, its budgets and
cost lines, unit × product results, scorecards and their weekly snapshots.

Thin: the same selectors, rules and services as the pages, scoped the same way. Refusals are
``{"code", "message", "field"}`` with the codes of ``accounting.errors``
(``AccountingErrorCode``): 403 ``accounting_not_allowed``, 404 ``unit_not_visible``,
422 ``invalid_period``, ``period_too_long``, ``invalid_amount``, ``unit_not_in_campaign``,
``invalid_cost_kind``, ``description_required``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from yiti.accounting import selectors, services
from yiti.accounting.choices import CostKind
from yiti.accounting.economics import UnitLine
from yiti.accounting.results import Figures
from yiti.accounting.scorecards import DEFAULT_IDLE_DAYS, Scorecard
from yiti.core.errors import NotFound
from yiti.org.api import UnitRef, UserRef
from yiti.org.models import OrgUnit

router = Router(tags=["accounting"])

UnitId = Field(
    default=None, ge=1, le=2**63 - 1, description="Only this unit and the units below it."
)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _money(value: Any) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _user_ref(user: Any) -> UserRef:
    return UserRef(id=user.pk, username=user.username, display_name=str(user))


# --- campaign economics ----------------------------------------------------------------------


class UnitEconomicsOut(Schema):
    unit: UnitRef | None
    budget: str
    costs: dict[str, str] = Field(description="Cost per kind: " + ", ".join(CostKind.values))
    cost: str
    conversions: float
    revenue: str
    margin: str
    roi: float | None = Field(description="(margin − cost) / cost; null when nothing was spent")
    cost_per_conversion: str | None

    @classmethod
    def of(cls, u: UnitLine) -> UnitEconomicsOut:
        return cls(
            unit=UnitRef.of(u.unit) if u.unit is not None else None,
            budget=_money(u.budget),
            costs={k: _money(v) for k, v in sorted(u.costs.items())},
            cost=_money(u.cost),
            conversions=round(u.conversions, 4),
            revenue=_money(u.revenue),
            margin=_money(u.margin),
            roi=None if u.roi is None else round(u.roi, 4),
            cost_per_conversion=None
            if u.cost_per_conversion is None
            else _money(u.cost_per_conversion),
        )


class UpliftOut(Schema):
    wave: int
    holdout_share: float
    treated: int | None
    treated_converted: int | None
    held_out: int | None
    held_out_converted: int | None
    uplift: float | None = Field(description="Conversion rate contacted − held out")
    low: float | None = Field(description="95 % interval, lower end")
    high: float | None = Field(description="95 % interval, upper end")


class EconomicsOut(Schema):
    campaign: str
    provisional: bool = Field(
        description="True until the attribution run has credited the campaign's orders"
    )
    total: UnitEconomicsOut
    units: list[UnitEconomicsOut]
    uplift: list[UpliftOut]


@router.get(
    "/campaigns/{campaign_id}/economics",
    response=EconomicsOut,
    summary="A campaign's budget, cost, attributed revenue and margin, ROI and uplift",
)
def campaign_economics(request: HttpRequest, campaign_id: int) -> EconomicsOut:
    e = selectors.economics_for(_user(request), campaign_id)
    uplifts = []
    for w in e.uplifts:
        r = w.result
        uplifts.append(
            UpliftOut(
                wave=w.wave.number,
                holdout_share=float(w.share),
                treated=r.treated if r else None,
                treated_converted=r.treated_converted if r else None,
                held_out=r.held_out if r else None,
                held_out_converted=r.held_out_converted if r else None,
                uplift=round(r.diff, 6) if r else None,
                low=round(r.low, 6) if r else None,
                high=round(r.high, 6) if r else None,
            )
        )
    return EconomicsOut(
        campaign=e.campaign.code,
        provisional=e.provisional,
        total=UnitEconomicsOut.of(e.total),
        units=[UnitEconomicsOut.of(u) for u in e.units],
        uplift=uplifts,
    )


class BudgetIn(Schema):
    unit: int = Field(ge=1, le=2**63 - 1)
    amount: str = Field(max_length=20, description='Yuan, e.g. "5000.00"')
    note: str = Field(default="", max_length=255)


class BudgetOut(Schema):
    unit: UnitRef
    amount: str
    note: str


def _unit(unit_id: int) -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("Unit not found.", code="unit_not_visible", field="unit")
    return unit


@router.post(
    "/campaigns/{campaign_id}/budgets",
    response={200: BudgetOut},
    summary="Set a unit's budget for the campaign",
)
def budget_set(request: HttpRequest, campaign_id: int, payload: BudgetIn) -> BudgetOut:
    user = _user(request)
    campaign = selectors.campaign_for_costs(user, campaign_id)
    b = services.budget_set(
        actor=user,
        campaign=campaign,
        unit=_unit(payload.unit),
        amount=payload.amount,
        note=payload.note,
    )
    return BudgetOut(unit=UnitRef.of(b.unit), amount=_money(b.amount), note=b.note)


class CostLineIn(Schema):
    unit: int = Field(ge=1, le=2**63 - 1)
    kind: str = Field(description="One of " + ", ".join(CostKind.values))
    description: str = Field(max_length=200)
    quantity: str = Field(default="1", max_length=20)
    unit_cost: str = Field(max_length=20)
    incurred_on: date


class CostLineOut(Schema):
    id: int
    unit: UnitRef
    kind: str
    description: str
    quantity: str
    unit_cost: str
    amount: str
    incurred_on: date


@router.post(
    "/campaigns/{campaign_id}/cost-lines",
    response={201: CostLineOut},
    summary="Record a cost a unit incurred for the campaign",
)
def cost_line_add(
    request: HttpRequest, campaign_id: int, payload: CostLineIn
) -> Status[CostLineOut]:
    user = _user(request)
    campaign = selectors.campaign_for_costs(user, campaign_id)
    line = services.cost_line_add(
        actor=user,
        campaign=campaign,
        unit=_unit(payload.unit),
        kind=payload.kind,
        description=payload.description,
        quantity=payload.quantity,
        unit_cost=payload.unit_cost,
        incurred_on=payload.incurred_on,
    )
    return Status(
        201,
        CostLineOut(
            id=line.pk,
            unit=UnitRef.of(line.unit),
            kind=line.kind,
            description=line.description,
            quantity=str(line.quantity),
            unit_cost=_money(line.unit_cost),
            amount=_money(line.amount),
            incurred_on=line.incurred_on,
        ),
    )


# --- unit × product results ------------------------------------------------------------------


class FiguresOut(Schema):
    revenue: str
    margin: str
    orders: int
    credit_revenue: str
    credit_margin: str
    campaign_cost: str
    cost_to_serve: str
    contribution: str

    @classmethod
    def of(cls, f: Figures) -> FiguresOut:
        return cls(
            revenue=_money(f.revenue),
            margin=_money(f.margin),
            orders=f.orders,
            credit_revenue=_money(f.credit_revenue),
            credit_margin=_money(f.credit_margin),
            campaign_cost=_money(f.campaign_cost),
            cost_to_serve=_money(f.cost_to_serve),
            contribution=_money(f.contribution),
        )


class AccountingProductRef(Schema):
    id: int
    code: str
    name: str


class UnitResultOut(Schema):
    unit: UnitRef
    parent_id: int | None
    depth: int
    own: FiguresOut
    total: FiguresOut = Field(description="The unit with every unit below it")


class ProductResultOut(Schema):
    product: AccountingProductRef | None = Field(description="null: costs tied to no product")
    figures: FiguresOut


class ResultsOut(Schema):
    start: date
    end: date
    total: FiguresOut
    units: list[UnitResultOut]
    products: list[ProductResultOut]


class PeriodQuery(Schema):
    start: date | None = None
    end: date | None = None
    unit: int | None = UnitId


@router.get(
    "/results",
    response=ResultsOut,
    summary="Unit × product results for a period (this month by default), rolled up the org tree",
)
def results(request: HttpRequest, query: Query[PeriodQuery]) -> ResultsOut:
    start, end = selectors.default_period()
    r = selectors.results_for(
        _user(request), start=query.start or start, end=query.end or end, unit=query.unit
    )
    return ResultsOut(
        start=r.start,
        end=r.end,
        total=FiguresOut.of(r.total),
        units=[
            UnitResultOut(
                unit=UnitRef.of(row.unit),
                parent_id=row.unit.parent_id,
                depth=row.depth,
                own=FiguresOut.of(row.own),
                total=FiguresOut.of(row.total),
            )
            for row in r.units
        ],
        products=[
            ProductResultOut(
                product=AccountingProductRef(id=p.pk, code=p.code, name=p.name) if p else None,
                figures=FiguresOut.of(f),
            )
            for p, f in r.products
        ],
    )


# --- scorecards ------------------------------------------------------------------------------


class ScorecardOut(Schema):
    user: UserRef
    unit: UnitRef
    rank: int
    out_of: int = Field(description="Account managers ranked in the unit")
    profit: str
    sold_margin: str
    sold_orders: int
    credited_margin: str
    customers: int
    active_share: float | None
    churned_mvc: int
    idle_customers: int
    satisfaction: float | None
    satisfaction_answers: int
    complaints: int

    @classmethod
    def of(cls, c: Scorecard) -> ScorecardOut:
        return cls(
            user=_user_ref(c.user),
            unit=UnitRef.of(c.unit),
            rank=c.rank,
            out_of=c.of,
            profit=_money(c.profit),
            sold_margin=_money(c.sold_margin),
            sold_orders=c.sold_orders,
            credited_margin=_money(c.credited_margin),
            customers=c.customers,
            active_share=c.active_share,
            churned_mvc=c.churned_mvc,
            idle_customers=c.idle_customers,
            satisfaction=c.satisfaction,
            satisfaction_answers=c.satisfaction_answers,
            complaints=c.complaints,
        )


class ScorecardQuery(PeriodQuery):
    idle_days: int = Field(default=DEFAULT_IDLE_DAYS, ge=1, le=365)


@router.get(
    "/scorecards",
    response=list[ScorecardOut],
    summary="Account-manager scorecards for a period (an account manager gets his own)",
)
def scorecards(request: HttpRequest, query: Query[ScorecardQuery]) -> list[ScorecardOut]:
    start, end = selectors.default_period()
    cards = selectors.scorecards_for(
        _user(request),
        start=query.start or start,
        end=query.end or end,
        unit=query.unit,
        idle_days=query.idle_days,
    )
    return [ScorecardOut.of(c) for c in cards]


class ScorecardSnapshotOut(Schema):
    week_start: date
    user: UserRef
    unit: UnitRef
    rank: int
    out_of: int
    profit: str
    data: dict[str, Any]


@router.get(
    "/scorecards/weeks/{week_start}",
    response=list[ScorecardSnapshotOut],
    summary="The scorecards kept for the week starting on that Monday",
)
def snapshots(request: HttpRequest, week_start: date) -> list[ScorecardSnapshotOut]:
    return [
        ScorecardSnapshotOut(
            week_start=s.week_start,
            user=_user_ref(s.user),
            unit=UnitRef.of(s.unit),
            rank=s.rank,
            out_of=s.of,
            profit=_money(s.profit),
            data=s.data,
        )
        for s in selectors.snapshots_for(_user(request), week_start=week_start)
    ]
