"""Account-manager scorecards built on profit (以利润为核心的个人考核).

Per account manager, for a period:

* **profit** — the margin of the orders he sold, plus the margin credited to the touches he
  made (his calls and visits) on orders others took (``accounting.credit.user_credit``);
* **retention** — of the active customers he owns: the share that bought in the last 365
  days, and the most valuable customers (MVC) who left that tier in the period;
* **contact coverage** — his customers not contacted for ``idle_days`` days (or never);
* **sales satisfaction** — the average sales-rated CSAT (1–5) of the care calls after his
  orders, answered in the period;
* **complaints** about him (complaint tickets naming him) opened in the period.

Ranked by profit within his unit (ties by fewer complaints, then name). One grouped query per
measure, whatever the number of account managers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from yiti.accounting import credit
from yiti.accounting.economics import CENT, ZERO
from yiti.accounting.results import bounds
from yiti.care.choices import QuestionKind, QuestionTarget
from yiti.care.models import SurveyAnswer
from yiti.customers.choices import OrderStatus, ValueTier
from yiti.customers.models import Customer, Order
from yiti.decisions.models import TierChange
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket

DEFAULT_IDLE_DAYS = 30
ACTIVE_DAYS = 365


@dataclass
class Scorecard:
    user: User
    unit: OrgUnit
    sold_margin: Decimal = ZERO
    sold_revenue: Decimal = ZERO
    sold_orders: int = 0
    credited_margin: Decimal = ZERO
    credited_orders: int = 0
    customers: int = 0
    active_customers: int = 0
    churned_mvc: int = 0
    idle_customers: int = 0
    satisfaction: float | None = None
    satisfaction_answers: int = 0
    complaints: int = 0
    rank: int = 0
    of: int = 0

    @property
    def profit(self) -> Decimal:
        return self.sold_margin + self.credited_margin

    @property
    def active_share(self) -> float | None:
        return self.active_customers / self.customers if self.customers else None

    @property
    def coverage(self) -> float | None:
        """Share of his customers contacted within the idle window."""
        return 1 - self.idle_customers / self.customers if self.customers else None

    def data(self) -> dict[str, Any]:
        return {
            "sold_margin": str(self.sold_margin.quantize(CENT)),
            "sold_revenue": str(self.sold_revenue.quantize(CENT)),
            "sold_orders": self.sold_orders,
            "credited_margin": str(self.credited_margin.quantize(CENT)),
            "credited_orders": self.credited_orders,
            "profit": str(self.profit.quantize(CENT)),
            "customers": self.customers,
            "active_customers": self.active_customers,
            "active_share": self.active_share,
            "churned_mvc": self.churned_mvc,
            "idle_customers": self.idle_customers,
            "coverage": self.coverage,
            "satisfaction": self.satisfaction,
            "satisfaction_answers": self.satisfaction_answers,
            "complaints": self.complaints,
        }


def account_managers(
    scope: frozenset[int] | None, only_user: int | None
) -> list[tuple[User, OrgUnit]]:
    """The account managers in force in the units of ``scope`` (None: all), each with his
    unit (the first by path when he holds the role in several), or only ``only_user``."""
    qs = Membership.objects.current().filter(role=Role.ACCOUNT_MANAGER, user__is_active=True)
    if only_user is not None:
        qs = qs.filter(user_id=only_user)
    elif scope is not None:
        qs = qs.filter(unit_id__in=scope)
    seen: dict[int, tuple[User, OrgUnit]] = {}
    for m in qs.select_related("user", "unit").order_by("unit__path", "user_id"):
        seen.setdefault(m.user_id, (m.user, m.unit))
    return list(seen.values())


def scorecards(
    *,
    start: date,
    end: date,
    scope: frozenset[int] | None,
    only_user: int | None = None,
    idle_days: int = DEFAULT_IDLE_DAYS,
    now: datetime | None = None,
) -> list[Scorecard]:
    """The scorecards of the account managers in scope for [start, end] (local days), ranked
    within each unit (the rank counts every account manager of the unit, also those the
    reader does not see: a rank means the same to everyone)."""
    now = now or timezone.now()
    people = account_managers(scope, only_user)
    if not people:
        return []
    units = {unit.pk for _u, unit in people}
    # rank among every account manager of these units
    everyone = account_managers(frozenset(units), None)
    cards = {user.pk: Scorecard(user=user, unit=unit) for user, unit in everyone}
    ids = list(cards)
    since, until = bounds(start, end)

    for user_id, margin, revenue, n in (
        Order.objects.filter(sold_by_id__in=ids, ordered_at__gte=since, ordered_at__lt=until)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values_list("sold_by_id")
        .annotate(m=Sum("margin"), r=Sum("amount"), n=Count("id"))
    ):
        c = cards[user_id]
        c.sold_margin, c.sold_revenue, c.sold_orders = (
            Decimal(margin or 0),
            Decimal(revenue or 0),
            n,
        )
    for user_id, uc in credit.user_credit(start=since, end=until, user_ids=ids).items():
        cards[user_id].credited_margin = uc["margin"]
        cards[user_id].credited_orders = uc["orders"]

    bought = Order.objects.filter(
        customer_id=OuterRef("pk"), ordered_at__gte=now - timedelta(days=ACTIVE_DAYS)
    ).exclude(status=OrderStatus.CANCELLED)
    idle_before = now - timedelta(days=idle_days)
    for user_id, total, active, idle in (
        Customer.objects.filter(owner_id__in=ids, status="active")
        .annotate(bought=Exists(bought))
        .order_by()
        .values_list("owner_id")
        .annotate(
            total=Count("id"),
            active=Count("id", filter=Q(bought=True)),
            idle=Count(
                "id", filter=Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=idle_before)
            ),
        )
    ):
        c = cards[user_id]
        c.customers, c.active_customers, c.idle_customers = total, active, idle
    for user_id, n in (
        TierChange.objects.filter(
            customer__owner_id__in=ids, from_tier=ValueTier.MVC, at__gte=since, at__lt=until
        )
        .order_by()
        .values_list("customer__owner_id")
        .annotate(n=Count("customer_id", distinct=True))
    ):
        cards[user_id].churned_mvc = n
    for user_id, avg, n in (
        SurveyAnswer.objects.filter(
            question__target=QuestionTarget.SALES,
            question__kind=QuestionKind.CSAT,
            score__isnull=False,
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
            response__task__order__sold_by_id__in=ids,
        )
        .order_by()
        .values_list("response__task__order__sold_by_id")
        .annotate(avg=Avg("score"), n=Count("id"))
    ):
        cards[user_id].satisfaction = round(float(avg), 2) if avg is not None else None
        cards[user_id].satisfaction_answers = n
    for user_id, n in (
        Ticket.objects.filter(
            kind=TicketKind.COMPLAINT,
            staff_concerned_id__in=ids,
            opened_at__gte=since,
            opened_at__lt=until,
        )
        .order_by()
        .values_list("staff_concerned_id")
        .annotate(n=Count("id"))
    ):
        cards[user_id].complaints = n

    by_unit: dict[int, list[Scorecard]] = defaultdict(list)
    for c in cards.values():
        by_unit[c.unit.pk].append(c)
    for group in by_unit.values():
        group.sort(key=lambda c: (-c.profit, c.complaints, str(c.user)))
        for i, c in enumerate(group, start=1):
            c.rank, c.of = i, len(group)
    shown = {user.pk for user, _unit in people}
    return sorted(
        (c for c in cards.values() if c.user.pk in shown),
        key=lambda c: (c.unit.path, c.rank),
    )


def last_week(now: datetime | None = None) -> tuple[date, date]:
    """Monday to Sunday of the week before ``now``'s week (local days)."""
    today = timezone.localdate(now) if now else timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)
