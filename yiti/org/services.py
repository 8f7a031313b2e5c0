"""Writes for org units, users, memberships and API tokens."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Max, Q, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.core.prepared import aware, fetch_all
from yiti.org.access import access_for, access_prime, access_reset
from yiti.org.choices import Role, UnitKind
from yiti.org.models import ApiToken, LoginAttempt, Membership, OrgUnit, User
from yiti.org.ratelimit import login_check
from yiti.org.roles import Perm

logger = logging.getLogger("yiti.org")

TOKEN_PREFIX = "yiti_"  # noqa: S105 - a public prefix, not a secret


def _require_org_manage(actor: Any) -> None:
    """Units are managed by administrators; ``actor=None`` is the system (CLI, seed)."""
    if actor is not None:
        access_for(actor).require(Perm.ORG_MANAGE)


def _unit_code_ok(code: str) -> str:
    code = (code or "").strip()
    if not code or not _CODE_RE.fullmatch(code):
        raise ValidationFailed(
            _("A code is 1–40 letters, digits, hyphens or underscores."), field="code"
        )
    return code


_CODE_RE = re.compile(r"[-a-zA-Z0-9_]{1,40}")
_UNIT_FIELDS = ("name", "code", "kind", "parent", "path", "depth", "active")


@transaction.atomic
def unit_create(
    *, name: str, code: str, kind: str, parent: OrgUnit | None = None, actor: Any = None
) -> OrgUnit:
    _require_org_manage(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the unit a name."), field="name", code="required")
    if len(name) > 120:
        raise ValidationFailed(_("A name has at most 120 characters."), field="name")
    code = _unit_code_ok(code)
    if kind not in UnitKind.values:
        raise ValidationFailed(_("Unknown unit kind: %(kind)s") % {"kind": kind}, field="kind")
    if parent is None and kind != UnitKind.COMPANY:
        raise ValidationFailed(_("Only a company can be a top-level unit."), field="parent")
    if parent is not None and kind == UnitKind.COMPANY:
        raise ValidationFailed(
            _("A company is a top-level unit: it has no parent."), field="parent"
        )
    if parent is not None and not parent.active:
        raise ValidationFailed(_("The parent unit is inactive."), field="parent")
    if parent is not None and len(parent.path) + 21 > 255:
        raise ValidationFailed(_("The tree is too deep here."), field="parent")
    if OrgUnit.objects.filter(code=code).exists():
        raise ValidationFailed(_("A unit with this code already exists."), field="code")
    unit = OrgUnit.objects.create(name=name, code=code, kind=kind, parent=parent)
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.depth = (parent.depth + 1) if parent else 0
    unit.save(update_fields=["path", "depth"])
    audit_record(
        actor=actor,
        action="org.unit_create",
        obj=unit,
        changes={"name": name, "code": code, "kind": kind, "parent": parent},
    )
    return unit


@transaction.atomic
def unit_rename(*, unit: OrgUnit, name: str, actor: Any = None) -> OrgUnit:
    _require_org_manage(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the unit a name."), field="name", code="required")
    if len(name) > 120:
        raise ValidationFailed(_("A name has at most 120 characters."), field="name")
    if name == unit.name:
        return unit
    before = snapshot(unit, ["name"])
    unit.name = name
    unit.save(update_fields=["name", "updated_at"])
    audit_record(
        actor=actor, action="org.unit_rename", obj=unit, changes=diff(before, {"name": name})
    )
    return unit


@transaction.atomic
def unit_move(*, unit: OrgUnit, parent: OrgUnit, actor: Any = None) -> OrgUnit:
    """Move ``unit`` and its whole subtree under ``parent``.

    Set-based: one UPDATE rewrites the materialised path and depth of every unit below, and
    stamps ``updated_at`` so the API's cached access scopes (versioned by the unit tree's last
    change, see ``token_authenticate``) are recomputed on the next request."""
    _require_org_manage(actor)
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    parent = OrgUnit.objects.get(pk=parent.pk)
    if unit.kind == UnitKind.COMPANY:
        raise ValidationFailed(_("A company stays a top-level unit."), field="parent")
    if parent.pk == unit.pk or parent.path.startswith(unit.path):
        raise ValidationFailed(
            _("A unit cannot move under itself or one of its own units."),
            field="parent",
            code="cycle",
        )
    if not parent.active:
        raise ValidationFailed(_("The parent unit is inactive."), field="parent")
    if unit.parent_id == parent.pk:
        return unit
    old_path, new_path = unit.path, f"{parent.path}{unit.pk}/"
    delta = parent.depth + 1 - unit.depth
    subtree = OrgUnit.objects.filter(path__startswith=old_path)
    longest = subtree.aggregate(n=Max(Length("path")))["n"] or len(old_path)
    if longest - len(old_path) + len(new_path) > 255:
        raise ValidationFailed(_("The tree would be too deep there."), field="parent")
    before = {"parent": unit.parent_id, "path": old_path}
    now = timezone.now()
    subtree.update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
        updated_at=now,
    )
    OrgUnit.objects.filter(pk=unit.pk).update(parent=parent, updated_at=now)
    unit.refresh_from_db()
    audit_record(
        actor=actor,
        action="org.unit_move",
        obj=unit,
        changes=diff(before, {"parent": parent.pk, "path": new_path}),
    )
    return unit


@transaction.atomic
def unit_set_active(*, unit: OrgUnit, active: bool, actor: Any = None) -> int:
    """Deactivate ``unit`` with its subtree, or reactivate it (with its subtree).

    What may not be left behind in an inactive unit (customers, open tickets, running
    campaigns) is checked by ``administration.services.unit_deactivate``, which calls this;
    here only the tree rules. Returns how many units changed."""
    _require_org_manage(actor)
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    if not active and unit.parent_id is None:
        raise ValidationFailed(
            _("The company itself cannot be deactivated."), field="active", code="company"
        )
    if active and unit.parent_id is not None:
        parent = OrgUnit.objects.get(pk=unit.parent_id)
        if not parent.active:
            raise ValidationFailed(
                _("Reactivate %(parent)s first: this unit sits under it.") % {"parent": parent},
                field="active",
                code="parent_inactive",
            )
    changed = OrgUnit.objects.filter(path__startswith=unit.path).exclude(active=active)
    ids = list(changed.values_list("id", flat=True))
    if not ids:
        return 0
    OrgUnit.objects.filter(pk__in=ids).update(active=active, updated_at=timezone.now())
    audit_record(
        actor=actor,
        action="org.unit_activate" if active else "org.unit_deactivate",
        obj=unit,
        changes={"active": [not active, active], "units": sorted(ids)},
    )
    unit.refresh_from_db()
    return len(ids)


# --- users -----------------------------------------------------------------------------------

USER_FIELDS = ("display_name", "email", "phone", "is_active")


def can_manage_people(actor: Any) -> bool:
    """Administrators, and region managers for the people of their region."""
    if actor is None:
        return True
    access = access_for(actor)
    return access.has(Perm.ORG_MANAGE) or bool(access.managed_unit_ids)


def _open_memberships(user: User) -> Any:
    return Membership.objects.filter(user=user).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=timezone.localdate())
    )


def can_manage_user(actor: Any, user: User) -> bool:
    """Administrators: anybody. Region managers: a user whose memberships (not ended) are all
    inside their region and who is neither an administrator nor a superuser."""
    if actor is None:
        return True
    access = access_for(actor)
    if access.has(Perm.ORG_MANAGE):
        return True
    if not access.managed_unit_ids or user.is_superuser or user.pk == actor.pk:
        return False
    rows = list(_open_memberships(user).values_list("unit_id", "role"))
    return bool(rows) and all(
        unit_id in access.managed_unit_ids and role != Role.ADMIN for unit_id, role in rows
    )


def require_manage_user(actor: Any, user: User) -> None:
    if not can_manage_user(actor, user):
        raise PermissionDenied(
            _(
                "Only administrators, or the region manager of all of this person's units, may do this."
            ),
            code="permission_denied",
        )


def _require_grant(actor: Any, unit: OrgUnit, role: str) -> None:
    if actor is None:
        return
    access = access_for(actor)
    if access.has(Perm.ORG_MANAGE):
        return
    if role == Role.ADMIN:
        raise PermissionDenied(
            _("Only administrators may grant the administrator role."), code="permission_denied"
        )
    if unit.pk not in access.managed_unit_ids:
        raise PermissionDenied(
            _("You may grant roles only in the units of your region."), code="permission_denied"
        )


def password_check(password: str, *, user: User | None = None) -> None:
    """Django's AUTH_PASSWORD_VALIDATORS; the messages joined, on the field ``password``."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages), field="password", code="weak_password"
        ) from exc


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError as exc:
            raise ValidationFailed(_("Enter a valid e-mail address."), field="email") from exc
    return email


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if phone and not _PHONE_RE.fullmatch(phone):
        raise ValidationFailed(
            _("A phone number has 5–20 digits, optionally with +, spaces or hyphens."),
            field="phone",
        )
    return phone


