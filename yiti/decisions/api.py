"""API endpoints of the value model (mounted at /api/v1): the fits, "Refit now", one
customer's value scores; the next best action, its outcomes and the learned propensities.

Thin: the same selectors, rules and services as the web pages. ``/value/fits`` is for the
roles of the value page; ``/customers/{id}/value`` for whoever may see the customer.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.customers.choices import SalesChannel
from yiti.customers.models import CustomerValue
from yiti.customers.selectors import customer_get_for
from yiti.decisions import nba, rules, selectors, services
from yiti.decisions import outcomes as outcome_services
from yiti.decisions.models import TierChange, ValueModelFit
from yiti.org.api import UserRef

router = Router(tags=["value"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class FitOut(Schema):
    id: int
    status: str
    trigger: str
    requested_by: UserRef | None
    error: str
    created_at: datetime
    fitted_at: datetime | None
    window_start: date | None
    window_end: date | None
    time_unit: str
    horizon_months: int
    discount_rate: float
    bgnbd: dict[str, float | None]
    gamma_gamma: dict[str, float | None]
    customers: int
    buyers: int
    transactions: int
    repeat_buyers: int
    holdout_months: int
    holdout_predicted: float | None
    holdout_actual: float | None
    tier_counts: dict[str, int]
    tier_changes: int
    retention_calls: int
    total_clv: float | None
    seconds: float

    @classmethod
    def of(cls, f: ValueModelFit) -> FitOut:
        return cls(
            id=f.pk,
            status=f.status,
            trigger=f.trigger,
            requested_by=UserRef.of(f.requested_by),
            error=f.error,
            created_at=f.created_at,
            fitted_at=f.fitted_at,
            window_start=f.window_start,
            window_end=f.window_end,
            time_unit=f.time_unit,
            horizon_months=f.horizon_months,
            discount_rate=f.discount_rate,
            bgnbd={
                "r": f.bgnbd_r,
                "alpha": f.bgnbd_alpha,
                "a": f.bgnbd_a,
                "b": f.bgnbd_b,
                "log_likelihood": f.bgnbd_log_likelihood,
            },
            gamma_gamma={
                "p": f.gg_p,
                "q": f.gg_q,
                "v": f.gg_v,
                "log_likelihood": f.gg_log_likelihood,
            },
            customers=f.customers,
            buyers=f.buyers,
            transactions=f.transactions,
            repeat_buyers=f.repeat_buyers,
            holdout_months=f.holdout_months,
            holdout_predicted=f.holdout_predicted,
            holdout_actual=f.holdout_actual,
            tier_counts=f.tier_counts or {},
            tier_changes=f.tier_changes,
            retention_calls=f.care_tasks,
            total_clv=f.total_clv,
            seconds=f.seconds,
        )


class FitPage(Schema):
    items: list[FitOut]
    page: int
    page_size: int
    has_next: bool


class FitQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class RefitIn(Schema):
    end: date | None = Field(None, description="Orders up to the end of this day (default: now).")


class TierChangeOut(Schema):
    fit_id: int
    from_tier: str
    to_tier: str
    clv: float
    at: datetime

    @classmethod
    def of(cls, c: TierChange) -> TierChangeOut:
        return cls(fit_id=c.fit_id, from_tier=c.from_tier, to_tier=c.to_tier, clv=c.clv, at=c.at)


class CustomerValueOut(Schema):
    customer_id: int
    scored: bool = Field(description="False until the first refit that included the customer.")
    tier: str | None
    clv: float | None = Field(description="Predicted margin over the horizon, yuan, discounted.")
    expected_purchases: float | None
    p_alive: float | None
    churn_risk: float | None
    cost_to_serve: float | None
    net_value: float | None
    growth_gap: float | None
    rising: bool | None
    purchases: int | None
    last_purchase_on: date | None
    fit_id: int | None
    computed_at: datetime | None
    history: list[TierChangeOut]

    @classmethod
    def of(
        cls, customer_id: int, v: CustomerValue | None, history: list[TierChange]
    ) -> CustomerValueOut:
        changes = [TierChangeOut.of(c) for c in history]
        if v is None:
            return cls(
                customer_id=customer_id,
                scored=False,
                tier=None,
                clv=None,
                expected_purchases=None,
                p_alive=None,
                churn_risk=None,
                cost_to_serve=None,
                net_value=None,
                growth_gap=None,
                rising=None,
                purchases=None,
                last_purchase_on=None,
                fit_id=None,
                computed_at=None,
                history=changes,
            )
        return cls(
            customer_id=customer_id,
            scored=True,
            tier=v.tier,
            clv=v.clv,
            expected_purchases=v.expected_purchases,
            p_alive=v.p_alive,
            churn_risk=v.churn_risk,
            cost_to_serve=v.cost_to_serve,
            net_value=v.net_value,
            growth_gap=v.growth_gap,
            rising=v.rising,
            purchases=v.purchases,
            last_purchase_on=v.last_purchase_on,
            fit_id=v.fit_id,
            computed_at=v.computed_at,
            history=changes,
        )


@router.get("/value/fits", response=FitPage, summary="Value model fits, newest first")
def fits_list(request: HttpRequest, query: Query[FitQuery]) -> FitPage:
    rules.require_view(_user(request))
    page = paginate(selectors.fits_list(), page=query.page, size=query.page_size)
    return FitPage(
        items=[FitOut.of(f) for f in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "/value/fits",
    response={202: FitOut},
    summary="Refit now: queue a refit of the value model for the background worker",
)
def fits_create(request: HttpRequest, payload: RefitIn) -> Status[FitOut]:
    fit = services.value_refit_request(actor=_user(request), end=payload.end)
    return Status(202, FitOut.of(fit))


@router.get(
    "/customers/{customer_id}/value",
    response=CustomerValueOut,
    summary="A customer's value tier, lifetime value, churn risk and tier history",
)
def customer_value(request: HttpRequest, customer_id: int) -> CustomerValueOut:
    view = selectors.customer_value_for(_user(request), customer_id)
    return CustomerValueOut.of(customer_id, view.value, view.history)


# --- next best action ------------------------------------------------------------------------


class NbaContextIn(Schema):
    channel: str = Field("call", description="Channel of the contact: call, counter, im, …")
    reason: str = Field("general", description="Reason for contact: general, billing, complaint, …")
    direction: str = Field(
        "in",
        description="in: the customer came to us (called, at the counter, in the chat, on the "
        "portal) — quiet hours do not apply while he is on the line; out: the agent reaches out.",
    )
    unit_id: int | None = Field(None, description="The agent's unit credited with a sale.")
    ticket_id: int | None = None


DROPPED_DETAILS = 5


class NbaIn(Schema):
    customer_id: int
    context: NbaContextIn | None = None
    top: int = Field(nba.TOP, ge=1, le=50)
    explain: Literal["top", "all"] = Field(
        "top",
        description=f"top: the dropped candidates as counts per code and at most "
        f"{DROPPED_DETAILS} of them with their reasons; all: every dropped candidate.",
    )


class ScoreParts(Schema):
    propensity: float
    value: float = Field(description="Yuan.")
    priority_weight: float
    context_weight: float


class ActionOut(Schema):
    key: str = Field(description="offer:<id> or care:<care action>; pass it to the outcome.")
    kind: str
    name: str
    offer_id: int | None
    score: float
    parts: ScoreParts
    reasons: list[str]
    summary: str = Field("", description="One line in plain words: why this action now.")
    expected_value: float = Field(
        0.0, description="Yuan: the chance of a yes (propensity) × the value of a yes."
    )


class DroppedOut(Schema):
    key: str
    kind: str
    name: str
    offer_id: int | None
    code: str = Field(
        description="not_eligible, out_of_stock, conflict, consent, suppressed, quiet_hours, "
        "policy_cap"
    )
    reason: str


class NbaOut(Schema):
    customer_id: int
    segment: str
    context: NbaContextIn
    actions: list[ActionOut]
    ranked: int = Field(description="Candidates that passed every check and were scored.")
    dropped_total: int
    dropped_counts: dict[str, int] = Field(description="Dropped candidates per code.")
    dropped: list[DroppedOut] = Field(
        description=f"With explain=top at most {DROPPED_DETAILS} (the first of each code, most "
        "telling first); with explain=all every one."
    )
    marketing_blocked: str


def nba_body(best: nba.NextBest, *, explain: str = "top") -> dict[str, Any]:
    """The answer of ``POST /decisions/next-best-action`` as plain JSON-ready data (the shape of
    :class:`NbaOut`): built directly, since validating ~200 schema objects per call cost more
    than the decision itself."""
    counts, shown = nba.drops_summary(best.drops, details=DROPPED_DETAILS)
    if explain == "all":
        shown = best.dropped
    ctx = best.context
    return {
        "customer_id": best.customer_id,
        "segment": best.segment,
        "context": {
            "channel": ctx.channel,
            "reason": ctx.reason,
            "direction": ctx.direction,
            "unit_id": ctx.unit_id,
            "ticket_id": ctx.ticket_id,
        },
        "actions": [
            {
                "key": a.key,
                "kind": a.kind,
                "name": a.name,
                "offer_id": a.offer_id,
                "score": a.score,
                "parts": {
                    "propensity": a.propensity,
                    "value": a.value,
                    "priority_weight": a.priority_weight,
                    "context_weight": a.context_weight,
                },
                "reasons": a.reasons,
                "summary": a.summary,
                "expected_value": a.expected_value,
            }
            for a in best.actions
        ],
        "ranked": best.ranked,
        "dropped_total": len(best.drops),
        "dropped_counts": counts,
        "dropped": [
            {
                "key": d.key,
                "kind": d.kind,
                "name": d.name,
                "offer_id": d.offer_id,
                "code": d.code,
                "reason": d.reason,
            }
            for d in shown
        ],
        "marketing_blocked": best.marketing_blocked,
    }


class NbaOutcomeIn(Schema):
    customer_id: int
    action: str = Field(description="The key of a proposed action (offer:<id>, care:follow_up).")
    result: str = Field(description="accepted or declined")
    context: NbaContextIn | None = None
    note: str = ""
    quantity: int = Field(1, ge=1, le=1000, description="Units sold when an offer is accepted.")
    sales_channel: SalesChannel | None = Field(
        None, description="Where the accepted offer is sold; default from the context's channel."
    )


class PropensityOut(Schema):
    action: str
    name: str
    segment: str
    prior_alpha: float
    prior_beta: float
    prior_mean: float
    successes: int
    failures: int
    posterior_mean: float
    updated_at: datetime | None


class NbaOutcomeOut(Schema):
    id: int
    customer_id: int
    action: str
    result: str
    segment: str
    unit_id: int | None
    order_id: int | None
    reservation_id: int | None
    care_task_id: int | None = Field(description="The care call an accepted care action made.")
    interaction_id: int | None
    propensity_before: float
    propensity_after: float
    propensity: PropensityOut


def _context(request: HttpRequest, data: NbaContextIn | None) -> nba.Context:
    return _context_of(_user(request), data)


def _context_of(user: Any, data: NbaContextIn | None) -> nba.Context:
    if data is None:
        return selectors.nba_context_clean(user)
    return selectors.nba_context_clean(
        user,
        channel=data.channel,
        reason=data.reason,
        unit_id=data.unit_id,
        ticket_id=data.ticket_id,
        direction=data.direction,
    )


@router.post(
    "/decisions/next-best-action",
    response=NbaOut,
    tags=["next best action"],
    summary="The next best actions for a customer in a context, with score parts and reasons; "
    "the dropped candidates counted per reason (explain=all lists every one)",
)
def next_best_action(request: HttpRequest, payload: NbaIn) -> HttpResponse:
    return nba_answer(_user(request), payload)


def nba_answer(user: Any, payload: NbaIn) -> HttpResponse:
    """The answer of ``POST /decisions/next-best-action`` for an authenticated ``user``: the
    operation above and the API's hot path (``yiti.api.hot``) both answer with it."""
    context = _context_of(user, payload.context)
    best = selectors.next_best_for(user, payload.customer_id, context, top=payload.top)
    return HttpResponse(
        json.dumps(nba_body(best, explain=payload.explain), ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )


@router.post(
    "/decisions/next-best-action/outcome",
    response={201: NbaOutcomeOut},
    tags=["next best action"],
    summary="Record that the customer accepted or declined a proposed action",
)
def next_best_action_outcome(request: HttpRequest, payload: NbaOutcomeIn) -> Status[NbaOutcomeOut]:
    user = _user(request)
    customer = customer_get_for(user, payload.customer_id)
    context = _context(request, payload.context)
    recorded = outcome_services.nba_outcome_record(
        actor=user,
        customer=customer,
        action=payload.action,
        result=payload.result,
        context=context,
        note=payload.note,
        quantity=payload.quantity,
        sales_channel=payload.sales_channel,
    )
    o, p = recorded.outcome, recorded.propensity
    row = selectors.propensities_list(action=p.action, segment=p.segment)[0]
    return Status(
        201,
        NbaOutcomeOut(
            id=o.pk,
            customer_id=o.customer_id,
            action=o.action,
            result=o.result,
            segment=o.segment,
            unit_id=o.unit_id,
            order_id=o.order_id,
            reservation_id=o.reservation_id,
            care_task_id=o.care_task_id,
            interaction_id=o.interaction_id,
            propensity_before=o.propensity_before,
            propensity_after=o.propensity_after,
            propensity=PropensityOut(**row.__dict__),
        ),
    )


@router.get(
    "/decisions/propensities",
    response=list[PropensityOut],
    tags=["next best action"],
    summary="Learned propensities per action and segment: prior, acceptances, declines, "
    "posterior mean, last updated",
)
def propensities(request: HttpRequest, action: str = "", segment: str = "") -> list[PropensityOut]:
    rules.require_view(_user(request))
    return [
        PropensityOut(**row.__dict__)
        for row in selectors.propensities_list(action=action, segment=segment)
    ]
