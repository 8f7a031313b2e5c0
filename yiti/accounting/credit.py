"""Where accounting reads attributed campaign credit: the one door to ``yiti.attribution``.

The attribution run stores each converted order's credit per unit (``attribution.Credit``);
campaign economics, unit × product results and the scorecards read it only through these
functions, so the source of credit is changed in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict

from django.db.models import Count, F, Sum

from yiti.attribution.models import Credit
from yiti.attribution.selectors import (
    UnitCredit,
    UnitProductCredit,
    credit_by_unit,
    credit_by_unit_product,
)

# a campaign's credit is read over every order it could have converted
EVER = (date(2000, 1, 1), date(2999, 12, 31))


class UserCredit(TypedDict):
    user_id: int
    revenue: Decimal
    margin: Decimal
    orders: int


def campaign_credit(campaign_id: int) -> list[UnitCredit]:
    """The campaign's attributed conversions, revenue and margin per unit (one query)."""
    return credit_by_unit(campaign=campaign_id, period_start=EVER[0], period_end=EVER[1])


def campaign_has_credit(campaign_id: int) -> bool:
    return Credit.objects.filter(campaign_id=campaign_id).exists()


def unit_product_credit(
    *, start: date | datetime, end: date | datetime, units: Iterable[int] | None = None
) -> list[UnitProductCredit]:
    """Attributed credit per unit and product for orders placed in [start, end] (one query)."""
    return credit_by_unit_product(period_start=start, period_end=end, units=units)


def user_credit(
    *, start: datetime, end: datetime, user_ids: Iterable[int]
) -> dict[int, UserCredit]:
    """Credit earned by the touches each user made (his calls and visits) for orders placed in
    [start, end), leaving out the orders he sold himself (counted as sold). One query."""
    rows = (
        Credit.objects.filter(
            ordered_at__gte=start,
            ordered_at__lt=end,
            touch__actor_id__in=list(user_ids),
        )
        .exclude(order__sold_by_id=F("touch__actor_id"))
        .order_by()
        .values("touch__actor_id")
        .annotate(
            revenue=Sum("revenue"), margin=Sum("margin"), orders=Count("order_id", distinct=True)
        )
    )
    return {
        r["touch__actor_id"]: UserCredit(
            user_id=r["touch__actor_id"],
            revenue=Decimal(r["revenue"] or 0),
            margin=Decimal(r["margin"] or 0),
            orders=int(r["orders"]),
        )
        for r in rows
    }
