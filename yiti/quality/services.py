"""Writes of the quality layer: the indicator catalogue, the monthly ranking and the weekly
themes, each computation stored as a snapshot (a :class:`QualityRun` and its rows, replaced
whole when the period is computed again)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import Conflict, ValidationFailed
from yiti.org.choices import UnitKind
from yiti.org.models import OrgUnit, User
from yiti.quality import indicators, themes
from yiti.quality.choices import Direction, RunKind, RunStatus
from yiti.quality.defaults import DEFAULTS, RANKED_KINDS
from yiti.quality.errors import QualityErrorCode
from yiti.quality.models import Indicator, IndicatorTarget, QualityRun, UnitScore
from yiti.quality.periods import (
    local_date,
    month_end,
    month_start,
    previous_month,
    week_start,
)
from yiti.quality.rules import require_compute, require_manage_indicators
from yiti.quality.scoring import RANKED_COVERAGE, Rule, ranks, unit_score

logger = logging.getLogger("yiti.quality")

MAX_NUMBER = Decimal("9999999")


# --- the indicator catalogue -------------------------------------------------------------------


def _number(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(
            _("Enter a number."), field=field, code=QualityErrorCode.BAD_NUMBER
        ) from exc
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise ValidationFailed(_("Enter a number."), field=field, code=QualityErrorCode.BAD_NUMBER)
    return number.quantize(Decimal("0.01"))


def indicator_save(
    *,
    actor: User | None,
    indicator: Indicator,
    direction: str,
    active: bool,
    note: str = "",
    targets: Mapping[str, Mapping[str, Any]],
) -> Indicator:
    """Change an indicator: its direction, whether it counts, and per unit kind its target,
    zero-score line and weight (``targets[kind] = {"target", "floor", "weight"}``). The line
    must lie on the bad side of the target; a weight is 0 or more (0: shown, not scored)."""
    require_manage_indicators(actor)
    if direction not in Direction.values:
        raise ValidationFailed(_("Unknown direction."), field="direction")
    clean: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    for kind, numbers in targets.items():
        if kind not in UnitKind.values:
            raise ValidationFailed(_("Unknown unit kind."), field="unit_kind")
        target = _number(numbers.get("target"), f"{kind}-target")
        floor = _number(numbers.get("floor"), f"{kind}-floor")
        weight = _number(numbers.get("weight"), f"{kind}-weight")
        if weight < 0 or weight > 1000:
            raise ValidationFailed(
                _("A weight is between 0 and 1000."),
                field=f"{kind}-weight",
                code=QualityErrorCode.BAD_NUMBER,
            )
        wrong = floor >= target if direction == Direction.HIGHER else floor <= target
        if wrong:
            raise ValidationFailed(
                _(
                    "The zero-score line must be worse than the target (below it when higher is better, above it when lower is better)."
                ),
                field=f"{kind}-floor",
                code=QualityErrorCode.TARGET_ON_WRONG_SIDE,
            )
        clean[kind] = (target, floor, weight)
    with transaction.atomic():
        before = {
            "direction": indicator.direction,
            "active": indicator.active,
            "targets": {
                t.unit_kind: [str(t.target), str(t.floor), str(t.weight)]
                for t in indicator.targets.all()
            },
        }
        indicator.direction = direction
        indicator.active = active
        indicator.note = (note or "").strip()[:300]
        indicator.save(update_fields=["direction", "active", "note", "updated_at"])
        for kind, (target, floor, weight) in clean.items():
            IndicatorTarget.objects.update_or_create(
                indicator=indicator,
                unit_kind=kind,
                defaults={"target": target, "floor": floor, "weight": weight},
            )
        audit_record(
            actor=actor,
            action="quality.indicator_change",
            obj=indicator,
            changes={
                "before": before,
                "after": {
                    "direction": direction,
                    "active": active,
                    "targets": {k: [str(x) for x in v] for k, v in clean.items()},
                },
            },
            summary=str(indicator),
        )
    return indicator


def indicator_defaults_restore(*, actor: User | None) -> int:
    """Add the default indicators and targets that are missing (existing rows are kept).
    Returns how many rows were added."""
    require_manage_indicators(actor)
    added = 0
    with transaction.atomic():
        for position, (code, direction, measure, target, floor, weight) in enumerate(DEFAULTS, 1):
            indicator, created = Indicator.objects.get_or_create(
                code=code,
                defaults={"direction": direction, "measure": measure, "position": position * 10},
            )
            added += int(created)
            for kind in RANKED_KINDS:
                _row, made = IndicatorTarget.objects.get_or_create(
                    indicator=indicator,
                    unit_kind=kind,
                    defaults={"target": target, "floor": floor, "weight": weight},
                )
                added += int(made)
        if added:
            audit_record(
                actor=actor,
                action="quality.indicator_defaults",
                object_type="quality.indicator",
                changes={"added": added},
                summary=_("Default indicators restored"),
            )
    return added


# --- computations -----------------------------------------------------------------------------


EARLIEST = date(2000, 1, 1)


def _check_past(first: date, field: str) -> None:
    today = local_date(timezone.now())
    if first < EARLIEST:
        raise ValidationFailed(
            _("Choose a period from the year 2000 on."),
            field=field,
            code=QualityErrorCode.PERIOD_TOO_EARLY,
        )
    if first > today:
        raise ValidationFailed(
            _("That period has not begun yet."), field=field, code=QualityErrorCode.FUTURE_PERIOD
        )


def _run_row(kind: str, first: date, last: date) -> QualityRun:
    run, _created = QualityRun.objects.get_or_create(
        kind=kind, period_start=first, defaults={"period_end": last}
    )
    return run


def _rules_by_kind() -> dict[str, list[Rule]]:
    out: dict[str, list[Rule]] = {}
    targets = IndicatorTarget.objects.filter(indicator__active=True).select_related("indicator")
    for t in targets:
        out.setdefault(t.unit_kind, []).append(
            Rule(t.indicator.code, float(t.target), float(t.floor), float(t.weight))
        )
    return out


def ranking_compute(*, month: date, actor: User | None = None) -> QualityRun:
    """Compute the month's indicators for every active unit (its subtree's customers), score
    and rank the units of each kind, and store them in place of the month's earlier rows.

    Set-based: nine aggregate queries over the month, then arithmetic per unit."""
    require_compute(actor)
    month = month_start(month)
    _check_past(month, "month")
    last = month_end(month)
    with transaction.atomic():
        run = _run_row(RunKind.RANKING, month, last)
        QualityRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")
    try:
        own = indicators.own_counts(month)
        units = list(OrgUnit.objects.filter(active=True).only("id", "path", "kind", "name"))
        totals = indicators.rolled_up(own, units)
        rules = _rules_by_kind()
        rows: list[UnitScore] = []
        by_kind: dict[str, dict[int, float | None]] = {}
        for unit in units:
            kind_rules = rules.get(unit.kind)
            if not kind_rules:
                continue
            counts = totals.get(unit.pk, {})
            values = {r.code: indicators.value_of(r.code, counts.get(r.code)) for r in kind_rules}
            if all(v is None for v in values.values()):
                continue
            result = unit_score(values, kind_rules)
            parts = {}
            for part, rule in zip(result.parts, kind_rules, strict=True):
                ratio = counts.get(part.code)
                parts[part.code] = {
                    "value": part.value,
                    "num": round(ratio.num, 4) if ratio else 0,
                    "den": round(ratio.den, 4) if ratio else 0,
                    "score": part.score,
                    "weight": rule.weight,
                    "target": rule.target,
                    "floor": rule.floor,
                    "contribution": part.contribution,
                }
            rows.append(
                UnitScore(
                    month=month,
                    unit=unit,
                    unit_kind=unit.kind,
                    score=result.score,
                    coverage=result.coverage,
                    indicators=parts,
                )
            )
            by_kind.setdefault(unit.kind, {})[unit.pk] = (
                result.score if result.coverage >= RANKED_COVERAGE else None
            )
        for kind, scores in by_kind.items():
            ranked = ranks(scores)
            counted = len(ranked)
            for row in rows:
                if row.unit_kind == kind:
                    row.rank = ranked.get(row.unit_id)
                    row.ranked_of = counted
        now = timezone.now()
        with transaction.atomic():
            UnitScore.objects.filter(month=month).delete()
            for row in rows:
                row.run = run
            UnitScore.objects.bulk_create(rows, batch_size=500)
            QualityRun.objects.filter(pk=run.pk).update(
                status=RunStatus.READY, computed_at=now, error="", updated_at=now
            )
            audit_record(
                actor=actor,
                action="quality.ranking_compute",
                obj=run,
                changes={"month": month.isoformat(), "units": len(rows)},
                summary=_("Quality ranking %(month)s") % {"month": month.strftime("%Y-%m")},
            )
    except Exception as exc:
        logger.exception("quality ranking %s failed", month)
        QualityRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def themes_compute(*, week: date, actor: User | None = None) -> QualityRun:
    """Mine the week's free text (``yiti.quality.themes``) and store the terms per unit in place
    of the week's earlier rows."""
    require_compute(actor)
    week = week_start(week)
    _check_past(week, "week")
    last = week + timedelta(days=6)
    with transaction.atomic():
        run = _run_row(RunKind.THEMES, week, last)
        QualityRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")
    try:
        mined = themes.mine_week(week)
        now = timezone.now()
        with transaction.atomic():
            themes.store_week(run=run, week=week, mined=mined)
            QualityRun.objects.filter(pk=run.pk).update(
                status=RunStatus.READY, computed_at=now, error="", updated_at=now
            )
            audit_record(
                actor=actor,
                action="quality.themes_compute",
                obj=run,
                changes={"week": week.isoformat(), "documents": mined.documents},
                summary=_("Hot issue themes of the week of %(week)s") % {"week": week.isoformat()},
            )
    except Exception as exc:
        logger.exception("quality themes %s failed", week)
        QualityRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def run_request(*, actor: User | None, kind: str, start: date) -> QualityRun:
    """Ask the worker to compute a month (ranking) or a week (themes) now; returns the run row
    (queued). Refused while the same period is being computed."""
    require_compute(actor)
    if kind == RunKind.RANKING:
        first, field = month_start(start), "month"
        _check_past(first, field)
        last = month_end(start)
    elif kind == RunKind.THEMES:
        first, field = week_start(start), "week"
        _check_past(first, field)
        last = first + timedelta(days=6)
    else:
        raise ValidationFailed(_("Unknown computation."), field="kind")
    from yiti.quality.tasks import quality_compute

    with transaction.atomic():
        run = _run_row(kind, first, last)
        run = QualityRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RunStatus.RUNNING:
            raise Conflict(
                _("This period is being computed; wait for it to finish."),
                code=QualityErrorCode.ALREADY_RUNNING,
            )
        run.status = RunStatus.QUEUED
        run.error = ""
        run.requested_by = actor
        run.save(update_fields=["status", "error", "requested_by", "updated_at"])
        audit_record(
            actor=actor,
            action="quality.compute_request",
            obj=run,
            changes={"kind": kind, "start": first.isoformat()},
        )
        run_id = run.pk

        def enqueue() -> None:
            result = quality_compute.enqueue(kind=kind, start=first.isoformat())
            QualityRun.objects.filter(pk=run_id).update(task_id=str(getattr(result, "id", "")))

        transaction.on_commit(enqueue)
    return run


def slot_period(kind: str, slot: str | datetime | None, *, current: bool = False) -> date:
    """The period a scheduled slot computes: the month before the slot's month, or the week
    before the slot's week (local dates); with ``current``, the slot's own month or week."""
    if isinstance(slot, str) and slot:
        moment = datetime.fromisoformat(slot)
    elif isinstance(slot, datetime):
        moment = slot
    else:
        moment = timezone.now()
    day = local_date(moment) if moment.tzinfo else moment.date()
    if kind == RunKind.RANKING:
        return month_start(day) if current else previous_month(day)
    return week_start(day) if current else week_start(day) - timedelta(days=7)
