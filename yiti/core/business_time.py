"""Business calendars and business-time arithmetic, as pure functions.

SLA clocks, care follow-ups ("within 3 business days") and reports all need to answer two
questions: how much working time lies between two instants, and at which instant a given
amount of working time will have elapsed. The answers depend on a unit's calendar: weekly
working hours with a lunch break, the Chinese statutory holidays, the adjusted working
weekends (调休) that pay for the long holidays, and the unit's own exceptions.

Why hand-written: the maintained libraries cover only parts of this. ``chinesecalendar``
(import name ``chinese_calendar``) keeps the State Council's holiday and 调休 schedule and
says whether a *date* is a working day; business-hours packages know weekly hours and
holiday lists but not adjusted working weekends, and none computes business-time SLA
clocks. So the calendar data comes from ``chinese_calendar`` and the interval arithmetic is
here, small and property-tested (tests/core/test_business_time.py).

How a day's working hours are decided (first rule that applies wins):

1. a manual exception for that date: its intervals (an empty list closes the day, e.g. a
   company day off; intervals open it, e.g. an on-call Saturday or a holiday duty roster);
2. with ``use_cn_holidays``, when ``chinese_calendar`` has data for the year:
   a statutory holiday is closed (even for a unit that normally works that weekday);
   an adjusted working weekend day (调休上班) uses ``adjusted_workday_hours`` (by default
   Monday's hours); any other day uses the weekly hours of its weekday;
3. otherwise the weekly hours of its weekday.

``chinese_calendar`` ships the schedule for the years it knows (2004–2026 in 1.11) and
raises ``NotImplementedError`` beyond them, because the State Council publishes each year's
schedule only late in the year before. An administrator can load a year's schedule as data
(:class:`NationalSchedule`, carried by the spec as ``national``): a loaded year replaces the
package for that year, holidays and adjusted working days alike. For a year neither knows this
module falls back to the plain weekly hours, so New Year's Day of an unknown year counts as a
working day until the schedule is loaded; :func:`schedule_covers` lets a caller warn about that.

Conventions: instants are timezone-aware ``datetime`` objects (naive ones raise
``ValueError``) and are truncated to the whole second, so every result is an exact integer
number of seconds and the arithmetic is exactly additive. Intervals are half-open
``[start, end)``. Results are returned in the calendar's time zone. Amounts of business
time are whole seconds (``int``); :func:`add_business_seconds` refuses floats and Decimals.
Looking ahead it gives up after :data:`MAX_CLOSED_DAYS` (3,660) consecutive closed days and
raises :class:`NoWorkingHours`: such a calendar has no working hours in reach.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

Interval = tuple[time, time]
"""A local working interval ``[start, end)``; an ``end`` of 00:00 means midnight (24:00)."""

Hours = tuple[Interval, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)

# add_business_seconds gives up after this many consecutive local calendar days without a
# single working second (about ten years): the calendar is then taken as closed for good
# (e.g. no weekly hours and no exception that opens a day) and NoWorkingHours is raised.
MAX_CLOSED_DAYS = 3660


class NoWorkingHours(ValueError):
    """A calendar has no working time in reach: :data:`MAX_CLOSED_DAYS` consecutive closed days."""


OFFICE_HOURS: Hours = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))
"""Mon–Fri 09:00–12:00 and 13:30–18:00: the common Chinese office day with a lunch break."""

ALL_DAY: Hours = ((_MIDNIGHT, _MIDNIGHT),)
"""00:00–24:00, for 7×24 calendars such as critical incidents."""


class DayKind(StrEnum):
    """Why a date has the hours it has (for explaining a clock to a user)."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    ADJUSTED_WORKDAY = "adjusted_workday"
    EXCEPTION = "exception"


