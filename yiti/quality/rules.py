"""Who sees and changes what in the quality layer.

- The **ranking** is read by administrators and analysts (every unit) and region managers
  (the units of their region).
- The **hot issues** (rising topics and terms) are read by those and by service and care
  agents, over the units of their scope; the example tickets shown are only those the reader
  may open.
- The **indicator catalogue** is changed by administrators; the **topic catalogue** by
  administrators and region managers (as the SLA policies); a computation is asked for by
  administrators and region managers.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yiti.core.errors import PermissionDenied
from yiti.org.access import Access, access_for
from yiti.org.choices import Role
from yiti.quality.errors import QualityErrorCode

RANKING_ALL = frozenset({Role.ADMIN, Role.ANALYST})
RANKING_SCOPED = frozenset({Role.REGION_MANAGER})
HOT_ALL = RANKING_ALL
HOT_SCOPED = frozenset({Role.REGION_MANAGER, Role.SERVICE_AGENT, Role.CARE_AGENT})
COMPUTE_ROLES = frozenset({Role.ADMIN, Role.REGION_MANAGER})


def can_view_ranking(access: Access) -> bool:
    return bool(access.roles & (RANKING_ALL | RANKING_SCOPED))


def can_view_hot(access: Access) -> bool:
    return bool(access.roles & (HOT_ALL | HOT_SCOPED))


def can_manage_indicators(access: Access) -> bool:
    return access.is_admin


def can_compute(access: Access) -> bool:
    return bool(access.roles & COMPUTE_ROLES)


def unit_scope(access: Access, all_roles: frozenset[str]) -> frozenset[int] | None:
    """The units whose numbers the user reads: None for every unit."""
    if access.roles & all_roles:
        return None
    return access.unit_ids


def _deny(message: str) -> PermissionDenied:
    return PermissionDenied(message, code=QualityErrorCode.NOT_ALLOWED)


def require_ranking(user: Any) -> Access:
    access = access_for(user)
    if not can_view_ranking(access):
        raise _deny(_("The quality ranking is for administrators, analysts and region managers."))
    return access


def require_hot(user: Any) -> Access:
    access = access_for(user)
    if not can_view_hot(access):
        raise _deny(_("You may not see the hot issues."))
    return access


def require_manage_indicators(actor: Any) -> None:
    if actor is None:
        return
    if not can_manage_indicators(access_for(actor)):
        raise _deny(_("Only administrators change the indicator catalogue."))


def require_compute(actor: Any) -> None:
    if actor is None:
        return
    if not can_compute(access_for(actor)):
        raise _deny(_("Only administrators and region managers ask for a computation."))
