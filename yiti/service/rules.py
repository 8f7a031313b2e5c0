"""Who may see and work which ticket, and who manages SLA policies and calendars.

Seeing a ticket: the customer is visible to the user (``customers.rules``), or the ticket sits
in the queue of one of the user's units (their units and the units below, as for customers).
Working a ticket (status changes, assignment, public replies): service agents, region managers
and administrators who can see it, and whoever it is assigned to. Anyone who can see a ticket
may add an internal note. ``actor=None`` is the system (tasks, demo, imports): no checks.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yiti.core.errors import NotFound, PermissionDenied
from yiti.customers.rules import is_visible
from yiti.org.access import Access, access_for
from yiti.org.choices import Role

WORK_ROLES = frozenset({Role.SERVICE_AGENT, Role.REGION_MANAGER, Role.ADMIN})
MANAGE_ROLES = frozenset({Role.REGION_MANAGER, Role.ADMIN})


def ticket_visible(access: Access, ticket: Any) -> bool:
    if access.user_id is None:
        return False
    if access.is_admin or ticket.unit_id in access.unit_ids:
        return True
    return is_visible(access, ticket.customer)


def can_work(access: Access, ticket: Any) -> bool:
    return ticket_visible(access, ticket) and (
        bool(access.roles & WORK_ROLES) or ticket.assignee_id == access.user_id
    )


def can_manage_sla(access: Access) -> bool:
    return bool(access.roles & MANAGE_ROLES)


def require_ticket_visible(actor: Any, ticket: Any) -> None:
    if actor is None:
        return
    if not ticket_visible(access_for(actor), ticket):
        raise NotFound(_("Ticket not found."))


def require_work(actor: Any, ticket: Any) -> None:
    if actor is None:
        return
    access = access_for(actor)
    if not ticket_visible(access, ticket):
        raise NotFound(_("Ticket not found."))
    if not can_work(access, ticket):
        raise PermissionDenied(_("You may not work on this ticket."), code="not_a_service_role")


def require_manage_sla(actor: Any) -> Access | None:
    if actor is None:
        return None
    access = access_for(actor)
    if not can_manage_sla(access):
        raise PermissionDenied(
            _("Only administrators and region managers manage SLA policies and calendars.")
        )
    return access
