"""Benchmark: the full value refit from the database — 1,000,000 customers, ~10,000,000 orders.

Run with ``yiti bench value_refit [--customers 1000000] [--reuse] [--database-url …]``.
Target (issue 5): a full refit of 1M customers with 10M orders under 60 s on 2 cores.

Set-up: ``yiti seed`` with 10 orders per customer on average (two years of buy-till-you-die
purchases), one interaction per customer and the usual few hundred service tickets, without
the seed's own refit. Then ``value_refit`` is timed twice, end to end and phase by phase
(wall clock and this process's CPU time; on SQLite that includes the database's work):

* the **first refit**, with no previous scores: every customer's first tier is a tier change
  (1M ``TierChange`` rows);
* the **weekly refit**, a week later with the scores in place: only changes are written.

Each reads the customers, the orders and the counts of tickets, care calls and visits with
one query each, fits BG/NBD and Gamma-Gamma (and the 3-month holdout check), computes
lifetime value, cost to serve, peers and tiers, replaces every ``CustomerValue`` row, records
the tier changes and creates the retention calls of the most valuable customers at risk.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from yiti.customers.models import Customer, CustomerValue, Order
from yiti.decisions.choices import FitStatus, FitTrigger
from yiti.decisions.models import ValueModelFit
from yiti.decisions.services import value_refit
from yiti.demo.seed import SeedOptions, seed

TARGET_S = 60.0
ORDERS_PER_CUSTOMER = 10.0


def _refit(label: str, log: Callable[[str], None], **kwargs: Any) -> dict[str, Any]:
    gc.collect()
    load_before = [round(x, 2) for x in os.getloadavg()]
    wall, cpu = time.perf_counter(), time.process_time()
    fit = value_refit(trigger=FitTrigger.COMMAND, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if fit.status != FitStatus.SUCCEEDED:
        raise RuntimeError(f"refit failed: {fit.error}")
    log(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, {fit.tier_changes:,} tier changes")
    for name, phase in fit.phases.items():
        log(f"  {name:<20} {phase['wall']:7.2f} s wall {phase['cpu']:7.2f} s CPU")
    return {
        "fit": fit.pk,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "phases": fit.phases,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "customers": fit.customers,
        "orders": fit.transactions,
        "buyers": fit.buyers,
        "repeat_buyers": fit.repeat_buyers,
        "tier_counts": fit.tier_counts,
        "tier_changes": fit.tier_changes,
        "retention_calls": fit.care_tasks,
        "bgnbd": {"r": fit.bgnbd_r, "alpha": fit.bgnbd_alpha, "a": fit.bgnbd_a, "b": fit.bgnbd_b},
        "gamma_gamma": {"p": fit.gg_p, "q": fit.gg_q, "v": fit.gg_v},
        "holdout": {"predicted": fit.holdout_predicted, "actual": fit.holdout_actual},
    }


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {"targets": {"refit_s": TARGET_S}}
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
        result["seed"] = {"reused": True, "customers": existing}
    else:
        log(f"Seeding {customers:,} customers with ~{ORDERS_PER_CUSTOMER:.0f} orders each…")
        report = seed(
            SeedOptions(
                customers=customers,
                interactions_per_customer=1,
                orders_per_customer=ORDERS_PER_CUSTOMER,
                value_refit=False,
            ),
            force=bool(existing),
            progress=log,
        )
        result["seed"] = {
            "reused": False,
            "customers": report.customers,
            "orders": report.orders,
            "seconds": round(report.seconds, 1),
        }
        log(f"Seeded in {report.seconds:.1f} s.")
    result["customers"] = Customer.objects.count()
    result["orders"] = Order.objects.count()
    if reuse and CustomerValue.objects.exists():
        log("Scores exist already: timing weekly refits only.")
    else:
        result["first_refit"] = _refit("First refit (no previous scores)", log)
    week_later = timezone.now() + timedelta(days=7)  # a week on: some tiers move
    result["weekly_refit"] = _refit("Weekly refit (scores in place)", log, end=week_later)
    result["fits_stored"] = ValueModelFit.objects.count()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def summary(result: dict[str, Any]) -> str:
    lines = [f"Customers {result['customers']:,}, orders {result['orders']:,}"]
    for key in ("first_refit", "weekly_refit"):
        run_ = result.get(key)
        if not run_:
            continue
        mark = "ok " if run_["wall_s"] < result["targets"]["refit_s"] else "MISS"
        lines.append(
            f"  [{mark}] {key.replace('_', ' ')}: {run_['wall_s']:.1f} s wall, "
            f"{run_['cpu_s']:.1f} s CPU (target < {result['targets']['refit_s']:.0f} s; load "
            f"{run_['load_average_before'][0]} → {run_['load_average_after'][0]}); "
            f"{run_['tier_changes']:,} tier changes, {run_['retention_calls']:,} retention calls"
        )
        lines.append(
            "      "
            + "  ".join(f"{k} {v['wall']:.1f}/{v['cpu']:.1f}" for k, v in run_["phases"].items())
        )
    lines.append(f"  peak RSS {result['peak_rss_mb']:,} MB")
    return "\n".join(lines)
