"""A small book for the home pages, with a known answer for every count.

Rows are written straight through the models (these are fixtures; the services that make
them are tested in their own apps), relative to the real clock with wide margins, because
the lists the counts link to read the clock themselves:

- am_hz owns 6 customers in Hangzhou: 3 not contacted for 30 days (one never), 2 of the 6
  most valuable with churn risk 0.7 (at risk at the default 0.5), one most valuable at 0.1;
  he sold 3 orders whose processing tickets are open (2) or closed (1); a retention call
  overdue is assigned to him; 2 campaign calls and 1 visit are on his list.
- svc_east has, in the East queue, 2 tickets warning, 1 breached, 3 on track, 1 resolved;
  6 new tickets wait unassigned in the East queue (2 questions, 3 complaints, 1 order).
- the East care queue: 2 overdue (1 assigned to care_east), 1 due today, 1 escalated,
  1 upcoming, and am_hz's retention call (overdue, Hangzhou).
- cm owns a draft (no wave), a campaign in review with 2 unsigned lines (one the service
  review East signs, one gift stock marketing signs), a running campaign with 400 contacts
  and 3 complaints since launch (7.5‰ against a threshold of 5) and a wave going out today,
  and a paused one.
- dispatch: 2 trips wait for the budget approval (¥1,200 and ¥800), 1 claim for
  reimbursement (¥650.50).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from yiti.campaigns.models import (
    Campaign,
    ChecklistItem,
    Delivery,
    Offer,
    OfferReservation,
    Segment,
    Wave,
)
from yiti.care.models import CareTask, FollowUpRule
from yiti.customers.models import Customer, CustomerValue, Order, Product
from yiti.service.dispatch.models import WorkOrder
from yiti.service.models import Ticket


@dataclass
class Book:
    org: Any
    now: datetime
    customers: list[Customer] = field(default_factory=list)
    campaigns: dict[str, Campaign] = field(default_factory=dict)


def end_of_today(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _customer(unit: Any, name: str, owner: Any = None, last: datetime | None = None) -> Customer:
    return Customer.objects.create(
        name=name, name_key=name, unit=unit, owner=owner, last_contact_at=last
    )


def _value(customer: Customer, tier: str, churn: float, now: datetime) -> None:
    CustomerValue.objects.create(
        customer=customer,
        tier=tier,
        clv=5000,
        expected_purchases=1,
        p_alive=1 - churn,
        churn_risk=churn,
        cost_to_serve=100,
        net_value=4900,
        fit_id=1,
        computed_at=now,
    )


def _ticket(customer: Customer, unit: Any, **kw: Any) -> Ticket:
    values: dict[str, Any] = {
        "kind": "consultation",
        "subject": "咨询",
        "status": "in_progress",
        "opened_at": timezone.now() - timedelta(hours=5),
    }
    values.update(kw)
    return Ticket.objects.create(customer=customer, unit=unit, **values)


def build_book(org: Any) -> Book:
    now = timezone.now()
    book = Book(org=org, now=now)
    am, svc, care, cm = (org.users[u] for u in ("am_hz", "svc_east", "care_east", "cm"))
    # -- the account manager's customers
    old, recent = now - timedelta(days=40), now - timedelta(days=5)
    lasts = [old, None, old, recent, recent, recent]
    for i, last in enumerate(lasts):
        book.customers.append(_customer(org.hz, f"客户{i}", am, last))
    c = book.customers
    _value(c[3], "mvc", 0.7, now)
    _value(c[0], "mvc", 0.7, now)
    _value(c[4], "mvc", 0.1, now)
    _value(c[5], "standard", 0.9, now)
    other = _customer(org.hz, "别人的客户", org.users["am_hz2"], old)  # not his
    # -- orders he sold, in service
    product = Product.objects.create(code="bb", name="宽带", category="broadband", price=960)
    for i, status in enumerate(["in_progress", "new", "closed"]):
        order = Order.objects.create(
            customer=c[i],
            product=product,
            sold_by=am,
            amount=960,
            channel="visit",
            ordered_at=now - timedelta(days=2),
        )
        _ticket(c[i], org.east, kind="order_processing", status=status, order=order)
    # -- service agent's tickets
    for state in ["warning", "warning", "breached", "ok", "ok", "ok"]:
        _ticket(
            c[5],
            org.east,
            assignee=svc,
            sla_state=state,
            resolution_due_at=now + timedelta(hours=2 if state == "warning" else 20),
        )
    _ticket(c[5], org.east, assignee=svc, status="resolved", sla_state="met")
    _ticket(other, org.east, status="new")
    _ticket(other, org.east, status="new")
    # -- care calls
    rule = FollowUpRule.objects.create(name="维修回访", trigger="repair_resolved")
    today = now + (end_of_today(now) - now) / 2

    def task(
        due: datetime,
        status: str = "open",
        assignee: Any = None,
        unit: Any = org.east,
        customer: Customer = c[5],
        kind: str = "first",
    ) -> CareTask:
        return CareTask.objects.create(
            customer=customer,
            rule=rule,
            kind=kind,
            source_at=now - timedelta(days=4),
            unit=unit,
            assignee=assignee,
            due_at=due,
            status=status,
        )

    task(now - timedelta(days=2), assignee=care)
    task(now - timedelta(days=1), customer=other)
    task(today, customer=c[4])
    task(now - timedelta(days=3), status="escalated", customer=c[3])
    task(now + timedelta(days=3), customer=c[2])
    task(now - timedelta(days=1), assignee=am, unit=org.hz, customer=c[0], kind="retention")
    # -- campaigns of the campaign manager
    segment = Segment.objects.create(name="全部", rules={}, unit=org.marketing)
    gift = Offer.objects.create(
        code="gift",
        name="送路由器",
        product=product,
        benefit="gift",
        benefit_value=120,
        gift_name="路由器",
        stock_total=100,
    )
    start = timezone.localdate()

    def campaign(code: str, status: str, **kw: Any) -> Campaign:
        obj = Campaign.objects.create(
            code=code,
            name=f"活动{code}",
            status=status,
            owner_unit=org.marketing,
            owner=cm,
            service_unit=org.east,
            segment=segment,
            starts_on=start - timedelta(days=3),
            ends_on=start + timedelta(days=27),
            **kw,
        )
        obj.offers.add(gift)
        book.campaigns[code] = obj
        return obj

    campaign("draft", "draft")
    review = campaign("review", "in_review", submitted_at=now - timedelta(days=5))
    ChecklistItem.objects.create(campaign=review, kind="service_review", unit=org.east)
    ChecklistItem.objects.create(campaign=review, kind="gift_stock", unit=org.marketing)
    ChecklistItem.objects.create(
        campaign=review, kind="materials", unit=org.marketing, signed_by=cm, signed_at=now
    )
    Wave.objects.create(
        campaign=review,
        number=1,
        name="短信",
        kind="broadcast",
        channels=["sms"],
        scheduled_at=now + timedelta(days=2),
    )
    running = campaign(
        "running",
        "running",
        launched_at=now - timedelta(days=2),
        complaint_threshold=Decimal("5"),
        complaint_min_contacts=200,
    )
    wave = Wave.objects.create(
        campaign=running,
        number=1,
        name="短信",
        kind="broadcast",
        channels=["sms"],
        scheduled_at=now - timedelta(days=2),
        status="done",
    )
    calls = Wave.objects.create(
        campaign=running,
        number=2,
        name="外呼",
        kind="call",
        channels=["call", "visit"],
        scheduled_at=today,
        status="sending",
        agent_role="care_agent",
    )
    extra = [_customer(org.hz, f"受众{i}", None, recent) for i in range(400)]
    Delivery.objects.bulk_create(
        Delivery(
            wave=wave,
            campaign=running,
            customer=x,
            channel="sms",
            status="delivered" if i % 2 else "sent",
            planned_for=now - timedelta(days=2),
        )
        for i, x in enumerate(extra)
    )
    for i, (x, channel) in enumerate([(c[0], "call"), (c[1], "call"), (c[2], "visit")]):
        Delivery.objects.create(
            wave=calls,
            campaign=running,
            customer=x,
            channel=channel,
            status="planned",
            planned_for=now,
            assignee=am,
            rank=i,
        )
    for x in extra[:2]:
        OfferReservation.objects.create(offer=gift, customer=x, delivery=x.deliveries.first())
    for i in range(3):
        _ticket(
            extra[i],
            org.east,
            kind="complaint",
            complaint_class="fulfilment",
            campaign_id=running.pk,
            opened_at=now - timedelta(days=1),
            status="new",
        )
    _ticket(
        extra[9],
        org.east,
        kind="complaint",
        complaint_class="fulfilment",
        campaign_id=running.pk,
        opened_at=now - timedelta(days=9),
        status="closed",
    )
    campaign("paused", "paused", launched_at=now - timedelta(days=4), paused_at=now)
    # -- dispatch waiting for finance
    eng = org.users["eng_east"]
    for status, budget, expense in [
        ("budget_approval", "1200", "0"),
        ("budget_approval", "800", "0"),
        ("reimbursement", "900", "650.50"),
        ("on_trip", "500", "0"),
    ]:
        WorkOrder.objects.create(
            customer=c[5],
            unit=org.east,
            origin="customer_request",
            subject="上门维修",
            status=status,
            traveller=eng,
            status_changed_at=now,
            budget_total=Decimal(budget),
            expense_total=Decimal(expense),
        )
    return book
