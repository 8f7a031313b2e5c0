"""When a care call is due: N business days on the care unit's calendar.

"Call back within 3 business days" (seed 003: 三天内回访) is read as: by the close of the third
working day after the day the repair was resolved. Working days come from the unit's
business calendar (:mod:`yiti.service.calendars`), so statutory holidays are skipped and the
adjusted working weekends (调休) count. A resolution on Tuesday 30 September 2025, before the
National Day holiday, is due at the close of Saturday 11 October (9th, 10th, 11th).

:class:`CalendarBook` loads every business calendar once, so a sweep over thousands of
tickets resolves each unit's calendar from memory, not with one query per ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from yiti.care.roster import unit_chain
from yiti.core.business_time import CalendarSpec, working_intervals
from yiti.service.calendars import DEFAULT_SPEC, spec_of
from yiti.service.models import BusinessCalendar

# Give up looking for working days after this many calendar days (a calendar with no hours).
_MAX_SCAN_DAYS = 3660


def add_business_days(spec: CalendarSpec, start: datetime, days: int) -> datetime:
    """The close of the ``days``-th working day after ``start``'s local date.

    ``days`` of 0 gives the close of ``start``'s own working day, or of the next working day
    when ``start`` is on a closed day or after closing time.
    """
    if days < 0:
        raise ValueError("business days to add must not be negative")
    local = start.astimezone(spec.tz)
    day = local.date()
    if days == 0:
        intervals = working_intervals(spec, day)
        if intervals and intervals[-1][1] > local:
            return intervals[-1][1]
    counted = 0
    for _ in range(_MAX_SCAN_DAYS):
        day += timedelta(days=1)
        intervals = working_intervals(spec, day)
        if not intervals:
            continue
        counted += 1
        if counted >= max(days, 1):
            return intervals[-1][1]
    raise ValueError("the calendar has no working days left to reach the due date")


class CalendarBook:
    """Every business calendar, loaded once: the spec of a unit is its own calendar's, or the
    nearest ancestor's, else the company default, else the built-in default."""

    def __init__(self) -> None:
        rows = list(BusinessCalendar.objects.prefetch_related("exceptions"))
        self._by_unit: dict[int, CalendarSpec] = {}
        self._default: CalendarSpec = DEFAULT_SPEC
        for row in rows:
            spec = spec_of(row, row.exceptions.all())
            if row.unit_id is None:
                self._default = spec
            else:
                self._by_unit[row.unit_id] = spec

    def spec_for(self, path: str, unit_id: int | None = None) -> CalendarSpec:
        for candidate in unit_chain(path, unit_id):
            spec = self._by_unit.get(candidate)
            if spec is not None:
                return spec
        return self._default

    def due(self, *, path: str, unit_id: int | None, start: datetime, days: int) -> datetime:
        return add_business_days(self.spec_for(path, unit_id), start, days)
