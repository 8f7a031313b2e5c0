"""Writes for org units, users, memberships and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.prepared import aware, fetch_all
from yiti.org.access import access_prime, access_reset
from yiti.org.choices import Role, UnitKind
from yiti.org.models import ApiToken, LoginAttempt, Membership, OrgUnit, User

TOKEN_PREFIX = "yiti_"  # noqa: S105 - a public prefix, not a secret


@transaction.atomic
def unit_create(
    *, name: str, code: str, kind: str, parent: OrgUnit | None = None, actor: Any = None
) -> OrgUnit:
    if kind not in UnitKind.values:
        raise ValidationFailed(_("Unknown unit kind: %(kind)s") % {"kind": kind}, field="kind")
    if parent is None and kind != UnitKind.COMPANY:
        raise ValidationFailed(_("Only a company can be a top-level unit."), field="parent")
    if OrgUnit.objects.filter(code=code).exists():
        raise ValidationFailed(_("A unit with this code already exists."), field="code")
    unit = OrgUnit.objects.create(name=name, code=code, kind=kind, parent=parent)
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.depth = (parent.depth + 1) if parent else 0
    unit.save(update_fields=["path", "depth"])
    audit_record(
        actor=actor, action="org.unit_create", obj=unit, changes={"name": name, "kind": kind}
    )
    return unit


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    display_name: str = "",
    email: str = "",
    actor: Any = None,
    is_superuser: bool = False,
) -> User:
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(_("This username is taken."), field="username")
    user = User(username=username, display_name=display_name, email=email)
    user.is_superuser = is_superuser
    user.is_staff = is_superuser
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(actor=actor, action="org.user_create", obj=user, changes={"username": username})
    return user


@transaction.atomic
def membership_grant(*, user: User, unit: OrgUnit, role: str, actor: Any = None) -> Membership:
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role: %(role)s") % {"role": role}, field="role")
    membership, created = Membership.objects.get_or_create(user=user, unit=unit, role=role)
    if created:
        audit_record(
            actor=actor,
            action="org.membership_grant",
            obj=membership,
            changes={"user": user.pk, "unit": unit.pk, "role": role},
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


def login_allowed(*, username: str, ip: str | None) -> bool:
    """False when too many failed sign-ins for this username or address in the window."""
    since = timezone.now() - timedelta(seconds=settings.YITI_LOGIN_WINDOW_SECONDS)
    limit = settings.YITI_LOGIN_MAX_ATTEMPTS
    failed = LoginAttempt.objects.filter(at__gte=since, succeeded=False)
    if failed.filter(username=username.lower()).count() >= limit:
        return False
    return not (ip and failed.filter(ip_address=ip).count() >= limit * 4)


def login_attempt_record(*, username: str, ip: str | None, succeeded: bool) -> None:
    LoginAttempt.objects.create(username=username.lower()[:150], ip_address=ip, succeeded=succeeded)


def notify(
    *,
    users: list[User],
    title: str,
    body: str = "",
    link: str = "",
    kind: str = "",
    email: bool = False,
) -> int:
    """In-app notification to each user; with ``email`` also an e-mail, sent after commit."""
    from django.core.mail import send_mail

    from yiti.org.models import Notification

    rows = [
        Notification(user=u, title=title[:200], body=body, link=link[:255], kind=kind)
        for u in users
    ]
    Notification.objects.bulk_create(rows)
    if email:
        recipients = [u.email for u in users if u.email]
        if recipients:
            transaction.on_commit(
                lambda: send_mail(
                    title[:200], f"{body}\n\n{link}".strip(), None, recipients, fail_silently=False
                )
            )
    return len(rows)


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    from yiti.org.models import Notification

    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
