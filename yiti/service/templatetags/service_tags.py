"""Template helpers of the service desk: SLA and status badges."""

from __future__ import annotations

from typing import Any

from django import template

from yiti.service.choices import (
    ComplaintClass,
    Priority,
    SlaState,
    TicketChannel,
    TicketKind,
    TicketStatus,
)

register = template.Library()

SLA_BADGE = {
    "ok": "badge-green",
    "met": "badge-green",
    "warning": "badge-amber",
    "paused": "badge-blue",
    "breached": "badge-red",
    "missed": "badge-red",
    "none": "",
}

STATUS_BADGE = {
    "new": "badge-blue",
    "assigned": "badge-blue",
    "in_progress": "badge-purple",
    "waiting_customer": "badge-amber",
    "resolved": "badge-green",
    "closed": "",
    "reopened": "badge-red",
}


@register.filter
def sla_badge(state: str) -> str:
    return SLA_BADGE.get(state or "", "")


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGE.get(status or "", "")


_LABELS = {
    "kind": dict(TicketKind.choices),
    "status": dict(TicketStatus.choices),
    "priority": dict(Priority.choices),
    "sla_state": dict(SlaState.choices),
    "complaint_class": dict(ComplaintClass.choices),
    "channel": dict(TicketChannel.choices),
}


@register.filter
def label(value: str, field: str) -> Any:
    """The display label of a ticket field's value, e.g. ``{{ t.kind|label:"kind" }}``.

    The same as ``get_kind_display`` without rebuilding the choices mapping on every call,
    which shows on a 50-row queue page."""
    return _LABELS[field].get(value, value)
