"""Background jobs of the cockpit: fold changes into the rollups every 10 minutes, and rebuild
them from scratch every night (customers moved to another unit move their history then)."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from yiti.insights.rollups import rollups_rebuild, rollups_refresh


@task()
def rollups_refresh_task(slot: str | None = None) -> dict[str, int]:
    """Recompute the days (weeks, campaigns) changed since the watermarks."""
    now = datetime.fromisoformat(slot) if slot else None
    return rollups_refresh(now=now)


@task()
def rollups_rebuild_task(slot: str | None = None) -> dict[str, int]:
    """Delete every rollup and compute it again from all the data."""
    now = datetime.fromisoformat(slot) if slot else None
    return rollups_rebuild(now=now)


@task()
def cockpit_reports_task(slot: str | None = None) -> int:
    """Write the subscribed cockpit reports due today and queue their e-mails."""
    from yiti.insights.cockpit_reports import cockpit_reports_generate

    now = datetime.fromisoformat(slot) if slot else None
    return cockpit_reports_generate(now=now)