_PHONE_RE = re.compile(r"\+?[0-9][0-9 \-]{4,24}")
_USERNAME_RE = re.compile(r"[\w.@+-]{1,150}")


@dataclass(frozen=True)
class MembershipInput:
    unit: OrgUnit
    role: str
    starts_on: date | None = None
    ends_on: date | None = None


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    actor: Any = None,
    is_superuser: bool = False,
    memberships: Sequence[MembershipInput] = (),
    send_link: bool = False,
    base_url: str | None = None,
    first_password: bool | None = None,
) -> User:
    """A user with a first password (checked by Django's password validators) or none (an
    unusable password; ``send_link`` e-mails a set-password link after commit), and the
    memberships given. A region manager must give at least one, inside his region.

    A password chosen by somebody else is a first password (``first_password``; by default
    when an ``actor`` makes the account): the user must change it at first sign-in, within
    ``YITI_FIRST_PASSWORD_DAYS``, after which it no longer signs in."""
    if actor is not None:
        if not can_manage_people(actor):
            raise PermissionDenied(_("You may not create users."), code="permission_denied")
        access = access_for(actor)
        if not access.has(Perm.ORG_MANAGE):
            if is_superuser:
                raise PermissionDenied(
                    _("Only administrators may create superusers."), code="permission_denied"
                )
            if not memberships:
                raise ValidationFailed(
                    _("Give the new user a role in one of your region's units."),
                    field="unit",
                    code="required",
                )
    username = (username or "").strip()
    if not _USERNAME_RE.fullmatch(username):
        raise ValidationFailed(
            _("A username is 1–150 letters, digits and @ . + - _ characters."), field="username"
        )
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(_("This username is taken."), field="username")
    email = _clean_email(email)
    phone = _clean_phone(phone)
    if send_link and not email:
        raise ValidationFailed(
            _("A set-password link needs an e-mail address."), field="email", code="required"
        )
    user = User(username=username, display_name=(display_name or "").strip()[:80], email=email)
    user.phone = phone
    user.is_superuser = is_superuser
    user.is_staff = is_superuser
    if password:
        password_check(password, user=user)
        user.set_password(password)
        if first_password if first_password is not None else actor is not None:
            user.password_expires_at = timezone.now() + timedelta(
                days=settings.YITI_FIRST_PASSWORD_DAYS
            )
    else:
        user.set_unusable_password()
    user.save()
    audit_record(
        actor=actor,
        action="org.user_create",
        obj=user,
        changes={
            "username": username,
            "display_name": user.display_name,
            "email": email,
            "phone": phone,
            "is_superuser": is_superuser,
            "password": "set" if password else "link" if send_link else "none",
        },
    )
    for m in memberships:
        membership_grant(
            user=user,
            unit=m.unit,
            role=m.role,
            starts_on=m.starts_on,
            ends_on=m.ends_on,
            actor=actor,
        )
    if send_link:
        password_link_send(user=user, actor=actor, base_url=base_url)
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    actor: Any = None,
    display_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> User:
    require_manage_user(actor, user)
    before = snapshot(user, ["display_name", "email", "phone"])
    if display_name is not None:
        user.display_name = display_name.strip()[:80]
    if email is not None:
        user.email = _clean_email(email)
    if phone is not None:
        user.phone = _clean_phone(phone)
    after = snapshot(user, ["display_name", "email", "phone"])
    changes = diff(before, after)
    if changes:
        user.save(update_fields=["display_name", "email", "phone"])
        audit_record(actor=actor, action="org.user_update", obj=user, changes=changes)
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool, actor: Any = None) -> User:
    """Deactivate (sign-in, sessions and API tokens stop at once: the token check reads
    ``is_active`` on every request, and the tokens are revoked as well) or reactivate."""
    require_manage_user(actor, user)
    if actor is not None and user.pk == getattr(actor, "pk", None) and not active:
        raise ValidationFailed(_("You cannot deactivate yourself."), field="active")
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    revoked = 0
    if not active:
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), updated_at=timezone.now()
        )
    audit_record(
        actor=actor,
        action="org.user_activate" if active else "org.user_deactivate",
        obj=user,
        changes={"is_active": [not active, active], "tokens_revoked": revoked},
    )
    access_reset(user)
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: Any = None) -> User:
    """An administrator (or the user's region manager) sets a new password, validated."""
    require_manage_user(actor, user)
    password_check(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="org.user_set_password", obj=user, changes={"password": "set"})
    return user


