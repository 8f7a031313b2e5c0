"""Benchmark: the accounting page for the whole company over a year, scorecards, economics.

Run with ``yiti bench accounting [--customers 1000000] [--reuse]``. Target (issue 16): unit ×
product accounting for the whole company over a year in under 1 s.

Set-up (not timed): the demo book (``yiti seed``: the company's org tree, account managers,
``--customers`` customers with about six orders each over two years, interactions, the
service desk, care and the demo campaigns with their waves), plus one attributed credit row
per order of the last year that a campaign's product sold (two units sharing it) and a cost
line per campaign and participating unit — so every source the page reads has rows.

Measured, best of three each (with the query count):

* ``build_year`` (once, not best of three) — ``accounting.daily.days_build`` over the last
  365 days: each ended day's results computed as the page does and stored per unit × product
  (the nightly job does the last week);
* ``results_year`` — ``accounting.results.unit_product_results`` for the whole company over
  the last 365 days, as finance opens ``/accounting/``: the stored days in one grouped query,
  today live (orders, credit, campaign costs, tickets, care attempts and visits, each one
  grouped query), then the roll-up up the org tree;
* ``scorecards_month`` — every account manager's scorecard for the last 30 days;
* ``economics`` — ``campaign_economics`` of the busiest demo campaign (costs, credit, uplift).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiti.accounting import daily
from yiti.accounting.economics import campaign_economics
from yiti.accounting.models import CostLine
from yiti.accounting.results import unit_product_results
from yiti.accounting.scorecards import scorecards
from yiti.attribution.models import Credit
from yiti.campaigns.models import Campaign, Delivery
from yiti.core.bulk import insert_rows
from yiti.customers.models import Customer, Order
from yiti.demo.seed import SeedOptions, seed

TARGET_S = 1.0
RUNS = 3


def _best(fn: Callable[[], Any]) -> dict[str, Any]:
    times = []
    queries = 0
    for _ in range(RUNS):
        gc.collect()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        queries = len(ctx.captured_queries)
    return {
        "best_s": round(min(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "queries": queries,
    }


def _credit(log: Callable[[str], None]) -> int:
    """One credit row per order of the last year of a demo campaign's products, half to the
    unit that took it and half to the campaign's owner unit (set-up, set-based per campaign)."""
    if Credit.objects.exists():
        return Credit.objects.count()
    now = timezone.now()
    since = now - timedelta(days=365)
    written = 0
    for campaign in Campaign.objects.prefetch_related("offers"):
        products = sorted({o.product_id for o in campaign.offers.all()})
        rows = []
        for pk, unit_id, customer_unit, amount, margin, at in (
            Order.objects.filter(product_id__in=products, ordered_at__gte=since)
            .values_list("pk", "unit_id", "customer__unit_id", "amount", "margin", "ordered_at")
            .order_by()[:200_000]
        ):
            half_r = (amount / 2).quantize(Decimal("0.01"))
            half_m = (margin / 2).quantize(Decimal("0.01"))
            unit = unit_id or customer_unit
            for u, r, m in (
                (unit, half_r, half_m),
                (campaign.owner_unit_id, amount - half_r, margin - half_m),
            ):
                rows.append((pk, campaign.pk, u, "agreement", "", "linear", 0.5, r, m, at, now))
        # an order whose unit is the owner unit gets one row (the unique agreed row per unit)
        seen: set[tuple[int, int]] = set()
        unique = []
        for row in rows:
            key = (row[0], row[2])
            if key not in seen:
                seen.add(key)
                unique.append(row)
        insert_rows(
            Credit,
            (
                "order",
                "campaign",
                "unit",
                "basis",
                "channel",
                "model",
                "share",
                "revenue",
                "margin",
                "ordered_at",
                "computed_at",
            ),
            unique,
            batch_size=50_000,
        )
        written += len(unique)
        campaign_units = list(campaign.participating_units.values_list("pk", flat=True))
        for unit_id in [campaign.owner_unit_id, *campaign_units]:
            CostLine.objects.create(
                campaign=campaign,
                unit_id=unit_id,
                kind="materials",
                description="bench",
                quantity=Decimal(10),
                unit_cost=Decimal("50.00"),
                amount=Decimal("500.00"),
                incurred_on=timezone.localdate() - timedelta(days=30),
            )
    log(f"{written:,} credit rows written.")
    return written


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "targets": {"results_year_s": TARGET_S},
        "load_before": os.getloadavg(),
    }
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
        result["seed"] = {"reused": True}
    else:
        log(f"Seeding {customers:,} customers with ~6 orders each…")
        report = seed(
            SeedOptions(
                customers=customers, orders_per_customer=6.0, interactions_per_customer=4.0
            ),
            force=bool(existing),
            progress=log,
        )
        result["seed"] = {"reused": False, "seconds": round(report.seconds, 1)}
    result["credit_rows"] = _credit(log)
    result["customers"] = Customer.objects.count()
    result["orders"] = Order.objects.count()
    result["deliveries"] = Delivery.objects.count()
    today = timezone.localdate()
    log("Storing the year's results day by day (what the nightly job keeps up to date)…")
    started = time.perf_counter()
    result["build_year"] = {
        "days": daily.days_build(start=today - timedelta(days=364), end=today),
        "seconds": round(time.perf_counter() - started, 1),
    }
    log(f"  {result['build_year']['days']} days in {result['build_year']['seconds']} s")
    log("Unit × product results for the whole company over a year…")
    result["results_year"] = _best(
        lambda: unit_product_results(start=today - timedelta(days=364), end=today, scope=None)
    )
    log(f"  best {result['results_year']['best_s']} s")
    log("Scorecards of every account manager over 30 days…")
    result["scorecards_month"] = _best(
        lambda: scorecards(start=today - timedelta(days=29), end=today, scope=None)
    )
    busiest = (
        Campaign.objects.annotate(n=Count("deliveries")).order_by("-n").values_list("pk", flat=True)
    )[:1]
    if busiest:
        campaign = Campaign.objects.get(pk=busiest[0])
        result["economics"] = _best(lambda: campaign_economics(campaign))
    result["load_after"] = os.getloadavg()
    return result


def summary(result: dict[str, Any]) -> str:
    r = result["results_year"]
    ok = "met" if r["best_s"] < TARGET_S else "missed"
    lines = [
        f"year stored day by day (one-off; nightly: the last week): "
        f"{result['build_year']['seconds']} s for {result['build_year']['days']} days",
        f"{result['customers']:,} customers, {result['orders']:,} orders, "
        f"{result['credit_rows']:,} credit rows, {result['deliveries']:,} campaign contacts",
        f"unit × product results, whole company, one year: best {r['best_s']} s "
        f"({r['queries']} queries) — target {TARGET_S} s {ok}",
        f"scorecards, every account manager, 30 days: best {result['scorecards_month']['best_s']} s",
    ]
    if "economics" in result:
        lines.append(f"economics of the busiest campaign: best {result['economics']['best_s']} s")
    lines.append(f"load average before {result['load_before']}, after {result['load_after']}")
    return "\n".join(lines)
