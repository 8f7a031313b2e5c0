"""Background jobs of customer care: the follow-up sweep every 10 minutes, the watch on
account managers whose customers have gone quiet every morning (see apps.py)."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from yiti.care.services import followups_generate
from yiti.care.watch import quiet_watch


@task()
def followups_sweep(slot: str | None = None) -> dict[str, int]:
    """Create the care tasks that are due to exist; ``slot`` is the scheduled time."""
    now = datetime.fromisoformat(slot) if slot else None
    return followups_generate(now=now).created


@task()
def quiet_watch_run(slot: str | None = None) -> dict[str, int]:
    """Alert region managers and care centres about account managers gone quiet."""
    now = datetime.fromisoformat(slot) if slot else None
    result = quiet_watch(now=now)
    return {"managers": len(result.managers), "notified": result.notified}
