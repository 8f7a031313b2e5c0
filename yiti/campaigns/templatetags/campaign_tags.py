"""Template helpers of the campaign pages: status badges, exclusion reasons in words, masking."""

from __future__ import annotations

from typing import Any

from django import template

from yiti.campaigns import selectors
from yiti.campaigns.choices import WaveChannel
from yiti.core import masking

register = template.Library()

CAMPAIGN_BADGE = {
    "draft": "",
    "in_review": "badge-amber",
    "ready": "badge-blue",
    "running": "badge-green",
    "paused": "badge-red",
    "completed": "badge-purple",
}

WAVE_BADGE = {
    "draft": "",
    "planned": "badge-blue",
    "sending": "badge-green",
    "done": "badge-purple",
    "cancelled": "badge-red",
}

DELIVERY_BADGE = {
    "excluded": "badge-amber",
    "planned": "badge-blue",
    "sending": "badge-blue",
    "sent": "badge-green",
    "delivered": "badge-green",
    "failed": "badge-red",
    "rejected": "badge-red",
    "done": "badge-purple",
    "cancelled": "",
}


@register.filter
def campaign_badge(status: str) -> str:
    return CAMPAIGN_BADGE.get(status, "")


@register.filter
def wave_badge(status: str) -> str:
    return WAVE_BADGE.get(status, "")


@register.filter
def delivery_badge(status: str) -> str:
    return DELIVERY_BADGE.get(status, "")


@register.simple_tag
def reason_words(reason: str, labels: dict[str, str] | None = None) -> str:
    """An exclusion reason in words: from ``labels`` (``selectors.reason_labels``, which
    names the campaigns of arbitrations) when given, else from the reason itself."""
    if not reason:
        return ""
    return (labels or {}).get(reason) or selectors.reason_label(reason)


@register.filter
def mask_email(value: str | None) -> str:
    return masking.mask_email(value) if value else ""


@register.filter
def share(part: Any, whole: Any) -> str:
    """``part`` as a whole per cent of ``whole`` ("–" when there is no whole)."""
    try:
        p, w = float(part or 0), float(whole or 0)
    except (TypeError, ValueError):
        return "–"
    return f"{p / w * 100:.0f}%" if w else "–"


@register.filter
def channel_label(code: str) -> str:
    """A wave channel's name (``email`` → E-mail)."""
    try:
        return str(WaveChannel(code).label)
    except ValueError:
        return code


@register.filter
def channel_labels(codes: list[str] | None) -> str:
    return " → ".join(channel_label(c) for c in codes or [])
