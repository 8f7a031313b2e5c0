"""Reads of attribution: stored credit per unit (for campaign economics, unit × product
accounting and scorecards), a campaign's credit per unit, the comparison of the models, and
the explanation of each order's allocation. Aggregates are grouped queries open to whoever
may see campaigns; lists of orders show only customers the user may see.

``credit_by_unit`` and ``credit_by_unit_product`` take no acting user: they are the
building blocks other apps' selectors scope themselves (by the units they pass). An order
converted by two campaigns is credited in each (each campaign's economics count it whole).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.attribution.attribute import (
    campaign_allocate,
    campaign_book,
    campaign_units,
    plan_of,
    plan_terms,
    unit_totals,
)
from yiti.attribution.choices import AttributionModel, CreditBasis
from yiti.attribution.models import AttributionPlan, Credit
from yiti.campaigns.models import Campaign
from yiti.campaigns.rules import require_view
from yiti.core.errors import NotFound
from yiti.core.pagination import Page
from yiti.customers.models import Order
from yiti.customers.rules import visible_q
from yiti.engagement.choices import InteractionChannel
from yiti.org.access import access_for
from yiti.org.models import OrgUnit

CHANNEL_LABELS = dict(InteractionChannel.choices)
CENT = Decimal("0.01")


def _money(value: Any) -> Decimal:
    """A sum of money to the cent, the same on both engines (SQLite sums lose the scale)."""
    return Decimal(str(value or 0)).quantize(CENT)


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
            revenue=_money(r["revenue"]),
            margin=_money(r["margin"]),
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
            revenue=_money(r["revenue"]),
            margin=_money(r["margin"]),
            orders=int(r["orders"]),
        )
        for r in rows
    ]


# --- a campaign's credit, for its page and the API -------------------------------------------


@dataclass(frozen=True)
class UnitLine:
    unit: OrgUnit
    conversions: float
    revenue: Decimal
    margin: Decimal
    orders: int
    agreed_percent: Decimal | None  # the unit's fixed share, when the agreement has one


@dataclass(frozen=True)
class ChannelLine:
    channel: str  # "" for the agreed shares
    label: str
    conversions: float
    revenue: Decimal
    margin: Decimal


@dataclass(frozen=True)
class CampaignCredit:
    campaign: Campaign
    plan: AttributionPlan
    saved: bool  # False: the campaign has no plan yet (linear, by touches)
    units: list[UnitLine]
    channels: list[ChannelLine]
    total_revenue: Decimal
    total_margin: Decimal
    total_orders: int
    computed_at: datetime | None


def _require_campaign(user: Any, campaign: Campaign | int) -> Campaign:
    require_view(user)
    campaign_id = campaign.pk if isinstance(campaign, Campaign) else int(campaign)
    found = Campaign.objects.select_related("owner_unit").filter(pk=campaign_id).first()
    if found is None:
        raise NotFound(_("Campaign not found."))
    return found


def campaign_credit(user: Any, campaign: Campaign | int) -> CampaignCredit:
    """The stored credit of a campaign per unit (its owner and participating units, with
    nothing when they earned nothing) and per channel, under its chosen model and agreement.
    Aggregates: open to everyone who may see campaigns. A few grouped queries."""
    campaign = _require_campaign(user, campaign)
    plan = plan_of(campaign)
    agreed = {s.unit_id: s.percent for s in plan.shares.all()} if plan.pk else {}
    sums = {
        r["unit_id"]: r
        for r in Credit.objects.filter(campaign=campaign)
        .order_by()
        .values("unit_id")
        .annotate(
            conversions=Sum("share"),
            revenue=Sum("revenue"),
            margin=Sum("margin"),
            orders=Count("order_id", distinct=True),
        )
    }
    totals = Credit.objects.filter(campaign=campaign).aggregate(
        revenue=Sum("revenue"),
        margin=Sum("margin"),
        orders=Count("order_id", distinct=True),
        computed_at=Max("computed_at"),
    )
    units = campaign_units(campaign)
    known = {u.pk for u in units}
    extra = [u for u in OrgUnit.objects.filter(pk__in=set(sums) - known).order_by("path")]
    lines = []
    for unit in units + extra:
        row: dict[str, Any] = dict(sums.get(unit.pk, {}))
        lines.append(
            UnitLine(
                unit=unit,
                conversions=float(row.get("conversions") or 0),
                revenue=_money(row.get("revenue")),
                margin=_money(row.get("margin")),
                orders=int(row.get("orders") or 0),
                agreed_percent=agreed.get(unit.pk),
            )
        )
    lines.sort(key=lambda line: (-line.revenue, line.unit.path))
    channels = [
        ChannelLine(
            channel=r["channel"],
            label=str(CHANNEL_LABELS.get(r["channel"], r["channel"]))
            if r["channel"]
            else _("Agreed shares"),
            conversions=float(r["conversions"] or 0),
            revenue=_money(r["revenue"]),
            margin=_money(r["margin"]),
        )
        for r in Credit.objects.filter(campaign=campaign)
        .order_by()
        .values("channel")
        .annotate(conversions=Sum("share"), revenue=Sum("revenue"), margin=Sum("margin"))
        .order_by("-revenue", "channel")
    ]
    return CampaignCredit(
        campaign=campaign,
        plan=plan,
        saved=plan.pk is not None,
        units=lines,
        channels=channels,
        total_revenue=_money(totals["revenue"]),
        total_margin=_money(totals["margin"]),
        total_orders=int(totals["orders"] or 0),
        computed_at=totals["computed_at"],
    )


@dataclass(frozen=True)
class ModelSplit:
    model: str
    label: str
    chosen: bool
    units: dict[int, tuple[float, Decimal, Decimal]]  # unit id → conversions, revenue, margin


def campaign_compare(
    user: Any, campaign: Campaign | int, *, now: datetime | None = None
) -> list[ModelSplit]:
    """What each unit would get under every model with the campaign's agreement, computed
    now from the touches and orders (nothing stored): two queries and one pass per model."""
    campaign = _require_campaign(user, campaign)
    plan = plan_of(campaign)
    terms = plan_terms(plan)
    cb = campaign_book(campaign, terms, until=now or timezone.now())
    cents = Decimal("0.01")
    result = []
    for model in AttributionModel:
        totals = unit_totals(campaign_allocate(cb, terms, model.value))
        result.append(
            ModelSplit(
                model=model.value,
                label=str(model.label),
                chosen=model.value == terms.model,
                units={
                    u: (conv, Decimal(rev) * cents, Decimal(mar) * cents)
                    for u, (conv, rev, mar) in totals.items()
                },
            )
        )
    return result


# --- each order's allocation, explained --------------------------------------------------------


@dataclass(frozen=True)
class OrderAllocation:
    order: Order
    campaign: Campaign
    rows: list[Credit]

    @property
    def explanation(self) -> str:
        return explain(self.rows)


def _line(row: Credit) -> str:
    percent = f"{row.share * 100:.0f} %"
    if row.basis == CreditBasis.AGREEMENT:
        return _("%(percent)s %(unit)s — agreed share") % {
            "percent": percent,
            "unit": row.unit.name,
        }
    when = timezone.localtime(row.touched_at).strftime("%m-%d") if row.touched_at else ""
    channel = CHANNEL_LABELS.get(row.channel, row.channel)
    return _("%(percent)s %(unit)s — %(channel)s on %(date)s") % {
        "percent": percent,
        "unit": row.unit.name,
        "channel": channel,
        "date": when,
    }


def explain(rows: Iterable[Credit]) -> str:
    """“50 % 杭州分公司 — call on 12-03; 30 % 市场部 — SMS on 12-01; …” (largest share first)."""
    return "; ".join(_line(r) for r in sorted(rows, key=lambda r: (-r.share, r.pk or 0)))


def _orders_visible(user: Any) -> Q:
    access = access_for(user)
    if access.is_admin:
        return Q()
    return visible_q(access, prefix="order__customer__")


def order_allocations(
    user: Any, campaign: Campaign | int, *, page: int = 1, size: int = 50
) -> Page[OrderAllocation]:
    """The campaign's credited orders, newest first, each with its rows and explanation —
    only orders of customers the user may see. A page without a count (one row more)."""
    campaign = _require_campaign(user, campaign)
    order_ids = (
        Credit.objects.filter(campaign=campaign)
        .filter(_orders_visible(user))
        .order_by()
        .values("order_id")
        .annotate(at=Max("ordered_at"))
        .order_by("-at", "-order_id")
    )
    offset = (page - 1) * size
    found = [r["order_id"] for r in order_ids[offset : offset + size + 1]]
    ids = found[:size]
    rows = (
        Credit.objects.filter(campaign=campaign, order_id__in=ids)
        .select_related("unit", "order", "order__customer", "order__product")
        .order_by("order_id", "-share", "id")
    )
    grouped: dict[int, list[Credit]] = {}
    for row in rows:
        grouped.setdefault(row.order_id, []).append(row)
    items = [
        OrderAllocation(order=grouped[i][0].order, campaign=campaign, rows=grouped[i])
        for i in ids
        if i in grouped
    ]
    return Page(items=items, number=page, size=size, has_next=len(found) > size)


def order_allocation(user: Any, order_id: int) -> list[OrderAllocation]:
    """One order's allocation under every campaign that converted it (visible orders only)."""
    require_view(user)
    rows = list(
        Credit.objects.filter(order_id=order_id)
        .filter(_orders_visible(user))
        .select_related("unit", "order", "order__customer", "order__product", "campaign")
        .order_by("campaign_id", "-share", "id")
    )
    if not rows:
        if (
            Order.objects.filter(pk=order_id).exists()
            and not Credit.objects.filter(order_id=order_id).exists()
        ):
            return []
        raise NotFound(_("Order not found."))
    grouped: dict[int, list[Credit]] = {}
    for row in rows:
        grouped.setdefault(row.campaign_id, []).append(row)
    return [
        OrderAllocation(order=items[0].order, campaign=items[0].campaign, rows=items)
        for items in grouped.values()
    ]
