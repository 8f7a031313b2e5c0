"""Keeping the cockpit's rollups up to date: incrementally from watermarks, or rebuilt.

The refresh (every 10 minutes in the worker, ``insights.rollups``) asks each source what changed
since its watermark and recomputes only those days (or weeks, or campaigns) with one set-based
statement per contiguous range (``insights.sql``):

* tickets, care calls, survey responses: rows with ``updated_at`` after the watermark → the days
  they count on (opened, due, submitted);
* interactions and tier changes (append-only): ids above the last one seen → their weeks/days;
* campaign funnels: campaigns changed since the watermark or still live (launched, and not
  completed more than ``FUNNEL_TAIL`` ago: answers and conversions keep arriving);
* customers per unit and tier: when the customer count, highest id or newest value changed.

A row counts where its customer's unit is at refresh time; a customer moved to another unit moves
his history at the next rebuild (nightly, ``insights.rollups_rebuild``, and ``yiti insights
rebuild``). The rebuild deletes everything and runs each statement once over all the data, so
its result is the reference the incremental refresh is tested against.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from yiti.decisions.models import ValueSettings
from yiti.insights import sql
from yiti.insights.models import (
    CareDay,
    FunnelDay,
    PressureWeek,
    RollupWatermark,
    SatisfactionDay,
    TicketDay,
    TierMoveDay,
    UnitCustomers,
)

FUNNEL_TAIL = timedelta(days=45)
OVERLAP = timedelta(minutes=2)  # re-read rows changed just before the last run (late commits)

ROLLUP_NAMES = ("funnel", "tickets", "care", "satisfaction", "pressure", "tiers", "customers")


def _watermark(name: str) -> RollupWatermark:
    mark, _created = RollupWatermark.objects.get_or_create(name=name)
    return mark


def _since(mark: RollupWatermark) -> datetime:
    if mark.changed_until is None:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return mark.changed_until - OVERLAP


def _refresh_days(
    model: type[TicketDay] | type[CareDay] | type[SatisfactionDay] | type[TierMoveDay],
    days: set[date],
    insert: Callable[[tuple[date, date] | None, datetime], int],
    now: datetime,
) -> None:
    if not days:
        return
    model.objects.filter(day__in=sorted(days)).delete()
    for span in sql.day_ranges(days):
        insert(span, now)


def _refresh_weeks(weeks: set[date], now: datetime) -> None:
    if not weeks:
        return
    PressureWeek.objects.filter(week__in=sorted(weeks)).delete()
    every_day = {week + timedelta(days=i) for week in weeks for i in range(7)}
    for span in sql.day_ranges(every_day):
        sql.pressure_insert(span, now)


def _save(mark: RollupWatermark, *, now: datetime, count: int, started: float) -> None:
    mark.changed_until = now
    mark.days_refreshed = count
    mark.seconds = round(time.monotonic() - started, 3)
    mark.save(
        update_fields=[
            "changed_until",
            "last_id",
            "mark",
            "days_refreshed",
            "seconds",
            "updated_at",
        ]
    )


def _churn_threshold() -> float:
    settings_row = ValueSettings.objects.order_by("id").first()
    return float(settings_row.churn_threshold) if settings_row else 0.5


def rollups_refresh(*, now: datetime | None = None) -> dict[str, int]:
    """Fold every change since the watermarks into the rollups. Returns, per rollup, how many
    days (weeks, campaigns) were recomputed."""
    now = now or timezone.now()
    done: dict[str, int] = {}

    dated: list[
        tuple[
            str,
            type[TicketDay] | type[CareDay] | type[SatisfactionDay],
            Callable[[datetime], set[date]],
            Callable[[tuple[date, date] | None, datetime], int],
        ]
    ] = [
        ("tickets", TicketDay, sql.tickets_dirty_days, sql.tickets_insert),
        ("care", CareDay, sql.care_dirty_days, sql.care_insert),
        ("satisfaction", SatisfactionDay, sql.satisfaction_dirty_days, sql.satisfaction_insert),
    ]
    for name, model, dirty, insert in dated:
        started = time.monotonic()
        with transaction.atomic():
            mark = _watermark(name)
            days = dirty(_since(mark))
            _refresh_days(model, days, insert, now)
            _save(mark, now=now, count=len(days), started=started)
        done[name] = len(days)

    started = time.monotonic()
    with transaction.atomic():
        mark = _watermark("funnel")
        campaign_ids = sql.funnel_dirty_campaigns(_since(mark), now - FUNNEL_TAIL)
        if campaign_ids:
            FunnelDay.objects.filter(campaign_id__in=campaign_ids).delete()
            sql.funnel_insert(campaign_ids, now)
        _save(mark, now=now, count=len(campaign_ids), started=started)
    done["funnel"] = len(campaign_ids)

    started = time.monotonic()
    with transaction.atomic():
        mark = _watermark("pressure")
        weeks, top = sql.pressure_new_weeks(mark.last_id)
        _refresh_weeks(weeks, now)
        mark.last_id = max(mark.last_id, top)
        _save(mark, now=now, count=len(weeks), started=started)
    done["pressure"] = len(weeks)

    started = time.monotonic()
    with transaction.atomic():
        mark = _watermark("tiers")
        days, top = sql.tier_moves_new_days(mark.last_id)
        _refresh_days(TierMoveDay, days, sql.tier_moves_insert, now)
        mark.last_id = max(mark.last_id, top)
        _save(mark, now=now, count=len(days), started=started)
    done["tiers"] = len(days)

    started = time.monotonic()
    with transaction.atomic():
        mark = _watermark("customers")
        state = f"{sql.latest_value_mark()}:{_churn_threshold()}"
        changed = state != mark.mark
        if changed:
            UnitCustomers.objects.all().delete()
            sql.unit_customers_insert(_churn_threshold(), now)
            mark.mark = state
        _save(mark, now=now, count=int(changed), started=started)
    done["customers"] = int(changed)
    return done


def rollups_rebuild(*, now: datetime | None = None) -> dict[str, int]:
    """Delete every rollup and compute it again from all the data (one statement each).
    Returns the rows written per rollup."""
    now = now or timezone.now()
    written: dict[str, int] = {}
    with transaction.atomic():
        for model in (
            FunnelDay,
            TicketDay,
            CareDay,
            SatisfactionDay,
            PressureWeek,
            TierMoveDay,
            UnitCustomers,
        ):
            model.objects.all().delete()
        sql.funnel_insert(None, now)
        sql.tickets_insert(None, now)
        sql.care_insert(None, now)
        sql.satisfaction_insert(None, now)
        sql.pressure_insert(None, now)
        sql.tier_moves_insert(None, now)
        sql.unit_customers_insert(_churn_threshold(), now)
        for name in ROLLUP_NAMES:
            mark = _watermark(name)
            mark.changed_until = now
            mark.rebuilt_at = now
            mark.days_refreshed = 0
            if name == "pressure":
                mark.last_id = sql.max_id("engagement_interaction")
            elif name == "tiers":
                mark.last_id = sql.max_id("decisions_tierchange")
            elif name == "customers":
                mark.mark = f"{sql.latest_value_mark()}:{_churn_threshold()}"
            mark.save()
        written = {
            "funnel": FunnelDay.objects.count(),
            "tickets": TicketDay.objects.count(),
            "care": CareDay.objects.count(),
            "satisfaction": SatisfactionDay.objects.count(),
            "pressure": PressureWeek.objects.count(),
            "tiers": TierMoveDay.objects.count(),
            "customers": UnitCustomers.objects.count(),
        }
    return written
