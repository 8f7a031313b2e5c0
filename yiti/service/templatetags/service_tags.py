"""Template helpers of the service desk: SLA and status badges."""

from __future__ import annotations

from django import template

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
