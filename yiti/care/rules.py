"""Who may see and work which care task, and who manages follow-up rules and surveys.

Seeing a care task: the customer is visible to the user (``customers.rules``: a care agent
of a region sees the customers of the region's units), or the task sits in one of the user's
units. Working it (recording attempts, sending the survey link): care agents, region managers
and administrators who can see it, and whoever it is assigned to. Account managers, who are
assigned the retention calls of their most valuable customers at risk, have the care queue
too, showing the calls assigned to them. Managing rules and survey templates: region
managers and administrators. ``actor=None`` is the system: no checks.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound, PermissionDenied
from yiti.customers.rules import is_visible, visible_q
from yiti.org.access import Access, access_for
from yiti.org.choices import Role

WORK_ROLES = frozenset({Role.CARE_AGENT, Role.REGION_MANAGER, Role.ADMIN})
MANAGE_ROLES = frozenset({Role.REGION_MANAGER, Role.ADMIN})
QUEUE_ROLES = WORK_ROLES | {Role.ACCOUNT_MANAGER}


def task_visible_q(access: Access) -> Q:
    """Care tasks whose customer the user sees, or that sit in one of the user's units."""
    if access.user_id is None:
        return Q(pk__in=[])
    return visible_q(access, prefix="customer__") | Q(unit_id__in=access.unit_ids)


def task_visible(access: Access, task: Any) -> bool:
    if access.user_id is None:
        return False
    if access.is_admin or task.unit_id in access.unit_ids:
        return True
    return is_visible(access, task.customer)


def can_work(access: Access, task: Any) -> bool:
    return task_visible(access, task) and (
        bool(access.roles & WORK_ROLES) or task.assignee_id == access.user_id
    )


def can_use_care(access: Access) -> bool:
    """Whether the care queue is for this user at all (navigation, queue page)."""
    return bool(access.roles & WORK_ROLES)


def can_use_queue(access: Access) -> bool:
    """Whether the user has a care queue: the care roles, and account managers for the calls
    assigned to them (:func:`queue_own_only`)."""
    return bool(access.roles & QUEUE_ROLES)


def queue_own_only(access: Access) -> bool:
    """An account manager (without a care role) sees only the calls assigned to him."""
    return not (access.roles & WORK_ROLES)


def can_manage(access: Access) -> bool:
    return bool(access.roles & MANAGE_ROLES)


def require_task_visible(actor: Any, task: Any) -> None:
    if actor is None:
        return
    if not task_visible(access_for(actor), task):
        raise NotFound(_("Care task not found."))


def require_work(actor: Any, task: Any) -> None:
    if actor is None:
        return
    access = access_for(actor)
    if not task_visible(access, task):
        raise NotFound(_("Care task not found."))
    if not can_work(access, task):
        raise PermissionDenied(
            _("Only care agents and their managers work care tasks."), code="not_a_care_role"
        )


def require_manage(actor: Any) -> None:
    if actor is None:
        return
    if not can_manage(access_for(actor)):
        raise PermissionDenied(
            _("Only administrators and region managers manage follow-up rules and surveys.")
        )
