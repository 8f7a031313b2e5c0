"""Reads of attribution: stored credit per unit (for campaign economics, unit × product
accounting and scorecards), a campaign's credit per unit and channel, and the explanation of
each order's allocation. Aggregates are one grouped query; lists of orders show only
customers the user may see.

``credit_by_unit`` and ``credit_by_unit_product`` take no acting user: they are the
building blocks other apps' selectors scope themselves (by the units they pass).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet, Sum

from yiti.attribution.models import Credit
from yiti.campaigns.models import Campaign
from yiti.org.models import OrgUnit


class UnitCredit(TypedDict):
    """A unit's attributed credit: ``conversions`` is the sum of its shares of orders."""

    unit_id: int
    conversions: float
    revenue: Decimal
    margin: Decimal
    orders: int


class UnitProductCredit(UnitCredit):
    product_id: int


def _bounds(
    period_start: date | datetime, period_end: date | datetime
) -> tuple[datetime, datetime]:
    """[start, end) as aware datetimes; dates are whole local days, ``period_end`` included."""
    tz = ZoneInfo(settings.TIME_ZONE)
    if isinstance(period_start, datetime):
        start = period_start
    else:
        start = datetime.combine(period_start, time.min, tzinfo=tz)
    if isinstance(period_end, datetime):
        end = period_end
    else:
        end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def _credit_qs(
    *,
    campaign: Campaign | int | None,
    period_start: date | datetime,
    period_end: date | datetime,
    units: Iterable[OrgUnit | int] | None,
) -> QuerySet[Credit]:
    start, end = _bounds(period_start, period_end)
    qs = Credit.objects.filter(ordered_at__gte=start, ordered_at__lt=end)
    if campaign is not None:
        qs = qs.filter(campaign_id=getattr(campaign, "pk", campaign))
    if units is not None:
        qs = qs.filter(unit_id__in=[getattr(u, "pk", u) for u in units])
    return qs


def credit_by_unit(
    *,
    campaign: Campaign | int | None = None,
    period_start: date | datetime,
    period_end: date | datetime,
    units: Iterable[OrgUnit | int] | None = None,
) -> list[UnitCredit]:
    """Stored credit per unit for orders placed in the period (dates are local days, both
    included), optionally of one campaign and of some units (not their subtrees: roll-ups are
    the caller's). One grouped query."""
    rows = (
        _credit_qs(campaign=campaign, period_start=period_start, period_end=period_end, units=units)
        .order_by()
        .values("unit_id")
        .annotate(
            conversions=Sum("share"),
            revenue=Sum("revenue"),
            margin=Sum("margin"),
            orders=Count("order_id", distinct=True),
        )
        .order_by("unit_id")
    )
    return [
        UnitCredit(
            unit_id=r["unit_id"],
            conversions=float(r["conversions"] or 0),
            revenue=Decimal(r["revenue"] or 0),
            margin=Decimal(r["margin"] or 0),
            orders=int(r["orders"]),
        )
        for r in rows
    ]


def credit_by_unit_product(
    *,
    campaign: Campaign | int | None = None,
    period_start: date | datetime,
    period_end: date | datetime,
    units: Iterable[OrgUnit | int] | None = None,
) -> list[UnitProductCredit]:
    """As ``credit_by_unit``, per unit and product of the order."""
    rows = (
        _credit_qs(campaign=campaign, period_start=period_start, period_end=period_end, units=units)
        .order_by()
        .values("unit_id", "order__product_id")
        .annotate(
            conversions=Sum("share"),
            revenue=Sum("revenue"),
            margin=Sum("margin"),
            orders=Count("order_id", distinct=True),
        )
        .order_by("unit_id", "order__product_id")
    )
    return [
        UnitProductCredit(
            unit_id=r["unit_id"],
            product_id=r["order__product_id"],
            conversions=float(r["conversions"] or 0),
            revenue=Decimal(r["revenue"] or 0),
            margin=Decimal(r["margin"] or 0),
            orders=int(r["orders"]),
        )
        for r in rows
    ]
