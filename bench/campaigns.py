"""Benchmark: segments' live count and planning a wave among five competing campaigns.

Run with ``yiti bench campaigns [--customers 1000000] [--reuse]``. Targets (issue "Campaigns in
waves under one contact policy"): a segment's live count under 1 s on a million customers;
planning a wave for 1,000,000 customers with 10,000,000 past interactions, five competing
campaigns and three policy rules in at most 5 s.

Set-up (not timed): the demo book (``yiti seed``) with ten interactions and one order per
customer, value scores for every customer (synthetic, set-based: tiers and lifetime values
drawn from the id — the real refit is benchmarked in ``bench/value_refit.py``), the policy of
``bench/policy.py`` (marketing twice a week, six contacts a month with service and care
counting half, one call a day; quiet hours 21:00–08:00, no calls on Sunday; 2% suppressed),
and five campaigns over the whole book, each with one broadcast wave on the next five days
(SMS, e-mail, web push, SMS, e-mail), priorities 3, 2, 2, 1, 1. Waves 1–4 are planned first.

Measured:
* ``segment_count`` of six rules (every customer; a city; holdings; orders in 90 days;
  consent on SMS; a value tier with recent contact) — one ``COUNT(*)`` each, as the editor's
  live count runs it; best of three runs each;
* planning wave 5 as a dry run (``wave_plan(dry_run=True)``: audience, the contacts the four
  other waves hold decided again with it, policy inputs, the engine) and for real (the same
  plus writing the decision for a million customers — deliveries for the contacts, the final
  exclusions packed — and the competitors whose decision changed), with the time of each
  phase of every run and the query count.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiti.campaigns import services
from yiti.campaigns.models import Campaign, Delivery
from yiti.campaigns.planning import plan_drop, wave_plan
from yiti.core.bulk import analyze
from yiti.customers.models import Customer, CustomerValue, Product
from yiti.demo.seed import SeedOptions, seed
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.org.models import OrgUnit, User

PLAN_TARGET_S = 5.0
COUNT_TARGET_S = 1.0
CHANNELS = ["sms", "email", "push", "sms", "email"]
PRIORITIES = [3, 2, 2, 1, 1]
RUNS = 3


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "targets": {"plan_s": PLAN_TARGET_S, "count_s": COUNT_TARGET_S},
        "load_before": os.getloadavg(),
    }
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
        result["seed"] = {"reused": True}
    else:
        log(f"Seeding {customers:,} customers with ~10 interactions and 1 order each…")
        report = seed(
            SeedOptions(
                customers=customers,
                interactions_per_customer=10,
                orders_per_customer=1,
                campaigns=False,  # the bench's own five campaigns compete, nothing else
            ),
            force=bool(existing),
            progress=log,
        )
        result["seed"] = {"reused": False, "seconds": round(report.seconds, 1)}
        gc.collect()
    _policy()
    _values(log)
    result["customers"] = Customer.objects.count()
    result["interactions"] = Interaction.objects.count()
    log(f"{result['customers']:,} customers, {result['interactions']:,} interactions.")
    result["counts"] = _counts(log)
    result["plan"] = _plan(log)
    result["load_after"] = os.getloadavg()
    return result


def _policy() -> None:
    rules = [
        ("marketing twice a week", 2, 7, ["marketing"], [], {}),
        ("six contacts a month", 6, 30, [], [], {"marketing": 1, "service": 0.5, "care": 0.5}),
        ("one call a day", 1, 1, [], ["call"], {}),
    ]
    for name, n, d, purposes, channels, weights in rules:
        ContactPolicyRule.objects.update_or_create(
            name=name,
            defaults={
                "max_contacts": n,
                "window_days": d,
                "purposes": purposes,
                "channels": channels,
                "weights": weights,
            },
        )
    QuietHours.objects.get_or_create(
        name="night", defaults={"days": list(range(7)), "start": dtime(21), "end": dtime(8)}
    )
    QuietHours.objects.get_or_create(
        name="no calls on Sunday",
        defaults={"days": [6], "start": dtime(0), "end": dtime(0), "channels": ["call"]},
    )
    if not Suppression.objects.filter(source_type="bench").exists():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Suppression._meta.db_table} "  # noqa: S608
                "(customer_id, reason, source_type, source_id, note, created_at) "
                "SELECT id, CASE WHEN id %% 100 = 0 THEN 'open_complaint' ELSE 'do_not_disturb' END, "
                "'bench', '', '', %s FROM customers_customer WHERE id %% 50 = 0",
                [connection.ops.adapt_datetimefield_value(timezone.now())],
            )


def _values(log: Callable[[str], None]) -> None:
    """Synthetic value scores for every customer, in one INSERT … SELECT."""
    if CustomerValue.objects.exists():
        return
    log("Scoring every customer (synthetic values)…")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CustomerValue._meta.db_table} "  # noqa: S608
            "(customer_id, tier, clv, expected_purchases, p_alive, churn_risk, cost_to_serve, "
            "net_value, growth_gap, rising, purchases, fit_id, computed_at) "
            "SELECT id, CASE WHEN id %% 10 = 0 THEN 'mvc' WHEN id %% 10 = 1 THEN 'mgc' "
            "WHEN id %% 10 = 2 THEN 'bz' ELSE 'standard' END, "
            "(id * 7919) %% 5000, 1.0, 0.8, 0.2, 10.0, (id * 7919) %% 5000 - 10, 0, %s, 1, 1, %s "
            "FROM customers_customer",
            [False, now],
        )
    analyze(CustomerValue)


def _rules() -> list[tuple[str, dict[str, Any]]]:
    broadband = list(Product.objects.filter(category="broadband").values_list("pk", flat=True))
    return [
        ("every customer", {}),
        ("city", {"conditions": [{"field": "city", "op": "in", "value": ["杭州", "宁波"]}]}),
        (
            "holds broadband",
            {
                "conditions": [
                    {"field": "holds_product", "op": "any", "value": [str(p) for p in broadband]}
                ]
            },
        ),
        (
            "an order in 90 days",
            {"conditions": [{"field": "order_count", "op": "gte", "value": 1, "days": 90}]},
        ),
        ("consents to SMS", {"conditions": [{"field": "consent", "op": "any", "value": ["sms"]}]}),
        (
            "most valuable, contacted in 30 days",
            {
                "match": "all",
                "conditions": [
                    {"field": "value_tier", "op": "in", "value": ["mvc"]},
                    {"field": "days_since_contact", "op": "lte", "value": 30},
                ],
            },
        ),
    ]


def _counts(log: Callable[[str], None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rules in _rules():
        samples = []
        for _ in range(RUNS):
            started = time.perf_counter()
            n = services.segment_count(rules)
            samples.append(time.perf_counter() - started)
        out[name] = {
            "customers": n,
            "best_s": round(min(samples), 3),
            "worst_s": round(max(samples), 3),
        }
        log(f"count {name}: {n:,} in {min(samples):.3f} s")
    return out


def _campaigns(log: Callable[[str], None]) -> list[Campaign]:
    existing = list(Campaign.objects.filter(code__startswith="bench-").order_by("code"))
    if len(existing) == len(CHANNELS):
        return existing
    cm = User.objects.get(username="cm")
    units = {u.code: u for u in OrgUnit.objects.all()}
    product = Product.objects.order_by("code").first()
    assert product is not None
    segment = services.segment_create(actor=cm, name="bench: everyone", rules={}, unit=units["mkt"])
    tz = ZoneInfo("Asia/Shanghai")
    today = timezone.localdate()
    made = []
    for i, (channel, priority) in enumerate(zip(CHANNELS, PRIORITIES, strict=True)):
        offer = services.offer_create(
            actor=cm,
            code=f"bench-offer-{i + 1}",
            name=f"Bench offer {i + 1}",
            product=product,
            benefit="discount",
            benefit_value=10,
        )
        campaign = services.campaign_create(
            actor=cm,
            code=f"bench-{i + 1}",
            name=f"Bench campaign {i + 1}",
            owner_unit=units["mkt"],
            segment=segment,
            offers=[offer],
            participating_units=[units["hq"]],
            service_unit=units["csc"],
            starts_on=today + timedelta(days=1),
            ends_on=today + timedelta(days=10),
            priority=priority,
            lead_days=0,
        )
        day = today + timedelta(days=i + 1)
        services.wave_create(
            actor=cm,
            campaign=campaign,
            name="wave",
            kind="broadcast",
            channels=[channel],
            scheduled_at=datetime(day.year, day.month, day.day, 10, tzinfo=tz),
            subject="{name}",
            message="{name}, {offer}",
        )
        services.campaign_submit(actor=cm, campaign=campaign)
        made.append(campaign)
        log(f"campaign {campaign.code} on {channel}, priority {priority}")
    return made


def _vacuum() -> None:
    """PostgreSQL: clear the dead rows of dropped plans, as autovacuum would between plans
    (a million dead deliveries per re-plan otherwise slow every later read)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {Delivery._meta.db_table}")


