"""Demo work orders: a dozen field trips standing at every step of the chain, some sent back.

Called by the demo seed after tickets exist. Every step goes through the services, so the
history, the audit trail and the customers' timelines look as they would in real use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.utils import timezone

from yiti.org.choices import Role
from yiti.org.models import Membership, User
from yiti.service.dispatch import rules, services
from yiti.service.dispatch.choices import ContactChannel, LineKind, Origin, WorkOrderStatus
from yiti.service.dispatch.models import WorkOrder
from yiti.service.dispatch.services import LineInput
from yiti.service.models import Ticket

S = WorkOrderStatus

# (where the order stops, a twist on the way)
PLAN: tuple[tuple[str, str], ...] = (
    (S.NEW, ""),
    (S.PLANNING, ""),
    (S.PLANNING, "budget_rejected"),
    (S.LEADER_APPROVAL, ""),
    (S.LEADER_APPROVAL, "plan_rejected"),
    (S.BUDGET_APPROVAL, ""),
    (S.ON_TRIP, ""),
    (S.ARCHIVING, ""),
    (S.CLAIMING, "report_rejected"),
    (S.REIMBURSEMENT, "over_budget"),
    (S.CLOSED, ""),
    (S.CLOSED, "claim_cut"),
)
ORDER = [s.value for s in WorkOrderStatus]

DESTINATIONS = ("经销商服务站", "客户现场", "维修网点", "4S店")
FINDINGS = (
    "发动机故障灯常亮，诊断为氧传感器失效。",
    "客户反映制动异响，检查发现刹车片磨损超限。",
    "空调不制冷，冷媒泄漏，管路接头松动。",
    "经销商库存车电瓶亏电，无法启动。",
)
WORK_DONE = (
    "更换氧传感器，清除故障码，路试正常。",
    "更换前刹车片并调整卡钳，试车无异响。",
    "紧固接头并补充冷媒，检漏合格。",
    "为库存车补电并培训经销商保养流程。",
)


@dataclass
class _Cast:
    creator: User
    manager: User
    traveller: User
    finance: User


def _index(rng: Any, n: int) -> int:
    """A random index from a numpy Generator or a ``random.Random``."""
    if hasattr(rng, "integers"):
        return int(rng.integers(0, n))
    return int(rng.randrange(n))


def _cast_for(ticket: Ticket, users: Sequence[User]) -> _Cast | None:
    unit = ticket.customer.unit
    creators = [u for u in users if rules.holds_role_over(u, unit, rules.CREATOR_ROLES)]
    managers = [
        u for u in users if rules.holds_role_over(u, unit, frozenset({Role.REGION_MANAGER}))
    ] or [u for u in users if rules.holds_role_over(u, unit, rules.MANAGER_ROLES)]
    travellers = [u for u in users if services.traveller_eligible(u, unit)]
    finance = [u for u in users if rules.is_finance(u)]
    if not (creators and managers and travellers and finance):
        return None
    agents = [
        u for u in creators if rules.holds_role_over(u, unit, frozenset({Role.SERVICE_AGENT}))
    ] or creators
    return _Cast(agents[0], managers[0], travellers[0], finance[0])


def seed_dispatch(
    *,
    rng: Any,
    tickets: Iterable[Ticket],
    users: Mapping[str, User] | Iterable[User],
    count: int = 12,
) -> list[WorkOrder]:
    """Create up to ``count`` work orders from ``tickets`` (repair tickets first) at every step.

    ``users`` are the demo company's users (by username, or a list); the actors of each order
    are picked from them by role and unit. Tickets whose unit lacks one of the roles are skipped.
    """
    everyone = list(users.values()) if isinstance(users, Mapping) else list(users)
    relevant = set(
        Membership.objects.filter(
            user__in=everyone, role__in=[*rules.CREATOR_ROLES, Role.FIELD_ENGINEER, Role.FINANCE]
        ).values_list("user_id", flat=True)
    )
    people = [u for u in everyone if u.pk in relevant or u.is_superuser]
    # a look at the first few hundred tickets is plenty for a dozen orders
    pool = sorted(islice(tickets, 500), key=lambda t: (t.kind != "repair", t.pk))
    made: list[WorkOrder] = []
    for ticket in pool:
        if len(made) >= count:
            break
        cast = _cast_for(ticket, people)
        if cast is None:
            continue
        target, twist = PLAN[len(made) % len(PLAN)]
        made.append(_walk(rng, ticket, cast, target, twist, dealer=len(made) % 4 == 3))
    return made


def _walk(
    rng: Any, ticket: Ticket, cast: _Cast, target: str, twist: str, *, dealer: bool
) -> WorkOrder:
    now = timezone.now()
    start = timezone.localtime(now - timedelta(days=4 + _index(rng, 20))).replace(
        hour=9 + _index(rng, 6), minute=_index(rng, 60)
    )
    clock = [start]

    def tick(hours: int = 5) -> datetime:
        """The next step some hours later, moved into office hours (09:00-18:00)."""
        at = timezone.localtime(clock[0] + timedelta(hours=hours + _index(rng, 6)))
        if at.hour >= 18:
            at = (at + timedelta(days=1)).replace(hour=9 + _index(rng, 3))
        elif at.hour < 9:
            at = at.replace(hour=9 + _index(rng, 3))
        clock[0] = min(at, now)
        return clock[0]

    def reached(status: str) -> bool:
        return ORDER.index(target) >= ORDER.index(status)

    i = _index(rng, len(FINDINGS))
    budget = [
        LineInput(LineKind.TRANSPORT, Decimal(300 + 50 * _index(rng, 12)), "高铁往返"),
        LineInput(LineKind.LODGING, Decimal(260 * (1 + _index(rng, 2))), ""),
        LineInput(LineKind.ALLOWANCE, Decimal("100.00") * (1 + _index(rng, 3)), "出差补助"),
    ]

    def plan(wo: WorkOrder) -> WorkOrder:
        contact_at = tick()
        depart = timezone.localdate(contact_at) + timedelta(days=1)
        return services.work_order_plan(
            actor=cast.traveller,
            work_order=wo,
            at=tick(1),
            contact_name=ticket.customer.name if not dealer else "服务站站长",
            contact_channel=ContactChannel.CALL,
            contact_at=contact_at,
            contact_agreed="约定上门时间并确认故障现象，客户同意配合检测。",
            destination=(ticket.customer.city or "") + DESTINATIONS[i],
            depart_on=depart,
            return_on=depart + timedelta(days=1 + _index(rng, 2)),
            purpose=ticket.subject,
            budget=budget,
        )

    wo = services.work_order_create(
        actor=cast.creator,
        ticket=None if dealer else ticket,
        customer=ticket.customer,
        origin=Origin.DEALER_REQUEST if dealer else Origin.TICKET,
        subject=("经销商请求技术支持：" if dealer else "") + ticket.subject[:180],
        description="现场支持请求。",
        at=start,
    )
    if reached(S.PLANNING):
        wo = services.work_order_assign(
            actor=cast.manager, work_order=wo, traveller=cast.traveller, at=tick()
        )
    if reached(S.LEADER_APPROVAL) or twist == "budget_rejected":
        wo = plan(wo)
        if twist == "plan_rejected":
            wo = services.work_order_reject(
                actor=cast.manager,
                work_order=wo,
                at=tick(),
                reason="住宿标准超出规定，请调整后重新提交。",
            )
            budget[1] = LineInput(LineKind.LODGING, Decimal("240.00"), "按标准调整")
            wo = plan(wo)
    if reached(S.BUDGET_APPROVAL) or twist == "budget_rejected":
        wo = services.work_order_approve(actor=cast.manager, work_order=wo, at=tick())
        if twist == "budget_rejected":
            return services.work_order_reject(
                actor=cast.finance,
                work_order=wo,
                at=tick(),
                reason="交通费请按经济舱/二等座标准重新预算。",
            )
    if reached(S.ON_TRIP):
        wo = services.work_order_budget_approve(actor=cast.finance, work_order=wo, at=tick())
    if reached(S.ARCHIVING):
        wo = _report(cast, wo, tick(24), i)
        if twist == "report_rejected":
            wo = services.work_order_reject(
                actor=cast.manager,
                work_order=wo,
                at=tick(),
                reason="请补充客户签字确认。",
            )
            wo = _report(cast, wo, tick(), i, signed=True)
    if reached(S.CLAIMING):
        wo = services.work_order_archive(actor=cast.manager, work_order=wo, at=tick())
    if reached(S.REIMBURSEMENT):
        factor = Decimal("1.3") if twist == "over_budget" else Decimal("1")
        lines = [
            LineInput(b.kind, (Decimal(b.amount) * factor).quantize(services.CENT), b.note)
            for b in budget
        ]
        over = factor > 1
        wo = services.work_order_claim(
            actor=cast.traveller,
            work_order=wo,
            lines=lines,
            at=tick(),
            receipts_count=len(lines) + _index(rng, 3),
            over_budget_reason="暴雨导致返程延误一天，增加住宿。" if over else "",
        )
    if reached(S.CLOSED):
        cut = twist == "claim_cut"
        wo = services.work_order_reimburse(
            actor=cast.finance,
            work_order=wo,
            at=tick(),
            amount=wo.expense_total - Decimal("50.00") if cut else None,
            note="一张餐费发票不合规，不予报销。" if cut else "",
        )
    return wo


def _report(cast: _Cast, wo: WorkOrder, at: datetime, i: int, *, signed: bool = False) -> WorkOrder:
    return services.work_order_report(
        actor=cast.traveller,
        work_order=wo,
        at=at,
        carried_out_at=at,
        findings=FINDINGS[i],
        work_done=WORK_DONE[i],
        parts="" if i == 3 else "见维修单",
        customer_signed_off=signed or i % 2 == 0,
        signed_off_by=wo.customer.name if signed or i % 2 == 0 else "",
    )