class HolidayKind(StrEnum):
    """A date of an official schedule: a public holiday, or an adjusted working day (调休上班)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


class NationalSchedule:
    """Official holiday schedules loaded as data (the State Council's, year by year).

    ``years`` are the years this schedule knows completely; for such a year it replaces the
    ``chinese_calendar`` package: a listed holiday is closed, a listed workday on a weekend is
    an adjusted working day, and every other date keeps its weekly hours. ``days`` are
    ``(date, kind, name)`` with ``kind`` a :class:`HolidayKind` value. Immutable and hashable
    (the hash is computed once), so it can be part of a cached :class:`CalendarSpec`.
    """

    __slots__ = ("_days", "_hash", "_key", "years")

    def __init__(
        self, *, years: Iterable[int] = (), days: Iterable[tuple[date, str, str]] = ()
    ) -> None:
        mapping: dict[date, tuple[HolidayKind, str]] = {}
        for day, kind, name in days:
            if day in mapping:
                raise ValueError(f"{day} is listed twice in the holiday schedule")
            mapping[day] = (HolidayKind(kind), name)
        known = frozenset(years) | {day.year for day in mapping}
        self.years: frozenset[int] = known
        self._days = mapping
        self._key = (
            tuple(sorted(known)),
            tuple(sorted((d, k.value, n) for d, (k, n) in mapping.items())),
        )
        self._hash = hash(self._key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NationalSchedule) and self._key == other._key

    def __repr__(self) -> str:
        return f"NationalSchedule(years={sorted(self.years)}, days={len(self._days)})"

    def get(self, day: date) -> tuple[HolidayKind, str] | None:
        """The kind and name of ``day`` when it is listed, else ``None``."""
        return self._days.get(day)


NO_SCHEDULE = NationalSchedule()


def _end_seconds(end: time) -> int:
    return 86400 if end == _MIDNIGHT else end.hour * 3600 + end.minute * 60 + end.second


def _check_hours(hours: Iterable[Interval], where: str) -> Hours:
    result = tuple((start, end) for start, end in hours)
    previous_end = -1
    for start, end in result:
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"{where}: intervals are pairs of datetime.time")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}: interval times are local, without tzinfo")
        if start.microsecond or end.microsecond:
            raise ValueError(f"{where}: interval times have whole seconds")
        start_s = start.hour * 3600 + start.minute * 60 + start.second
        if start_s >= _end_seconds(end):
            raise ValueError(f"{where}: interval {start}–{end} is empty or reversed")
        if start_s < previous_end:
            raise ValueError(f"{where}: intervals must be sorted and must not overlap")
        previous_end = _end_seconds(end)
    return result


@dataclass(frozen=True)
class CalendarSpec:
    """A unit's business calendar. Immutable and hashable, so per-day results are cached.

    ``weekly`` holds the working intervals of Monday … Sunday (index 0 … 6); the lunch break
    is simply the gap between two intervals. ``exceptions`` is a sorted tuple of
    ``(date, hours)``; build specs with :meth:`build` to pass plain dicts and lists.
    """

    timezone: str = "Asia/Shanghai"
    weekly: tuple[Hours, Hours, Hours, Hours, Hours, Hours, Hours] = (
        OFFICE_HOURS,
        OFFICE_HOURS,
        OFFICE_HOURS,
        OFFICE_HOURS,
        OFFICE_HOURS,
        (),
        (),
    )
    use_cn_holidays: bool = True
    adjusted_workday_hours: Hours | None = None
    """Hours of an adjusted working weekend day (调休); ``None`` means Monday's hours."""
    exceptions: tuple[tuple[date, Hours], ...] = ()
    national: NationalSchedule = NO_SCHEDULE
    """Loaded official schedules; a year here overrides ``chinese_calendar`` (with
    ``use_cn_holidays``)."""
    _exception_map: dict[date, Hours] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        if len(self.weekly) != 7:
            raise ValueError("weekly hours need one entry per weekday, Monday first")
        weekly = tuple(_check_hours(hours, f"weekday {i}") for i, hours in enumerate(self.weekly))
        object.__setattr__(self, "weekly", weekly)
        if self.adjusted_workday_hours is not None:
            adjusted = _check_hours(self.adjusted_workday_hours, "adjusted workday")
            object.__setattr__(self, "adjusted_workday_hours", adjusted)
        exceptions = tuple(
            sorted((day, _check_hours(hours, f"exception {day}")) for day, hours in self.exceptions)
        )
        mapping = dict(exceptions)
        if len(mapping) != len(exceptions):
            raise ValueError("at most one exception per date")
        object.__setattr__(self, "exceptions", exceptions)
        object.__setattr__(self, "_exception_map", mapping)

    @classmethod
    def build(
        cls,
        *,
        timezone: str = "Asia/Shanghai",
        weekly: Mapping[int, Sequence[Interval]] | None = None,
        use_cn_holidays: bool = True,
        adjusted_workday_hours: Sequence[Interval] | None = None,
        exceptions: Mapping[date, Sequence[Interval]] | None = None,
        national: NationalSchedule = NO_SCHEDULE,
    ) -> CalendarSpec:
        """Build a spec from plain mappings: ``weekly`` maps weekday (0 = Monday) to hours;
        weekdays left out are closed. Without ``weekly``: Mon–Fri :data:`OFFICE_HOURS`."""
        if weekly is None:
            days: list[Hours] = [OFFICE_HOURS] * 5 + [(), ()]
        else:
            if any(day not in range(7) for day in weekly):
                raise ValueError("weekly keys are weekdays 0 (Monday) to 6 (Sunday)")
            days = [tuple(weekly.get(day, ())) for day in range(7)]
        return cls(
            timezone=timezone,
            weekly=(days[0], days[1], days[2], days[3], days[4], days[5], days[6]),
            use_cn_holidays=use_cn_holidays,
            adjusted_workday_hours=(
                None if adjusted_workday_hours is None else tuple(adjusted_workday_hours)
            ),
            exceptions=tuple((day, tuple(hours)) for day, hours in (exceptions or {}).items()),
            national=national,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_hours(text: str) -> Hours:
    """Parse ``"09:00-12:00, 13:30-18:00"`` (``24:00`` allowed as an end) into hours.

    An empty or blank string means closed. Meant for calendars kept as text in the database.
    """
    hours: list[Interval] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            start_text, end_text = (piece.strip() for piece in part.split("-"))
            start = time.fromisoformat(start_text)
            end = _MIDNIGHT if end_text == "24:00" else time.fromisoformat(end_text)
        except ValueError as exc:
            raise ValueError(f"cannot read working hours {part!r}; use HH:MM-HH:MM") from exc
        hours.append((start, end))
    return _check_hours(hours, f"hours {text!r}")


def format_hours(hours: Hours) -> str:
    """The inverse of :func:`parse_hours`."""
    return ", ".join(
        f"{start:%H:%M}-{'24:00' if end == _MIDNIGHT else format(end, '%H:%M')}"
        for start, end in hours
    )


def cn_holiday_data_covers(day: date) -> bool:
    """Whether the installed ``chinese_calendar`` knows the holiday schedule of ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def schedule_covers(spec: CalendarSpec, year: int) -> bool:
    """Whether ``spec`` knows the official holiday schedule of ``year``: loaded as data or in
    the installed package. Always true for a calendar that ignores the Chinese holidays."""
    if not spec.use_cn_holidays or year in spec.national.years:
        return True
    return cn_holiday_data_covers(date(year, 6, 1))


@functools.lru_cache(maxsize=65536)
def _day_rule(spec: CalendarSpec, day: date) -> tuple[DayKind, Hours]:
    if day in spec._exception_map:
        return DayKind.EXCEPTION, spec._exception_map[day]
    weekday = day.weekday()
    plain = DayKind.WORKDAY if weekday < 5 else DayKind.WEEKEND
    if not spec.use_cn_holidays:
        return plain, spec.weekly[weekday]
    if day.year in spec.national.years:
        listed = spec.national.get(day)
        if listed is None:
            return plain, spec.weekly[weekday]
        if listed[0] is HolidayKind.HOLIDAY:
            return DayKind.HOLIDAY, ()
        if weekday < 5:  # a "workday" that is a weekday anyway keeps its own hours
            return plain, spec.weekly[weekday]
        adjusted = spec.adjusted_workday_hours
        return DayKind.ADJUSTED_WORKDAY, spec.weekly[0] if adjusted is None else adjusted
    try:
        on_holiday, holiday_name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        # Year not in the installed package: plain weekly hours (see the module docstring).
        return plain, spec.weekly[weekday]
    if on_holiday and holiday_name is not None:
        return DayKind.HOLIDAY, ()
    if not on_holiday and weekday >= 5:
        adjusted = spec.adjusted_workday_hours
        return DayKind.ADJUSTED_WORKDAY, spec.weekly[0] if adjusted is None else adjusted
    return plain, spec.weekly[weekday]


def day_kind(spec: CalendarSpec, day: date) -> DayKind:
    """Which rule decided ``day``'s hours."""
    return _day_rule(spec, day)[0]


@functools.lru_cache(maxsize=65536)
def _day_spans(spec: CalendarSpec, day: date) -> tuple[tuple[int, int], ...]:
    """Working intervals of a local date as epoch seconds (cached: the hot path)."""
    tz = spec.tz
    spans: list[tuple[int, int]] = []
    for start, end in _day_rule(spec, day)[1]:
        start_dt = datetime.combine(day, start, tzinfo=tz)
        end_day = day + _ONE_DAY if end == _MIDNIGHT else day
        end_dt = datetime.combine(end_day, end, tzinfo=tz)
        a, b = _epoch(start_dt), _epoch(end_dt)
        if spans and a < spans[-1][1]:  # only possible around a DST change
            a = spans[-1][1]
        if a < b:
            spans.append((a, b))
    return tuple(spans)


def _epoch(instant: datetime) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("business time needs timezone-aware datetimes, got a naive one")
    return (instant - _EPOCH) // _ONE_SECOND


def _local_date(seconds: int, tz: ZoneInfo) -> date:
    return (_EPOCH + timedelta(seconds=seconds)).astimezone(tz).date()


def _instant(seconds: int, tz: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(seconds=seconds)).astimezone(tz)


def working_intervals(spec: CalendarSpec, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The working intervals of a local date, as aware datetimes in the calendar's zone."""
    tz = spec.tz
    return tuple((_instant(a, tz), _instant(b, tz)) for a, b in _day_spans(spec, day))


def is_business_time(spec: CalendarSpec, instant: datetime) -> bool:
    """Whether ``instant`` lies inside a working interval (start included, end excluded)."""
    t = _epoch(instant)
    return any(a <= t < b for a, b in _day_spans(spec, _local_date(t, spec.tz)))


def business_seconds_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Working seconds in ``[start, end)``; 0 when ``end <= start``."""
    s, e = _epoch(start), _epoch(end)
    if e <= s:
        return 0
    tz = spec.tz
    day, last = _local_date(s, tz), _local_date(e, tz)
    total = 0
    while day <= last:
        for a, b in _day_spans(spec, day):
            overlap = min(b, e) - max(a, s)
            if overlap > 0:
                total += overlap
        day += _ONE_DAY
    return total


def add_business_seconds(spec: CalendarSpec, start: datetime, seconds: int) -> datetime:
    """The earliest instant at which ``seconds`` of working time have elapsed since ``start``.

    Outside working hours the clock starts at the next opening; a target that runs out
    exactly at a closing time returns that closing time (not the next opening). ``seconds``
    of 0 returns ``start`` (truncated to the second). Walks day by day over cached per-day
    intervals, so a 30-business-day target costs about 45 dictionary look-ups.

    ``seconds`` must be a whole number (an ``int`` or anything with ``__index__``, not a
    ``bool``): a float or a Decimal raises ``TypeError``, since a fractional amount would give
    a fractional instant and break the exact round trip with
    :func:`business_seconds_between`. A negative amount raises ``ValueError``.

    The walk gives up after 3,660 (:data:`MAX_CLOSED_DAYS`) consecutive local calendar days
    without a working second still to use (counting ``start``'s own date when nothing is left
    of it, and restarting the count at every day that has working time), and raises
    :class:`NoWorkingHours` (a ``ValueError``): a calendar whose next working second lies
    further away, or that has none at all, is taken as having no working hours in reach.
    """
    if isinstance(seconds, bool) or not hasattr(type(seconds), "__index__"):
        raise TypeError(
            f"business seconds to add must be a whole number of seconds (int), got {seconds!r}"
        )
    seconds = operator.index(seconds)
    if seconds < 0:
        raise ValueError("business seconds to add must not be negative")
    t = _epoch(start)
    tz = spec.tz
    if seconds == 0:
        return _instant(t, tz)
    remaining = seconds
    first_day = day = _local_date(t, tz)
    closed_days = 0
    while True:
        usable = False
        for a, b in _day_spans(spec, day):
            if b <= t:
                continue
            usable = True
            begin = max(a, t)
            if remaining <= b - begin:
                return _instant(begin + remaining, tz)
            remaining -= b - begin
        closed_days = 0 if usable else closed_days + 1
        if closed_days >= MAX_CLOSED_DAYS:
            raise NoWorkingHours(
                f"no working time in {MAX_CLOSED_DAYS:,} consecutive days "
                f"({day - timedelta(days=MAX_CLOSED_DAYS - 1)} to {day}, the limit of "
                f"add_business_seconds) from {first_day}: the calendar has no working hours "
                "in reach"
            )
        day += _ONE_DAY
