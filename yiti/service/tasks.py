"""Background work of the service desk: the periodic SLA sweep.

Registered in ``ServiceConfig.ready`` to run every five minutes. The sweep finds the open
tickets whose SLA state must change with one indexed query (``sla_next_at <= now``), then
recomputes only those, each in its own transaction with the row locked.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from yiti.core.business_time import CalendarSpec
from yiti.service.calendars import spec_for_unit
from yiti.service.choices import OPEN_STATUSES
from yiti.service.models import Ticket
from yiti.service.sla import sla_refresh

logger = logging.getLogger("yiti.service")

SWEEP_BATCH = 2000


def sla_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH, notify: bool = True) -> int:
    """Record warnings and breaches that are due; returns how many tickets were recomputed.

    ``notify=False`` records them without telling anyone (for back-filled demo history)."""
    now = now or timezone.now()
    due_ids = list(
        Ticket.objects.filter(sla_next_at__lte=now, status__in=OPEN_STATUSES)
        .order_by("sla_next_at")
        .values_list("pk", flat=True)[:batch]
    )
    specs: dict[int, CalendarSpec] = {}
    for ticket_id in due_ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("unit", "customer", "customer__unit", "assignee", "sla_policy")
                .filter(pk=ticket_id, sla_next_at__lte=now)
                .first()
            )
            if ticket is None:  # changed meanwhile: a transition recomputed it already
                continue
            if ticket.unit_id not in specs:
                specs[ticket.unit_id] = spec_for_unit(ticket.unit)
            changed = sla_refresh(ticket, now=now, spec=specs[ticket.unit_id], notify_people=notify)
            if changed:
                ticket.save(update_fields=[*changed, "updated_at"])
    if due_ids:
        logger.info("SLA sweep recomputed %d tickets", len(due_ids))
    return len(due_ids)


@task()
def sla_sweep_task(slot: str = "") -> int:
    """The scheduled entry point (``service.sla_sweep``, every five minutes)."""
    del slot  # every run looks at "now"; the slot only makes the run unique
    return sla_sweep()


@task()
def holiday_schedule_check_task(slot: str = "") -> list[int]:
    """The scheduled entry point (``service.holiday_schedule_check``, daily at 09:00): from
    1 November, tell the administrators once that next year's holiday schedule is missing."""
    del slot
    from yiti.service.holidays import holiday_schedule_check

    return holiday_schedule_check()
