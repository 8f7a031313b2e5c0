"""Access scoping in one place: which units a user's memberships open, and what they may do.

Every selector that returns customers (or anything owned by a customer) filters through
``Access.unit_ids``; every service that changes something checks ``Access.require``.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from yiti.core.errors import PermissionDenied
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit
from yiti.org.roles import ROLE_PERMS, UNIT_ONLY_ROLES, Perm

_CACHE_ATTR = "_yiti_access"


@dataclass(frozen=True)
class Access:
    user_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    perms: frozenset[Perm] = field(default_factory=frozenset)
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    home_unit_ids: frozenset[int] = field(default_factory=frozenset)
    # units whose people this user may manage: every unit for administrators, the subtrees
    # of his region-manager memberships for a region manager (issue 12), else none
    managed_unit_ids: frozenset[int] = field(default_factory=frozenset)

    def has(self, perm: Perm) -> bool:
        return perm in self.perms

    def require(self, perm: Perm) -> None:
        if perm not in self.perms:
            raise PermissionDenied(
                _("You do not have permission to do this."), code="permission_denied"
            )

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


def _compute(user: Any) -> Access:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Access(user_id=None)
    # only memberships in force today (started, not ended) in active units open anything
    memberships = list(
        Membership.objects.current()
        .filter(user_id=user.pk)
        .select_related("unit")
        .only("role", "unit__id", "unit__path")
    )
    roles = frozenset(m.role for m in memberships)
    if user.is_superuser:
        # a Django superuser (e.g. from `yiti createsuperuser`, with no membership at all) is an
        # administrator of the whole tree
        roles |= {Role.ADMIN}
        all_ids = frozenset(OrgUnit.objects.values_list("id", flat=True))
        roots = OrgUnit.objects.filter(parent__isnull=True).values_list("id", flat=True)
        return Access(
            user_id=user.pk,
            roles=roles,
            perms=frozenset(Perm),
            unit_ids=all_ids,
            home_unit_ids=frozenset(roots),
            managed_unit_ids=all_ids,
        )
    perms: set[Perm] = set()
    for role in roles:
        perms |= ROLE_PERMS.get(role, frozenset())
    unit_ids: set[int] = set()
    subtree_paths = [m.unit.path for m in memberships if m.role not in UNIT_ONLY_ROLES]
    for m in memberships:
        unit_ids.add(m.unit_id)
    # people are managed by administrators and region managers in their subtrees; those
    # subtrees are among the ones read for the scope, so one query serves both
    region_paths = [m.unit.path for m in memberships if m.role in (Role.ADMIN, Role.REGION_MANAGER)]
    managed: set[int] = set()
    if subtree_paths:
        q = Q()
        for path in subtree_paths:
            q |= Q(path__startswith=path)
        for unit_id, path in OrgUnit.objects.filter(q).values_list("id", "path"):
            unit_ids.add(unit_id)
            if region_paths and path.startswith(tuple(region_paths)):
                managed.add(unit_id)
    return Access(
        user_id=user.pk,
        roles=roles,
        perms=frozenset(perms),
        unit_ids=frozenset(unit_ids),
        home_unit_ids=frozenset(m.unit_id for m in memberships),
        managed_unit_ids=frozenset(managed),
    )


def access_for(user: Any) -> Access:
    """The user's access, computed once per user object (i.e. once per request)."""
    if user is None:
        return Access(user_id=None)
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = _compute(user)
        with contextlib.suppress(AttributeError):  # AnonymousUser and the like
            setattr(user, _CACHE_ATTR, cached)
    return cached


# Access per user kept across requests by the API's token path (``access_prime``): the unit
# scope is two queries and a subtree walk, the same for every call of one integration. An entry
# is used only while the version read with the token (the user's active/superuser flags, count
# and last change of his memberships, count and last change of the unit tree) is unchanged,
# and at most ACCESS_TTL seconds (a raw SQL change that touches neither is seen then).
ACCESS_TTL = 60.0
_access_cache: dict[int, tuple[tuple[Any, ...], float, Access]] = {}


def access_prime(user: Any, version: tuple[Any, ...]) -> Access:
    """The user's access from the process cache when ``version`` is unchanged, else computed;
    set on ``user`` so that :func:`access_for` answers it for the rest of the request."""
    now = time.monotonic()
    hit = _access_cache.get(user.pk)
    if hit is not None and hit[0] == version and now - hit[1] < ACCESS_TTL:
        access = hit[2]
    else:
        access = _compute(user)
        _access_cache[user.pk] = (version, now, access)
    setattr(user, _CACHE_ATTR, access)
    return access


def access_cache_clear() -> None:
    _access_cache.clear()


def access_reset(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
