"""Checks of the references an interaction carries to objects of higher apps.

An interaction may name the ticket, campaign or wave it belongs to (``ticket_id``,
``campaign_id``, ``wave_id``). Those models live in apps above engagement (STYLE.md habit 5),
so the apps that own them register a check here from their ``AppConfig.ready`` — explicit and
listed in one place per app, like the customer 360 panels (``core.panels``).

A check is given the acting user, the customer and the id, and answers ``None`` when the id
names an object that exists, that the user may see and that belongs to that customer, or a
message saying why not. ``references_check`` turns the first refusal into a 422 that names
the field. A reference with no registered check is refused: nothing dangling is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from yiti.core.errors import ValidationFailed

ReferenceCheck = Callable[[Any, Any, int, Mapping[str, int | None]], str | None]

_checks: dict[str, ReferenceCheck] = {}


def register_reference(field: str, check: ReferenceCheck) -> None:
    """Register the check of an interaction's ``field`` (``ticket_id``, ``campaign_id``, …).

    ``check(actor, customer, value, refs)`` gets every reference given (``refs``), so a wave
    can be checked against its campaign."""
    _checks[field] = check


def references_check(*, actor: Any, customer: Any, refs: Mapping[str, int | None]) -> None:
    """Refuse (422, the field named) a reference that is dangling or out of the actor's scope."""
    for field, value in refs.items():
        if value is None:
            continue
        check = _checks.get(field)
        problem = (
            check(actor, customer, value, refs)
            if check is not None
            else _("This reference cannot be checked.")
        )
        if problem:
            raise ValidationFailed(problem, field=field)
