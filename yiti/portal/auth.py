"""Signing customers in: one-time codes, the portal's own sessions and the app's bearer tokens.

Separate from staff sign-in on purpose: a customer never holds a Django user, the browser
session is the cookie ``yiti_portal`` (path ``/portal/``) and the app's tokens start with
``yp_``, so no staff page or staff API accepts them, and the portal accepts neither a staff
session nor a staff token.

* A code is six digits, valid five minutes, kept as an HMAC with a per-code salt, used once.
* Requests are limited per number (one a minute, five an hour) and per client address
  (twenty an hour); five wrong codes lock the number for fifteen minutes.
* A number that belongs to no customer gets the same answer, limits and lock-out as one that
  does (a code row is made and never sent): the page never tells who is a customer.
* The code is sent through the SMS channel adapter (``channels.registry.adapter_for``; in the
  embedded demo it lands in the SMS outbox file) once its row is committed, in the request:
  the customer is waiting for it, and a queued task would keep the code in clear in the task
  table (only its hash may be stored). The price: with an HTTP gateway a known number's answer
  takes the gateway's time longer than an unknown one's (a timing difference, not a message).
* Every sign-in lands on the customer's timeline (channel portal, inbound) and in the audit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yiti.channels.base import OutboundMessage
from yiti.channels.choices import Channel
from yiti.channels.registry import adapter_for
from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.core.masking import mask_email, mask_phone
from yiti.customers.choices import ContactKind, CustomerStatus
from yiti.customers.contacts import normalize_email, normalize_phone
from yiti.customers.models import ContactPoint, Customer
from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
)
from yiti.engagement.services import interaction_record
from yiti.portal.choices import CodePurpose, SessionKind
from yiti.portal.errors import PortalErrorCode as E
from yiti.portal.errors import Throttled, Unauthenticated
from yiti.portal.models import OneTimeCode, PortalSession

log = logging.getLogger("yiti.portal")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def code_ttl() -> timedelta:
    return timedelta(seconds=_setting("YITI_PORTAL_CODE_SECONDS", 300))


def max_failures() -> int:
    return _setting("YITI_PORTAL_MAX_WRONG_CODES", 5)


def lock_time() -> timedelta:
    return timedelta(seconds=_setting("YITI_PORTAL_LOCK_SECONDS", 900))


def resend_interval() -> timedelta:
    return timedelta(seconds=_setting("YITI_PORTAL_RESEND_SECONDS", 60))


def per_target_hour() -> int:
    return _setting("YITI_PORTAL_CODES_PER_HOUR", 5)


def per_ip_hour() -> int:
    return _setting("YITI_PORTAL_CODES_PER_IP_HOUR", 20)


def web_session_age() -> timedelta:
    return timedelta(seconds=_setting("YITI_PORTAL_SESSION_SECONDS", 2 * 3600))


def access_ttl() -> timedelta:
    return timedelta(seconds=_setting("YITI_PORTAL_ACCESS_SECONDS", 15 * 60))


def refresh_ttl() -> timedelta:
    return timedelta(seconds=_setting("YITI_PORTAL_REFRESH_SECONDS", 30 * 24 * 3600))


COOKIE_NAME = "yiti_portal"
COOKIE_PATH = "/portal/"
TOKEN_PREFIX = "yp_"  # noqa: S105  (a prefix, not a secret)
REFRESH_PREFIX = "ypr_"
TOUCH_EVERY = timedelta(minutes=5)


# --- hashing -----------------------------------------------------------------------------------


def _code_hash(salt: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"portal-code:{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def secret_hash(raw: str) -> str:
    """Session keys and tokens are 256 random bits: a plain SHA-256 is enough to keep them."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _minutes(delta: timedelta) -> int:
    return max(1, ceil(delta.total_seconds() / 60))


# --- who has this phone ------------------------------------------------------------------------


def phone_normalize(raw: str) -> str:
    try:
        return normalize_phone(raw).normalized
    except ValidationFailed as exc:
        raise ValidationFailed(
            _("Enter a valid mobile number."), field="phone", code=E.INVALID_PHONE
        ) from exc


