"""The one timeline: every contact with a customer on any channel."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiti.core.models import TimeStampedModel
from yiti.customers.models import Customer
from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
    SuppressionReason,
)
from yiti.org.models import OrgUnit


class Interaction(models.Model):
    """One contact with a customer. Append-only.

    ``campaign_id``, ``wave_id`` and ``ticket_id`` link to objects of higher apps (campaigns,
    service) by id without a foreign key, so this app never imports them; those apps index
    and join on them.
    """

    # no index of its own: ``interaction_timeline`` leads with the customer and serves every
    # per-customer read — the timeline, and the policy's and the next best action's "this
    # customer's contacts since T" (a few rows, filtered by purpose and direction after the
    # seek); one index less to maintain on every insert and to build after a bulk load
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="interactions", db_index=False
    )
    occurred_at = models.DateTimeField(_("when"))
    channel = models.CharField(_("channel"), max_length=16, choices=InteractionChannel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=InteractionPurpose.choices)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.COMPLETED
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("details"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,  # ``interaction_actor``: partial, system and imported contacts have none
    )
    unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # ``interaction_unit``: partial, imported history names no unit
    )
    campaign_id = models.BigIntegerField(null=True, blank=True)
    wave_id = models.BigIntegerField(null=True, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    external_ref = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_timeline"),
            models.Index(fields=["occurred_at"], name="interaction_at"),
            # the contact policy's history read: outbound contacts by channel, purpose and time,
            # covering (no table lookup per row; ``direction`` too, or SQLite reads the table)
            models.Index(
                fields=["channel", "purpose", "occurred_at", "customer", "direction"],
                name="interaction_out_policy",
                condition=models.Q(direction="out"),
            ),
            models.Index(
                fields=["campaign_id"],
                name="interaction_campaign",
                condition=models.Q(campaign_id__isnull=False),
            ),
            models.Index(
                fields=["ticket_id"],
                name="interaction_ticket",
                condition=models.Q(ticket_id__isnull=False),
            ),
            models.Index(
                fields=["actor"],
                name="interaction_actor",
                condition=models.Q(actor__isnull=False),
            ),
            models.Index(
                fields=["unit"], name="interaction_unit", condition=models.Q(unit__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.channel}/{self.purpose} {self.outcome}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Interactions are append-only")
        super().save(*args, **kwargs)


class SuppressionQuerySet(models.QuerySet["Suppression"]):
    def active(self, at: datetime | None = None) -> SuppressionQuerySet:
        """Rows suppressing at ``at`` (default now): not lifted and not expired."""
        moment = at or timezone.now()
        return self.filter(lifted_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=moment)
        )


class Suppression(models.Model):
    """A reason not to market to a customer: the marketing suppression list.

    Service puts a customer here when a complaint opens (one row per complaint, ``source_type``
    "ticket") and lifts that row when the complaint is resolved; the customer is suppressed while
    any row is active. Campaigns and decisions read this table without importing service.

    A row with ``expires_at`` (a do-not-disturb request for three months) stops suppressing at
    that moment without being lifted: every reader of the active rows asks
    :meth:`SuppressionQuerySet.active` (or ``policy_data``'s SQL, which says the same).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="suppressions")
    reason = models.CharField(_("reason"), max_length=24, choices=SuppressionReason.choices)
    source_type = models.CharField(max_length=32, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(_("until"), null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "reason", "source_type", "source_id"],
                condition=models.Q(lifted_at__isnull=True),
                name="suppression_active_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["customer"],
                condition=models.Q(lifted_at__isnull=True),
                name="suppression_active_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.reason}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


class ContactPolicyRule(TimeStampedModel):
    """A contact cap: at most ``max_contacts`` weighted contacts in any ``window_days`` days.

    The scope is a list of purposes and a list of channels (an empty list means all). A contact
    in scope counts with the weight of its purpose (``weights``, e.g. ``{"marketing": 1,
    "service": 0.5, "care": 0.5}``; a purpose not listed counts 1), so service and care contacts
    add to the pressure that marketing may not exceed. Weights are counted in thousandths.
    "Any window of ``window_days`` days" is every span of ``window_days`` × 24 hours, or with
    ``calendar_days`` that many consecutive local days (ADR 0006). The contact policy engine
    (``yiti.engagement.policy``) applies every active rule.
    """

    name = models.CharField(_("name"), max_length=80, unique=True)
    max_contacts = models.PositiveIntegerField(_("at most (contacts)"))
    window_days = models.PositiveIntegerField(_("in any window of (days)"))
    purposes = models.JSONField(_("purposes"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    weights = models.JSONField(_("weights per purpose"), default=dict, blank=True)
    calendar_days = models.BooleanField(
        _("count whole calendar days"),
        default=False,
        help_text=_(
            "Off: the cap holds over every span of that many days × 24 hours. On: a window is "
            "that many consecutive local days, midnight to midnight."
        ),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("contact policy rule")
        verbose_name_plural = _("contact policy rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_days__gte=1), name="contact_rule_window_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: ≤{self.max_contacts} / {self.window_days}d"


class QuietHours(TimeStampedModel):
    """A time when no contact is planned on some channels (an empty list means all).

    ``days`` are ``Weekday`` numbers (Monday 0). From ``start`` to ``end`` local time; when
    ``end`` is before ``start`` the quiet time runs over midnight into the next day (21:00–08:00
    on Friday covers Friday 21:00 to Saturday 08:00); ``start`` equal to ``end`` is the whole day.
    """

    name = models.CharField(_("name"), max_length=80)
    days = models.JSONField(_("days of the week"), default=list)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("quiet hours")
        verbose_name_plural = _("quiet hours")

    def __str__(self) -> str:
        return f"{self.name}: {self.start:%H:%M}–{self.end:%H:%M}"
