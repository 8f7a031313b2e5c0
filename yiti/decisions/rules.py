"""Who may see the value page, start a refit and change the value settings.

- The value page (fit parameters, tier counts, migration; aggregates, no personal data):
  administrators, analysts and campaign managers, who compare the whole book.
- "Refit now": administrators and analysts.
- Unit costs to serve and tier thresholds: administrators.
- One customer's scores (the customer page panel, ``GET /customers/{id}/value``): whoever may
  see the customer (``customers.rules``).
``actor=None`` is the system (schedule, CLI, demo seed): no checks.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yiti.core.errors import PermissionDenied
from yiti.org.access import Access, access_for
from yiti.org.choices import Role

VIEW_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.CAMPAIGN_MANAGER})
REFIT_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
SETTINGS_ROLES = frozenset({Role.ADMIN})


def can_view_value(access: Access) -> bool:
    return bool(access.roles & VIEW_ROLES)


def can_refit(access: Access) -> bool:
    return bool(access.roles & REFIT_ROLES)


def can_edit_settings(access: Access) -> bool:
    return bool(access.roles & SETTINGS_ROLES)


def require_view(actor: Any) -> None:
    if actor is not None and not can_view_value(access_for(actor)):
        raise PermissionDenied(
            _("The value model is for administrators, analysts and campaign managers.")
        )


def require_refit(actor: Any) -> None:
    if actor is not None and not can_refit(access_for(actor)):
        raise PermissionDenied(_("Only administrators and analysts refit the value model."))


def require_settings(actor: Any) -> None:
    if actor is not None and not can_edit_settings(access_for(actor)):
        raise PermissionDenied(_("Only administrators change the value settings."))
