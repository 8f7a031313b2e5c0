"""API endpoints of the org app: who am I, and the small references other apps' schemas reuse."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from yiti.org.access import access_for

router = Router(tags=["me"])


class UnitRef(Schema):
    id: int
    code: str
    name: str

    @classmethod
    def of(cls, unit: Any) -> UnitRef:
        return cls(id=unit.pk, code=unit.code, name=unit.name)


class UserRef(Schema):
    id: int
    username: str
    display_name: str

    @classmethod
    def of(cls, user: Any) -> UserRef | None:
        if user is None:
            return None
        return cls(id=user.pk, username=user.username, display_name=str(user))


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    roles: list[str]
    perms: list[str]
    unit_ids: list[int]
    home_unit_ids: list[int]


@router.get("/me", response=MeOut, summary="The signed-in user, their roles and units")
def me(request: HttpRequest) -> MeOut:
    user = request.auth  # type: ignore[attr-defined]
    access = access_for(user)
    return MeOut(
        id=user.pk,
        username=user.username,
        display_name=str(user),
        email=user.email,
        roles=sorted(access.roles),
        perms=sorted(str(p) for p in access.perms),
        unit_ids=sorted(access.unit_ids),
        home_unit_ids=sorted(access.home_unit_ids),
    )