def _plan(log: Callable[[str], None]) -> dict[str, Any]:
    cm = User.objects.get(username="cm")
    campaigns = _campaigns(log)
    waves = [c.waves.get() for c in campaigns]
    for wave in waves[:4]:
        if not Delivery.objects.filter(wave=wave).exists():
            log(f"planning {wave.campaign.code} (set-up)…")
            started = time.perf_counter()
            r = wave_plan(actor=cm, wave=wave)
            log(f"  {r.planned:,} planned in {time.perf_counter() - started:.1f} s")
    analyze(Delivery)
    _vacuum()
    target = waves[4]
    out: dict[str, Any] = {"competing_contacts": Delivery.objects.exclude(wave=target).count()}
    for label, dry in (("dry_run", True), ("write", False)):
        runs = []
        for _ in range(RUNS):
            if not dry:  # each write plans the wave afresh (its previous plan dropped untimed)
                plan_drop(target)
                _vacuum()
            gc.collect()
            cpu, started = _cpu(), time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                r = wave_plan(actor=cm, wave=target, dry_run=dry)
            runs.append(
                {
                    "wall_s": round(time.perf_counter() - started, 3),
                    "cpu_s": round(_cpu() - cpu, 3),
                    "queries": len(queries),
                    "phases": r.phases,
                    "audience": r.audience,
                    "planned": r.planned,
                    "excluded": r.excluded,
                    "displaced": r.displaced,
                }
            )
            log(
                f"{label}: {runs[-1]['wall_s']} s wall, {runs[-1]['cpu_s']} s CPU, {len(queries)} queries"
            )
        out[label] = {
            "best": min(runs, key=lambda x: x["wall_s"]),
            "runs": [x["wall_s"] for x in runs],
            "phases_per_run": [x["phases"] for x in runs],
        }
    return out


def summary(result: dict[str, Any]) -> str:
    lines = ["Segment live counts (best of 3):"]
    for name, c in result["counts"].items():
        ok = "ok" if c["best_s"] <= COUNT_TARGET_S else "MISSED"
        lines.append(f"  {name:<40} {c['customers']:>10,}  {c['best_s']:.3f} s  {ok}")
    for label in ("dry_run", "write"):
        best = result["plan"][label]["best"]
        ok = "ok" if best["wall_s"] <= PLAN_TARGET_S else "MISSED"
        lines.append(
            f"Plan wave 5 ({label}): {best['wall_s']} s wall, {best['cpu_s']} s CPU, "
            f"{best['queries']} queries — target {PLAN_TARGET_S} s: {ok}"
        )
        lines.append(f"  phases: {best['phases']}")
    return "\n".join(lines)
