"""Which unit takes a new ticket, and which agent of that unit.

Rules are data (:class:`RoutingRule`): the first active rule by position whose kind, complaint
class and territory match wins; a territory matches the customers of that unit and of every
unit below it. Without a matching rule the ticket goes to the nearest service unit: the
customer's unit or the nearest unit above it where service agents work, else the customer's
unit itself. Within the unit, the active service agent with the fewest open tickets takes it
(ties: the longest-standing account, i.e. the lowest id).
"""

from __future__ import annotations

from django.db.models import Count

from yiti.customers.models import Customer
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User
from yiti.service.calendars import unit_chain_ids
from yiti.service.choices import OPEN_STATUSES
from yiti.service.models import RoutingRule, Ticket


def _matches(rule: RoutingRule, *, kind: str, complaint_class: str, unit: OrgUnit) -> bool:
    if rule.kind and rule.kind != kind:
        return False
    if rule.complaint_class and rule.complaint_class != complaint_class:
        return False
    return rule.territory is None or unit.path.startswith(rule.territory.path)


def rule_for(*, kind: str, complaint_class: str, unit: OrgUnit) -> RoutingRule | None:
    rules = RoutingRule.objects.filter(active=True).select_related("territory", "target_unit")
    for rule in rules.order_by("position", "id"):
        if _matches(rule, kind=kind, complaint_class=complaint_class, unit=unit):
            return rule
    return None


def nearest_service_unit(unit: OrgUnit) -> OrgUnit:
    """``unit`` or the nearest unit above it with an active service agent; else ``unit``."""
    chain = unit_chain_ids(unit)
    staffed = set(
        Membership.objects.current()
        .filter(unit_id__in=chain, role=Role.SERVICE_AGENT, user__is_active=True)
        .values_list("unit_id", flat=True)
    )
    for unit_id in chain:
        if unit_id in staffed:
            return unit if unit_id == unit.pk else OrgUnit.objects.get(pk=unit_id)
    return unit


def route_unit(*, customer: Customer, kind: str, complaint_class: str = "") -> OrgUnit:
    unit = customer.unit
    rule = rule_for(kind=kind, complaint_class=complaint_class, unit=unit)
    if rule is not None:
        return rule.target_unit
    return nearest_service_unit(unit)


def agents_of(unit: OrgUnit | int) -> list[User]:
    unit_id = unit if isinstance(unit, int) else unit.pk
    return list(
        User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.current()
            .filter(unit_id=unit_id, role=Role.SERVICE_AGENT)
            .values("user_id"),
        ).order_by("id")
    )


def open_load(agent_ids: list[int]) -> dict[int, int]:
    """Open tickets per agent, in one grouped query."""
    rows = (
        Ticket.objects.filter(assignee_id__in=agent_ids, status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    return {assignee_id: n for assignee_id, n in rows}


def least_loaded_agent(unit: OrgUnit) -> User | None:
    agents = agents_of(unit)
    if not agents:
        return None
    load = open_load([a.pk for a in agents])
    return min(agents, key=lambda a: (load.get(a.pk, 0), a.pk))
