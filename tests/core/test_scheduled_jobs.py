"""The periodic jobs really run: the scheduler enqueues them, the worker executes them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from yiti.core.models import ScheduledRun
from yiti.core.scheduling import scheduler_tick, schedules


@pytest.mark.django_db(transaction=True)
def test_a_monday_tick_enqueues_every_job_and_the_worker_runs_them(org):
    names = {s.name for s in schedules()}
    assert {"service.sla_sweep", "care.followups", "care_reports.weekly"} <= names
    monday = datetime(2026, 11, 23, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

    fired = scheduler_tick(monday)

    assert set(fired) == names
    assert ScheduledRun.objects.count() == len(names)
    assert DBTaskResult.objects.count() == len(names)
    call_command("db_worker", "--batch", "--queue-name=*", verbosity=0)
    statuses = set(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == {"SUCCESSFUL"}, list(DBTaskResult.objects.values_list("task_path", "status"))
    # and a second tick in the same slot enqueues nothing more
    assert scheduler_tick(monday) == []
