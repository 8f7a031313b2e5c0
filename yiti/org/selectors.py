"""Reads for org units and users."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import ApiToken, Membership, Notification, OrgUnit, User


def units_visible(user: Any) -> QuerySet[OrgUnit]:
    """The active units the user's access opens, in tree order (for pickers and filters)."""
    return OrgUnit.objects.filter(id__in=access_for(user).unit_ids, active=True).order_by("path")


def users_in_units(
    unit_ids: set[int] | frozenset[int], *, role: str | None = None
) -> QuerySet[User]:
    """Active users with a membership in force (started, not ended) in one of ``unit_ids``."""
    memberships = Membership.objects.current().filter(unit_id__in=unit_ids)
    if role:
        memberships = memberships.filter(role=role)
    return User.objects.filter(is_active=True, pk__in=memberships.values("user_id")).order_by(
        "username"
    )


def account_managers_visible(user: Any) -> QuerySet[User]:
    return users_in_units(access_for(user).unit_ids, role=Role.ACCOUNT_MANAGER)


def account_managers_departing(user: Any) -> QuerySet[User]:
    """Whose customers may be handed over: the account managers in the user's scope, including
    deactivated ones and those whose membership has ended (the reassignment page lists them)."""
    unit_ids = access_for(user).unit_ids
    held = Membership.objects.filter(unit_id__in=unit_ids, role=Role.ACCOUNT_MANAGER)
    return User.objects.filter(pk__in=held.values("user_id")).order_by("-is_active", "username")


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def notifications_of(user: User) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notifications_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
