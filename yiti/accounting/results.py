"""Unit × product accounting (分部门分产品核算) for a period.

Per unit and product: revenue and margin of the orders the unit took (an order without a
unit counts for its customer's unit), the campaign credit attributed to the unit, the
campaign cost it bore, and the cost to serve its customers (the value model's unit costs:
tickets by kind, care call attempts and account-manager visits — a ticket about an order
counts for that order's product, the rest for no product). Contribution = margin − campaign
cost − cost to serve.

Set-based: one grouped query per source (orders, credit, five for campaign costs, tickets,
care attempts, visits), then the rows are summed up the org tree by materialised path in
Python over at most units × products rows — never a query per unit, product or order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from yiti.accounting import credit
from yiti.accounting.economics import CENT, ZERO, campaign_costs
from yiti.campaigns.models import Campaign
from yiti.care.models import CareAttempt
from yiti.customers.choices import OrderStatus
from yiti.customers.models import Order, Product
from yiti.decisions.choices import TICKET_COST_ITEMS, CostItem
from yiti.decisions.selectors import unit_costs_current
from yiti.engagement.choices import Direction, InteractionChannel
from yiti.engagement.models import Interaction
from yiti.org.models import OrgUnit
from yiti.service.models import Ticket

MEASURES = (
    "revenue",
    "margin",
    "orders",
    "credit_revenue",
    "credit_margin",
    "campaign_cost",
    "cost_to_serve",
)
NO_PRODUCT = 0  # the product key of costs that belong to no product


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00) in local time."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


@dataclass
class Figures:
    revenue: Decimal = ZERO
    margin: Decimal = ZERO
    orders: int = 0
    credit_revenue: Decimal = ZERO
    credit_margin: Decimal = ZERO
    campaign_cost: Decimal = ZERO
    cost_to_serve: Decimal = ZERO

    @property
    def contribution(self) -> Decimal:
        return self.margin - self.campaign_cost - self.cost_to_serve

    @property
    def margin_rate(self) -> float | None:
        return float(self.margin / self.revenue) if self.revenue else None

    def add(self, other: Figures) -> None:
        for name in MEASURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {
            name: (
                getattr(self, name)
                if name == "orders"
                else str(Decimal(getattr(self, name)).quantize(CENT))
            )
            for name in MEASURES
        }
        out["contribution"] = str(self.contribution.quantize(CENT))
        return out


@dataclass
class UnitRow:
    unit: OrgUnit
    depth: int  # below the first row shown
    own: Figures  # the unit's own results
    total: Figures  # with every unit below it
    products: dict[int, Figures] = field(default_factory=dict)  # totals per product


@dataclass
class Results:
    start: date
    end: date
    units: list[UnitRow]
    products: list[tuple[Product | None, Figures]]
    total: Figures
    cells: dict[tuple[int, int], Figures]  # (unit, product) → the unit's own figures


def cells(start: date, end: date) -> dict[tuple[int, int], Figures]:
    """Every unit's own figures per product, over the whole company, computed live from
    the sources (``accounting.daily`` keeps them per day for the days that have ended)."""
    since, until = bounds(start, end)
    out: dict[tuple[int, int], Figures] = defaultdict(Figures)

    # revenue and margin of the orders taken
    for unit_id, product_id, revenue, margin, n in (
        Order.objects.filter(ordered_at__gte=since, ordered_at__lt=until)
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(u=Coalesce("unit_id", "customer__unit_id"))
        .order_by()
        .values_list("u", "product_id")
        .annotate(revenue=Sum("amount"), margin=Sum("margin"), n=Count("id"))
    ):
        f = out[(unit_id, product_id)]
        f.revenue += Decimal(revenue or 0)
        f.margin += Decimal(margin or 0)
        f.orders += n

    # attributed campaign credit
    for c in credit.unit_product_credit(start=start, end=end):
        f = out[(c["unit_id"], c["product_id"])]
        f.credit_revenue += c["revenue"]
        f.credit_margin += c["margin"]

    # campaign costs, to the campaign's products (shared equally among them)
    costs = campaign_costs(start=since, end=until)
    if costs:
        products: dict[int, set[int]] = defaultdict(set)
        through = Campaign.offers.through
        for campaign_id, product_id in through.objects.filter(
            campaign_id__in={r.campaign_id for r in costs}
        ).values_list("campaign_id", "offer__product_id"):
            products[campaign_id].add(product_id)
        for row in costs:
            keys = sorted(products.get(row.campaign_id) or {NO_PRODUCT})
            part = row.amount / len(keys)
            for product_id in keys:
                out[(row.unit_id, product_id)].campaign_cost += part

    # cost to serve at the value model's unit costs
    unit_cost = unit_costs_current()
    for unit_id, product_id, kind, n in (
        Ticket.objects.filter(opened_at__gte=since, opened_at__lt=until)
        .order_by()
        .values_list("customer__unit_id", "order__product_id", "kind")
        .annotate(n=Count("id"))
    ):
        item = TICKET_COST_ITEMS.get(kind)
        if item is not None:
            cost = Decimal(unit_cost.get(item, 0)) * n
            out[(unit_id, product_id or NO_PRODUCT)].cost_to_serve += cost
    care = Decimal(unit_cost.get(CostItem.CARE_CALL, 0))
    for unit_id, product_id, n in (
        CareAttempt.objects.filter(at__gte=since, at__lt=until)
        .order_by()
        .values_list("task__customer__unit_id", "task__order__product_id")
        .annotate(n=Count("id"))
    ):
        out[(unit_id, product_id or NO_PRODUCT)].cost_to_serve += care * n
    visit = Decimal(unit_cost.get(CostItem.VISIT, 0))
    for unit_id, n in (
        Interaction.objects.filter(
            channel=InteractionChannel.VISIT,
            direction=Direction.OUTBOUND,
            occurred_at__gte=since,
            occurred_at__lt=until,
        )
        .order_by()
        .values_list("customer__unit_id")
        .annotate(n=Count("id"))
    ):
        out[(unit_id, NO_PRODUCT)].cost_to_serve += visit * n
    for f in out.values():
        f.campaign_cost = f.campaign_cost.quantize(Decimal("0.01"))
        f.cost_to_serve = f.cost_to_serve.quantize(Decimal("0.01"))
    return out


def unit_product_results(
    *, start: date, end: date, scope: frozenset[int] | None, root: OrgUnit | None = None
) -> Results:
    """The results of the units in ``scope`` (None: every unit), optionally only ``root`` and
    the units below it, each unit with its own figures and its subtree's total."""
    from yiti.accounting import daily  # stored days, the rest live

    by_cell = daily.cells(start, end)
    units_qs = OrgUnit.objects.order_by("path")
    if scope is not None:
        units_qs = units_qs.filter(pk__in=scope)
    if root is not None:
        units_qs = units_qs.filter(path__startswith=root.path)
    units = list(units_qs)
    visible = {u.pk for u in units}
    own: dict[int, Figures] = defaultdict(Figures)
    own_products: dict[int, dict[int, Figures]] = defaultdict(lambda: defaultdict(Figures))
    paths = {u.pk: u.path for u in units}
    for (unit_id, product_id), f in by_cell.items():
        if unit_id not in visible:
            continue
        own[unit_id].add(f)
        own_products[unit_id][product_id].add(f)
    # sum each unit's subtree: walk the path's ancestors that are shown
    total: dict[int, Figures] = defaultdict(Figures)
    total_products: dict[int, dict[int, Figures]] = defaultdict(lambda: defaultdict(Figures))
    by_path = {p: pk for pk, p in paths.items()}
    for unit_id in own:
        parts = [p for p in paths[unit_id].strip("/").split("/") if p]
        for i in range(len(parts)):
            ancestor = by_path.get("/" + "/".join(parts[: i + 1]) + "/")
            if ancestor is None:
                continue
            total[ancestor].add(own[unit_id])
            for product_id, f in own_products[unit_id].items():
                total_products[ancestor][product_id].add(f)
    top = min((u.depth for u in units), default=0)
    rows = [
        UnitRow(
            unit=u,
            depth=u.depth - top,
            own=own.get(u.pk, Figures()),
            total=total.get(u.pk, Figures()),
            products=dict(total_products.get(u.pk, {})),
        )
        for u in units
    ]
    grand = Figures()
    per_product: dict[int, Figures] = defaultdict(Figures)
    for products in own_products.values():
        for product_id, f in products.items():
            per_product[product_id].add(f)
            grand.add(f)
    catalogue = Product.objects.in_bulk([p for p in per_product if p != NO_PRODUCT])
    product_rows = sorted(
        ((catalogue.get(p), f) for p, f in per_product.items()),
        key=lambda pf: (pf[0] is None, -pf[1].margin, pf[0].name if pf[0] else ""),
    )
    return Results(
        start=start,
        end=end,
        units=rows,
        products=product_rows,
        total=grand,
        cells={k: v for k, v in by_cell.items() if k[0] in visible},
    )
