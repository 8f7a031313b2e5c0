"""Reads of the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from yiti.customers.models import Customer
from yiti.engagement.choices import InteractionChannel, InteractionPurpose
from yiti.engagement.models import Interaction, Suppression


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
    return Suppression.objects.filter(customer=customer, lifted_at__isnull=True).order_by(
        "-created_at"
    )


def is_suppressed(customer: Customer) -> bool:
    return suppressions_active(customer).exists()


def suppressed_customer_ids() -> QuerySet[Suppression, Any]:
    """A subquery of suppressed customer ids, for set-based audience and policy queries."""
    return (
        Suppression.objects.filter(lifted_at__isnull=True)
        .order_by()
        .values("customer_id")
        .distinct()
    )
