"""The demo desk: settings and tickets of every kind in every state, some breached."""

from __future__ import annotations

import random

from tests.factories import ProductFactory
from yiti.customers.services import customer_create
from yiti.org.models import OrgUnit
from yiti.org.services import membership_grant, unit_create, user_create
from yiti.service.choices import SlaState, TicketKind, TicketStatus
from yiti.service.demo import seed_service
from yiti.service.models import BusinessCalendar, RoutingRule, SlaPolicy, Ticket


def test_seed_service_builds_a_desk_at_work(org):
    csc = unit_create(name="客户服务中心", code="csc", kind="department", parent=org.company)
    membership_grant(user=org.users["svc_east"], unit=csc, role="service_agent")
    unit_create(name="售后服务部", code="aftersales", kind="department", parent=org.company)
    partner = unit_create(name="华东代理商", code="agent_east", kind="partner", parent=org.east)
    helper = user_create(username="svc_bj", password="pw-Secret-123")
    membership_grant(user=helper, unit=org.bj, role="service_agent")
    ProductFactory()
    owners = [org.users["am_hz"], org.users["am_nb"], org.users["am_bj"], None]
    sample = [
        customer_create(
            actor=None, name=f"客户{i}", unit=unit, owner=owners[i % 4] if unit != partner else None
        )
        for i, unit in enumerate([org.hz, org.nb, org.bj, partner] * 10)
    ]
    units = {u.code: u for u in OrgUnit.objects.all()}

    tickets = seed_service(
        rng=random.Random(7), customers_sample=sample, users=org.users, units=units, count=120
    )

    assert len(tickets) == 120
    assert SlaPolicy.objects.count() == 20 and BusinessCalendar.objects.filter(unit=None).exists()
    assert RoutingRule.objects.count() == 3
    assert set(Ticket.objects.values_list("kind", flat=True)) == set(TicketKind.values)
    assert set(Ticket.objects.values_list("status", flat=True)) == set(TicketStatus.values)
    complaints = Ticket.objects.filter(kind=TicketKind.COMPLAINT)
    assert not complaints.filter(complaint_class="").exists()
    # no campaign has reached anyone when the desk is seeded: no complaint names one
    assert not complaints.exclude(campaign_id=None).exists()
    assert Ticket.objects.filter(sla_state=SlaState.BREACHED).exists()
    assert Ticket.objects.filter(sla_state=SlaState.PAUSED).exists()
    assert set(complaints.values_list("unit__code", flat=True)) == {"csc"}
