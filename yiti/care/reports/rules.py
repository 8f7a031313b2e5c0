"""Who may read and generate reports (decided here, documented in the app's README section).

- A unit's report: everyone whose scope (``access_for(user).unit_ids``) includes the unit.
- The company report: administrators, analysts and region managers (the people who compare
  units); other roles read the reports of their own units.
- Problem customers are personal data: in any report a reader sees only the rows of customers
  in their own scope, so an analyst (whose unit holds no customers) reads the numbers and a
  region manager reads the company's numbers but only his region's problem customers.
- "Generate now": administrators and region managers (a run recomputes every unit's report of
  the period, so it changes nothing a scheduled run would not).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from yiti.core.errors import PermissionDenied
from yiti.org.access import Access, access_for
from yiti.org.choices import Role

COMPANY_READERS = frozenset({Role.ADMIN, Role.ANALYST, Role.REGION_MANAGER})
GENERATORS = frozenset({Role.ADMIN, Role.REGION_MANAGER})


def can_read_company(access: Access) -> bool:
    return bool(access.roles & COMPANY_READERS)


def can_generate(access: Access) -> bool:
    return bool(access.roles & GENERATORS)


def snapshot_visible_q(access: Access) -> Q:
    q = Q(unit_id__in=access.unit_ids)
    if can_read_company(access):
        q |= Q(unit__isnull=True)
    return q


def require_generate(actor: Any) -> None:
    if not can_generate(access_for(actor)):
        raise PermissionDenied(
            _("Only administrators and region managers can generate reports."),
            code="permission_denied",
        )
