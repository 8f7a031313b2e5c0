"""A holiday schedule loaded as data behaves like a year of the chinesecalendar package.

Properties: the package's own 2025 loaded as data changes no answer; in a year the package
does not know (2027), a loaded holiday has no business time, a loaded adjusted working day
has the adjusted hours, every other date its weekly hours, and the add/measure round trip
stays exact across the loaded dates.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiti.core.business_time import (
    OFFICE_HOURS,
    CalendarSpec,
    DayKind,
    NationalSchedule,
    add_business_seconds,
    business_seconds_between,
    day_kind,
    schedule_covers,
    working_intervals,
)

SH = ZoneInfo("Asia/Shanghai")
PROPERTY = settings(max_examples=150, deadline=None)
OFFICE_DAY = 7 * 3600 + 30 * 60


def _package_year_as_data(year: int) -> NationalSchedule:
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if on_holiday and name is not None:
            days.append((day, "holiday", str(name)))
        elif not on_holiday and day.weekday() >= 5:
            days.append((day, "workday", str(name or "")))
        day += timedelta(days=1)
    return NationalSchedule(years={year}, days=days)


PACKAGE = CalendarSpec()
LOADED_2025 = CalendarSpec(national=_package_year_as_data(2025))


def instants_in(year: int):
    start = datetime(year, 1, 1, tzinfo=SH)
    return st.integers(0, 364 * 86400).map(lambda s: start + timedelta(seconds=s))


@PROPERTY
@given(start=instants_in(2025), amount=st.integers(0, 20 * OFFICE_DAY))
def test_the_package_year_loaded_as_data_gives_the_same_answers(start, amount):
    assert add_business_seconds(LOADED_2025, start, amount) == add_business_seconds(
        PACKAGE, start, amount
    )
    end = start + timedelta(seconds=amount * 3)
    assert business_seconds_between(LOADED_2025, start, end) == business_seconds_between(
        PACKAGE, start, end
    )


@st.composite
def schedules_2027(draw):
    """A random 2027 schedule: some holidays, some adjusted working weekend days."""
    year_days = [date(2027, 1, 1) + timedelta(n) for n in range(365)]
    holidays = draw(st.sets(st.sampled_from(year_days), min_size=1, max_size=40))
    weekends = [d for d in year_days if d.weekday() >= 5 and d not in holidays]
    workdays = draw(st.sets(st.sampled_from(weekends), max_size=12))
    days = [(d, "holiday", "假") for d in holidays] + [(d, "workday", "班") for d in workdays]
    return NationalSchedule(years={2027}, days=days), holidays, workdays


@pytest.mark.skipif(
    schedule_covers(CalendarSpec(), 2027),
    reason="the installed package knows 2027",
)
@PROPERTY
@given(loaded=schedules_2027(), day_number=st.integers(0, 364))
def test_a_loaded_year_closes_its_holidays_and_opens_its_adjusted_workdays(loaded, day_number):
    national, holidays, workdays = loaded
    spec = CalendarSpec(national=national)
    assert schedule_covers(spec, 2027) and not schedule_covers(CalendarSpec(), 2027)
    day = date(2027, 1, 1) + timedelta(day_number)
    morning = datetime.combine(day, time(0), tzinfo=SH)
    worked = business_seconds_between(spec, morning, morning + timedelta(days=1))
    if day in holidays:
        assert day_kind(spec, day) is DayKind.HOLIDAY and worked == 0
    elif day in workdays:
        assert day_kind(spec, day) is DayKind.ADJUSTED_WORKDAY and worked == OFFICE_DAY
        assert [(a.time(), b.time()) for a, b in working_intervals(spec, day)] == list(OFFICE_HOURS)
    elif day.weekday() >= 5:
        assert worked == 0
    else:
        assert worked == OFFICE_DAY


@PROPERTY
@given(
    loaded=schedules_2027(),
    offset=st.integers(0, 360 * 86400),
    amount=st.integers(0, 30 * OFFICE_DAY),
)
def test_adding_then_measuring_round_trips_over_a_loaded_year(loaded, offset, amount):
    spec = CalendarSpec(national=loaded[0])
    start = datetime(2027, 1, 1, tzinfo=SH) + timedelta(seconds=offset)
    due = add_business_seconds(spec, start, amount)
    assert business_seconds_between(spec, start, due) == amount
    assert due == start or day_kind(spec, (due - timedelta(seconds=1)).date()) is not (
        DayKind.HOLIDAY
    )


def test_a_loaded_year_replaces_the_package_for_that_year_only():
    # National Day 2025 is a package holiday; a loaded 2025 that lists only New Year wins
    loaded = CalendarSpec(national=NationalSchedule(days=[(date(2025, 1, 1), "holiday", "元旦")]))
    assert day_kind(PACKAGE, date(2025, 10, 1)) is DayKind.HOLIDAY
    assert day_kind(loaded, date(2025, 10, 1)) is DayKind.WORKDAY
    assert day_kind(loaded, date(2025, 1, 1)) is DayKind.HOLIDAY
    # and 2024 still comes from the package
    assert day_kind(loaded, date(2024, 10, 1)) is DayKind.HOLIDAY
    # a calendar that ignores the Chinese holidays ignores loaded years too
    plain = CalendarSpec(use_cn_holidays=False, national=loaded.national)
    assert day_kind(plain, date(2025, 1, 1)) is DayKind.WORKDAY


def test_schedules_are_values_and_refuse_a_date_twice():
    a = NationalSchedule(days=[(date(2027, 1, 1), "holiday", "元旦")])
    b = NationalSchedule(years=[2027], days=[(date(2027, 1, 1), "holiday", "元旦")])
    assert a == b and hash(a) == hash(b)
    assert CalendarSpec(national=a) == CalendarSpec(national=b)
    with pytest.raises(ValueError, match="listed twice"):
        NationalSchedule(
            days=[(date(2027, 1, 1), "holiday", "x"), (date(2027, 1, 1), "workday", "")]
        )
    with pytest.raises(ValueError):
        NationalSchedule(days=[(date(2027, 1, 1), "vacation", "x")])
