"""Background generation of the reports, scheduled in ``CareReportsConfig.ready``."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from yiti.care.reports import services


@task(queue_name="reports")
def report_generate(kind: str, slot: str | None = None, force: bool = False) -> dict[str, Any]:
    """Generate the ``kind`` reports of the period before ``slot`` (the scheduled time).

    Scheduled runs keep a period that is ready already (the monthly job fires on the 1st to the
    5th only to catch up a missed run); "Generate now" passes ``force=True``."""
    result = services.report_generate(kind=kind, slot=slot, force=force)
    return {
        "kind": kind,
        "period_start": result.period.start.isoformat(),
        "period_end": result.period.end.isoformat(),
        "snapshots": result.snapshots,
        "skipped": result.skipped,
    }
