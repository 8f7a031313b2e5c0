"""Campaign economics: what a campaign cost each unit, what it brought in, and whether it
worked (the uplift against the control group).

Costs (set-based: one grouped query per source, whatever the number of contacts):

* **gifts** — the campaign's gift reservations still held or handed over, at the offer's gift
  cost (``Offer.benefit_value``), borne by the unit credited with the sale;
* **contacts** — every contact made, at its channel's charge (``ContactCost``, data);
* **agents' time** — calls and visits (each attempt) × the channel's agent minutes × the
  agent's hourly cost;
* **lines entered by hand** (``CostLine``): materials, agencies, anything the records miss.

A broadcast is borne by the campaign's owner unit (marketing sends it); a call or a visit by
the participating unit that serves the customer (the deepest one above the customer's unit),
else the owner unit.

Revenue and margin are the attributed conversions (``accounting.credit``). Until the
attribution run has stored credit for the campaign, the orders its contacts converted are
shown, credited to the unit that took each order, marked provisional.

ROI = (margin − cost) / cost; cost per conversion = cost / conversions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count, Sum, Value
from django.db.models.functions import Coalesce

from yiti.accounting import credit
from yiti.accounting.choices import CostKind
from yiti.accounting.models import CampaignBudget, ContactCost, CostLine
from yiti.campaigns import exclusions
from yiti.campaigns import holdout as holdouts
from yiti.campaigns.choices import (
    BROADCAST_CHANNELS,
    CONTACTED_STATUSES,
    BenefitKind,
    ReservationStatus,
    WaveChannel,
    WaveStatus,
)
from yiti.campaigns.models import Campaign, Delivery, OfferReservation, Wave
from yiti.core.arrays import int_rows
from yiti.customers.choices import OrderStatus
from yiti.customers.models import Order
from yiti.org.models import OrgUnit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Z95 = 1.959963984540054  # the two-sided 95 % quantile of the standard normal

# per channel: (charge per contact, agent minutes per contact, agent cost per hour), yuan
DEFAULT_CONTACT_COSTS: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    WaveChannel.EMAIL: (Decimal("0.005"), Decimal(0), Decimal(0)),
    WaveChannel.SMS: (Decimal("0.05"), Decimal(0), Decimal(0)),
    WaveChannel.PUSH: (Decimal(0), Decimal(0), Decimal(0)),
    WaveChannel.PORTAL: (Decimal(0), Decimal(0), Decimal(0)),
    WaveChannel.CALL: (Decimal("0.30"), Decimal(4), Decimal(60)),
    WaveChannel.VISIT: (Decimal(0), Decimal(60), Decimal(80)),
}


def contact_costs() -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Every channel's (charge, agent minutes, agent hourly cost): stored rows over defaults."""
    out = dict(DEFAULT_CONTACT_COSTS)
    for row in ContactCost.objects.all():
        out[row.channel] = (row.per_contact, row.agent_minutes, row.agent_hour_cost)
    return out


# --- costs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostRow:
    campaign_id: int
    unit_id: int
    kind: str
    amount: Decimal
    computed: bool  # from the records (True) or entered by hand


def _deepest_containing(paths: dict[int, str], candidates: list[int], path: str) -> int | None:
    best, depth = None, -1
    for unit_id in candidates:
        p = paths.get(unit_id, "")
        if p and path.startswith(p) and len(p) > depth:
            best, depth = unit_id, len(p)
    return best