def customers_by_phone(phone: str) -> list[Customer]:
    """The customers (not merged) with this E.164 phone among their contact points, oldest
    first: the accounts a phone may sign in to."""
    ids = ContactPoint.objects.filter(kind=ContactKind.PHONE, normalized=phone).values(
        "customer_id"
    )
    return list(
        Customer.objects.filter(pk__in=ids)
        .exclude(status=CustomerStatus.MERGED)
        .select_related("unit")
        .order_by("pk")
    )


# --- one-time codes ----------------------------------------------------------------------------


def _latest(purpose: str, target: str, customer: Customer | None = None) -> OneTimeCode | None:
    codes = OneTimeCode.objects.filter(purpose=purpose, target=target)
    if customer is not None:
        codes = codes.filter(customer=customer)
    return codes.order_by("-created_at", "-id").first()


def _refuse_if_locked(row: OneTimeCode | None, now: datetime) -> None:
    if row is not None and row.locked_until is not None and row.locked_until > now:
        minutes = _minutes(row.locked_until - now)
        raise Throttled(
            ngettext(
                "Too many wrong codes: this number is locked. Try again in %(n)d minute.",
                "Too many wrong codes: this number is locked. Try again in %(n)d minutes.",
                minutes,
            )
            % {"n": minutes},
            code=E.LOCKED,
            retry_after=int((row.locked_until - now).total_seconds()),
        )


def _check_limits(
    *, purpose: str, target: str, ip: str | None, now: datetime, latest: OneTimeCode | None
) -> None:
    _refuse_if_locked(latest, now)
    if latest is not None and latest.created_at > now - resend_interval():
        wait = int((latest.created_at + resend_interval() - now).total_seconds()) + 1
        raise Throttled(
            ngettext(
                "A code was sent a moment ago. You can ask for another in %(n)d second.",
                "A code was sent a moment ago. You can ask for another in %(n)d seconds.",
                wait,
            )
            % {"n": wait},
            code=E.TOO_SOON,
            retry_after=wait,
        )
    hour = now - timedelta(hours=1)
    recent = OneTimeCode.objects.filter(purpose=purpose, target=target, created_at__gt=hour)
    if recent.count() >= per_target_hour():
        raise Throttled(
            _("Too many codes asked for this number. Try again in an hour."),
            code=E.TOO_MANY_REQUESTS,
            retry_after=3600,
        )
    if ip and OneTimeCode.objects.filter(ip_address=ip, created_at__gt=hour).count() >= (
        per_ip_hour()
    ):
        raise Throttled(
            _("Too many codes asked from your network. Try again in an hour."),
            code=E.TOO_MANY_REQUESTS,
            retry_after=3600,
        )


def _send(channel: str, to: str, body: str, subject: str, key: str) -> None:
    result = adapter_for(channel).send(
        OutboundMessage(
            channel=Channel(channel), to=to, body=body, subject=subject, idempotency_key=key
        )
    )
    if result.status != "sent":
        log.warning("portal code %s not sent: %s", key, result.error)


def _code_text(code: str) -> str:
    return _(
        "Your Yiti code is %(code)s. It is valid for %(minutes)d minutes. "
        "Never tell it to anyone, not even our staff."
    ) % {"code": code, "minutes": _minutes(code_ttl())}


def code_request(
    *,
    phone: str,
    ip: str | None,
    now: datetime | None = None,
) -> OneTimeCode:
    """Send a sign-in code to ``phone`` if it is a customer's; either way the same answer.

    Raises :class:`Throttled` (nothing written) when the number is locked or asked too often,
    or the client's address asked too often. The SMS goes once the code is committed."""
    row, text = _code_create(phone=phone, ip=ip, now=now or timezone.now())
    if row.sent:
        _send(Channel.SMS, row.target, text, "", f"portal-code-{row.pk}")
    return row


