"""Who may see and change which customer. The one place these rules live."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound, PermissionDenied
from yiti.org.access import Access, access_for
from yiti.org.roles import Perm


def visible_q(access: Access, *, prefix: str = "") -> Q:
    """Customers in the user's units (or below, for managers) or owned by the user."""
    if access.user_id is None:
        return Q(pk__in=[])
    q = Q(**{f"{prefix}unit_id__in": access.unit_ids})
    return q | Q(**{f"{prefix}owner_id": access.user_id})


def is_visible(access: Access, customer: Any) -> bool:
    return access.user_id is not None and (
        customer.unit_id in access.unit_ids or customer.owner_id == access.user_id
    )


def can_edit(access: Access, customer: Any) -> bool:
    """Managers edit every customer in scope; account managers their own and their unit's unassigned."""
    if not is_visible(access, customer):
        return False
    if access.has(Perm.CUSTOMER_EDIT_ANY):
        return True
    if access.has(Perm.CUSTOMER_EDIT):
        return customer.owner_id == access.user_id or (
            customer.owner_id is None and customer.unit_id in access.home_unit_ids
        )
    return False


def require_perm(actor: Any, perm: Perm) -> Access | None:
    """The actor's access after checking ``perm``; None for the system (CLI, tasks, demo)."""
    if actor is None:
        return None
    access = access_for(actor)
    access.require(perm)
    return access


def require_visible(actor: Any, customer: Any) -> None:
    if actor is None:
        return
    if not is_visible(access_for(actor), customer):
        raise NotFound(_("Customer not found."))


def require_edit(actor: Any, customer: Any) -> None:
    if actor is None:
        return
    access = access_for(actor)
    if not is_visible(access, customer):
        raise NotFound(_("Customer not found."))
    if not can_edit(access, customer):
        raise PermissionDenied(_("You may not change this customer."))


def require_unit_in_scope(actor: Any, unit_id: int) -> None:
    if actor is None:
        return
    if unit_id not in access_for(actor).unit_ids:
        raise PermissionDenied(
            _("That unit is outside your organisation scope."), code="unit_out_of_scope"
        )
