"""The ticket state machine: which status may follow which.

Every status change goes through ``services.ticket_transition``, which refuses a move that is
not listed here with ``ValidationFailed(code="invalid_transition")``. Assignment moves a new
ticket to ``assigned`` (``services.ticket_assign``); resolving needs a resolution text.
"""

from __future__ import annotations

from yiti.service.choices import TicketStatus

S = TicketStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING_CUSTOMER, S.RESOLVED}),
    S.WAITING_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
}

# The order in which the ticket page offers the buttons.
_BUTTON_ORDER = (
    S.IN_PROGRESS,
    S.WAITING_CUSTOMER,
    S.RESOLVED,
    S.CLOSED,
    S.REOPENED,
)


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def next_statuses(from_status: str) -> list[str]:
    """The statuses a person may move the ticket to by hand (assignment has its own form)."""
    options = TRANSITIONS.get(from_status, frozenset())
    return [s for s in _BUTTON_ORDER if s in options]