def password_link_send(*, user: User, actor: Any = None, base_url: str | None = None) -> None:
    """E-mail ``user`` a link to choose a password; enqueued after commit (``org.tasks``),
    never sent in the request. The link holds Django's password-reset token, which stops
    working once the password changes."""
    require_manage_user(actor, user)
    if not user.email:
        raise ValidationFailed(
            _("This user has no e-mail address for the link."), field="email", code="required"
        )
    audit_record(actor=actor, action="org.password_link_send", obj=user, changes={})
    user_id, base = user.pk, (base_url or settings.YITI_BASE_URL).rstrip("/")
    transaction.on_commit(lambda: _enqueue_password_link(user_id, base))


def _enqueue_password_link(user_id: int, base_url: str) -> None:
    from yiti.org.tasks import password_link_task

    try:
        password_link_task.enqueue(user_id=user_id, base_url=base_url)
    except Exception:  # a broken queue must not fail the committed change
        logger.exception("could not enqueue the set-password link for user %s", user_id)


# --- memberships -----------------------------------------------------------------------------


@transaction.atomic
def membership_grant(
    *,
    user: User,
    unit: OrgUnit,
    role: str,
    actor: Any = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Membership:
    """``user`` holds ``role`` in ``unit`` from ``starts_on`` until the day before ``ends_on``.

    Granting what the user holds open-ended already returns that membership unchanged."""
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role: %(role)s") % {"role": role}, field="role")
    _require_grant(actor, unit, role)
    if actor is not None and not access_for(actor).has(Perm.ORG_MANAGE):
        has_open = _open_memberships(user).exists()
        if has_open:
            require_manage_user(actor, user)
    if not unit.active:
        raise ValidationFailed(_("This unit is inactive."), field="unit", code="unit_inactive")
    if starts_on and ends_on and ends_on <= starts_on:
        raise ValidationFailed(_("The end date must be after the start date."), field="ends_on")
    if ends_on is not None and ends_on <= timezone.localdate():
        raise ValidationFailed(_("The end date must be in the future."), field="ends_on")
    existing = Membership.objects.filter(user=user, unit=unit, role=role, ends_on__isnull=True)
    found = existing.first()
    if found is not None:
        if ends_on is None and starts_on in (None, found.starts_on):
            return found
        raise ValidationFailed(
            _("%(user)s already holds this role in %(unit)s.") % {"user": user, "unit": unit},
            field="role",
            code="duplicate",
        )
    membership = Membership.objects.create(
        user=user, unit=unit, role=role, starts_on=starts_on, ends_on=ends_on
    )
    audit_record(
        actor=actor,
        action="org.membership_grant",
        obj=membership,
        changes={
            "user": user.pk,
            "unit": unit.pk,
            "role": role,
            "starts_on": starts_on,
            "ends_on": ends_on,
        },
    )
    access_reset(user)
    return membership


@transaction.atomic
def membership_end(
    *, membership: Membership, actor: Any = None, ends_on: date | None = None
) -> Membership:
    """End a membership: ``ends_on`` (today by default) is the first day without the role.
    The row stays as history."""
    user = membership.user
    require_manage_user(actor, user)
    _require_grant(actor, membership.unit, membership.role)
    today = timezone.localdate()
    ends_on = ends_on or today
    if ends_on < today:
        raise ValidationFailed(_("A membership cannot end in the past."), field="ends_on")
    if membership.ends_on is not None and membership.ends_on <= today:
        raise ValidationFailed(_("This membership has ended already."), code="ended")
    before = snapshot(membership, ["starts_on", "ends_on"])
    if membership.starts_on and ends_on <= membership.starts_on:
        # not started yet: it never opens anything (the record keeps a one-day span before now)
        membership.starts_on = ends_on - timedelta(days=1)
    membership.ends_on = ends_on
    membership.save(update_fields=["starts_on", "ends_on", "updated_at"])
    audit_record(
        actor=actor,
        action="org.membership_end",
        obj=membership,
        changes=diff(before, snapshot(membership, ["starts_on", "ends_on"])),
        summary=f"{user.username} {membership.role} @ {membership.unit.code}",
    )
    access_reset(user)
    return membership


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str, actor: Any = None) -> tuple[ApiToken, str]:
    """Create a bearer token; returns the model and the raw token, which is never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Give the token a name."), field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:80], prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=_hash_token(raw)
    )
    audit_record(actor=actor or user, action="org.token_create", obj=token, changes={"name": name})
    return token, raw


@transaction.atomic
def token_revoke(*, user: User, token_id: int, actor: Any = None) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(_("No such active token."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    audit_record(actor=actor or user, action="org.token_revoke", obj=token)
    return token


_TOKEN_TOUCH = timedelta(minutes=5)
_token_touched: dict[int, datetime] = {}  # token id -> when this process last stamped it


_USER_COLUMNS = [f.column for f in User._meta.concrete_fields]
_USER_ATTNAMES = [f.attname for f in User._meta.concrete_fields]
_USER_DATETIMES = [
    i for i, f in enumerate(User._meta.concrete_fields) if f.get_internal_type() == "DateTimeField"
]


@functools.cache
def _token_sql() -> str:
    u, t, m, o = (
        User._meta.db_table,
        ApiToken._meta.db_table,
        Membership._meta.db_table,
        OrgUnit._meta.db_table,
    )
    columns = ", ".join(f"u.{c}" for c in _USER_COLUMNS)
    return (
        f"SELECT {columns}, t.id, "  # noqa: S608
        f"(SELECT COUNT(*) FROM {m} WHERE user_id = u.id), "
        f"(SELECT MAX(updated_at) FROM {m} WHERE user_id = u.id), "
        f"(SELECT COUNT(*) FROM {o}), (SELECT MAX(updated_at) FROM {o}) "
        f"FROM {u} u JOIN {t} t ON t.user_id = u.id "
        f"WHERE t.token_hash = %s AND t.revoked_at IS NULL"
    )


def token_authenticate(raw: str) -> User | None:
    """The active user of a token that is not revoked, or None.

    One query per call (prepared on PostgreSQL: ``core.prepared``): the token, its user and
    the version of the user's access (his memberships and the unit tree), so the unit scope
    is reused from the process cache (``access_prime``) until a membership or unit changes;
    a revoked token or a deactivated user is refused at once. ``last_used_at`` is stamped at
    most every five minutes.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    found = fetch_all(_token_sql(), [_hash_token(raw)])
    if not found:
        return None
    row = list(found[0])
    n = len(_USER_ATTNAMES)
    for i in _USER_DATETIMES:
        row[i] = aware(row[i])
    user = User.from_db(connection.alias, _USER_ATTNAMES, row[:n])
    if not user.is_active:
        return None
    token_id, *version = row[n:]
    access_prime(user, (user.is_active, user.is_superuser, *version))
    token_id = int(token_id)
    now = timezone.now()
    touched = _token_touched.get(token_id)
    if touched is None or now - touched > _TOKEN_TOUCH:
        _token_touched[token_id] = now
        ApiToken.objects.filter(pk=token_id).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - _TOKEN_TOUCH)
        ).update(last_used_at=now)
    return user


