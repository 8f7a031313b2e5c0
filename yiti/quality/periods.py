"""The periods of the quality layer, in local time (``settings.TIME_ZONE``): calendar months
for the ranking, Monday-to-Sunday weeks for the themes. Pure date arithmetic."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The last day of ``month``'s month."""
    return next_month(month) - timedelta(days=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, the day after last 00:00)`` as aware local datetimes."""
    tz = local_tz()
    return (
        datetime.combine(first, time.min, tzinfo=tz),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz),
    )


def local_date(value: datetime) -> date:
    return value.astimezone(local_tz()).date()


def parse_month(text: str) -> date:
    """``2026-11`` (or any date in the month) as the month's first day; ValueError otherwise."""
    text = (text or "").strip()
    if len(text) == 7:
        text += "-01"
    return month_start(date.fromisoformat(text))


def months_back(month: date, count: int) -> list[date]:
    """``count`` months ending with ``month``, oldest first."""
    out = [month]
    for _ in range(count - 1):
        out.append(previous_month(out[-1]))
    return out[::-1]
