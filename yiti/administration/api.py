"""API of the administration: org units, users and memberships (mounted at /api/v1/org).

Thin like every API module: schemas in, a service or selector call, schemas out. Who may do
what is decided by the services (administrators everything; region managers the people of
their region); errors are the JSON ``{"code", "message", "field"}`` of ``yiti.api.errors``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import ConfigDict

from yiti.administration import selectors
from yiti.administration.services import unit_deactivate, unit_reactivate
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.org.access import access_for
from yiti.org.api import UnitRef
from yiti.org.choices import Role, UnitKind
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.roles import Perm
from yiti.org.services import (
    MembershipInput,
    can_manage_people,
    membership_end,
    membership_grant,
    password_link_send,
    unit_create,
    unit_move,
    unit_rename,
    user_create,
    user_set_active,
    user_set_password,
    user_update,
)

router = Router(tags=["organisation"])

MAX_ID = 2**63 - 1  # ids are 64-bit: anything larger is a 422, never an overflow


def _id_path(description: str) -> Any:
    return Path(..., ge=1, le=MAX_ID, description=description)


# --- schemas --------------------------------------------------------------------------------


class OrgUnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent: UnitRef | None
    depth: int
    active: bool

    @classmethod
    def of(cls, unit: OrgUnit) -> OrgUnitOut:
        return cls(
            id=unit.pk,
            code=unit.code,
            name=unit.name,
            kind=unit.kind,
            parent=UnitRef.of(unit.parent) if unit.parent_id else None,
            depth=unit.depth,
            active=unit.active,
        )


class UnitPage(Schema):
    items: list[OrgUnitOut]
    page: int
    page_size: int
    has_next: bool


class UnitQuery(Schema):
    active: Literal["yes", "no", "all"] = "all"
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(200, ge=1, le=MAX_PAGE_SIZE)


UnitRefIn = int | str


class UnitIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$")
    kind: UnitKind
    parent: UnitRefIn | None = Field(None, description="Parent unit id or code (none: a company).")


class UnitPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    parent: UnitRefIn | None = Field(None, description="Move under this unit (id or code).")
    active: bool | None = Field(
        None, description="false deactivates the unit and its subtree (refused while in use)."
    )


class MembershipOut(Schema):
    id: int
    unit: UnitRef
    role: str
    starts_on: date | None
    ends_on: date | None
    in_force: bool

    @classmethod
    def of(cls, m: Membership) -> MembershipOut:
        return cls(
            id=m.pk,
            unit=UnitRef.of(m.unit),
            role=m.role,
            starts_on=m.starts_on,
            ends_on=m.ends_on,
            in_force=m.in_force(),
        )


class MembershipIn(Schema):
    model_config = ConfigDict(extra="forbid")

    unit: UnitRefIn = Field(description="Unit id or code.")
    role: Role
    starts_on: date | None = None
    ends_on: date | None = Field(None, description="The first day without the role.")


def _mask_phone(phone: str) -> str:
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    phone: str = Field(description="Masked.")
    active: bool
    superuser: bool
    last_login: Any = None
    memberships: list[MembershipOut]

    @classmethod
    def of(cls, user: User, memberships: list[Membership]) -> UserOut:
        return cls(
            id=user.pk,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            phone=_mask_phone(user.phone) if user.phone else "",
            active=user.is_active,
            superuser=user.is_superuser,
            last_login=user.last_login,
            memberships=[MembershipOut.of(m) for m in memberships],
        )


class UserPage(Schema):
    items: list[UserOut]
    page: int
    page_size: int
    has_next: bool


class UserQuery(Schema):
    q: str = Field(
        "", max_length=100, description="Username or e-mail prefix, or part of the name."
    )
    unit: int | None = Field(
        None, ge=1, le=MAX_ID, description="Holds a role in this unit or below."
    )
    role: Role | None = None
    active: Literal["yes", "no", "all"] = "yes"
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class UserIn(Schema):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150)
    display_name: str = Field("", max_length=80)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=32)
    password: str | None = Field(
        None, max_length=128, description="A first password (checked by the password rules)."
    )
    send_link: bool = Field(False, description="E-mail a link to choose a password instead.")
    memberships: list[MembershipIn] = Field(default_factory=list, max_length=50)


class UserPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, max_length=80)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    active: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=128)
    send_link: bool | None = Field(None, description="true: e-mail a set-password link.")


# --- helpers --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _unit_ref(ref: int | str, *, field: str) -> OrgUnit:
    unit = None
    if isinstance(ref, int):
        if 1 <= ref <= MAX_ID:
            unit = OrgUnit.objects.select_related("parent").filter(pk=ref).first()
    else:
        text = ref.strip()
        unit = OrgUnit.objects.select_related("parent").filter(code=text).first()
        if unit is None and text.isdigit() and len(text) < 19:
            unit = OrgUnit.objects.select_related("parent").filter(pk=int(text)).first()
    if unit is None:
        raise ValidationFailed(
            _("No unit with id or code %(ref)s.") % {"ref": ref}, field=field, code="unknown_unit"
        )
    return unit


def _require_people(actor: Any) -> None:
    if not can_manage_people(actor):
        raise PermissionDenied(
            _("Only administrators and region managers manage people and their roles.")
        )


def _user_out(user: User) -> UserOut:
    memberships = list(Membership.objects.filter(user=user).select_related("unit"))
    return UserOut.of(user, memberships)


def _visible_user(actor: Any, user_id: int) -> User:
    user = selectors.users_visible(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."))
    return user


# --- units ----------------------------------------------------------------------------------


@router.get("/units", response=UnitPage, summary="Org units in tree order")
def units_list(request: HttpRequest, query: Query[UnitQuery]) -> UnitPage:
    access = access_for(_user(request))
    qs = OrgUnit.objects.select_related("parent").order_by("path")
    if not access.has(Perm.ORG_MANAGE):
        qs = qs.filter(pk__in=access.unit_ids | access.managed_unit_ids)
    if query.active != "all":
        qs = qs.filter(active=query.active == "yes")
    page = paginate(qs, page=query.page, size=query.page_size)
    return UnitPage(
        items=[OrgUnitOut.of(u) for u in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post("/units", response={201: OrgUnitOut}, summary="Create an org unit (administrators)")
def units_create(request: HttpRequest, payload: UnitIn) -> Status[OrgUnitOut]:
    parent = _unit_ref(payload.parent, field="parent") if payload.parent is not None else None
    unit = unit_create(
        actor=_user(request),
        name=payload.name,
        code=payload.code,
        kind=payload.kind,
        parent=parent,
    )
    unit = OrgUnit.objects.select_related("parent").get(pk=unit.pk)
    return Status(201, OrgUnitOut.of(unit))


@router.patch(
    "/units/{unit_id}",
    response=OrgUnitOut,
    summary="Rename, move or (de)activate an org unit (administrators)",
)
def units_update(
    request: HttpRequest, payload: UnitPatch, unit_id: int = _id_path("Unit id")
) -> OrgUnitOut:
    actor = _user(request)
    access_for(actor).require(Perm.ORG_MANAGE)
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("No such unit."))
    changes = payload.model_dump(exclude_unset=True)
    with transaction.atomic():
        if changes.get("name") is not None:
            unit_rename(unit=unit, name=changes["name"], actor=actor)
        if "parent" in changes:
            if changes["parent"] is None:
                raise ValidationFailed(
                    _("Only a company is a top-level unit."), field="parent", code="required"
                )
            unit = unit_move(
                unit=unit, parent=_unit_ref(changes["parent"], field="parent"), actor=actor
            )
        if changes.get("active") is False and unit.active:
            unit_deactivate(unit=unit, actor=actor)
        elif changes.get("active") is True and not unit.active:
            unit_reactivate(unit=unit, actor=actor)
    return OrgUnitOut.of(OrgUnit.objects.select_related("parent").get(pk=unit.pk))


# --- users ----------------------------------------------------------------------------------


@router.get("/users", response=UserPage, summary="Users you may manage, with their roles")
def users_list(request: HttpRequest, query: Query[UserQuery]) -> UserPage:
    actor = _user(request)
    _require_people(actor)
    filters = selectors.UserFilters(
        q=query.q.strip(), unit=query.unit, role=query.role or "", active=query.active
    )
    page = paginate(selectors.user_list(actor, filters), page=query.page, size=query.page_size)
    ids = [u.pk for u in page.items]
    by_user: dict[int, list[Membership]] = {i: [] for i in ids}
    for m in Membership.objects.filter(user_id__in=ids).select_related("unit"):
        by_user[m.user_id].append(m)
    return UserPage(
        items=[UserOut.of(u, by_user[u.pk]) for u in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post("/users", response={201: UserOut}, summary="Create a user with roles")
def users_create(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    actor = _user(request)
    _require_people(actor)
    if payload.password and payload.send_link:
        raise ValidationFailed(
            _("Give a first password or ask for a link, not both."), field="send_link"
        )
    memberships = [
        MembershipInput(
            unit=_unit_ref(m.unit, field=f"memberships.{i}.unit"),
            role=m.role,
            starts_on=m.starts_on,
            ends_on=m.ends_on,
        )
        for i, m in enumerate(payload.memberships)
    ]
    user = user_create(
        actor=actor,
        username=payload.username,
        password=payload.password,
        display_name=payload.display_name,
        email=payload.email,
        phone=payload.phone,
        memberships=memberships,
        send_link=payload.send_link,
        base_url=request.build_absolute_uri("/"),
    )
    return Status(201, _user_out(user))


@router.get("/users/{user_id}", response=UserOut, summary="One user with every membership")
def users_detail(request: HttpRequest, user_id: int = _id_path("User id")) -> UserOut:
    actor = _user(request)
    _require_people(actor)
    return _user_out(_visible_user(actor, user_id))


@router.patch("/users/{user_id}", response=UserOut, summary="Change, (de)activate or reset a user")
def users_update(
    request: HttpRequest, payload: UserPatch, user_id: int = _id_path("User id")
) -> UserOut:
    actor = _user(request)
    _require_people(actor)
    user = _visible_user(actor, user_id)
    changes = payload.model_dump(exclude_unset=True)
    with transaction.atomic():
        details = {
            k: changes[k] for k in ("display_name", "email", "phone") if changes.get(k) is not None
        }
        if details:
            user_update(user=user, actor=actor, **details)
        if changes.get("password"):
            user_set_password(user=user, password=changes["password"], actor=actor)
        if changes.get("send_link"):
            password_link_send(user=user, actor=actor, base_url=request.build_absolute_uri("/"))
        if changes.get("active") is not None:
            user_set_active(user=user, active=changes["active"], actor=actor)
    user.refresh_from_db()
    return _user_out(user)


@router.post(
    "/users/{user_id}/memberships",
    response={201: MembershipOut},
    summary="Grant a role in a unit",
)
def memberships_grant(
    request: HttpRequest, payload: MembershipIn, user_id: int = _id_path("User id")
) -> Status[MembershipOut]:
    actor = _user(request)
    _require_people(actor)
    user = _visible_user(actor, user_id) if not access_for(actor).has(Perm.ORG_MANAGE) else None
    if user is None:
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise NotFound(_("No such user."))
    membership = membership_grant(
        user=user,
        unit=_unit_ref(payload.unit, field="unit"),
        role=payload.role,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        actor=actor,
    )
    membership = Membership.objects.select_related("unit").get(pk=membership.pk)
    return Status(201, MembershipOut.of(membership))


@router.delete(
    "/memberships/{membership_id}",
    response=MembershipOut,
    summary="End a membership today (the record stays)",
)
def memberships_end(
    request: HttpRequest, membership_id: int = _id_path("Membership id")
) -> MembershipOut:
    actor = _user(request)
    _require_people(actor)
    membership = Membership.objects.select_related("unit", "user").filter(pk=membership_id).first()
    if (
        membership is None
        or not selectors.users_visible(actor).filter(pk=membership.user_id).exists()
    ):
        raise NotFound(_("No such membership."))
    membership = membership_end(membership=membership, actor=actor, ends_on=timezone.localdate())
    return MembershipOut.of(membership)
