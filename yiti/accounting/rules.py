"""Who may see and change what in accounting. The one place these rules live.

* **Unit × product results**: administrators and finance see every unit; a region manager
  sees his region (the units his membership opens). Others see none.
* **Scorecards**: administrators and finance see every account manager; a region manager
  those of his region; an account manager his own.
* **Campaign economics** (aggregates) are shown to whoever sees the campaign; its budget and
  cost lines are changed by the campaign's managers (``campaign.manage`` over its owner unit)
  and by finance.
* **Contact costs** (the charge per contact, as data) are set by administrators and finance.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yiti.accounting.errors import AccountingErrorCode
from yiti.campaigns import rules as campaign_rules
from yiti.core.errors import PermissionDenied
from yiti.org.access import Access, access_for
from yiti.org.choices import Role

EVERYTHING = frozenset({Role.ADMIN, Role.FINANCE})


def results_scope(access: Access) -> frozenset[int] | None:
    """The units whose results the user sees: None for all, else a set (empty: none)."""
    if access.is_admin or access.roles & EVERYTHING:
        return None
    if Role.REGION_MANAGER in access.roles:
        return access.unit_ids
    return frozenset()


def can_view_results(access: Access) -> bool:
    scope = results_scope(access)
    return scope is None or bool(scope)


def scorecard_scope(access: Access) -> tuple[frozenset[int] | None, int | None]:
    """(units whose account managers the user sees — None for all —, or only himself)."""
    if access.is_admin or access.roles & EVERYTHING:
        return None, None
    if Role.REGION_MANAGER in access.roles:
        return access.unit_ids, None
    if Role.ACCOUNT_MANAGER in access.roles:
        return frozenset(), access.user_id
    return frozenset(), None


def can_view_scorecards(access: Access) -> bool:
    units, own = scorecard_scope(access)
    return units is None or bool(units) or own is not None


def can_edit_costs(access: Access, campaign: Any) -> bool:
    return (
        campaign_rules.can_manage(access, campaign)
        or access.is_admin
        or (Role.FINANCE in access.roles)
    )


def can_set_contact_costs(access: Access) -> bool:
    return access.is_admin or Role.FINANCE in access.roles


def _deny(message: str) -> PermissionDenied:
    return PermissionDenied(message, code=AccountingErrorCode.NOT_ALLOWED)


def require_results(actor: Any) -> None:
    if not can_view_results(access_for(actor)):
        raise _deny(_("Unit and product results are open to finance and region managers."))


def require_scorecards(actor: Any) -> None:
    if not can_view_scorecards(access_for(actor)):
        raise _deny(_("Scorecards are open to account managers and their managers."))


def require_edit_costs(actor: Any, campaign: Any) -> None:
    if actor is not None and not can_edit_costs(access_for(actor), campaign):
        raise _deny(_("Only the campaign's managers and finance may change its budget and costs."))


def require_contact_costs(actor: Any) -> None:
    if actor is not None and not can_set_contact_costs(access_for(actor)):
        raise _deny(_("Only finance and administrators set the contact costs."))
