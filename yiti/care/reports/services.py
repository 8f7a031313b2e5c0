"""Writes of the reports app: generate a period's snapshots, and ask for a generation run.

Generation is idempotent: a period's snapshots are updated in place (one per kind, period and
unit), so running a slot twice, or "Generate now" after the scheduled run, keeps one snapshot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.care.reports.choices import ReportKind, SnapshotStatus
from yiti.care.reports.compute import Computed, compute
from yiti.care.reports.models import ReportSnapshot
from yiti.care.reports.periods import Period, parse_slot, period_for
from yiti.care.reports.rules import require_generate
from yiti.core.audit import audit_record
from yiti.core.errors import Conflict, ValidationFailed
from yiti.org.choices import UnitKind
from yiti.org.models import User

logger = logging.getLogger("yiti.care.reports")

STALE_REQUEST = timedelta(minutes=15)  # a queued run older than this may be asked for again


@dataclass(frozen=True)
class GenerateResult:
    period: Period
    snapshots: int
    skipped: bool = False


def _check_kind(kind: str) -> None:
    if kind not in ReportKind.values:
        raise ValidationFailed(_("Unknown report kind."), field="kind", code="invalid_kind")


def _company_row(period: Period) -> ReportSnapshot:
    row, _created = ReportSnapshot.objects.get_or_create(
        kind=period.kind,
        period_start=period.start,
        unit=None,
        defaults={"period_end": period.end, "status": SnapshotStatus.QUEUED},
    )
    return row


def _set_status(period: Period, status: str, error: str = "") -> None:
    with transaction.atomic():
        _company_row(period)
        ReportSnapshot.objects.filter(
            kind=period.kind, period_start=period.start, unit__isnull=True
        ).update(status=status, error=error, updated_at=timezone.now())


def _store(computed: Computed, now: datetime) -> int:
    period = computed.period
    existing = {
        s.unit_id: s
        for s in ReportSnapshot.objects.select_for_update().filter(
            kind=period.kind, period_start=period.start
        )
    }
    company_units = {uid for uid, u in computed.units.items() if u["kind"] == UnitKind.COMPANY}
    targets: set[int | None] = {None, *(computed.active_unit_ids() - company_units)}
    targets |= {uid for uid in existing if uid is None or uid in computed.units}
    fresh, changed = [], []
    for unit_id in targets:
        values: dict[str, Any] = {
            "period_end": period.end,
            "status": SnapshotStatus.READY,
            "generated_at": now,
            "data": computed.data_for(unit_id),
            "error": "",
            "updated_at": now,
        }
        row = existing.get(unit_id)
        if row is None:
            fresh.append(
                ReportSnapshot(
                    kind=period.kind, period_start=period.start, unit_id=unit_id, **values
                )
            )
        else:
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    if changed:
        ReportSnapshot.objects.bulk_update(changed, list(values), batch_size=200)
    if fresh:
        ReportSnapshot.objects.bulk_create(fresh, batch_size=200)
    return len(targets)


def report_generate(
    *, kind: str, slot: str | datetime | None = None, force: bool = True
) -> GenerateResult:
    """Compute and store the reports of the period ``slot`` falls after: the company's and one
    per unit with anything to report (and any unit that had a snapshot of the period already).

    ``force=False`` (scheduled catch-up runs) keeps a period whose reports are ready."""
    _check_kind(kind)
    period = period_for(kind, parse_slot(slot))
    if (
        not force
        and ReportSnapshot.objects.filter(
            kind=kind, period_start=period.start, unit__isnull=True, status=SnapshotStatus.READY
        ).exists()
    ):
        return GenerateResult(period=period, snapshots=0, skipped=True)
    _set_status(period, SnapshotStatus.RUNNING)
    try:
        computed = compute(period)
        now = timezone.now()
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    count = _store(computed, now)
                break
            except IntegrityError:  # another run created a row meanwhile: update it instead
                if attempt == 2:
                    raise
    except Exception as exc:
        _set_status(period, SnapshotStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        logger.exception("report %s %s failed", kind, period.start)
        raise
    logger.info("report %s %s–%s: %d snapshots", kind, period.start, period.end, count)
    return GenerateResult(period=period, snapshots=count)


def _enqueue(snapshot_id: int, kind: str, slot: str) -> None:
    from yiti.care.reports.tasks import report_generate as report_task

    try:
        result = report_task.enqueue(kind=kind, slot=slot, force=True)
    except Exception as exc:
        ReportSnapshot.objects.filter(pk=snapshot_id).update(
            status=SnapshotStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.exception("could not enqueue report %s", kind)
        return
    ReportSnapshot.objects.filter(pk=snapshot_id).update(task_id=str(result.id)[:64])


@transaction.atomic
def report_generation_request(
    *, actor: User, kind: str, slot: datetime | None = None
) -> ReportSnapshot:
    """ "Generate now": queue a run for the last complete period of ``kind`` (as of ``slot``,
    default now). Returns the company snapshot of the period, which shows the run's status."""
    require_generate(actor)
    _check_kind(kind)
    at = parse_slot(slot or timezone.now())
    period = period_for(kind, at)
    snapshot, created = ReportSnapshot.objects.get_or_create(
        kind=period.kind,
        period_start=period.start,
        unit=None,
        defaults={"period_end": period.end, "status": SnapshotStatus.QUEUED},
    )
    if not created:
        snapshot = ReportSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        busy = snapshot.status in (SnapshotStatus.QUEUED, SnapshotStatus.RUNNING)
        if busy and snapshot.updated_at > timezone.now() - STALE_REQUEST:
            raise Conflict(
                _("This report is being generated already; wait for it to finish."),
                code="report_busy",
            )
    snapshot.status = SnapshotStatus.QUEUED
    snapshot.requested_by = actor
    snapshot.error = ""
    snapshot.save(update_fields=["status", "requested_by", "error", "updated_at"])
    audit_record(
        actor=actor,
        action="report.generate",
        obj=snapshot,
        changes={"kind": kind, "period": [period.start.isoformat(), period.end.isoformat()]},
        summary=str(snapshot),
    )
    snapshot_id, slot_iso = snapshot.pk, at.isoformat()
    transaction.on_commit(lambda: _enqueue(snapshot_id, kind, slot_iso))
    return snapshot
