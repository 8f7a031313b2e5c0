"""Periodic jobs on top of Django's tasks API.

django-tasks has no scheduler, and the maintained cron schedulers for it need Python 3.12+,
so this module is the small piece written by hand: each app registers its periodic tasks
with a cron expression (parsed by ``croniter``) in ``AppConfig.ready``; the worker calls
``scheduler_tick`` every few seconds; a slot is enqueued once thanks to the unique
``ScheduledRun`` row, however many workers run. Missed slots are not replayed one by one:
after downtime only the latest due slot runs, which is what reports and sweeps want.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from yiti.core.models import ScheduledRun

logger = logging.getLogger("yiti.scheduler")


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    task: Any  # a django_tasks Task
    kwargs: dict[str, Any] = field(default_factory=dict)
    pass_slot: bool = (
        True  # call the task with slot="<iso datetime>" so it knows which period it is for
    )

    def latest_slot(self, now: datetime) -> datetime:
        tz = ZoneInfo(settings.TIME_ZONE)
        local_now = now.astimezone(tz)
        prev = croniter(self.cron, local_now).get_prev(datetime)
        # croniter returns the previous fire time strictly before now, unless now is exactly a slot
        if croniter.match(self.cron, local_now.replace(second=0, microsecond=0)):
            prev = local_now.replace(second=0, microsecond=0)
        return prev


_registry: dict[str, Schedule] = {}


def register_schedule(
    name: str, cron: str, task: Any, *, pass_slot: bool = True, **kwargs: Any
) -> None:
    if not croniter.is_valid(cron):
        raise ValueError(f"invalid cron expression for {name}: {cron!r}")
    _registry[name] = Schedule(name=name, cron=cron, task=task, kwargs=kwargs, pass_slot=pass_slot)


def schedules() -> list[Schedule]:
    return sorted(_registry.values(), key=lambda s: s.name)


def scheduler_tick(now: datetime | None = None) -> list[str]:
    """Enqueue every job whose latest slot has not been enqueued yet. Returns the names enqueued."""
    now = now or timezone.now()
    fired: list[str] = []
    for schedule in schedules():
        slot = schedule.latest_slot(now)
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(name=schedule.name, slot_at=slot)
                kwargs = dict(schedule.kwargs)
                if schedule.pass_slot:
                    kwargs["slot"] = slot.isoformat()
                result = schedule.task.enqueue(**kwargs)
                run.task_result_id = str(getattr(result, "id", ""))
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # this slot was enqueued already (by us earlier or by another worker)
        fired.append(schedule.name)
        logger.info("scheduled %s for slot %s", schedule.name, slot.isoformat())
    return fired


def schedule_mark_done(name: str, *, now: datetime | None = None) -> bool:
    """Record the latest slot of ``name`` as run without enqueuing it: for work just done by
    other means (the demo seed fits the value model itself), so the first tick does not run it
    again on unchanged data. False when that slot had been recorded already."""
    schedule = _registry[name]
    slot = schedule.latest_slot(now or timezone.now())
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(name=name, slot_at=slot)
    except IntegrityError:
        return False
    return True


def scheduler_loop(stop: threading.Event, *, interval: float = 20.0) -> None:
    """Tick until ``stop`` is set. Runs in a thread beside the task worker."""
    from django.db import close_old_connections

    while not stop.is_set():
        try:
            close_old_connections()
            scheduler_tick()
        except Exception:  # keep the loop alive; the failure is logged with its traceback
            logger.exception("scheduler tick failed")
        stop.wait(interval)
