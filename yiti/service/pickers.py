"""Choices the service desk's forms offer from apps above it (STYLE.md habit 5).

A complaint names the campaign it is about; campaigns live above the service desk, so the
app that may read them registers a provider here from its ``AppConfig.ready`` and the ticket
form shows a picker of names instead of a bare id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Provider = Callable[[Any], list[tuple[int, str]]]

_providers: dict[str, Provider] = {}


def register_choices(name: str, provider: Provider) -> None:
    _providers[name] = provider


def choices_for(name: str, user: Any) -> list[tuple[int, str]] | None:
    """The (id, label) choices for ``user``, or None when no app provides them."""
    provider = _providers.get(name)
    return None if provider is None else provider(user)
