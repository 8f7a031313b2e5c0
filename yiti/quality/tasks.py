"""Background computations of the quality layer, scheduled in ``QualityConfig.ready``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django_tasks import task

from yiti.quality import services
from yiti.quality.choices import RunKind


@task(queue_name="reports")
def quality_compute(
    kind: str, start: str | None = None, slot: str | None = None, current: bool = False
) -> dict[str, Any]:
    """Compute the ranking of a month or the themes of a week: ``start`` names the period
    (asked for by a person); a scheduled run passes its ``slot`` and computes the period
    before it (last month on the 1st, last week on Monday), or with ``current`` the slot's own
    month so far (the daily month-to-date ranking)."""
    if start:
        first = date.fromisoformat(start)
    else:
        first = services.slot_period(kind, slot, current=current)
    if kind == RunKind.RANKING:
        run = services.ranking_compute(month=first)
    else:
        run = services.themes_compute(week=first)
    return {"kind": kind, "start": run.period_start.isoformat(), "status": run.status}
