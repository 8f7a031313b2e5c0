"""Background jobs of customer care: the follow-up sweep, every 10 minutes (see apps.py)."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from yiti.care.services import followups_generate


@task()
def followups_sweep(slot: str | None = None) -> dict[str, int]:
    """Create the care tasks that are due to exist; ``slot`` is the scheduled time."""
    now = datetime.fromisoformat(slot) if slot else None
    return followups_generate(now=now).created