def campaign_costs(
    *,
    campaign_ids: Iterable[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[CostRow]:
    """Cost rows per campaign, unit and kind — of some campaigns, or of every campaign — for
    what happened in [start, end) when given (contacts by the time they were made, gifts by
    the reservation, lines by the day they were incurred). Five grouped queries."""
    ids = None if campaign_ids is None else sorted(set(campaign_ids))
    campaigns: dict[int, tuple[int, list[int]]] = {}
    cq = Campaign.objects.all() if ids is None else Campaign.objects.filter(pk__in=ids)
    for pk, owner in cq.order_by().values_list("pk", "owner_unit_id"):
        campaigns[pk] = (owner, [])
    through = Campaign.participating_units.through
    tq = (
        through.objects.filter(campaign_id__in=list(campaigns))
        if ids is not None
        else through.objects.all()
    )
    for campaign_id, unit_id in tq.values_list("campaign_id", "orgunit_id"):
        if campaign_id in campaigns:
            campaigns[campaign_id][1].append(unit_id)
    if not campaigns:
        return []
    rates = contact_costs()
    totals: dict[tuple[int, int, str, bool], Decimal] = defaultdict(lambda: ZERO)

    # contacts and agents' time
    dq = Delivery.objects.filter(status__in=CONTACTED_STATUSES)
    if ids is not None:
        dq = dq.filter(campaign_id__in=ids)
    if start is not None:
        dq = dq.filter(sent_at__gte=start)
    if end is not None:
        dq = dq.filter(sent_at__lt=end)
    contacts = list(
        dq.order_by()
        .values_list("campaign_id", "channel", "customer__unit_id")
        .annotate(n=Count("id"), attempts=Sum("attempts"))
    )
    unit_ids = {row[2] for row in contacts}
    for _c, (_owner, units) in campaigns.items():
        unit_ids.update(units)
    paths = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "path"))
    for campaign_id, channel, customer_unit, n, attempts in contacts:
        if campaign_id not in campaigns:
            continue
        owner, units = campaigns[campaign_id]
        if channel in BROADCAST_CHANNELS:
            bearer = owner
            times = n
        else:
            bearer = _deepest_containing(paths, units, paths.get(customer_unit, "")) or owner
            times = max(int(attempts or 0), n)
        charge, minutes, hourly = rates.get(channel, (ZERO, ZERO, ZERO))
        if charge:
            totals[(campaign_id, bearer, CostKind.CONTACTS, True)] += charge * times
        if minutes and hourly:
            totals[(campaign_id, bearer, CostKind.AGENT_TIME, True)] += (
                minutes / 60 * hourly * times
            )

    # gifts: reservations held or handed over, at the gift's cost
    rq = OfferReservation.objects.filter(
        status__in=(ReservationStatus.RESERVED, ReservationStatus.FULFILLED),
        offer__benefit=BenefitKind.GIFT,
        source__startswith="campaign:",
    )
    if ids is not None:
        rq = rq.filter(source__in=[f"campaign:{i}" for i in ids])
    if start is not None:
        rq = rq.filter(created_at__gte=start)
    if end is not None:
        rq = rq.filter(created_at__lt=end)
    for source, unit_id, cost in (
        rq.order_by().values_list("source", "unit_id").annotate(cost=Sum("offer__benefit_value"))
    ):
        tail = source.partition(":")[2]
        if not tail.isdigit() or int(tail) not in campaigns:
            continue
        campaign_id = int(tail)
        bearer = unit_id or campaigns[campaign_id][0]
        totals[(campaign_id, bearer, CostKind.GIFTS, True)] += Decimal(cost or 0)

    # lines entered by hand
    lq = CostLine.objects.all()
    if ids is not None:
        lq = lq.filter(campaign_id__in=ids)
    if start is not None:
        lq = lq.filter(incurred_on__gte=start.date() if isinstance(start, datetime) else start)
    if end is not None:
        lq = lq.filter(incurred_on__lt=end.date() if isinstance(end, datetime) else end)
    for campaign_id, unit_id, kind, amount in (
        lq.order_by().values_list("campaign_id", "unit_id", "kind").annotate(amount=Sum("amount"))
    ):
        totals[(campaign_id, unit_id, kind, False)] += Decimal(amount or 0)

    return [
        CostRow(c, u, k, amount.quantize(CENT), computed)
        for (c, u, k, computed), amount in sorted(totals.items())
        if amount
    ]


