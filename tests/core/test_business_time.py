"""Business calendar and business-time arithmetic (yiti.core.business_time).

Holiday facts are read from chinese_calendar itself, never typed in from memory, and the
arithmetic is checked against a minute-by-minute reference across the holiday boundaries
of 2024–2026 (National Day, Spring Festival, their adjusted working weekends) and the
fallback to plain weekly hours past the last year the package knows.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiti.core.business_time import (
    ALL_DAY,
    OFFICE_HOURS,
    CalendarSpec,
    DayKind,
    add_business_seconds,
    business_seconds_between,
    cn_holiday_data_covers,
    day_kind,
    format_hours,
    is_business_time,
    parse_hours,
    working_intervals,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = CalendarSpec()  # Mon–Fri 09:00–12:00, 13:30–18:00, Chinese holidays
OFFICE_DAY = 7 * 3600 + 30 * 60
HOUR = 3600
PROPERTY = settings(max_examples=200, deadline=None)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


ALL_DAYS = days(date(2024, 1, 1), date(2026, 12, 31))
STATUTORY_HOLIDAYS = chinese_calendar.get_holidays(
    ALL_DAYS[0], ALL_DAYS[-1], include_weekends=False
)
ADJUSTED_WORKDAYS = [d for d in ALL_DAYS if d.weekday() >= 5 and chinese_calendar.is_workday(d)]

# Days around which the calendar changes its mind: holiday edges and adjusted workdays.
BOUNDARIES = sorted(
    {d for d in ALL_DAYS if chinese_calendar.is_workday(d) != (d.weekday() < 5)}
    | {date(2026, 12, 31), date(2027, 1, 1)}
)


# --- the reference: a deliberately naive minute-by-minute model of the same rules ---------

OFFICE_MINUTES = [(9 * 60, 12 * 60), (13 * 60 + 30, 18 * 60)]


@functools.cache
def reference_minutes(day: date, exceptions: tuple[tuple[date, tuple[tuple[int, int], ...]], ...]):
    for exception_day, minutes in exceptions:
        if exception_day == day:
            return minutes
    try:
        on_holiday = chinese_calendar.is_holiday(day)
    except NotImplementedError:
        on_holiday = day.weekday() >= 5
    if on_holiday:
        return ()
    return tuple(OFFICE_MINUTES)  # weekdays and adjusted weekends both use Monday's hours


def reference_between(start: datetime, end: datetime, exceptions=()) -> int:
    """Business seconds in [start, end) for whole-minute instants, counted minute by minute."""
    total, minute = 0, start
    while minute < end:
        local = minute.astimezone(SH)
        of_day = local.hour * 60 + local.minute
        if any(a <= of_day < b for a, b in reference_minutes(local.date(), exceptions)):
            total += 60
        minute += timedelta(minutes=1)
    return total


# --- strategies ------------------------------------------------------------------------------

whole_seconds = st.integers(0, 86399).map(lambda s: timedelta(seconds=s))


@st.composite
def instants(draw, *, micro: bool = True) -> datetime:
    """Instants across 2024 – Jan 2027, half of them within three days of a boundary."""
    if draw(st.booleans()):
        day = draw(st.sampled_from(BOUNDARIES)) + timedelta(draw(st.integers(-3, 3)))
    else:
        day = draw(st.dates(date(2024, 1, 1), date(2027, 1, 15)))
    instant = datetime.combine(day, time(0), tzinfo=SH) + draw(whole_seconds)
    if micro and draw(st.booleans()):
        instant += timedelta(microseconds=draw(st.integers(1, 999_999)))
    return instant


@st.composite
def minute_instants(draw) -> datetime:
    instant = draw(instants(micro=False))
    return instant.replace(second=0)


business_amounts = st.integers(0, 40 * OFFICE_DAY)


# --- calendar facts, checked against chinese_calendar ----------------------------------------


def test_the_national_day_2025_facts_used_below_come_from_chinese_calendar():
    for day in days(date(2025, 10, 1), date(2025, 10, 8)):
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        assert on_holiday and name is not None, day
    assert date(2025, 9, 28).weekday() == 6 and chinese_calendar.is_workday(date(2025, 9, 28))
    assert date(2025, 10, 11).weekday() == 5 and chinese_calendar.is_workday(date(2025, 10, 11))
    assert chinese_calendar.find_workday(1, date(2025, 9, 30)) == date(2025, 10, 9)


def test_statutory_holidays_have_no_working_hours_even_for_a_unit_open_on_saturdays():
    saturday_unit = CalendarSpec.build(weekly={d: OFFICE_HOURS for d in range(6)})
    assert STATUTORY_HOLIDAYS and len(STATUTORY_HOLIDAYS) > 60
    for day in STATUTORY_HOLIDAYS:
        assert working_intervals(OFFICE, day) == ()
        assert day_kind(OFFICE, day) is DayKind.HOLIDAY
        assert working_intervals(saturday_unit, day) == ()
    # an ordinary Saturday stays open for that unit; the Saturday inside Golden Week does not
    assert working_intervals(saturday_unit, date(2025, 9, 27)) != ()
    assert working_intervals(saturday_unit, date(2025, 10, 4)) == ()


def test_adjusted_working_weekends_use_monday_hours():
    assert date(2025, 9, 28) in ADJUSTED_WORKDAYS and date(2025, 10, 11) in ADJUSTED_WORKDAYS
    for day in ADJUSTED_WORKDAYS:
        assert day_kind(OFFICE, day) is DayKind.ADJUSTED_WORKDAY
        assert working_intervals(OFFICE, day) == (
            (datetime.combine(day, time(9), SH), datetime.combine(day, time(12), SH)),
            (datetime.combine(day, time(13, 30), SH), datetime.combine(day, time(18), SH)),
        )


def test_every_day_of_2024_to_2026_has_the_hours_its_kind_says():
    for day in ALL_DAYS:
        whole_day = business_seconds_between(
            OFFICE,
            datetime.combine(day, time(0), SH),
            datetime.combine(day, time(0), SH) + timedelta(1),
        )
        assert whole_day == (OFFICE_DAY if chinese_calendar.is_workday(day) else 0), day


def test_adjusted_workdays_can_have_their_own_hours():
    spec = CalendarSpec(adjusted_workday_hours=((time(10), time(16)),))
    assert business_seconds_between(spec, at(2025, 10, 11), at(2025, 10, 12)) == 6 * HOUR
    assert business_seconds_between(spec, at(2025, 10, 10), at(2025, 10, 11)) == OFFICE_DAY


def test_without_cn_holidays_the_weekly_hours_apply_on_national_day():
    spec = CalendarSpec(use_cn_holidays=False)
    assert business_seconds_between(spec, at(2025, 10, 1), at(2025, 10, 2)) == OFFICE_DAY
    assert business_seconds_between(spec, at(2025, 10, 11), at(2025, 10, 12)) == 0


def test_years_the_package_does_not_know_fall_back_to_weekly_hours():
    assert cn_holiday_data_covers(date(2026, 10, 1))
    assert not cn_holiday_data_covers(date(2027, 1, 1))
    # 2027-01-01 is a Friday: without data it is an ordinary working day
    assert day_kind(OFFICE, date(2027, 1, 1)) is DayKind.WORKDAY
    assert business_seconds_between(OFFICE, at(2027, 1, 1), at(2027, 1, 4)) == OFFICE_DAY


def test_manual_exceptions_close_a_day_or_open_one():
    spec = CalendarSpec.build(
        exceptions={
            date(2025, 12, 31): [],  # company day off
            date(2025, 10, 5): [(time(10), time(14))],  # holiday duty roster
        }
    )
    assert day_kind(spec, date(2025, 12, 31)) is DayKind.EXCEPTION
    assert business_seconds_between(spec, at(2025, 12, 31), at(2026, 1, 1)) == 0
    assert business_seconds_between(spec, at(2025, 10, 5), at(2025, 10, 6)) == 4 * HOUR
    assert add_business_seconds(spec, at(2025, 10, 1), HOUR) == at(2025, 10, 5, 11)


# --- concrete deadlines across National Day 2025 ---------------------------------------------


def test_eight_business_hours_from_the_eve_of_national_day_end_on_the_first_workday_after():
    # given 1 h left on Tue 30 Sep, then the holidays 1–8 Oct; 10-09 is the next workday
    # when 8 business hours are added: 1 h + 3 h (morning) + 4 h from 13:30
    due = add_business_seconds(OFFICE, at(2025, 9, 30, 17), 8 * HOUR)
    assert due == at(2025, 10, 9, 17, 30)
    assert due.tzinfo == SH


def test_adjusted_working_sunday_and_saturday_count():
    assert add_business_seconds(OFFICE, at(2025, 9, 27, 10), HOUR) == at(2025, 9, 28, 10)
    assert add_business_seconds(OFFICE, at(2025, 10, 10, 17), 2 * HOUR) == at(2025, 10, 11, 10)
    # the Sunday after the adjusted Saturday is an ordinary weekend again
    assert add_business_seconds(OFFICE, at(2025, 10, 11, 17), 2 * HOUR) == at(2025, 10, 13, 10)


def test_a_target_running_out_at_noon_is_due_at_noon_not_after_lunch():
    assert add_business_seconds(OFFICE, at(2025, 10, 9, 9), 3 * HOUR) == at(2025, 10, 9, 12)
    assert add_business_seconds(OFFICE, at(2025, 10, 9, 9), 3 * HOUR + 1) == at(
        2025, 10, 9, 13, 30, 1
    )


def test_the_lunch_break_adds_no_time():
    assert business_seconds_between(OFFICE, at(2025, 10, 9, 12), at(2025, 10, 9, 13, 30)) == 0
    assert (
        business_seconds_between(OFFICE, at(2025, 10, 9, 11), at(2025, 10, 9, 14, 30)) == 2 * HOUR
    )
    assert not is_business_time(OFFICE, at(2025, 10, 9, 12, 45))
    assert is_business_time(OFFICE, at(2025, 10, 9, 13, 30))
    assert not is_business_time(OFFICE, at(2025, 10, 9, 18))


def test_outside_hours_the_clock_starts_at_the_next_opening():
    assert add_business_seconds(OFFICE, at(2025, 10, 9, 20), 60) == at(2025, 10, 10, 9, 1)
    assert add_business_seconds(OFFICE, at(2025, 10, 9, 20), 0) == at(2025, 10, 9, 20)


def test_a_7x24_calendar_counts_every_second_of_a_holiday():
    spec = CalendarSpec(weekly=(ALL_DAY,) * 7, use_cn_holidays=False)
    assert business_seconds_between(spec, at(2025, 10, 1), at(2025, 10, 8)) == 7 * 86400
    assert add_business_seconds(spec, at(2025, 10, 1, 23), 2 * HOUR) == at(2025, 10, 2, 1)


def test_instants_in_other_time_zones_are_the_same_instants():
    utc = ZoneInfo("UTC")
    start = datetime(2025, 10, 9, 1, 0, tzinfo=utc)  # 09:00 in Shanghai
    assert business_seconds_between(OFFICE, start, start + timedelta(hours=1)) == HOUR
    assert add_business_seconds(OFFICE, start, HOUR) == at(2025, 10, 9, 10)


def test_a_calendar_in_a_zone_with_daylight_saving_counts_real_seconds():
    berlin = ZoneInfo("Europe/Berlin")
    spec = CalendarSpec(timezone="Europe/Berlin", weekly=(ALL_DAY,) * 7, use_cn_holidays=False)
    spring = datetime(2025, 3, 30, tzinfo=berlin)
    autumn = datetime(2025, 10, 26, tzinfo=berlin)
    assert business_seconds_between(spec, spring, spring + timedelta(days=1)) == 23 * HOUR
    assert business_seconds_between(spec, autumn, autumn + timedelta(days=1)) == 25 * HOUR


def test_a_thirty_business_day_target_round_trips_across_national_day():
    # (speed is a benchmark's business, not a unit test's: no timing here)
    spec = CalendarSpec(timezone="Asia/Shanghai", adjusted_workday_hours=((time(9), time(17)),))
    due = add_business_seconds(spec, at(2026, 9, 1, 10), 30 * OFFICE_DAY)
    assert business_seconds_between(spec, at(2026, 9, 1, 10), due) == 30 * OFFICE_DAY
    assert due > at(2026, 10, 8)  # the Golden Week holidays were skipped


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: business_seconds_between(OFFICE, datetime(2025, 10, 9, 9), at(2025, 10, 9, 10)),
        lambda: add_business_seconds(OFFICE, datetime(2025, 10, 9, 9), 60),
        lambda: is_business_time(OFFICE, datetime(2025, 10, 9, 9)),
        lambda: add_business_seconds(OFFICE, at(2025, 10, 9, 9), -1),
    ],
)
def test_naive_datetimes_and_negative_amounts_are_refused(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timezone": "Mars/Olympus"},
        {"weekly": (OFFICE_HOURS,) * 6},
        {"weekly": (((time(12), time(9)),),) + ((),) * 6},
        {"weekly": (((time(9), time(12)), (time(11), time(13))),) + ((),) * 6},
        {"exceptions": ((date(2025, 1, 1), ()), (date(2025, 1, 1), OFFICE_HOURS))},
        {"adjusted_workday_hours": ((time(9), time(9)),)},
    ],
)
def test_inconsistent_calendars_are_refused(kwargs):
    with pytest.raises(ValueError):
        CalendarSpec(**kwargs)


def test_a_calendar_without_any_hours_cannot_reach_a_target():
    closed = CalendarSpec(weekly=((),) * 7)
    with pytest.raises(ValueError):
        add_business_seconds(closed, at(2025, 10, 9), 1)


def test_hours_round_trip_through_text_and_specs_are_hashable():
    assert parse_hours("09:00-12:00, 13:30-18:00") == OFFICE_HOURS
    assert parse_hours("00:00-24:00") == ALL_DAY
    assert parse_hours("") == ()
    assert format_hours(OFFICE_HOURS) == "09:00-12:00, 13:30-18:00"
    assert format_hours(ALL_DAY) == "00:00-24:00"
    with pytest.raises(ValueError):
        parse_hours("9 to 5")
    built = CalendarSpec.build(weekly={d: parse_hours("09:00-12:00,13:30-18:00") for d in range(5)})
    assert built == OFFICE and hash(built) == hash(OFFICE)


# --- properties ------------------------------------------------------------------------------


@PROPERTY
@given(start=instants(), amount=business_amounts)
def test_adding_then_measuring_gives_back_the_amount(start, amount):
    due = add_business_seconds(OFFICE, start, amount)
    assert due >= start.replace(microsecond=0)
    assert business_seconds_between(OFFICE, start, due) == amount


@PROPERTY
@given(start=instants(), amount=st.integers(1, 40 * OFFICE_DAY))
def test_the_result_of_adding_is_the_earliest_such_instant(start, amount):
    due = add_business_seconds(OFFICE, start, amount)
    assert business_seconds_between(OFFICE, start, due - timedelta(seconds=1)) == amount - 1
    assert is_business_time(OFFICE, due - timedelta(seconds=1))


@PROPERTY
@given(points=st.lists(instants(), min_size=3, max_size=3))
def test_business_time_is_additive(points):
    a, b, c = sorted(points)
    whole = business_seconds_between(OFFICE, a, c)
    assert whole == business_seconds_between(OFFICE, a, b) + business_seconds_between(OFFICE, b, c)


@PROPERTY
@given(start=instants(), amounts=st.lists(business_amounts, min_size=2, max_size=2))
def test_adding_more_never_ends_earlier(start, amounts):
    small, large = sorted(amounts)
    assert add_business_seconds(OFFICE, start, small) <= add_business_seconds(OFFICE, start, large)


@PROPERTY
@given(instant=instants())
def test_is_business_time_agrees_with_measuring_one_second(instant):
    one_second = business_seconds_between(OFFICE, instant, instant + timedelta(seconds=1))
    assert is_business_time(OFFICE, instant) == (one_second == 1)


@PROPERTY
@given(start=minute_instants(), minutes=st.integers(0, 3 * 24 * 60))
def test_measuring_matches_the_minute_by_minute_reference(start, minutes):
    end = start + timedelta(minutes=minutes)
    assert business_seconds_between(OFFICE, start, end) == reference_between(start, end)


@PROPERTY
@given(
    start=minute_instants(),
    minutes=st.integers(0, 4 * 24 * 60),
    closed=st.integers(0, 4).map(lambda n: timedelta(days=n)),
)
def test_a_closed_exception_removes_exactly_that_days_hours(start, minutes, closed):
    end = start + timedelta(minutes=minutes)
    day_off = start.date() + closed
    spec = CalendarSpec.build(exceptions={day_off: []})
    assert business_seconds_between(spec, start, end) == reference_between(
        start, end, exceptions=((day_off, ()),)
    )
    assert business_seconds_between(spec, start, end) <= business_seconds_between(
        OFFICE, start, end
    )
