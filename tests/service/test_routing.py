"""Routing: rules as data pick the unit, then the least-loaded service agent of that unit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiti.org.models import Membership
from yiti.org.services import membership_grant, unit_create, user_create
from yiti.service.choices import TicketStatus
from yiti.service.models import Ticket
from yiti.service.routing import least_loaded_agent, route_unit
from yiti.service.services import routing_rule_save, ticket_create


@pytest.fixture
def csc(org):
    """A customer-service centre under the company with two agents."""
    unit = unit_create(name="客户服务中心", code="csc", kind="department", parent=org.company)
    agents = []
    for name in ("csc_a", "csc_b"):
        user = user_create(username=name, password="pw-Secret-123")
        membership_grant(user=user, unit=unit, role="service_agent")
        agents.append(user)
    return unit, agents


def test_without_rules_a_ticket_goes_to_the_nearest_unit_above_with_service_agents(org, customers):
    # svc_east works in the region East; Hangzhou has no agent of its own
    assert route_unit(customer=customers["hz"], kind="repair") == org.east


def test_without_any_agent_up_the_tree_the_customers_unit_takes_it(org, customers, policies):
    # nobody serves the North region in the fixture org
    ticket = ticket_create(actor=None, customer=customers["bj"], kind="repair", subject="No signal")
    assert ticket.unit == org.bj
    assert ticket.assignee is None and ticket.status == TicketStatus.NEW


def test_the_first_matching_rule_by_position_wins(org, customers, csc):
    unit, _agents = csc
    routing_rule_save(actor=None, position=20, kind="complaint", target_unit=unit)
    routing_rule_save(
        actor=None,
        position=10,
        kind="complaint",
        complaint_class="fulfilment",
        territory=org.north,
        target_unit=org.bj,
    )
    routing_rule_save(actor=None, position=5, kind="repair", target_unit=org.nb, active=False)
    hz, bj = customers["hz"], customers["bj"]
    # the class-and-territory rule comes first but only matches the North
    assert route_unit(customer=bj, kind="complaint", complaint_class="fulfilment") == org.bj
    assert route_unit(customer=hz, kind="complaint", complaint_class="fulfilment") == unit
    assert route_unit(customer=bj, kind="complaint", complaint_class="offer_design") == unit
    # an inactive rule is ignored; other kinds fall back to the nearest service unit
    assert route_unit(customer=hz, kind="repair") == org.east


def test_a_territory_matches_customers_of_the_units_below_it(org, customers):
    routing_rule_save(actor=None, territory=org.east, target_unit=org.nb)
    assert route_unit(customer=customers["hz"], kind="consultation") == org.nb  # hz is below east
    assert route_unit(customer=customers["bj"], kind="consultation") == org.bj


def test_the_least_loaded_agent_takes_the_ticket(org, customers, policies, csc):
    unit, (a, b) = csc
    routing_rule_save(actor=None, target_unit=unit)
    first = ticket_create(actor=None, customer=customers["hz"], kind="repair", subject="1")
    second = ticket_create(actor=None, customer=customers["hz"], kind="repair", subject="2")
    assert {first.assignee, second.assignee} == {a, b}  # a took one, so b got the next
    # a closed ticket is no load: resolve a's and a gets the third one
    of_a = first if first.assignee == a else second
    Ticket.objects.filter(pk=of_a.pk).update(status=TicketStatus.CLOSED)
    third = ticket_create(actor=None, customer=customers["hz"], kind="repair", subject="3")
    assert third.assignee == a


def test_counting_the_load_takes_the_same_queries_for_two_or_eight_agents(org, customers, csc):
    unit, agents = csc

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            least_loaded_agent(unit)
        return len(captured.captured_queries)

    for agent in agents:
        Ticket.objects.create(
            customer=customers["hz"],
            kind="repair",
            subject="x",
            unit=unit,
            assignee=agent,
            status=TicketStatus.ASSIGNED,
            opened_at="2025-01-02T10:00:00+08:00",
        )
    with_two = queries()
    for i in range(6):
        user = user_create(username=f"csc_more{i}", password="pw-Secret-123")
        membership_grant(user=user, unit=unit, role="service_agent")
    assert queries() == with_two == 2


def test_an_agent_whose_role_has_ended_takes_no_more_tickets(org, customers, policies, csc):
    # given csc_a's service-agent role ended yesterday (he moved to another job)
    unit, (a, b) = csc
    routing_rule_save(actor=None, target_unit=unit)
    Membership.objects.filter(user=a, unit=unit).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )
    # when tickets are routed to the centre
    tickets = [
        ticket_create(actor=None, customer=customers["hz"], kind="repair", subject=str(n))
        for n in range(3)
    ]
    # then only the agent still in the role takes them
    assert {t.assignee for t in tickets} == {b}


def test_without_an_agent_in_force_the_unit_is_not_staffed(org, customers, csc):
    # a centre whose only agents' roles have not started yet does not take the ticket
    unit, _agents = csc
    routing_rule_save(actor=None, target_unit=unit)
    Membership.objects.filter(unit=unit).update(starts_on=timezone.localdate() + timedelta(days=7))
    assert least_loaded_agent(unit) is None
