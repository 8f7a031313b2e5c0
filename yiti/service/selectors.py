"""Reads for the service desk, restricted to what the acting user may see.

A user sees the tickets of the customers they may see (``customers.rules.visible_q``) and the
tickets in the queues of their units (their units and the units below, as ADR 0002 scopes
customers), so a service centre works tickets of customers from every region it serves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound
from yiti.customers.models import Customer
from yiti.customers.rules import visible_q
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User
from yiti.service.choices import OPEN_STATUSES, TicketKind, TicketStatus
from yiti.service.filters import TicketFilters
from yiti.service.models import BusinessCalendar, RoutingRule, SlaPolicy, Ticket, TicketEvent
from yiti.service.routing import agents_of

LIST_RELATED = ("customer", "unit", "assignee")


def tickets_visible(user: Any) -> QuerySet[Ticket]:
    access = access_for(user)
    qs = Ticket.objects.all()
    if access.is_admin:
        return qs
    if access.user_id is None:
        return qs.none()
    return qs.filter(visible_q(access, prefix="customer__") | Q(unit_id__in=access.unit_ids))


def ticket_get_for(user: Any, ticket_id: int) -> Ticket:
    ticket = (
        tickets_visible(user)
        .select_related(
            "customer",
            "customer__unit",
            "customer__owner",
            "unit",
            "assignee",
            "staff_concerned",
            "order",
            "order__product",
            "order__sold_by",
            "sla_policy",
            "created_by",
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    return ticket


def ticket_list(user: Any, filters: TicketFilters) -> QuerySet[Ticket]:
    """Every ticket the user may see, narrowed by ``filters`` (the API's list)."""
    qs = filters.apply(tickets_visible(user), user_id=access_for(user).user_id)
    return qs.select_related(*LIST_RELATED).order_by("-opened_at", "-id")


def queue_unit(user: Any, unit_id: int) -> OrgUnit:
    access = access_for(user)
    if not access.is_admin and unit_id not in access.unit_ids:
        raise NotFound(_("Queue not found."))
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("Queue not found."))
    return unit


def queue(user: Any, unit_id: int, filters: TicketFilters) -> QuerySet[Ticket]:
    """The tickets of one unit's queue, newest first (the user must see that unit)."""
    queue_unit(user, unit_id)
    qs = filters.apply(Ticket.objects.filter(unit_id=unit_id), user_id=access_for(user).user_id)
    return qs.select_related(*LIST_RELATED).order_by("-opened_at", "-id")


def home_queue_unit_id(user: Any) -> int | None:
    """The unit whose queue /service/ opens: where the user is a service agent, else a unit of
    theirs that has tickets routed to it, else their first unit."""
    memberships = list(
        Membership.objects.current()
        .filter(user_id=user.pk if user is not None else 0)
        .order_by("unit__depth", "id")
    )
    for m in memberships:
        if m.role == Role.SERVICE_AGENT:
            return m.unit_id
    unit_ids = [m.unit_id for m in memberships]
    with_tickets = set(
        Ticket.objects.filter(unit_id__in=unit_ids)
        .values_list("unit_id", flat=True)
        .distinct()[:50]
    )
    for unit_id in unit_ids:
        if unit_id in with_tickets:
            return unit_id
    if unit_ids:
        return unit_ids[0]
    if access_for(user).is_admin:
        return Ticket.objects.values_list("unit_id", flat=True).order_by("-id").first()
    return None


def queue_units(user: Any) -> QuerySet[OrgUnit]:
    """Units in the user's scope that hold service agents or tickets: the queues to switch to."""
    access = access_for(user)
    staffed = Membership.objects.current().filter(role=Role.SERVICE_AGENT).values("unit_id")
    qs = OrgUnit.objects.filter(pk__in=staffed)
    if not access.is_admin:
        qs = qs.filter(pk__in=access.unit_ids)
    return qs.order_by("path")


def ticket_history(ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")


def tickets_of_customer(user: Any, customer: Customer, *, limit: int = 10) -> list[Ticket]:
    return list(
        tickets_visible(user)
        .filter(customer=customer)
        .select_related("unit", "assignee")
        .order_by("-opened_at", "-id")[:limit]
    )


def open_ticket_count(customer: Customer) -> int:
    return Ticket.objects.filter(customer=customer, status__in=OPEN_STATUSES).count()


def tickets_for_orders_sold_by(user: Any, *, open_only: bool = False) -> QuerySet[Ticket]:
    """Order-processing tickets of the orders this user sold: the seller follows them
    (``open_only``: those still in service)."""
    qs = Ticket.objects.filter(kind=TicketKind.ORDER_PROCESSING, order__sold_by_id=user.pk)
    if open_only:
        qs = qs.filter(status__in=OPEN_STATUSES)
    return qs.select_related("customer", "unit", "assignee", "order", "order__product").order_by(
        "-opened_at", "-id"
    )


def tickets_resolved_between(
    start: datetime, end: datetime, kinds: Iterable[str] | None = None
) -> QuerySet[Ticket]:
    """Tickets resolved in ``[start, end)`` (for reports and follow-up rules)."""
    qs = Ticket.objects.filter(resolved_at__gte=start, resolved_at__lt=end)
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    return qs.select_related("customer", "unit", "assignee").order_by("resolved_at", "id")


def open_complaints() -> QuerySet[Ticket]:
    return Ticket.objects.filter(kind=TicketKind.COMPLAINT, status__in=OPEN_STATUSES)


def assignable_agents(ticket: Ticket) -> list[User]:
    return agents_of(ticket.unit_id)


def sla_policies() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.order_by("kind", "priority")


def routing_rules() -> QuerySet[RoutingRule]:
    """All routing rules in the order they are tried (the first active match wins)."""
    return RoutingRule.objects.select_related("territory", "target_unit").order_by("position", "id")


def calendars_visible(user: Any) -> QuerySet[BusinessCalendar]:
    access = access_for(user)
    qs = BusinessCalendar.objects.select_related("unit")
    if not access.is_admin:
        qs = qs.filter(Q(unit__isnull=True) | Q(unit_id__in=access.unit_ids))
    return qs.order_by("unit__path", "name")


def calendar_get_for(user: Any, calendar_id: int) -> BusinessCalendar:
    calendar = calendars_visible(user).filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(_("Calendar not found."))
    return calendar


RESOLVED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
