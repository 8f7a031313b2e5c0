"""Template helpers shared by every page: icons, masking, navigation state, audit changes."""

from __future__ import annotations

from typing import Any

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from yiti.core import masking
from yiti.core.audit import mask_changes

register = template.Library()

CHANNEL_ICONS = {
    "call": "call",
    "sms": "sms",
    "email": "email",
    "visit": "visit",
    "push": "push",
    "portal": "portal",
    "counter": "counter",
    "im": "im",
    "wechat": "im",
    "fax": "fax",
    "phone": "call",
}


@register.simple_tag
def icon(name: str, css: str = "") -> str:
    """An inline reference to a symbol of ``yiti/icons.svg``."""
    href = f"{static('yiti/icons.svg')}#{name}"
    return format_html(
        '<svg class="icon {}" aria-hidden="true" focusable="false"><use href="{}"></use></svg>',
        css,
        href,
    )


@register.simple_tag
def channel_icon(channel: str) -> str:
    return icon(CHANNEL_ICONS.get(channel, "sms"))


@register.filter
def mask_phone(value: str | None) -> str:
    return masking.mask_phone(value or "")


@register.filter
def indent(depth: int | None) -> str:
    """Em spaces to show a unit's depth in a flat select list."""
    return "\u2003" * max((depth or 0) - 1, 0)


@register.filter
def initials(user: Any) -> str:
    text = str(user or "").strip()
    return text[:1].upper() if text else "?"


@register.simple_tag(takes_context=True)
def nav_active(context: template.Context, *names: str) -> str:
    """``active`` when the current URL's name (``ns:name`` or ``ns:*``) is one of ``names``."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    current = match.view_name
    namespace = match.namespace
    for name in names:
        if name == current or (name.endswith(":*") and name[:-2] == namespace):
            return "active"
    return ""


# keys whose list value is a list of things, not a [before, after] pair
LIST_KEYS = frozenset({"contact_points", "ids", "customers"})


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return str(value)


@register.filter
def audit_changes(changes: Any, revealed: Any = False) -> list[dict[str, Any]]:
    """Rows for an audit event's ``changes``; ``{field: [before, after]}`` reads before → after.

    Personal data is masked (``yiti.core.audit.mask_changes``) unless ``revealed`` is true,
    which a view sets only after recording the reader's reveal (``audit_values_reveal``).
    """
    if not isinstance(changes, dict):
        return []
    if not revealed:
        changes = mask_changes(changes)
    rows = []
    for key, value in changes.items():
        is_pair = isinstance(value, list) and len(value) == 2 and key not in LIST_KEYS
        if is_pair and not isinstance(value[0], list):
            rows.append(
                {"key": key, "before": _show(value[0]), "after": _show(value[1]), "pair": True}
            )
        else:
            rows.append({"key": key, "value": _show(value), "pair": False})
    return rows
