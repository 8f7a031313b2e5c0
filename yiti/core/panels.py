"""Composing pages from panels contributed by higher apps.

Lower apps cannot import higher ones (STYLE.md habit 5), yet the customer 360 page must
show the timeline (engagement), tickets (service) and next best actions (decisions).
Higher apps register a panel for a named slot in their ``AppConfig.ready``; the page
renders whatever is registered, in order. Registration is explicit and listed in one
place per app, unlike a signal that hides a business flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    slot: str
    key: str
    order: int
    render: Callable[[HttpRequest, Any], str]


_registry: dict[str, dict[str, Panel]] = {}


def register_panel(
    slot: str, key: str, render: Callable[[HttpRequest, Any], str], *, order: int = 100
) -> None:
    _registry.setdefault(slot, {})[key] = Panel(slot=slot, key=key, order=order, render=render)


def panels_for(slot: str) -> list[Panel]:
    return sorted(_registry.get(slot, {}).values(), key=lambda p: (p.order, p.key))


def render_panels(slot: str, request: HttpRequest, obj: Any) -> list[tuple[str, str]]:
    return [(p.key, p.render(request, obj)) for p in panels_for(slot)]