@transaction.atomic
def _code_create(*, phone: str, ip: str | None, now: datetime) -> tuple[OneTimeCode, str]:
    target = phone_normalize(phone)
    latest = _latest(CodePurpose.SIGN_IN, target)
    _check_limits(purpose=CodePurpose.SIGN_IN, target=target, ip=ip, now=now, latest=latest)
    customers = customers_by_phone(target)
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    row = OneTimeCode.objects.create(
        purpose=CodePurpose.SIGN_IN,
        target=target,
        salt=salt,
        code_hash=_code_hash(salt, code),
        expires_at=now + code_ttl(),
        ip_address=ip,
        sent=bool(customers),
    )
    audit_record(
        actor=None,
        action="portal.code_request",
        obj=row,
        customer_id=customers[0].pk if len(customers) == 1 else None,
        changes={"phone": target, "sent": bool(customers)},
        summary=_("Portal sign-in code asked for %(phone)s") % {"phone": mask_phone(target)},
    )
    return row, _code_text(code)


def _fail(row: OneTimeCode, now: datetime) -> None:
    """Count a wrong code (its own transaction: it stays when the caller's answer is an error)."""
    with transaction.atomic():
        row = OneTimeCode.objects.select_for_update().get(pk=row.pk)
        row.failures += 1
        locked = row.failures >= max_failures()
        if locked:
            row.locked_until = now + lock_time()
        row.save(update_fields=["failures", "locked_until", "updated_at"])
        audit_record(
            actor=None,
            action="portal.code_lock" if locked else "portal.code_wrong",
            obj=row,
            customer_id=row.customer_id,
            changes={"failures": row.failures},
        )
    if locked:
        _refuse_if_locked(row, now)
    left = max_failures() - row.failures
    raise ValidationFailed(
        ngettext(
            "The code is wrong. %(n)d attempt left.",
            "The code is wrong. %(n)d attempts left.",
            left,
        )
        % {"n": left},
        field="code",
        code=E.CODE_WRONG,
    )


def code_check(
    *,
    purpose: str,
    target: str,
    code: str,
    customer: Customer | None = None,
    now: datetime | None = None,
) -> OneTimeCode:
    """The latest code sent to ``target``, marked used, when ``code`` is it: else a clear error —
    wrong (counted; the fifth locks the number), expired, already used, none asked for."""
    now = now or timezone.now()
    code = (code or "").strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise ValidationFailed(
            _("Enter the six digits of the code."), field="code", code=E.CODE_REQUIRED
        )
    row = _latest(purpose, target, customer)
    if row is None:
        raise ValidationFailed(_("Ask for a code first."), field="code", code=E.NO_CODE)
    _refuse_if_locked(row, now)
    if not hmac.compare_digest(row.code_hash, _code_hash(row.salt, code)):
        _fail(row, now)
    if row.used_at is not None:
        raise ValidationFailed(
            _("This code has been used already. Ask for a new one."),
            field="code",
            code=E.CODE_USED,
        )
    if row.expires_at <= now:
        raise ValidationFailed(
            _("This code has expired. Ask for a new one."), field="code", code=E.CODE_EXPIRED
        )
    taken = OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
        used_at=now, updated_at=now
    )
    if not taken:  # a concurrent sign-in with the same code won
        raise ValidationFailed(
            _("This code has been used already. Ask for a new one."),
            field="code",
            code=E.CODE_USED,
        )
    row.used_at = now
    return row


# --- sessions and tokens -----------------------------------------------------------------------


@dataclass
class SignedIn:
    """A new session: the secrets to hand to the client (shown once, kept only hashed), and the
    accounts to choose from while the session has no customer yet."""

    session: PortalSession
    key: str
    refresh: str = ""
    accounts: list[Customer] | None = None


def _record_sign_in(session: PortalSession, now: datetime) -> None:
    customer = session.customer
    assert customer is not None
    interaction_record(
        actor=None,
        customer=customer,
        channel=InteractionChannel.PORTAL,
        direction=Direction.INBOUND,
        purpose=InteractionPurpose.SERVICE,
        outcome=Outcome.COMPLETED,
        subject=(
            _("Signed in to the mobile business hall")
            if session.kind == SessionKind.API
            else _("Signed in to the online business hall")
        ),
        occurred_at=now,
        external_ref=f"portal-s{session.pk}",
        check_access=False,
    )
    audit_record(
        actor=None,
        action="portal.sign_in",
        obj=session,
        customer_id=customer.pk,
        changes={"kind": session.kind, "phone": session.phone},
        summary=_("Customer signed in to the portal"),
    )


