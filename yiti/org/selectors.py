"""Reads for org units and users."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import ApiToken, OrgUnit, User


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
