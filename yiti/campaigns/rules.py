"""Who may see, manage, sign and work what in campaigns. The one place these rules live.

* Campaigns, offers and segments are company-wide plans: every role with ``campaign.view``
  sees them and their funnels (aggregates, no personal data).
* Managing (offers, segments, campaigns, waves, plans, launch, pause) needs
  ``campaign.manage`` and, for a campaign, its owner unit in the user's scope.
* A checklist item is signed by a user holding one of the item's signer roles
  (``yiti.org.roles.CHECKLIST_SIGNERS``) in the item's responsible unit or a unit above it.
* A call or visit is worked by its assignee, or by a user with ``campaign.work`` who holds the
  wave's agent role and sees the customer.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yiti.core.errors import PermissionDenied
from yiti.customers.rules import is_visible
from yiti.org.access import Access, access_for
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit
from yiti.org.roles import CHECKLIST_SIGNERS, Perm


def can_view(access: Access) -> bool:
    return access.has(Perm.CAMPAIGN_VIEW)


def can_manage(access: Access, campaign: Any = None) -> bool:
    if not access.has(Perm.CAMPAIGN_MANAGE):
        return False
    if campaign is None or access.is_admin:
        return True
    return campaign.owner_unit_id in access.unit_ids


def require_view(actor: Any) -> None:
    if actor is not None and not can_view(access_for(actor)):
        raise PermissionDenied(_("Campaigns are not open to your role."))


def require_manage(actor: Any, campaign: Any = None) -> None:
    if actor is None:
        return
    if not can_manage(access_for(actor), campaign):
        raise PermissionDenied(
            _("Only campaign managers of the owner unit may change this campaign.")
            if campaign is not None
            else _("Only campaign managers may do this.")
        )


def can_sign(user: Any, kind: str, unit: OrgUnit) -> bool:
    """Whether ``user`` may sign a checklist item of ``kind`` for ``unit``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    access = access_for(user)
    if access.is_admin:
        return True
    if not access.has(Perm.CAMPAIGN_SIGN):
        return False
    roles = CHECKLIST_SIGNERS.get(kind, frozenset())
    ancestors = [int(part) for part in unit.path.strip("/").split("/") if part]
    return (
        Membership.objects.current()
        .filter(user_id=user.pk, role__in=roles, unit_id__in=ancestors)
        .exists()
    )


def require_sign(actor: Any, kind: str, unit: OrgUnit) -> None:
    if actor is not None and not can_sign(actor, kind, unit):
        raise PermissionDenied(
            _("You do not hold a role that signs this item for %(unit)s.") % {"unit": unit}
        )


def can_work(user: Any, delivery: Any) -> bool:
    """Whether ``user`` may record the outcome of this call or visit."""
    if user is None:
        return False
    access = access_for(user)
    if delivery.assignee_id == access.user_id and access.user_id is not None:
        return True
    if access.is_admin:
        return True
    if not access.has(Perm.CAMPAIGN_WORK) or not is_visible(access, delivery.customer):
        return False
    role = delivery.wave.agent_role or Role.SERVICE_AGENT
    return role in access.roles or Role.REGION_MANAGER in access.roles


def require_work(actor: Any, delivery: Any) -> None:
    if actor is not None and not can_work(actor, delivery):
        raise PermissionDenied(_("This call is not on your list."))


def can_record(user: Any, delivery: Any) -> bool:
    """Whether ``user`` may record a customer's response to this contact or link an order to
    it (an agent's note of a reply, an SMS gateway forwarding one): whoever may work it, or a
    user who sees the customer and works campaigns or manages this campaign."""
    if user is None:
        return False
    if can_work(user, delivery):
        return True
    access = access_for(user)
    if not is_visible(access, delivery.customer):
        return False
    return access.has(Perm.CAMPAIGN_WORK) or can_manage(access, delivery.campaign)


def require_record(actor: Any, delivery: Any) -> None:
    if actor is not None and not can_record(actor, delivery):
        raise PermissionDenied(_("You may not record answers to this campaign contact."))