def _new_secrets(kind: str, now: datetime) -> tuple[str, str, dict[str, Any]]:
    if kind == SessionKind.WEB:
        key = secrets.token_urlsafe(32)
        return key, "", {"key_hash": secret_hash(key), "expires_at": now + web_session_age()}
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    return (
        key,
        refresh,
        {
            "key_hash": secret_hash(key),
            "expires_at": now + access_ttl(),
            "refresh_hash": secret_hash(refresh),
            "refresh_expires_at": now + refresh_ttl(),
        },
    )


def sign_in(
    *,
    kind: str,
    phone: str,
    code: str,
    ip: str | None,
    user_agent: str = "",
    now: datetime | None = None,
) -> SignedIn:
    """Check the code and open a session (``web``: a cookie key; ``api``: access and refresh
    tokens). A phone of several customers gets a session without a customer and the accounts
    to pick from (:func:`account_pick`). The code is checked first, outside the session's
    transaction, so that a wrong code stays counted."""
    now = now or timezone.now()
    target = phone_normalize(phone)
    code_check(purpose=CodePurpose.SIGN_IN, target=target, code=code, now=now)
    with transaction.atomic():
        return _open(kind=kind, target=target, ip=ip, user_agent=user_agent, now=now)


def _open(*, kind: str, target: str, ip: str | None, user_agent: str, now: datetime) -> SignedIn:
    accounts = customers_by_phone(target)
    if not accounts:  # the number lost its customer since the code was sent
        raise ValidationFailed(_("The code is wrong."), field="code", code=E.CODE_WRONG)
    key, refresh, values = _new_secrets(kind, now)
    session = PortalSession.objects.create(
        kind=kind,
        customer=accounts[0] if len(accounts) == 1 else None,
        phone=target,
        ip_address=ip,
        user_agent=(user_agent or "")[:200],
        last_seen_at=now,
        **values,
    )
    if session.customer is not None:
        _record_sign_in(session, now)
        return SignedIn(session=session, key=key, refresh=refresh)
    audit_record(
        actor=None,
        action="portal.code_accepted",
        obj=session,
        changes={"phone": target, "accounts": [c.pk for c in accounts]},
    )
    return SignedIn(session=session, key=key, refresh=refresh, accounts=accounts)


@transaction.atomic
def account_pick(
    *, session: PortalSession, choice: int, now: datetime | None = None
) -> PortalSession:
    """The account (1-based position in :func:`customers_by_phone`) a session of a phone with
    several customers signs in to."""
    now = now or timezone.now()
    session = PortalSession.objects.select_for_update().get(pk=session.pk)
    if session.customer_id is not None or session.revoked_at is not None:
        raise ValidationFailed(_("You are signed in already."), code=E.ACCOUNT_REQUIRED)
    accounts = customers_by_phone(session.phone)
    if not 1 <= choice <= len(accounts):
        raise ValidationFailed(
            _("Choose one of your accounts."), field="account", code=E.ACCOUNT_REQUIRED
        )
    session.customer = accounts[choice - 1]
    session.save(update_fields=["customer", "updated_at"])
    _record_sign_in(session, now)
    return session


