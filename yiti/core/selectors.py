"""Reads of the audit trail. Callers check who may read it (org's ``Perm.AUDIT_VIEW_*``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from yiti.core.audit import holds_personal_data
from yiti.core.models import AuditEvent


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""  # exact action or a prefix ending in "." (``customer.``)
    actor: str = ""  # username
    object_type: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    @classmethod
    def from_mapping(cls, data: Any) -> AuditFilters:
        return cls(
            action=(data.get("action") or "").strip()[:64],
            actor=(data.get("actor") or "").strip()[:150],
            object_type=(data.get("object_type") or "").strip()[:64],
            date_from=_date(data.get("date_from")),
            date_to=_date(data.get("date_to")),
        )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events(filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """Every audit event, newest first, narrowed by ``filters`` (each one uses an index)."""
    qs = AuditEvent.objects.select_related("actor")
    f = filters or AuditFilters()
    if f.action:
        qs = (
            qs.filter(action__startswith=f.action)
            if f.action.endswith(".")
            else qs.filter(action=f.action)
        )
    if f.actor:
        qs = qs.filter(actor__username=f.actor)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.date_from:
        qs = qs.filter(at__gte=_start_of(f.date_from))
    if f.date_to:
        qs = qs.filter(at__lt=_start_of(f.date_to + timedelta(days=1)))
    return qs.order_by("-at", "-id")


def audit_of_customer(customer_id: int) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(customer_id=customer_id)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def audit_display(
    events: Iterable[AuditEvent], *, can_reveal: bool, revealed: bool
) -> dict[str, Any]:
    """Template context of an audit table (``partials/_audit_table.html``): whether values
    are shown in full (the view recorded the reveal), whether the reader may reveal them,
    and whether the events shown hold any personal data to reveal."""
    return {
        "audit_revealed": revealed,
        "audit_can_reveal": can_reveal,
        "audit_has_personal": any(holds_personal_data(e.changes) for e in events),
    }