def must_change_password(user: Any) -> bool:
    """The user signs in with a first password somebody else chose and must replace it."""
    return getattr(user, "password_expires_at", None) is not None


def first_password_expired(user: Any, *, now: datetime | None = None) -> bool:
    expires = getattr(user, "password_expires_at", None)
    return expires is not None and (now or timezone.now()) >= expires


def own_password_changed(*, user: User) -> None:
    """The user chose his own password (changed it, or through a set-password link): no first
    password is pending any more."""
    if user.password_expires_at is not None:
        user.password_expires_at = None
        user.save(update_fields=["password_expires_at"])


def login_key(username: str) -> str:
    """The username as sign-in compares it (Django's ``UsernameField``: stripped, NFKC), in
    lower case: what the rate limit counts, so `` am_nb1`` is the same account as ``am_nb1``."""
    return unicodedata.normalize("NFKC", username.strip()).lower()[:150]


def login_allowed(*, username: str, ip: str | None) -> bool:
    """False when a sign-in for this username from this address must not be tried now: too
    many failures for the username, a flood from the address, or an address spraying one
    password over many accounts (``org.ratelimit``; ``login_check`` also says how long)."""
    return login_check(key=login_key(username), ip=ip).allowed


def login_attempt_record(*, username: str, ip: str | None, succeeded: bool) -> None:
    LoginAttempt.objects.create(username=login_key(username), ip_address=ip, succeeded=succeeded)


def notify(
    *,
    users: list[User],
    title: str,
    body: str = "",
    link: str = "",
    kind: str = "",
    email: bool = False,
) -> int:
    """In-app notification to each user; with ``email`` also an e-mail to each, queued in this
    transaction (``channels.outbox``) and sent by the worker after commit, with retries."""
    from yiti.channels.choices import Channel
    from yiti.channels.outbox import outbox_enqueue
    from yiti.org.models import Notification

    rows = [
        Notification(user=u, title=title[:200], body=body, link=link[:255], kind=kind)
        for u in users
    ]
    Notification.objects.bulk_create(rows)
    if email:
        text = f"{body}\n\n{link}".strip()
        for user in users:
            if user.email:
                outbox_enqueue(
                    channel=Channel.EMAIL,
                    to=user.email,
                    subject=title[:200],
                    body=text,
                    idempotency_key=f"notify-{user.pk}-{secrets.token_hex(8)}",
                    kind="org.notification",
                    metadata={"user_id": user.pk, "kind": kind},
                )
    return len(rows)


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    from yiti.org.models import Notification

    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
