"""Business calendars as data, and the :class:`CalendarSpec` the SLA clock runs on.

A ticket's clock runs on the calendar of its service unit or of the nearest unit above it
that has one, else on the company default (``unit`` null, at most one), else on the built-in
default: Monday to Friday 09:00–12:00 and 13:30–18:00 with the Chinese public holidays and
adjusted working weekends (see :mod:`yiti.core.business_time`).

Every spec built here carries the official holiday schedules loaded as data
(:class:`~yiti.service.models.HolidaySchedule`, company-wide): for a loaded year they replace
the ``chinesecalendar`` package; :func:`national_schedule` reads them in one query.

In the database, ``weekly_hours`` maps ``mon``..``sun`` to ``[["09:00", "12:00"], ...]`` and an
exception's ``intervals`` is such a list (empty: closed that day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import time
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.business_time import (
    OFFICE_HOURS,
    CalendarSpec,
    Hours,
    NationalSchedule,
    format_hours,
    parse_hours,
)
from yiti.core.errors import ValidationFailed
from yiti.org.models import OrgUnit
from yiti.service.models import BusinessCalendar, HolidayDate

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_SPEC = CalendarSpec()  # Mon–Fri OFFICE_HOURS, Chinese holidays, Asia/Shanghai


def national_schedule() -> NationalSchedule:
    """The official holiday schedules loaded as data, every year at once (one query)."""
    rows = list(HolidayDate.objects.values_list("schedule__year", "date", "kind", "name"))
    return NationalSchedule(
        years={year for year, _d, _k, _n in rows},
        days=[(day, kind, name) for _y, day, kind, name in rows],
    )


def default_spec(national: NationalSchedule | None = None) -> CalendarSpec:
    """The built-in default calendar with the loaded holiday schedules."""
    return CalendarSpec(national=national_schedule() if national is None else national)


NO_HOURS_MESSAGE = gettext_lazy("A calendar needs working hours on at least one weekday.")


def has_weekly_hours(weekly_hours: Mapping[str, Any] | None) -> bool:
    """Whether a calendar's weekly hours open at least one weekday."""
    return any(weekly_hours.get(day) for day in DAYS) if weekly_hours else False


def default_weekly_hours() -> dict[str, list[list[str]]]:
    office = [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in OFFICE_HOURS]
    return {day: (office if i < 5 else []) for i, day in enumerate(DAYS)}


def _end(text: str) -> time:
    return time(0, 0) if text == "24:00" else time.fromisoformat(text)


def hours_from_json(raw: Any, where: str) -> Hours:
    """``[["09:00", "12:00"], ...]`` -> hours; raises ValidationFailed when unreadable."""
    try:
        pairs = [(time.fromisoformat(str(a)), _end(str(b))) for a, b in (raw or [])]
        return parse_hours(format_hours(tuple(pairs)))  # checks order and overlap
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            _("Cannot read the working hours of %(where)s.") % {"where": where},
            field="weekly_hours",
        ) from exc


def hours_to_json(hours: Hours) -> list[list[str]]:
    return [list(part.strip().split("-")) for part in format_hours(hours).split(",") if part]


def hours_from_text(text: str, *, field: str) -> list[list[str]]:
    """``"09:00-12:00, 13:30-18:00"`` -> the JSON form; blank means closed."""
    try:
        return hours_to_json(parse_hours(text or ""))
    except ValueError as exc:
        raise ValidationFailed(
            _("Use HH:MM-HH:MM, separated by commas (e.g. 09:00-12:00, 13:30-18:00)."),
            field=field,
            code="invalid_hours",
        ) from exc


def hours_text(raw: Sequence[Sequence[str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in raw)


def spec_of(
    calendar: BusinessCalendar | None,
    exceptions: Iterable[Any] | None = None,
    *,
    national: NationalSchedule | None = None,
) -> CalendarSpec:
    """The pure calendar spec of a calendar row (``exceptions``: its CalendarException rows;
    ``national``: the loaded holiday schedules, read from the database when not given)."""
    if national is None:
        national = national_schedule()
    if calendar is None:
        return default_spec(national)
    weekly_raw: Mapping[str, Any] = calendar.weekly_hours or {}
    weekly = {i: hours_from_json(weekly_raw.get(day, []), day) for i, day in enumerate(DAYS)}
    adjusted_index = (
        DAYS.index(calendar.adjusted_workday_as) if calendar.adjusted_workday_as in DAYS else 0
    )
    rows = calendar.exceptions.all() if exceptions is None else exceptions
    try:
        return CalendarSpec.build(
            timezone=calendar.time_zone,
            weekly=weekly,
            use_cn_holidays=calendar.use_cn_holidays,
            adjusted_workday_hours=weekly[adjusted_index],
            exceptions={row.date: hours_from_json(row.intervals, str(row.date)) for row in rows},
            national=national,
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="time_zone") from exc


def unit_chain_ids(unit: OrgUnit) -> list[int]:
    """Ids from the unit up to the root, nearest first (from the materialised path)."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    if not ids or ids[-1] != unit.pk:
        ids.append(unit.pk)
    return list(reversed(ids))


def calendar_for_unit(unit: OrgUnit) -> BusinessCalendar | None:
    """The calendar of ``unit`` or its nearest ancestor, else the company default (one query)."""
    chain = unit_chain_ids(unit)
    rows = list(
        BusinessCalendar.objects.filter(
            Q(unit_id__in=chain) | Q(unit__isnull=True)
        ).prefetch_related("exceptions")
    )
    if not rows:
        return None
    rank = {unit_id: i for i, unit_id in enumerate(chain)}
    return min(rows, key=lambda c: rank.get(c.unit_id, len(chain)) if c.unit_id else len(chain))


def spec_for_unit(unit: OrgUnit) -> CalendarSpec:
    return spec_of(calendar_for_unit(unit))
