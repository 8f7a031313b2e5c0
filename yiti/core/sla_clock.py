"""SLA clocks read from a ticket's status history, as pure functions.

A clock is never stored as a ticking counter: it is recomputed from the status timeline and
the unit's business calendar whenever someone looks (a list page, the periodic SLA check,
a report). That keeps it correct across edits of the calendar, pauses, reopenings and
holidays, and lets hypothesis check it against a brute-force reference
(tests/core/test_sla_clock.py). Business-time arithmetic comes from
:mod:`yiti.core.business_time`, which says why it is hand-written.

Two clocks:

* **first response** runs from the first transition while the ticket is ``new`` or
  ``assigned`` and stops for good at the first transition to any other status (an agent
  took it up, asked the customer, or settled it) or at ``first_response_at`` (a first
  public reply), whichever comes first;
* **resolution** runs while the ticket is ``new``, ``assigned``, ``in_progress`` or
  ``reopened``; it pauses while ``waiting_customer`` and stops at ``resolved``/``closed``. A
  reopened ticket resumes with the time it had already used, so it breaches at once only if
  it had already used up its target.

Thresholds are inclusive: a clock is in warning once elapsed >= ``warning_percent`` of the
target and breached once elapsed >= the target; a clock stopped with elapsed < target is
*met*, otherwise *missed*. Transitions after ``now`` are ignored, so a reading is "as of
now". Ticket statuses are plain strings; the service app's choices use the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from yiti.core.business_time import (
    CalendarSpec,
    NoWorkingHours,
    add_business_seconds,
    business_seconds_between,
)


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"


QUEUED = frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED})
RESOLUTION_RUNNING = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED}
)
RESOLUTION_PAUSED = frozenset({TicketStatus.WAITING_CUSTOMER})
RESOLUTION_STOPPED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})

Timeline = Sequence[tuple[datetime, str]]
Period = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class ClockReading:
    """One clock as of ``now``.

    ``remaining_seconds`` is ``target - elapsed`` and goes negative once overdue.
    ``due_at`` is the projected deadline while the clock runs (in the past once breached)
    and ``None`` while paused or stopped. ``warning_at``/``breached_at`` are the instants the
    thresholds were crossed or, while running, will be crossed; ``None`` when not crossed and
    not running. ``stopped_at`` is set only in the states met and missed. ``unreachable`` is
    true when a running clock cannot reach a threshold because the calendar has no working
    hours in reach (:class:`~yiti.core.business_time.NoWorkingHours`); its due time, and the
    threshold instants not yet crossed, are then ``None``.
    """

    kind: ClockKind
    state: ClockState
    running: bool
    target_seconds: int
    elapsed_seconds: int
    remaining_seconds: int
    started_at: datetime
    due_at: datetime | None
    warning_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    unreachable: bool = False

    @property
    def percent_used(self) -> int:
        return self.elapsed_seconds * 100 // self.target_seconds


def _checked(timeline: Timeline, now: datetime) -> list[tuple[datetime, TicketStatus]]:
    if not timeline:
        raise ValueError("an SLA clock needs at least the ticket's first status")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    checked: list[tuple[datetime, TicketStatus]] = []
    for instant, status in timeline:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("status transitions need timezone-aware instants")
        if checked and instant < checked[-1][0]:
            raise ValueError("status transitions must be in chronological order")
        try:
            checked.append((instant, TicketStatus(status)))
        except ValueError as exc:
            raise ValueError(f"unknown ticket status {status!r}") from exc
    if now < checked[0][0]:
        raise ValueError("now is before the ticket's first status")
    return [(instant, status) for instant, status in checked if instant <= now]


def running_periods(
    kind: ClockKind,
    timeline: Timeline,
    now: datetime,
    *,
    first_response_at: datetime | None = None,
) -> tuple[Period, ...]:
    """The periods in which the clock ran, in order; ``(start, None)`` still runs at ``now``."""
    return _periods(kind, _checked(timeline, now), now, first_response_at)


def _periods(
    kind: ClockKind,
    transitions: Sequence[tuple[datetime, TicketStatus]],
    now: datetime,
    first_response_at: datetime | None,
) -> tuple[Period, ...]:
    if kind is ClockKind.FIRST_RESPONSE:
        start = transitions[0][0]
        stop = next((at for at, status in transitions if status not in QUEUED), None)
        if first_response_at is not None and first_response_at <= now:
            stop = first_response_at if stop is None else min(stop, first_response_at)
        return ((start, None if stop is None else max(stop, start)),)
    periods: list[Period] = []
    for i, (at, status) in enumerate(transitions):
        end = transitions[i + 1][0] if i + 1 < len(transitions) else None
        if status not in RESOLUTION_RUNNING or end == at:
            continue
        if periods and periods[-1][1] == at:  # a running status follows a running status
            periods[-1] = (periods[-1][0], end)
        else:
            periods.append((at, end))
    return tuple(periods)


def _crossing(spec: CalendarSpec, periods: Sequence[Period], now: datetime, need: int) -> datetime:
    """The instant at which the running periods accumulated ``need`` business seconds."""
    used = 0
    for start, end in periods:
        span = business_seconds_between(spec, start, now if end is None else end)
        if used + span >= need:
            return add_business_seconds(spec, start, need - used)
        used += span
    raise AssertionError("the threshold was not crossed")  # pragma: no cover


def read_clock(
    kind: ClockKind,
    *,
    spec: CalendarSpec,
    target_seconds: int,
    timeline: Timeline,
    now: datetime,
    first_response_at: datetime | None = None,
    warning_percent: int = 80,
) -> ClockReading:
    """Read a first-response or resolution clock as of ``now``.

    ``timeline`` is the ticket's ``(instant, status)`` transitions in chronological order,
    starting with its creation; ``target_seconds`` is the policy's target in business
    seconds; ``first_response_at`` (first-response clock only) is the first public reply.

    The state follows the elapsed time, whether the clock runs or not: a paused clock
    already past its target reads ``breached`` (not ``paused``), because the target was
    missed before the pause; it has no ``due_at`` (nothing is due while paused) but keeps
    ``breached_at``, the instant it crossed the target.

    A running clock on a calendar with no working hours in reach (no working second within
    :data:`~yiti.core.business_time.MAX_CLOSED_DAYS` days) never raises: it reads with
    ``unreachable`` set and ``due_at`` (and any threshold not yet crossed) ``None``, so one
    misconfigured calendar cannot break a page that reads many clocks.
    """
    if target_seconds <= 0:
        raise ValueError("an SLA target must be a positive number of business seconds")
    if not 0 < warning_percent <= 100:
        raise ValueError("warning_percent must be in 1..100")
    if first_response_at is not None and kind is not ClockKind.FIRST_RESPONSE:
        raise ValueError("first_response_at applies to the first-response clock only")
    transitions = _checked(timeline, now)
    periods = _periods(kind, transitions, now, first_response_at)
    elapsed = sum(
        business_seconds_between(spec, start, now if end is None else end) for start, end in periods
    )
    running = bool(periods) and periods[-1][1] is None
    if kind is ClockKind.FIRST_RESPONSE:
        stopped_at = periods[0][1]
        paused = False
    else:
        last_status = transitions[-1][1]
        stopped_at = _last_stop(transitions) if last_status in RESOLUTION_STOPPED else None
        paused = last_status in RESOLUTION_PAUSED

    warn_need = -(-target_seconds * warning_percent // 100)
    unreachable = False

    def threshold_at(need: int) -> datetime | None:
        nonlocal unreachable
        if elapsed >= need:
            return _crossing(spec, periods, now, need)
        if running:
            try:
                return add_business_seconds(spec, now, need - elapsed)
            except NoWorkingHours:
                unreachable = True
        return None

    warning_at, breached_at = threshold_at(warn_need), threshold_at(target_seconds)
    if stopped_at is not None:
        state = ClockState.MISSED if elapsed >= target_seconds else ClockState.MET
    elif elapsed >= target_seconds:
        state = ClockState.BREACHED
    elif paused:
        state = ClockState.PAUSED
    elif elapsed >= warn_need:
        state = ClockState.WARNING
    else:
        state = ClockState.OK
    return ClockReading(
        kind=kind,
        state=state,
        running=running,
        target_seconds=target_seconds,
        elapsed_seconds=elapsed,
        remaining_seconds=target_seconds - elapsed,
        started_at=transitions[0][0],
        due_at=breached_at if running else None,
        warning_at=warning_at,
        breached_at=breached_at,
        stopped_at=stopped_at,
        unreachable=unreachable,
    )


def _last_stop(transitions: Sequence[tuple[datetime, TicketStatus]]) -> datetime:
    """The instant of the latest move into resolved/closed from any other status."""
    stop = transitions[-1][0]
    for at, status in reversed(transitions):
        if status not in RESOLUTION_STOPPED:
            break
        stop = at
    return stop


def first_response_clock(
    *,
    spec: CalendarSpec,
    target_seconds: int,
    timeline: Timeline,
    now: datetime,
    first_response_at: datetime | None = None,
    warning_percent: int = 80,
) -> ClockReading:
    """The first-response clock; see :func:`read_clock`."""
    return read_clock(
        ClockKind.FIRST_RESPONSE,
        spec=spec,
        target_seconds=target_seconds,
        timeline=timeline,
        now=now,
        first_response_at=first_response_at,
        warning_percent=warning_percent,
    )


def resolution_clock(
    *,
    spec: CalendarSpec,
    target_seconds: int,
    timeline: Timeline,
    now: datetime,
    warning_percent: int = 80,
) -> ClockReading:
    """The resolution clock; see :func:`read_clock`."""
    return read_clock(
        ClockKind.RESOLUTION,
        spec=spec,
        target_seconds=target_seconds,
        timeline=timeline,
        now=now,
        warning_percent=warning_percent,
    )
