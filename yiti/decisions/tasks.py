"""Background refits of the value model: weekly on schedule (see apps.py) and "Refit now"."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from yiti.decisions.choices import FitStatus, FitTrigger
from yiti.decisions.models import ValueModelFit
from yiti.decisions.services import value_refit

# Heavy batch analysis shares the reports queue, so a refit never holds up sending.
QUEUE = "reports"


@task(queue_name=QUEUE)
def value_refit_task(slot: str | None = None, fit_id: int | None = None) -> dict[str, Any]:
    """Refit the value model: the queued fit ``fit_id`` ("Refit now"), or a scheduled run
    (``slot`` is the scheduled time; the data window ends when the task runs)."""
    fit = None
    if fit_id is not None:
        fit = ValueModelFit.objects.filter(pk=fit_id, status=FitStatus.QUEUED).first()
        if fit is None:  # run or cancelled meanwhile
            return {"fit": fit_id, "status": "skipped"}
    result = value_refit(
        fit=fit,
        end=fit.window_end if fit is not None else None,
        trigger=FitTrigger.MANUAL if fit is not None else FitTrigger.SCHEDULE,
        actor=fit.requested_by if fit is not None else None,
    )
    return {"fit": result.pk, "status": result.status, "error": result.error}