# --- the control group -----------------------------------------------------------------------


@dataclass(frozen=True)
class Uplift:
    """Conversion rate of the contacted group minus the held-out group's, with a 95 % Wald
    interval: ``diff ± 1.96 × sqrt(pt(1−pt)/nt + ph(1−ph)/nh)``."""

    treated: int
    treated_converted: int
    held_out: int
    held_out_converted: int
    rate_treated: float
    rate_held_out: float
    diff: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def uplift(
    *, treated: int, treated_converted: int, held_out: int, held_out_converted: int
) -> Uplift | None:
    """The uplift, or None when a group is empty."""
    if treated <= 0 or held_out <= 0:
        return None
    pt = treated_converted / treated
    ph = held_out_converted / held_out
    se = math.sqrt(pt * (1 - pt) / treated + ph * (1 - ph) / held_out)
    diff = pt - ph
    return Uplift(
        treated=treated,
        treated_converted=treated_converted,
        held_out=held_out,
        held_out_converted=held_out_converted,
        rate_treated=pt,
        rate_held_out=ph,
        diff=diff,
        low=diff - Z95 * se,
        high=diff + Z95 * se,
    )


# the packed exclusions that are not part of the treated group: never eligible or reachable
_NOT_ASSIGNED = {holdouts.REASON, "not_eligible", "no_contact_point"}


@dataclass(frozen=True)
class WaveUplift:
    wave: Wave
    share: Decimal
    result: Uplift | None


def _converters(campaign: Campaign, wave: Wave, products: list[int]) -> np.ndarray:
    """Sorted ids of the customers with an order of the campaign's products within its
    attribution window after the wave started (the same test for both groups)."""
    if not products:
        return np.zeros(0, dtype=np.int64)
    since = wave.scheduled_at
    until = since + timedelta(days=campaign.attribution_days)
    ids = (
        Order.objects.filter(product_id__in=products, ordered_at__gte=since, ordered_at__lt=until)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values_list("customer_id")
    )
    return np.unique(int_rows(ids, 1)[:, 0])


def wave_uplifts(campaign: Campaign) -> list[WaveUplift]:
    """Per wave that holds out a share and has been planned: the uplift of its treated group
    (every customer it assigned a contact to, whether the contact policy let it through or
    not: intent to treat) over its held-out group."""
    waves = list(
        Wave.objects.filter(campaign=campaign, holdout_share__gt=0)
        .exclude(status__in=(WaveStatus.DRAFT, WaveStatus.CANCELLED))
        .order_by("number")
    )
    if not waves:
        return []
    products = sorted({o.product_id for o in campaign.offers.all()})
    out = []
    for wave in waves:
        held = np.zeros(0, dtype=np.int64)
        treated_parts = [
            int_rows(Delivery.objects.filter(wave=wave).order_by().values_list("customer_id"), 1)[
                :, 0
            ]
        ]
        for reason, ids in exclusions.customers_of(wave):
            if reason == holdouts.REASON:
                held = ids
            elif reason not in _NOT_ASSIGNED:
                treated_parts.append(ids)
        treated = np.unique(np.concatenate(treated_parts))
        converters = _converters(campaign, wave, products)
        result = uplift(
            treated=len(treated),
            treated_converted=int(np.isin(treated, converters).sum()),
            held_out=len(held),
            held_out_converted=int(np.isin(held, converters).sum()),
        )
        out.append(WaveUplift(wave=wave, share=wave.holdout_share, result=result))
    return out


# --- the economics of one campaign -----------------------------------------------------------


