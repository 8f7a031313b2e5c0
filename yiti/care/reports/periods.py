"""Which period a report covers, from the slot the scheduler ran it for. Pure date arithmetic.

daily: the day before the slot; weekly: Monday to Sunday of the week before the slot's week;
monthly: the calendar month before the slot's month. Days are local (``settings.TIME_ZONE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from yiti.care.reports.choices import ReportKind


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day
    end: date  # last day (inclusive)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """``[start 00:00, day after end 00:00)`` in local time, as aware datetimes."""
        tz = local_tz()
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return period_for(self.kind, datetime.combine(self.start, time(12), tzinfo=local_tz()))


def parse_slot(slot: str | datetime | None, *, now: datetime | None = None) -> datetime:
    """The slot as an aware local datetime (a naive one is taken as local time)."""
    if slot is None or slot == "":
        value = now or datetime.now(tz=local_tz())
    elif isinstance(slot, datetime):
        value = slot
    else:
        value = datetime.fromisoformat(slot)
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_tz())
    return value.astimezone(local_tz())


def period_for(kind: str, slot: datetime) -> Period:
    day = parse_slot(slot).date()
    if kind == ReportKind.DAILY:
        yesterday = day - timedelta(days=1)
        return Period(kind, yesterday, yesterday)
    if kind == ReportKind.WEEKLY:
        this_monday = day - timedelta(days=day.weekday())
        return Period(kind, this_monday - timedelta(days=7), this_monday - timedelta(days=1))
    if kind == ReportKind.MONTHLY:
        last_day = day.replace(day=1) - timedelta(days=1)
        return Period(kind, last_day.replace(day=1), last_day)
    raise ValueError(f"unknown report kind {kind!r}")
