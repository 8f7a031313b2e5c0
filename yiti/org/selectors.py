"""Reads for org units and users."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import ApiToken, Notification, OrgUnit, User


def units_visible(user: Any) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(id__in=access_for(user).unit_ids).order_by("path")


def users_in_units(
    unit_ids: set[int] | frozenset[int], *, role: str | None = None
) -> QuerySet[User]:
    qs = User.objects.filter(is_active=True, memberships__unit_id__in=unit_ids)
    if role:
        qs = qs.filter(memberships__role=role)
    return qs.distinct().order_by("username")


def account_managers_visible(user: Any) -> QuerySet[User]:
    return users_in_units(access_for(user).unit_ids, role=Role.ACCOUNT_MANAGER)


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def notifications_of(user: User) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notifications_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