@dataclass
class UnitLine:
    unit: OrgUnit | None
    budget: Decimal = ZERO
    costs: dict[str, Decimal] = field(default_factory=dict)
    conversions: float = 0.0
    revenue: Decimal = ZERO
    margin: Decimal = ZERO

    @property
    def cost(self) -> Decimal:
        return sum(self.costs.values(), ZERO)

    @property
    def net(self) -> Decimal:
        return self.margin - self.cost

    @property
    def roi(self) -> float | None:
        return float(self.net / self.cost) if self.cost else None

    @property
    def cost_per_conversion(self) -> Decimal | None:
        if not self.conversions:
            return None
        return (self.cost / Decimal(str(self.conversions))).quantize(CENT)

    @property
    def budget_left(self) -> Decimal:
        return self.budget - self.cost

    def cost_of(self, kind: str) -> Decimal:
        return self.costs.get(kind, ZERO)


@dataclass
class Economics:
    campaign: Campaign
    units: list[UnitLine]
    total: UnitLine
    provisional: bool  # revenue from converted contacts, the attribution run has not stored any
    uplifts: list[WaveUplift]
    lines: list[CostLine]
    budgets: list[CampaignBudget]


def _provisional_revenue(campaign: Campaign) -> list[tuple[int, float, Decimal, Decimal]]:
    """(unit, conversions, revenue, margin) of the orders the campaign's contacts converted,
    each order once, credited to the unit that took it (else the owner unit)."""
    orders = (
        Order.objects.filter(
            pk__in=Delivery.objects.filter(campaign=campaign, order__isnull=False).values(
                "order_id"
            )
        )
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(credited=Coalesce("unit_id", Value(campaign.owner_unit_id)))
        .order_by()
        .values_list("credited")
        .annotate(n=Count("id"), revenue=Sum("amount"), margin=Sum("margin"))
    )
    return [(u, float(n), Decimal(r or 0), Decimal(m or 0)) for u, n, r, m in orders]


def campaign_economics(campaign: Campaign) -> Economics:
    """Budget, costs by kind, attributed revenue and margin, ROI and cost per conversion per
    unit and in total, and the uplift of each wave with a control group."""
    lines: dict[int, UnitLine] = {}

    def line(unit_id: int) -> UnitLine:
        if unit_id not in lines:
            lines[unit_id] = UnitLine(unit=None)
        return lines[unit_id]

    for unit_id in campaign.participating_units.values_list("pk", flat=True):
        line(unit_id)
    line(campaign.owner_unit_id)
    budgets = list(
        CampaignBudget.objects.filter(campaign=campaign)
        .select_related("unit")
        .order_by("unit__path")
    )
    for b in budgets:
        line(b.unit_id).budget += b.amount
    for row in campaign_costs(campaign_ids=[campaign.pk]):
        ul = line(row.unit_id)
        ul.costs[row.kind] = ul.costs.get(row.kind, ZERO) + row.amount
    provisional = not credit.campaign_has_credit(campaign.pk)
    if provisional:
        for unit_id, n, revenue, margin in _provisional_revenue(campaign):
            ul = line(unit_id)
            ul.conversions += n
            ul.revenue += revenue
            ul.margin += margin
    else:
        for c in credit.campaign_credit(campaign.pk):
            ul = line(c["unit_id"])
            ul.conversions += c["conversions"]
            ul.revenue += c["revenue"]
            ul.margin += c["margin"]
    units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=list(lines))}
    for unit_id, ul in lines.items():
        ul.unit = units.get(unit_id)
    rows = sorted(lines.values(), key=lambda ul: ul.unit.path if ul.unit else "")
    total = UnitLine(unit=None)
    for ul in rows:
        total.budget += ul.budget
        total.conversions += ul.conversions
        total.revenue += ul.revenue
        total.margin += ul.margin
        for kind, amount in ul.costs.items():
            total.costs[kind] = total.costs.get(kind, ZERO) + amount
    cost_lines = list(
        CostLine.objects.filter(campaign=campaign)
        .select_related("unit", "created_by")
        .order_by("incurred_on", "id")
    )
    return Economics(
        campaign=campaign,
        units=rows,
        total=total,
        provisional=provisional,
        uplifts=wave_uplifts(campaign),
        lines=cost_lines,
        budgets=budgets,
    )
