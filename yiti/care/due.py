"""When a care call is due: N business days on the care unit's calendar.

"Call back within 3 business days" (seed 003: 三天内回访) is read as: by the close of the third
working day after the day the repair was resolved. Working days come from the unit's
business calendar (:mod:`yiti.service.calendars`), so statutory holidays are skipped and the
adjusted working weekends (调休) count. A resolution on Tuesday 30 September 2025, before the
National Day holiday, is due at the close of Saturday 11 October (9th, 10th, 11th).

:class:`CalendarBook` loads every business calendar once, so a sweep over thousands of
tickets resolves each unit's calendar from memory, not with one query per ticket.

A due date never fails the care step that needs it: when the unit's calendar has no working
days in reach (:class:`~yiti.core.business_time.NoWorkingHours`), the due date is counted on
the built-in office week (Monday to Friday, with the official holidays) instead, and logged.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from yiti.care.roster import unit_chain
from yiti.core.business_time import (
    MAX_CLOSED_DAYS,
    CalendarSpec,
    NoWorkingHours,
    working_intervals,
)
from yiti.service.calendars import default_spec, national_schedule, spec_of
from yiti.service.models import BusinessCalendar

logger = logging.getLogger("yiti.care")

# Give up looking for working days after this many calendar days (a calendar with no hours).
_MAX_SCAN_DAYS = MAX_CLOSED_DAYS


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
    raise NoWorkingHours(
        f"no working day in {_MAX_SCAN_DAYS:,} consecutive days after {local.date()}: "
        "the calendar has no working days in reach"
    )


class CalendarBook:
    """Every business calendar, loaded once: the spec of a unit is its own calendar's, or the
    nearest ancestor's, else the company default, else the built-in default."""

    def __init__(self) -> None:
        rows = list(BusinessCalendar.objects.prefetch_related("exceptions"))
        national = national_schedule()
        self._by_unit: dict[int, CalendarSpec] = {}
        self._builtin: CalendarSpec = default_spec(national)
        self._default: CalendarSpec = self._builtin
        for row in rows:
            spec = spec_of(row, row.exceptions.all(), national=national)
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
        """The due date on the unit's calendar, or on the built-in office week when that
        calendar has no working days in reach."""
        try:
            return add_business_days(self.spec_for(path, unit_id), start, days)
        except NoWorkingHours:
            logger.warning(
                "the calendar of unit %s has no working days in reach; "
                "care due date counted on the built-in office week",
                unit_id,
            )
            return add_business_days(self._builtin, start, days)
