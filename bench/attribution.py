"""Benchmark: attributing a campaign's whole book under every model at once.

Run with ``yiti bench attribution [--customers 1000000] [--reuse]``. Target (issue 16):
attributing 1,000,000 conversions with 10,000,000 touches under all seven models at once in
under 30 s, on SQLite and on PostgreSQL.

Set-up (not timed): the demo company's book (``yiti seed``) with ``--customers`` customers,
ten interactions and one order each over two years; then every interaction becomes a touch of
one joint campaign (one UPDATE: the campaign owned by the company with the regions taking
part) whose lookback is a whole year, so that nearly every order is a conversion. The
customers' branches are the units on the contacts; the regions are credited.

Measured, as the nightly run and the campaign page do it:

* ``read``: the campaign's touches and candidate orders, two queries into integer arrays;
* ``units``: the credited unit of every touch (one pass per distinct unit × user);
* ``paths``: the book — each order's touches in the window in time order, and one path per
  touched customer who did not convert;
* ``models``: the weights of all seven models and, for each, the allocation of every order
  among the units to the cent;
* ``total`` = read + units + paths + models, against the target;
* ``store`` (reported, not in the target): the nightly run writing one day's credit rows.

``in_memory`` repeats paths + models on synthetic arrays at the full target size (1,000,000
orders, 10,000,000 touches) when ``YITI_BENCH_ATTR_FULL=1``, for the figure without the
database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from yiti.attribution import models_math
from yiti.attribution.attribute import campaign_units, plan_terms, touch_units, unit_totals
from yiti.attribution.models import AttributionPlan
from yiti.attribution.paths import DAY, allocate, book_build
from yiti.attribution.services import credit_attribute, day_bounds
from yiti.attribution.sql import CHANNELS, T_CHANNEL, order_rows, touch_rows
from yiti.campaigns.models import Campaign, Segment
from yiti.customers.models import Customer, Order
from yiti.demo.seed import SeedOptions, seed
from yiti.engagement.models import Interaction
from yiti.org.models import OrgUnit, User

TARGET_S = 30.0
CODE = "bench-attribution"
TOUCHES_PER_CUSTOMER = 10


def _campaign(log: Callable[[str], None]) -> Campaign:
    campaign = Campaign.objects.filter(code=CODE).first()
    if campaign is not None:
        return campaign
    company = OrgUnit.objects.filter(parent__isnull=True).order_by("pk").first()
    assert company is not None, "the seed makes the company"
    owner = User.objects.filter(is_superuser=True).first() or User.objects.order_by("pk").first()
    assert owner is not None
    segment, _ = Segment.objects.get_or_create(
        name="基准测试 · 全部客户", defaults={"rules": {}, "unit": company}
    )
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        code=CODE,
        name="归因基准活动",
        owner_unit=company,
        owner=owner,
        service_unit=company,
        segment=segment,
        starts_on=today - timedelta(days=730),
        ends_on=today,
        status="running",
        launched_at=timezone.now() - timedelta(days=730),
    )
    campaign.participating_units.set(OrgUnit.objects.filter(kind="region"))
    AttributionPlan.objects.create(campaign=campaign, model="shapley", lookback_days=365)
    log("Tying every interaction to the benchmark campaign (one UPDATE)…")
    Interaction.objects.update(campaign_id=campaign.pk)
    return campaign


def _models(book: Any, units: np.ndarray, terms: Any) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for name in models_math.MODELS:
        t = time.perf_counter()
        weights = models_math.weights(book.paths, name, half_life_days=terms.half_life_days)
        allocation = allocate(
            book, weights, units, touch_part=terms.touch_part, agreed=terms.agreed
        )
        unit_totals(allocation)
        seconds[name] = round(time.perf_counter() - t, 2)
    return seconds


def _cpu() -> float:
    """CPU seconds of this process (user + system): on a shared, loaded machine the wall
    clock counts the waits for a core, this does not."""
    return time.process_time()


def _in_memory(log: Callable[[str], None]) -> dict[str, Any]:
    orders_n, touches_n, customers_n = 1_000_000, 10_000_000, 1_250_000
    rng = np.random.default_rng(16)
    t0 = 1_700_000_000
    touches = np.empty((touches_n, 6), dtype=np.int64)
    touches[:, 0] = np.arange(1, touches_n + 1)
    touches[:, 1] = rng.integers(1, customers_n + 1, touches_n)
    touches[:, 2] = t0 + rng.integers(0, 365 * DAY, touches_n)
    touches[:, 3] = rng.integers(0, 7, touches_n)
    touches[:, 4] = rng.integers(1, 5, touches_n)
    touches[:, 5] = 0
    orders = np.empty((orders_n, 6), dtype=np.int64)
    orders[:, 0] = np.arange(1, orders_n + 1)
    orders[:, 1] = rng.choice(customers_n, orders_n, replace=False) + 1
    orders[:, 2] = t0 + 365 * DAY
    orders[:, 3] = 1
    orders[:, 4] = rng.integers(1000, 100_000, orders_n)
    orders[:, 5] = orders[:, 4] // 3
    keys = touches[:, 4] * 8 + touches[:, 3]
    _, key_of = np.unique(keys, return_inverse=True)
    log("In memory: 1,000,000 orders, 10,000,000 touches…")
    cpu = _cpu()
    t = time.perf_counter()
    book = book_build(
        touches, key_of.reshape(-1), orders, n_keys=int(key_of.max()) + 1, lookback_days=365
    )
    paths_s = time.perf_counter() - t
    terms = type("T", (), {"half_life_days": 7.0, "touch_part": 1.0, "agreed": {}})()
    per_model = _models(book, touches[:, 4], terms)
    cpu_s = _cpu() - cpu
    return {
        "cpu_s": round(cpu_s, 2),
        "orders": int(book.n_converting),
        "touches_on_converting_paths": book.converting_touches,
        "touches": touches_n,
        "paths_s": round(paths_s, 2),
        "models_s": per_model,
        "total_s": round(paths_s + sum(per_model.values()), 2),
    }


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {"target_s": TARGET_S, "database": connection.vendor}
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
        result["seed"] = {"reused": True}
    else:
        log(
            f"Seeding {customers:,} customers, {TOUCHES_PER_CUSTOMER} interactions and 1 order each…"
        )
        report = seed(
            SeedOptions(
                customers=customers,
                interactions_per_customer=TOUCHES_PER_CUSTOMER,
                orders_per_customer=1.0,
                tickets=0,
                value_refit=False,
                campaigns=False,
            ),
            force=bool(existing),
            progress=log,
        )
        result["seed"] = {"reused": False, "seconds": round(report.seconds, 1)}
        log(f"Seeded in {report.seconds:.1f} s.")
    campaign = _campaign(log)
    plan = AttributionPlan.objects.get(campaign=campaign)
    terms = plan_terms(plan)
    now = timezone.now()
    candidates = campaign_units(campaign)

    cpu = _cpu()
    t = time.perf_counter()
    touches = touch_rows(campaign.pk, end=now)
    orders = order_rows(products=[], start=now - timedelta(days=800), end=now)
    read_s = time.perf_counter() - t
    log(f"read: {len(touches):,} touches, {len(orders):,} orders in {read_s:.1f} s")

    t = time.perf_counter()
    units = touch_units(touches, campaign, candidates)
    pair = units * (len(CHANNELS) + 1) + touches[:, T_CHANNEL]
    _keys, key_of = np.unique(pair, return_inverse=True)
    units_s = time.perf_counter() - t

    t = time.perf_counter()
    book = book_build(
        touches,
        key_of.reshape(-1),
        orders,
        n_keys=int(key_of.max()) + 1 if len(key_of) else 0,
        lookback_days=terms.lookback_days,
    )
    paths_s = time.perf_counter() - t
    log(
        f"paths: {book.n_converting:,} conversions, {book.converting_touches:,} touches on them, "
        f"{book.paths.n_paths - book.n_converting:,} paths without conversion, in {paths_s:.1f} s"
    )
    per_model = _models(book, units, terms)
    models_s = sum(per_model.values())
    total = read_s + units_s + paths_s + models_s
    cpu_s = _cpu() - cpu
    result.update(
        {
            "customers": Customer.objects.count(),
            "touches": len(touches),
            "orders": len(orders),
            "conversions": int(book.n_converting),
            "touches_on_converting_paths": book.converting_touches,
            "channel_keys": int(book.paths.n_channels),
            "read_s": round(read_s, 2),
            "units_s": round(units_s, 2),
            "paths_s": round(paths_s, 2),
            "models_s": per_model,
            "total_s": round(total, 2),
            "cpu_s": round(cpu_s, 2),
            "met": total <= TARGET_S,
        }
    )
    day = timezone.localdate() - timedelta(days=1)
    start, end = day_bounds(day)
    t = time.perf_counter()
    stored = credit_attribute(campaign=campaign, start=start, end=end)
    result["store"] = {
        "day": day.isoformat(),
        "orders": stored.orders,
        "rows": stored.rows,
        "seconds": round(time.perf_counter() - t, 2),
        "orders_that_day": Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end).count(),
    }
    if os.environ.get("YITI_BENCH_ATTR_FULL") == "1":
        result["in_memory"] = _in_memory(log)
    return result


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"Attribution on {result['database']}: {result['conversions']:,} conversions, "
        f"{result['touches']:,} touches ({result['channel_keys']} unit × channel keys)",
        f"  read {result['read_s']} s · units {result['units_s']} s · paths {result['paths_s']} s",
        "  models: " + ", ".join(f"{k} {v} s" for k, v in result["models_s"].items()),
        f"  total {result['total_s']} s (target {result['target_s']} s at 1M/10M): "
        f"{'met' if result['met'] else 'MISSED'} (this process's CPU: {result['cpu_s']} s)",
        f"  nightly store of one day: {result['store']['rows']:,} rows in "
        f"{result['store']['seconds']} s",
    ]
    if "in_memory" in result:
        mem = result["in_memory"]
        lines.append(f"  in memory at 1M/10M: paths {mem['paths_s']} s, total {mem['total_s']} s")
    return "\n".join(lines)