def session_from_key(
    raw: str | None, *, kind: str, now: datetime | None = None
) -> PortalSession | None:
    """The live session of a cookie key or an access token (one query), or None. A web session
    slides forward while used (its expiry is written at most every five minutes)."""
    if not raw or len(raw) > 120:
        return None
    if kind == SessionKind.API and not raw.startswith(TOKEN_PREFIX):
        return None
    now = now or timezone.now()
    session = (
        PortalSession.objects.select_related("customer")
        .filter(key_hash=secret_hash(raw), kind=kind, revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if session is None:
        return None
    if session.customer is not None and session.customer.status == CustomerStatus.MERGED:
        return None
    if kind == SessionKind.WEB and (
        session.last_seen_at is None or now - session.last_seen_at > TOUCH_EVERY
    ):
        session.last_seen_at, session.expires_at = now, now + web_session_age()
        PortalSession.objects.filter(pk=session.pk).update(
            last_seen_at=now, expires_at=session.expires_at
        )
    return session


@transaction.atomic
def tokens_refresh(*, refresh: str, now: datetime | None = None) -> SignedIn:
    """A new access token and a new refresh token for a live refresh token; the old pair stops
    working (rotation: a stolen refresh token works once at most)."""
    now = now or timezone.now()
    refresh = (refresh or "").strip()
    session = (
        PortalSession.objects.select_for_update()
        .filter(
            kind=SessionKind.API,
            refresh_hash=secret_hash(refresh) if refresh.startswith(REFRESH_PREFIX) else "-",
            revoked_at__isnull=True,
            refresh_expires_at__gt=now,
        )
        .first()
    )
    if session is None:
        raise Unauthenticated(
            _("The refresh token is not valid. Sign in again."), code=E.TOKEN_INVALID
        )
    key, new_refresh, values = _new_secrets(SessionKind.API, now)
    for name, value in values.items():
        setattr(session, name, value)
    session.last_seen_at = now
    session.save(
        update_fields=[
            "key_hash",
            "expires_at",
            "refresh_hash",
            "refresh_expires_at",
            "last_seen_at",
            "updated_at",
        ]
    )
    audit_record(
        actor=None, action="portal.token_refresh", obj=session, customer_id=session.customer_id
    )
    return SignedIn(session=session, key=key, refresh=new_refresh)


@transaction.atomic
def sign_out(*, session: PortalSession, now: datetime | None = None) -> None:
    now = now or timezone.now()
    PortalSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now, updated_at=now
    )
    audit_record(actor=None, action="portal.sign_out", obj=session, customer_id=session.customer_id)


# --- confirming a new phone or e-mail -----------------------------------------------------------


def contact_target(kind: str, value: str) -> str:
    if kind == ContactKind.PHONE:
        return phone_normalize(value)
    if kind == ContactKind.EMAIL:
        return normalize_email(value).normalized
    raise ValidationFailed(
        _("Only a phone or an e-mail address can be changed here."), field="kind"
    )


def contact_code_request(
    *, customer: Customer, kind: str, value: str, ip: str | None, now: datetime | None = None
) -> OneTimeCode:
    """Send a code to the new phone (SMS) or e-mail address, to prove it is the customer's."""
    row, text = _contact_code_create(
        customer=customer, kind=kind, value=value, ip=ip, now=now or timezone.now()
    )
    channel = Channel.SMS if kind == ContactKind.PHONE else Channel.EMAIL
    subject = _("Your Yiti code") if channel == Channel.EMAIL else ""
    _send(channel, row.target, text, subject, f"portal-contact-{row.pk}")
    return row


@transaction.atomic
def _contact_code_create(
    *, customer: Customer, kind: str, value: str, ip: str | None, now: datetime
) -> tuple[OneTimeCode, str]:
    target = contact_target(kind, value)
    if ContactPoint.objects.filter(customer=customer, kind=kind, normalized=target).exists():
        raise ValidationFailed(
            _("This is already one of your contacts."), field="value", code="duplicate_contact"
        )
    latest = _latest(CodePurpose.CONTACT, target, customer)
    _check_limits(purpose=CodePurpose.CONTACT, target=target, ip=ip, now=now, latest=latest)
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    row = OneTimeCode.objects.create(
        purpose=CodePurpose.CONTACT,
        target=target,
        customer=customer,
        salt=salt,
        code_hash=_code_hash(salt, code),
        expires_at=now + code_ttl(),
        ip_address=ip,
        sent=True,
    )
    masked = mask_phone(target) if kind == ContactKind.PHONE else mask_email(target)
    audit_record(
        actor=None,
        action="portal.contact_code",
        obj=row,
        customer_id=customer.pk,
        changes={"kind": kind, "value": target},
        summary=_("Code sent to confirm %(value)s") % {"value": masked},
    )
    return row, _code_text(code)
