"""Org units, users, memberships (unit × role), API tokens and login attempts."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiti.core.models import TimeStampedModel
from yiti.org.choices import Role, UnitKind


class OrgUnit(TimeStampedModel):
    """A unit in the organisation tree: company, region/territory, branch, department, partner.

    ``path`` is the materialised path of ids (``/1/4/17/``) so a subtree is one indexed
    prefix query; services keep it in step with ``parent``.
    """

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("An inactive unit is not offered in pickers and opens no access."),
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A Yiti user. What they may see and do comes from their memberships."""

    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # set when somebody else chose the password (an administrator's first password): the user
    # must replace it at first sign-in, and after this time it opens nothing; empty: the user
    # chose the password (or has none yet)
    password_expires_at = models.DateTimeField(_("first password expires"), null=True, blank=True)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def label(self) -> str:
        return str(self)


class MembershipQuerySet(models.QuerySet["Membership"]):
    def current(self, on: date | None = None) -> MembershipQuerySet:
        """Memberships in force on ``on`` (today in the project's time zone): started, not
        ended, in an active unit. Access (``org.access``) reads only these."""
        on = on or timezone.localdate()
        return self.filter(
            models.Q(starts_on__isnull=True) | models.Q(starts_on__lte=on),
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gt=on),
            unit__active=True,
        )


class Membership(TimeStampedModel):
    """A user holds a role in a unit, from ``starts_on`` (empty: from the start) until the day
    before ``ends_on`` (empty: open-ended). Ending a membership sets ``ends_on``; the row stays
    as history. At most one open-ended membership per user, unit and role."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(
        _("ends on"), null=True, blank=True, help_text=_("The first day without this role.")
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "unit_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "role"],
                condition=models.Q(ends_on__isnull=True),
                name="membership_open_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gt=models.F("starts_on")),
                name="membership_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["unit", "role"], name="membership_unit_role")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.unit}"

    def in_force(self, on: date | None = None) -> bool:
        on = on or timezone.localdate()
        return (
            (self.starts_on is None or self.starts_on <= on)
            and (self.ends_on is None or self.ends_on > on)
            and self.unit.active
        )


class ApiToken(TimeStampedModel):
    """A bearer token for /api/v1. Only a hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginAttempt(models.Model):
    """Failed and successful sign-ins, for rate limiting and the audit of access."""

    at = models.DateTimeField(auto_now_add=True)
    username = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["username", "at"], name="login_user_at"),
            models.Index(fields=["ip_address", "at"], name="login_ip_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M} {'ok' if self.succeeded else 'failed'}"


class Notification(models.Model):
    """An in-app message to one user (SLA breach escalations, campaign auto-pause, ...)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=255, blank=True)
    kind = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_at"),
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return self.title
