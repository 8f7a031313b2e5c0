"""Demo data for the service desk: SLA policies, a company calendar, routing rules and a few
hundred tickets of every kind walked into every state through the services.

Called by ``yiti seed`` (``seed_service(rng=..., customers_sample=..., users=..., units=...)``).
Tickets open over the last four weeks; older ones that are still open breach their SLA when
the sweep runs at the end (recorded without notifying anyone: it is history). Complaints carry
a class and a reason; none names a campaign here (the desk is seeded before any campaign has
reached anyone — the campaign seed files the complaints its SMS drew); some orders are taken by
sales and handed over as order-processing tickets.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from yiti.customers.models import Customer, Product
from yiti.org.models import OrgUnit, User
from yiti.service import services
from yiti.service.calendars import default_weekly_hours
from yiti.service.choices import (
    COMPLAINT_REASON_CLASS,
    Priority,
    TicketChannel,
    TicketKind,
    TicketStatus,
)
from yiti.service.models import BusinessCalendar, RoutingRule, SlaPolicy, Ticket
from yiti.service.tasks import sla_sweep

S = TicketStatus

# (first response, resolution) in business minutes, for normal priority; others scale.
TARGETS = {
    TicketKind.CONSULTATION: (120, 960),
    TicketKind.REPAIR: (240, 1440),
    TicketKind.SERVICE_REQUEST: (240, 1920),
    TicketKind.ORDER_PROCESSING: (240, 2400),
    TicketKind.COMPLAINT: (60, 960),
}
PRIORITY_SCALE = {
    Priority.LOW: 2.0,
    Priority.NORMAL: 1.0,
    Priority.HIGH: 0.5,
    Priority.URGENT: 0.25,
}

KIND_WEIGHTS = [
    (TicketKind.CONSULTATION, 30),
    (TicketKind.REPAIR, 25),
    (TicketKind.SERVICE_REQUEST, 12),
    (TicketKind.COMPLAINT, 23),
    (TicketKind.ORDER_PROCESSING, 10),
]
FINAL_WEIGHTS = [
    (S.ASSIGNED, 10),
    (S.IN_PROGRESS, 20),
    (S.WAITING_CUSTOMER, 10),
    (S.RESOLVED, 25),
    (S.CLOSED, 25),
    (S.REOPENED, 10),
]
PATHS: dict[str, list[str]] = {
    S.NEW: [],
    S.ASSIGNED: [],
    S.IN_PROGRESS: [S.IN_PROGRESS],
    S.WAITING_CUSTOMER: [S.IN_PROGRESS, S.WAITING_CUSTOMER],
    S.RESOLVED: [S.IN_PROGRESS, S.RESOLVED],
    S.CLOSED: [S.IN_PROGRESS, S.RESOLVED, S.CLOSED],
    S.REOPENED: [S.IN_PROGRESS, S.RESOLVED, S.REOPENED],
}
SUBJECTS = {
    TicketKind.CONSULTATION: [
        "套餐资费咨询",
        "宽带提速咨询",
        "国际漫游开通咨询",
        "积分兑换规则咨询",
    ],
    TicketKind.REPAIR: ["宽带无法上网", "光猫指示灯异常", "手机信号弱", "固话无拨号音"],
    TicketKind.SERVICE_REQUEST: ["办理过户", "补办SIM卡", "变更账单地址", "代理商网点物料申请"],
    TicketKind.COMPLAINT: [
        "活动条件与宣传不符",
        "两个活动互相冲突",
        "营业员解释不清",
        "赠品迟迟未到",
    ],
}
RESOLUTIONS = [
    "已电话回复客户并解决。",
    "已上门处理，恢复正常。",
    "已办理完毕。",
    "已补发赠品并致歉。",
]


class _Rng:
    """A numpy Generator (as ``yiti seed`` passes) or a ``random.Random``, behind one face."""

    def __init__(self, rng: Any) -> None:
        if rng is None:
            self._r = random.Random(2026)
        elif hasattr(rng, "integers"):
            self._r = random.Random(int(rng.integers(0, 2**31)))
        else:
            self._r = rng

    def weighted(self, pairs: Sequence[tuple[Any, int]]) -> Any:
        return self._r.choices([v for v, _w in pairs], weights=[w for _v, w in pairs])[0]

    def choice(self, seq: Sequence[Any]) -> Any:
        return self._r.choice(list(seq))

    def uniform(self, a: float, b: float) -> float:
        return self._r.uniform(a, b)

    def random(self) -> float:
        return self._r.random()


def seed_policies() -> None:
    for kind, (first, resolution) in TARGETS.items():
        for priority, scale in PRIORITY_SCALE.items():
            if SlaPolicy.objects.filter(kind=kind, priority=priority).exists():
                continue
            services.sla_policy_save(
                actor=None,
                kind=kind,
                priority=priority,
                first_response_minutes=max(15, round(first * scale)),
                resolution_minutes=max(60, round(resolution * scale)),
            )


def seed_calendar(today: date) -> None:
    if BusinessCalendar.objects.filter(unit__isnull=True).exists():
        return
    services.calendar_save(
        actor=None,
        unit=None,
        name="公司标准工作日历",
        weekly_hours=default_weekly_hours(),
        exceptions=[(date(today.year, 12, 31), [["09:00", "12:00"]], "年终结算，下午休息")],
    )


def seed_routing(units: Mapping[str, OrgUnit]) -> None:
    if RoutingRule.objects.exists():
        return
    csc, aftersales = units.get("csc"), units.get("aftersales")
    if csc is not None:
        services.routing_rule_save(
            actor=None, position=10, kind=TicketKind.COMPLAINT, target_unit=csc
        )
        services.routing_rule_save(
            actor=None, position=20, kind=TicketKind.ORDER_PROCESSING, target_unit=csc
        )
    partner = units.get("agent_east")
    if aftersales is not None and partner is not None:
        # dealer requests go to after-sales, a department without service agents: they wait as new
        services.routing_rule_save(
            actor=None,
            position=30,
            kind=TicketKind.SERVICE_REQUEST,
            territory=partner,
            target_unit=aftersales,
        )


def _customers(sample: Iterable[Customer | int]) -> list[Customer]:
    items = list(sample)
    ids = [c if isinstance(c, int) else c.pk for c in items]
    by_id = {c.pk: c for c in Customer.objects.filter(pk__in=ids).select_related("unit", "owner")}
    return [by_id[i] for i in ids if i in by_id]


def _walk(ticket: Ticket, final: str, *, now: datetime, pick: _Rng) -> Ticket:
    path = PATHS[final]
    span = (now - ticket.opened_at).total_seconds()
    steps = len(path) + 1
    at = ticket.opened_at
    actor = ticket.assignee
    if path or pick.random() < 0.5:
        at += timedelta(seconds=span * pick.uniform(0.02, 0.9) / steps)
        services.ticket_reply(
            actor=actor, ticket=ticket, body="您好，我们已收到您的问题，正在处理。", at=at
        )
    for status in path:
        at += timedelta(seconds=span * pick.uniform(0.05, 0.9) / steps)
        body = pick.choice(RESOLUTIONS) if status == S.RESOLVED else ""
        if status == S.REOPENED:
            body = "客户反馈问题仍未解决。"
        ticket = services.ticket_transition(
            actor=actor, ticket=ticket, to_status=status, body=body, at=min(at, now)
        )
    return ticket


def seed_service(
    *,
    rng: Any,
    customers_sample: Iterable[Customer | int],
    users: Mapping[str, User] | None = None,
    units: Mapping[str, OrgUnit],
    count: int = 300,
    orders: int = 20,
    now: datetime | None = None,
) -> list[Ticket]:
    """Create the desk's settings and about ``count`` tickets; returns the tickets created.

    ``customers_sample``: customers (or ids) to open tickets for; ``units``: the demo units by
    code (csc, aftersales, agent_east are used when present); ``users``: the demo users by
    username (sellers for the orders handed over are the customers' account managers).
    """
    del users  # actors come from routing (assignees) and from the customers' owners
    pick = _Rng(rng)
    now = now or timezone.now()
    seed_policies()
    seed_calendar(timezone.localdate(now))
    seed_routing(units)
    pool = _customers(customers_sample)
    if not pool:
        return []
    products = list(Product.objects.filter(active=True).order_by("code"))
    made: list[Ticket] = []
    taken = 0
    for i in range(count):
        customer = pool[i % len(pool)]
        kind = pick.weighted(KIND_WEIGHTS)
        opened = now - timedelta(days=pick.uniform(0.05, 28))
        if kind == TicketKind.ORDER_PROCESSING:
            if products and customer.owner and taken < orders:
                _order, ticket = services.order_take(
                    actor=customer.owner,
                    customer=customer,
                    product=pick.choice(products),
                    ordered_at=opened,
                )
                taken += 1
            else:
                kind = TicketKind.CONSULTATION
        if kind != TicketKind.ORDER_PROCESSING:
            reason = (
                pick.choice(list(COMPLAINT_REASON_CLASS)) if kind == TicketKind.COMPLAINT else ""
            )
            ticket = services.ticket_create(
                actor=None,
                customer=customer,
                kind=kind,
                subject=pick.choice(SUBJECTS[kind]),
                description="",
                priority=pick.weighted([("normal", 70), ("high", 18), ("urgent", 5), ("low", 7)]),
                channel=pick.weighted(
                    [
                        (TicketChannel.PHONE, 60),
                        (TicketChannel.COUNTER, 15),
                        (TicketChannel.PORTAL, 10),
                        (TicketChannel.IM, 10),
                        (TicketChannel.FIELD, 5),
                    ]
                ),
                complaint_reason=reason,
                opened_at=opened,
            )
        final = pick.weighted(FINAL_WEIGHTS) if ticket.assignee_id else S.NEW
        made.append(_walk(ticket, final, now=now, pick=pick))
    sla_sweep(now=now, batch=max(count * 2, 1000), notify=False)
    return made
