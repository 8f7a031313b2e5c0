"""SLA clocks over a ticket's status history (yiti.core.sla_clock).

The calendar arithmetic is checked in test_business_time.py; here a brute-force reference
walks the timeline in five-minute steps (every calendar boundary and every generated
transition falls on one) and counts the steps in which the clock runs in business hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yiti.core.business_time import (
    CalendarSpec,
    add_business_seconds,
    business_seconds_between,
    is_business_time,
)
from yiti.core.sla_clock import (
    ClockKind,
    ClockState,
    TicketStatus,
    first_response_clock,
    read_clock,
    resolution_clock,
    running_periods,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = CalendarSpec()  # Mon–Fri 09:00–12:00, 13:30–18:00, Chinese holidays
HOUR = 3600
EIGHT_HOURS = 8 * HOUR
STEP = timedelta(minutes=5)
PROPERTY = settings(max_examples=200, deadline=None)

NEW, ASSIGNED, IN_PROGRESS = TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS
WAITING, RESOLVED, CLOSED = (
    TicketStatus.WAITING_CUSTOMER,
    TicketStatus.RESOLVED,
    TicketStatus.CLOSED,
)
REOPENED = TicketStatus.REOPENED


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def resolution(timeline, now, target=EIGHT_HOURS, **kwargs):
    return resolution_clock(
        spec=OFFICE, target_seconds=target, timeline=timeline, now=now, **kwargs
    )


def first_response(timeline, now, target=EIGHT_HOURS, **kwargs):
    return first_response_clock(
        spec=OFFICE, target_seconds=target, timeline=timeline, now=now, **kwargs
    )


# --- the brute-force reference ---------------------------------------------------------------


def reference_elapsed(kind, timeline, now, first_response_at=None) -> int:
    """Count five-minute steps in which the clock runs, straight from the rules in the issue."""
    visible = [(instant, status) for instant, status in timeline if instant <= now]
    total, step = 0, visible[0][0]
    responded = False
    while step < now:
        status = [s for instant, s in visible if instant <= step][-1]
        if kind is ClockKind.FIRST_RESPONSE:
            # any move out of new/assigned so far is a response, even one followed at the
            # same instant by another status
            responded = responded or any(
                s not in (NEW, ASSIGNED) for instant, s in visible if instant <= step
            )
            if first_response_at is not None and first_response_at <= step:
                responded = True
            runs = not responded
        else:
            runs = status in (NEW, ASSIGNED, IN_PROGRESS, REOPENED)
        if runs and is_business_time(OFFICE, step):
            total += STEP.seconds
        step += STEP
    return total


# --- strategies: short histories near holiday boundaries -------------------------------------

FOCUS_DAYS = [
    date(2025, 9, 26),  # Fri before the adjusted working Sunday 09-28
    date(2025, 9, 30),  # eve of National Day 2025
    date(2025, 10, 7),  # the end of the holidays
    date(2025, 10, 10),  # Fri before the adjusted working Saturday 10-11
    date(2024, 9, 30),
    date(2026, 2, 13),  # around Spring Festival 2026 and its adjusted Saturdays
    date(2026, 12, 30),  # into 2027, beyond the package's data
]
statuses = st.sampled_from(list(TicketStatus))


@st.composite
def histories(draw, max_steps: int = 6):
    """A ticket's (instant, status) transitions on five-minute marks, any order of statuses."""
    day = draw(st.sampled_from(FOCUS_DAYS)) + timedelta(draw(st.integers(0, 2)))
    start = datetime.combine(day, time(0), tzinfo=SH) + STEP * draw(st.integers(0, 287))
    timeline = [(start, draw(st.sampled_from([NEW, NEW, ASSIGNED, IN_PROGRESS])))]
    for _ in range(draw(st.integers(0, max_steps))):
        gap = STEP * draw(st.integers(0, 150))
        timeline.append((timeline[-1][0] + gap, draw(statuses)))
    now = timeline[-1][0] + STEP * draw(st.integers(0, 300))
    if draw(st.booleans()):  # sometimes read the clock in the middle of the history
        now = start + (now - start) * draw(st.integers(0, 4)) // 4
        now = start + STEP * ((now - start) // STEP)
    return timeline, now


targets = st.integers(1, 24).map(lambda n: n * 30 * 60)


# --- concrete: the ticket opened on the eve of National Day 2025 -----------------------------

EVE = at(2025, 9, 30, 17)


def test_a_ticket_opened_on_the_eve_of_national_day_is_due_on_the_first_workday_after():
    # given a ticket opened Tue 30 Sep 17:00 with an 8 business-hour target
    # when nobody touches it until the last night of the holidays
    reading = resolution([(EVE, NEW)], now=at(2025, 10, 8, 23))
    # then only the hour before closing on 30 Sep has been used
    assert reading.state is ClockState.OK and reading.running
    assert reading.elapsed_seconds == HOUR and reading.remaining_seconds == 7 * HOUR
    assert reading.due_at == at(2025, 10, 9, 17, 30)
    # 80 % of 8 h = 6 h 24 min: 1 h + 3 h in the morning + 2 h 24 min from 13:30
    assert reading.warning_at == at(2025, 10, 9, 15, 54)
    assert reading.breached_at == reading.due_at
    assert reading.started_at == EVE


def test_the_clock_warns_at_80_percent_and_breaches_at_100():
    assert resolution([(EVE, NEW)], now=at(2025, 10, 9, 15, 53)).state is ClockState.OK
    warning = resolution([(EVE, NEW)], now=at(2025, 10, 9, 15, 54))
    assert warning.state is ClockState.WARNING and warning.percent_used == 80
    breached = resolution([(EVE, NEW)], now=at(2025, 10, 10, 10))
    assert breached.state is ClockState.BREACHED
    assert breached.remaining_seconds == -(HOUR + 30 * 60)  # 17:30–18:00 and 09:00–10:00
    assert breached.breached_at == breached.due_at == at(2025, 10, 9, 17, 30)
    # 85 % of 10 s is 8.5 s: the warning comes with the ninth second, not the eighth
    nine = [(at(2025, 10, 9, 9), NEW)]
    eight_s = resolution(
        nine, now=at(2025, 10, 9, 9) + timedelta(seconds=8), target=10, warning_percent=85
    )
    assert eight_s.state is ClockState.OK
    assert eight_s.warning_at == at(2025, 10, 9, 9) + timedelta(seconds=9)
    custom = resolution([(EVE, NEW)], now=at(2025, 10, 9, 12), warning_percent=50)
    assert custom.state is ClockState.WARNING and custom.warning_at == at(2025, 10, 9, 12)


def test_waiting_on_the_customer_pauses_the_clock_and_moves_the_deadline():
    timeline = [(EVE, NEW), (at(2025, 10, 9, 10), WAITING)]
    paused = resolution(timeline, now=at(2025, 10, 10, 9))
    assert paused.state is ClockState.PAUSED and not paused.running
    assert paused.elapsed_seconds == 2 * HOUR and paused.due_at is None
    assert paused.breached_at is None and paused.warning_at is None
    # when the customer answers on Fri 10 Oct 09:00, 6 h are left: 3 h + 3 h from 13:30
    resumed = resolution([*timeline, (at(2025, 10, 10, 9), IN_PROGRESS)], now=at(2025, 10, 10, 9))
    assert resumed.state is ClockState.OK
    assert resumed.due_at == at(2025, 10, 10, 16, 30)


def test_a_breached_ticket_stays_breached_while_paused():
    timeline = [(EVE, NEW), (at(2025, 10, 10, 10), WAITING)]
    reading = resolution(timeline, now=at(2025, 10, 10, 11))
    assert reading.state is ClockState.BREACHED and not reading.running
    assert reading.breached_at == at(2025, 10, 9, 17, 30) and reading.due_at is None


def test_resolving_stops_the_clock_as_met_or_missed():
    met = resolution([(EVE, NEW), (at(2025, 10, 9, 12), RESOLVED)], now=at(2025, 10, 20))
    assert met.state is ClockState.MET and met.stopped_at == at(2025, 10, 9, 12)
    assert met.elapsed_seconds == 4 * HOUR and met.due_at is None and met.breached_at is None
    closed_later = [(EVE, NEW), (at(2025, 10, 9, 12), RESOLVED), (at(2025, 10, 10), CLOSED)]
    assert resolution(closed_later, now=at(2025, 10, 20)).stopped_at == at(2025, 10, 9, 12)
    missed = resolution([(EVE, NEW), (at(2025, 10, 10, 10), RESOLVED)], now=at(2025, 10, 20))
    assert missed.state is ClockState.MISSED and missed.breached_at == at(2025, 10, 9, 17, 30)


def test_a_reopened_ticket_resumes_its_clock_instead_of_breaching_at_once():
    # given a ticket resolved after 4 business hours, reopened on the adjusted Saturday 10-11
    timeline = [(EVE, NEW), (at(2025, 10, 9, 12), RESOLVED), (at(2025, 10, 11, 9), REOPENED)]
    reading = resolution(timeline, now=at(2025, 10, 11, 10))
    # then it keeps the 4 h it used and gets the 4 h it had left
    assert reading.state is ClockState.OK and reading.running
    assert reading.elapsed_seconds == 5 * HOUR and reading.stopped_at is None
    assert reading.due_at == at(2025, 10, 11, 14, 30)


def test_a_ticket_reopened_after_missing_its_target_is_breached():
    timeline = [(EVE, NEW), (at(2025, 10, 10, 10), RESOLVED), (at(2025, 10, 13, 9), REOPENED)]
    reading = resolution(timeline, now=at(2025, 10, 13, 9, 5))
    assert reading.state is ClockState.BREACHED


def test_first_response_stops_when_an_agent_takes_the_ticket_up():
    timeline = [(EVE, NEW), (at(2025, 10, 9, 9), ASSIGNED), (at(2025, 10, 9, 10), IN_PROGRESS)]
    reading = first_response(timeline, now=at(2025, 10, 20), target=4 * HOUR)
    assert reading.state is ClockState.MET and reading.elapsed_seconds == 2 * HOUR
    assert reading.stopped_at == at(2025, 10, 9, 10)
    # the resolution clock of the same ticket keeps running
    assert resolution(timeline, now=at(2025, 10, 9, 11)).elapsed_seconds == 3 * HOUR


def test_first_response_stops_at_a_public_reply_given_separately():
    timeline = [(EVE, NEW), (at(2025, 10, 9, 11), IN_PROGRESS)]
    reply = at(2025, 10, 9, 9, 30)
    reading = first_response(timeline, now=at(2025, 10, 20), first_response_at=reply)
    assert reading.stopped_at == reply and reading.elapsed_seconds == HOUR + 30 * 60
    # a reply after now is not known yet
    early = first_response(timeline[:1], now=at(2025, 10, 9, 9), first_response_at=reply)
    assert early.running and early.stopped_at is None


def test_first_response_is_not_affected_by_waiting_or_reopening():
    timeline = [(EVE, NEW), (at(2025, 10, 9, 10), WAITING), (at(2025, 10, 9, 11), REOPENED)]
    reading = first_response(timeline, now=at(2025, 10, 20), target=HOUR)
    assert reading.state is ClockState.MISSED and reading.elapsed_seconds == 2 * HOUR


def test_running_periods_merge_running_statuses_and_skip_zero_length_ones():
    timeline = [
        (EVE, NEW),
        (at(2025, 10, 9, 9), ASSIGNED),
        (at(2025, 10, 9, 10), WAITING),
        (at(2025, 10, 9, 10), IN_PROGRESS),
        (at(2025, 10, 9, 11), RESOLVED),
        (at(2025, 10, 9, 12), REOPENED),
    ]
    periods = running_periods(ClockKind.RESOLUTION, timeline, now=at(2025, 10, 9, 13))
    assert periods == ((EVE, at(2025, 10, 9, 11)), (at(2025, 10, 9, 12), None))


@pytest.mark.parametrize(
    ("timeline", "now", "kwargs"),
    [
        ([], at(2025, 10, 9), {}),
        ([(datetime(2025, 10, 9), NEW)], at(2025, 10, 9), {}),
        ([(EVE, NEW)], datetime(2025, 10, 9), {}),
        ([(EVE, NEW), (at(2025, 9, 1), RESOLVED)], at(2025, 10, 9), {}),
        ([(EVE, "escalated")], at(2025, 10, 9), {}),
        ([(EVE, NEW)], at(2025, 9, 1), {}),
        ([(EVE, NEW)], at(2025, 10, 9), {"target_seconds": 0}),
        ([(EVE, NEW)], at(2025, 10, 9), {"warning_percent": 0}),
        ([(EVE, NEW)], at(2025, 10, 9), {"first_response_at": at(2025, 10, 9)}),
    ],
)
def test_inconsistent_readings_are_refused(timeline, now, kwargs):
    kwargs = {"target_seconds": HOUR, **kwargs}
    with pytest.raises(ValueError):
        read_clock(ClockKind.RESOLUTION, spec=OFFICE, timeline=timeline, now=now, **kwargs)


# --- properties ------------------------------------------------------------------------------


@PROPERTY
@given(history=histories(), target=targets)
def test_resolution_elapsed_matches_the_brute_force_reference(history, target):
    timeline, now = history
    reading = resolution(timeline, now, target=target)
    assert reading.elapsed_seconds == reference_elapsed(ClockKind.RESOLUTION, timeline, now)
    assert reading.remaining_seconds == target - reading.elapsed_seconds


@PROPERTY
@given(history=histories(), target=targets, reply_steps=st.none() | st.integers(0, 400))
def test_first_response_elapsed_matches_the_brute_force_reference(history, target, reply_steps):
    timeline, now = history
    reply = None if reply_steps is None else timeline[0][0] + STEP * reply_steps
    reading = first_response(timeline, now, target=target, first_response_at=reply)
    expected = reference_elapsed(ClockKind.FIRST_RESPONSE, timeline, now, reply)
    assert reading.elapsed_seconds == expected


@PROPERTY
@given(history=histories(), pause=st.tuples(st.integers(0, 600), st.integers(0, 300)))
def test_waiting_on_the_customer_never_adds_time(history, pause):
    # given any history, when the ticket also waits on the customer over [p1, p2)
    timeline, now = history
    p1 = timeline[0][0] + STEP * pause[0]
    p2 = p1 + STEP * pause[1]
    status_at_p2 = [s for instant, s in timeline if instant <= p2][-1]
    paused = [
        *[(i, s) for i, s in timeline if i < p1],
        (p1, WAITING),
        (p2, status_at_p2),
        *[(i, s) for i, s in timeline if i > p2],
    ]
    # then the resolution clock has used no more than without the pause
    assume(p1 <= now)
    original = resolution(timeline, now).elapsed_seconds
    assert resolution(paused, now).elapsed_seconds <= original


@PROPERTY
@given(history=histories(max_steps=0), worked=st.integers(0, 200), off=st.integers(0, 800))
def test_reopening_resumes_from_the_time_used_before_resolving(history, worked, off):
    # given a ticket resolved after some work and reopened later
    [(opened, _)], _now = history
    resolved_at = opened + STEP * worked
    reopened_at = resolved_at + STEP * off
    timeline = [(opened, NEW), (resolved_at, RESOLVED), (reopened_at, REOPENED)]
    used = resolution(timeline[:2], now=reopened_at).elapsed_seconds
    for later in (reopened_at, reopened_at + 7 * STEP, reopened_at + 300 * STEP):
        # when read after the reopen, then it counts on from where it stopped
        reading = resolution(timeline, now=later)
        assert reading.elapsed_seconds == used + business_seconds_between(
            OFFICE, reopened_at, later
        )
    # and it breaches at the reopen itself only if the target was already used up
    at_reopen = resolution(timeline, now=reopened_at)
    assert (at_reopen.state is ClockState.BREACHED) == (used >= EIGHT_HOURS)


@PROPERTY
@given(
    history=histories(max_steps=0), target=st.integers(1, 12 * HOUR), percent=st.integers(1, 100)
)
def test_states_follow_the_thresholds_and_crossings_do_not_move(history, target, percent):
    # given a ticket nobody touches
    [(opened, status)], now = history
    reading = resolution([(opened, status)], now=now, target=target, warning_percent=percent)
    warn_need = -(-target * percent // 100)
    # then the state is decided by the used share of the target
    if reading.elapsed_seconds >= target:
        assert reading.state is ClockState.BREACHED
    elif reading.elapsed_seconds >= warn_need:
        assert reading.state is ClockState.WARNING
    else:
        assert reading.state is ClockState.OK
    # and the crossings are the same instants whether they are past or projected
    assert reading.warning_at == add_business_seconds(OFFICE, opened, warn_need)
    assert reading.breached_at == reading.due_at == add_business_seconds(OFFICE, opened, target)
    assert (reading.warning_at <= now) == (reading.elapsed_seconds >= warn_need)


@PROPERTY
@given(history=histories(), target=targets)
def test_a_reading_is_consistent_with_itself(history, target):
    timeline, now = history
    reading = resolution(timeline, now, target=target)
    if reading.running:
        assert reading.due_at is not None
        assert reading.elapsed_seconds + business_seconds_between(
            OFFICE, now, max(now, reading.due_at)
        ) == max(target, reading.elapsed_seconds)
    else:
        assert reading.due_at is None
    if reading.state in (ClockState.MET, ClockState.MISSED):
        assert reading.stopped_at is not None and reading.stopped_at <= now
        assert (reading.state is ClockState.MISSED) == (reading.elapsed_seconds >= target)
    if reading.breached_at is not None and reading.breached_at <= now:
        assert reading.state in (ClockState.BREACHED, ClockState.MISSED)
