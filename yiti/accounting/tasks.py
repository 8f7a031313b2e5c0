"""Background jobs of accounting: last week's scorecards, every Monday at 06:30 (apps.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django_tasks import task

from yiti.accounting import daily
from yiti.accounting.scorecards import last_week, scorecards
from yiti.accounting.services import scorecards_snapshot


def snapshot_week(*, now: datetime | None = None) -> int:
    """Compute and store the scorecards of every account manager for the week before ``now``."""
    start, end = last_week(now)
    cards = scorecards(start=start, end=end, scope=None, now=now)
    rows: list[dict[str, Any]] = [
        {
            "user_id": c.user.pk,
            "unit_id": c.unit.pk,
            "rank": c.rank,
            "of": c.of,
            "profit": c.profit,
            "data": c.data(),
        }
        for c in cards
    ]
    return scorecards_snapshot(week_start=start, rows=rows)


@task(queue_name="reports")
def scorecards_weekly(slot: str | None = None) -> dict[str, Any]:
    """Last week's scorecards, for the week before ``slot`` (the scheduled time)."""
    now = datetime.fromisoformat(slot) if slot else None
    return {"account_managers": snapshot_week(now=now)}


@task(queue_name="reports")
def results_nightly(slot: str | None = None) -> dict[str, Any]:
    """Store the unit × product results of the last days (``accounting.daily``)."""
    now = datetime.fromisoformat(slot) if slot else None
    return {"days": daily.nightly(now=now)}
