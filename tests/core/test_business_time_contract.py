"""The business-time contract at its edges (issue 18 item 5).

A calendar with no working hours in reach must not take a page down (the clock reads with no
due time), whole seconds only, and the documented limit of 3,660 consecutive closed days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from yiti.core.business_time import (
    MAX_CLOSED_DAYS,
    CalendarSpec,
    NoWorkingHours,
    add_business_seconds,
)
from yiti.core.sla_clock import ClockState, read_clock, resolution_clock

SH = ZoneInfo("Asia/Shanghai")
OFFICE = CalendarSpec()
CLOSED = CalendarSpec(weekly=((),) * 7, use_cn_holidays=False)
HOUR = 3600


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.mark.parametrize("amount", [1.5, 2.0, Decimal("3"), "60", True])
def test_add_business_seconds_refuses_anything_but_whole_seconds(amount):
    with pytest.raises(TypeError, match="whole number of seconds"):
        add_business_seconds(OFFICE, at(2025, 11, 3, 9), amount)


def test_add_business_seconds_takes_int_like_integers():
    class Seconds:
        def __index__(self) -> int:
            return 60

    assert add_business_seconds(OFFICE, at(2025, 11, 3, 9), Seconds()) == at(2025, 11, 3, 9, 1)


def test_the_limit_is_3660_consecutive_closed_days_counted_from_the_start_date():
    # Given a closed calendar with one working hour exactly on the last day within the limit
    start = at(2025, 1, 1, 10)
    last_in_reach = date(2025, 1, 1) + timedelta(days=MAX_CLOSED_DAYS - 1)
    reachable = CalendarSpec.build(
        weekly={}, use_cn_holidays=False, exceptions={last_in_reach: [(time(9), time(10))]}
    )
    # When adding one hour, then it is found
    assert add_business_seconds(reachable, start, HOUR).date() == last_in_reach
    # and one day later it is out of reach, with a message that says what the limit is
    too_far = CalendarSpec.build(
        weekly={},
        use_cn_holidays=False,
        exceptions={last_in_reach + timedelta(days=1): [(time(9), time(10))]},
    )
    with pytest.raises(NoWorkingHours) as caught:
        add_business_seconds(too_far, start, HOUR)
    message = str(caught.value)
    assert "3,660 consecutive days" in message and "2025-01-01" in message
    assert MAX_CLOSED_DAYS == 3660


def test_no_working_hours_is_a_value_error_for_existing_callers():
    with pytest.raises(ValueError):
        add_business_seconds(CLOSED, at(2025, 1, 1), 1)


def test_the_limit_is_documented():
    assert "3,660" in (add_business_seconds.__doc__ or "")
    assert "NoWorkingHours" in (add_business_seconds.__doc__ or "")


def test_a_running_clock_on_a_calendar_without_hours_reads_with_no_due_time():
    # Given a ticket opened on a calendar that has no working hours at all
    timeline = [(at(2025, 11, 3, 9), "new")]
    # When its resolution clock is read a day later, then it reads instead of raising
    reading = resolution_clock(
        spec=CLOSED, target_seconds=8 * HOUR, timeline=timeline, now=at(2025, 11, 4, 9)
    )
    assert reading.running and reading.elapsed_seconds == 0
    assert reading.due_at is None and reading.breached_at is None and reading.warning_at is None
    assert reading.state is ClockState.OK and reading.unreachable


def test_a_paused_clock_already_past_its_target_reads_breached_and_says_so():
    timeline = [(at(2025, 11, 3, 9), "new"), (at(2025, 11, 4, 12), "waiting_customer")]
    reading = resolution_clock(
        spec=OFFICE, target_seconds=HOUR, timeline=timeline, now=at(2025, 11, 5, 9)
    )
    assert reading.state is ClockState.BREACHED and not reading.running
    assert reading.due_at is None and reading.breached_at == at(2025, 11, 3, 10)
    doc = " ".join((read_clock.__doc__ or "").split())
    assert "paused clock already past its target reads ``breached``" in doc
