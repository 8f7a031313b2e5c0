"""Unit × product results kept per day, so that a year is read from small rows.

``days_build`` computes each closed day's results exactly as the live page does
(``results.cells``, one day at a time) and stores them as ``DailyResult`` rows, marking the
day built (``ResultDay``). The nightly job rebuilds the last ``REBUILD_DAYS`` days, which
catches orders, credit, contacts and tickets recorded late; a cost line entered for a past
day unbuilds that day at once (``day_unbuild``), and ``yiti accounting build`` rebuilds any
period (after a historic import, say).

``cells`` reads the built days of a period with one grouped query and computes the others —
today, and any day not built — live, one query per source for each run of such days.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from yiti.accounting import results
from yiti.accounting.models import DailyResult, ResultDay
from yiti.accounting.results import Figures

REBUILD_DAYS = 7
_SUMS = ("revenue", "margin", "credit_revenue", "credit_margin", "campaign_cost", "cost_to_serve")


def days_build(*, start: date, end: date, now: datetime | None = None) -> int:
    """Build the days of [start, end] that have ended (before today); the days built."""
    now = now or timezone.now()
    last = min(end, timezone.localdate(now) - timedelta(days=1))
    built = 0
    day = start
    while day <= last:
        cells = results.cells(day, day)
        rows = [
            DailyResult(
                day=day,
                unit_id=unit_id,
                product_key=product_id or 0,
                orders=f.orders,
                **{name: getattr(f, name) for name in _SUMS},
            )
            for (unit_id, product_id), f in cells.items()
            if unit_id is not None
        ]
        with transaction.atomic():
            DailyResult.objects.filter(day=day).delete()
            DailyResult.objects.bulk_create(rows, batch_size=5000)
            ResultDay.objects.update_or_create(day=day, defaults={"built_at": now})
        built += 1
        day += timedelta(days=1)
    return built


def day_unbuild(day: date) -> None:
    """Forget a day's stored results (its figures changed): it is computed live until the
    nightly job builds it again."""
    ResultDay.objects.filter(day=day).delete()
    DailyResult.objects.filter(day=day).delete()


def nightly(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    yesterday = timezone.localdate(now) - timedelta(days=1)
    return days_build(start=yesterday - timedelta(days=REBUILD_DAYS - 1), end=yesterday, now=now)


def cells(start: date, end: date) -> dict[tuple[int, int], Figures]:
    """Every unit's own figures per product over [start, end]: built days from the stored
    rows, the others live."""
    out: dict[tuple[int, int], Figures] = defaultdict(Figures)
    built = set(
        ResultDay.objects.filter(day__gte=start, day__lte=end).values_list("day", flat=True)
    )
    if built:
        for unit_id, product_key, n, *sums in (
            DailyResult.objects.filter(day__gte=start, day__lte=end)
            .order_by()
            .values_list("unit_id", "product_key")
            .annotate(n=Sum("orders"), **{f"s_{name}": Sum(name) for name in _SUMS})
        ):
            f = out[(unit_id, product_key)]
            f.orders += int(n or 0)
            for name, value in zip(_SUMS, sums, strict=True):
                setattr(f, name, getattr(f, name) + Decimal(value or 0))
    day = start
    while day <= end:  # runs of days not built, each computed live
        if day in built:
            day += timedelta(days=1)
            continue
        run_end = day
        while run_end + timedelta(days=1) <= end and run_end + timedelta(days=1) not in built:
            run_end += timedelta(days=1)
        for key, f in results.cells(day, run_end).items():
            out[key].add(f)
        day = run_end + timedelta(days=1)
    return out
