"""Reads of the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound
from yiti.customers.models import Customer
from yiti.customers.selectors import CustomerFilters, customer_list, customers_visible
from yiti.engagement.choices import InteractionChannel, InteractionPurpose, SuppressionReason
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression


@dataclass(frozen=True)
class TimelineFilters:
    channel: str = ""
    purpose: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> TimelineFilters:
        channel = data.get("channel") or ""
        purpose = data.get("purpose") or ""
        return cls(
            channel=channel if channel in InteractionChannel.values else "",
            purpose=purpose if purpose in InteractionPurpose.values else "",
        )


def timeline(customer: Customer, filters: TimelineFilters | None = None) -> QuerySet[Interaction]:
    """The customer's contacts, newest first (the caller has checked the customer is visible)."""
    qs = Interaction.objects.filter(customer=customer).select_related("actor", "unit")
    if filters and filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters and filters.purpose:
        qs = qs.filter(purpose=filters.purpose)
    return qs.order_by("-occurred_at", "-id")


def suppressions_active(customer: Customer) -> QuerySet[Suppression]:
    return Suppression.objects.active().filter(customer=customer).order_by("-created_at")


def is_suppressed(customer: Customer) -> bool:
    return suppressions_active(customer).exists()


def suppressed_customer_ids() -> QuerySet[Suppression, Any]:
    """A subquery of suppressed customer ids, for set-based audience and policy queries."""
    return Suppression.objects.active().order_by().values("customer_id").distinct()


# --- the contact policy's settings (read by the administration pages and the API) -----------


def contact_rules() -> QuerySet[ContactPolicyRule]:
    """Every rule, active first, in the order the engine applies them."""
    return ContactPolicyRule.objects.order_by("-active", "id")


def quiet_hours_all() -> QuerySet[QuietHours]:
    return QuietHours.objects.order_by("-active", "id")


@dataclass(frozen=True)
class SuppressionFilters:
    """One filter for the do-not-disturb page and the API."""

    q: str = ""  # the customer: name, phone or external id (as the customer search reads it)
    customer_id: int | None = None
    reason: str = ""
    state: str = "active"  # active | ended (lifted or expired) | all

    STATES = ("active", "ended", "all")

    @classmethod
    def from_mapping(cls, data: Any) -> SuppressionFilters:
        reason = str(data.get("reason") or "")
        state = str(data.get("state") or "active")
        raw_customer = data.get("customer_id")
        try:
            customer_id = int(raw_customer) if raw_customer not in (None, "") else None
        except (TypeError, ValueError):
            customer_id = None
        return cls(
            q=str(data.get("q") or "").strip()[:100],
            customer_id=customer_id,
            reason=reason if reason in SuppressionReason.values else "",
            state=state if state in cls.STATES else "active",
        )


def suppressions_for(user: Any, filters: SuppressionFilters) -> QuerySet[Suppression]:
    """The suppressions of the customers ``user`` sees, newest first."""
    visible = customers_visible(user)
    if filters.q:
        visible = customer_list(user, CustomerFilters(q=filters.q, status="all"))
    qs = Suppression.objects.filter(customer__in=visible.order_by().values("pk"))
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.reason:
        qs = qs.filter(reason=filters.reason)
    now = timezone.now()
    if filters.state == "active":
        qs = qs.active(now)
    elif filters.state == "ended":
        qs = qs.filter(Q(lifted_at__isnull=False) | Q(expires_at__lte=now))
    return qs.select_related("customer", "created_by", "lifted_by").order_by("-created_at", "-id")


def suppression_get_for(user: Any, suppression_id: int) -> Suppression:
    row = (
        Suppression.objects.filter(
            pk=suppression_id, customer__in=customers_visible(user).order_by().values("pk")
        )
        .select_related("customer")
        .first()
    )
    if row is None:
        raise NotFound(_("Entry not found."))
    return row
