"""Background work of customers: running import jobs (queued by ``import_jobs.import_job_create``)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from yiti.customers.import_jobs import import_job_run

# Long batch work shares the reports queue with the value refit, so it never holds up sending.
QUEUE = "reports"


@task(queue_name=QUEUE)
def import_job_task(job_id: int) -> dict[str, Any]:
    """Run one queued import job to its end; a job run or cancelled meanwhile is skipped."""
    outcome = import_job_run(job_id)
    if outcome is None:
        return {"job": job_id, "status": "skipped"}
    job = outcome.job
    return {
        "job": job.pk,
        "status": job.status,
        "rows": job.row_count,
        "created": job.created_count,
        "updated": job.updated_count,
        "errors": job.error_count,
    }
