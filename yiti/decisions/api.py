"""API endpoints of the value model (mounted at /api/v1): the fits, "Refit now", and one
customer's value scores.

Thin: the same selectors, rules and services as the web pages. ``/value/fits`` is for the
roles of the value page; ``/customers/{id}/value`` for whoever may see the customer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.customers.models import CustomerValue
from yiti.decisions import rules, selectors, services
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
