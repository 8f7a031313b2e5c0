"""Administration writes that span the domain apps: deactivating an org unit.

The org app cannot see customers, tickets or campaigns (the layer rule), so what must be moved
out of a unit before it is deactivated is checked here, and then ``org.services`` does it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yiti.administration.selectors import unit_holdings
from yiti.core.errors import Conflict
from yiti.org.models import OrgUnit
from yiti.org.services import unit_set_active


@transaction.atomic
def unit_deactivate(*, unit: OrgUnit, actor: Any = None) -> int:
    """Deactivate ``unit`` and its subtree. Refused while any of them still owns customers,
    open tickets or running/paused campaigns; the message says what to move first, with
    counts. Returns how many units were deactivated."""
    held = unit_holdings(unit)
    if held.customers or held.open_tickets or held.campaigns:
        parts = []
        if held.customers:
            parts.append(
                ngettext(
                    "%(n)d customer (reassign it to another unit)",
                    "%(n)d customers (reassign them to another unit)",
                    held.customers,
                )
                % {"n": held.customers}
            )
        if held.open_tickets:
            parts.append(
                ngettext(
                    "%(n)d open ticket (move or close it)",
                    "%(n)d open tickets (move or close them)",
                    held.open_tickets,
                )
                % {"n": held.open_tickets}
            )
        if held.campaigns:
            parts.append(
                ngettext(
                    "%(n)d running or paused campaign (complete it or take the unit out of it)",
                    "%(n)d running or paused campaigns (complete them or take the unit out)",
                    held.campaigns,
                )
                % {"n": held.campaigns}
            )
        raise Conflict(
            _("%(unit)s cannot be deactivated yet: it or a unit below it still has %(what)s.")
            % {"unit": unit.name, "what": _("; ").join(parts)},
            code="unit_in_use",
            field="active",
        )
    return unit_set_active(unit=unit, active=False, actor=actor)


@transaction.atomic
def unit_reactivate(*, unit: OrgUnit, actor: Any = None) -> int:
    return unit_set_active(unit=unit, active=True, actor=actor)
