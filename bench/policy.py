"""Benchmark: planning a wave under the contact policy for a million customers.

Run with ``yiti bench policy [--customers 1000000] [--reuse]``. Target (issue "Campaigns in
waves under one contact policy"): planning a wave for 1,000,000 customers with 10,000,000 past
interactions, five competing campaigns and three policy rules takes at most 5 s.

Set-up (not timed): the demo company's customer book with about ten interactions per customer
over the last year (``SeedOptions.interactions_per_customer=10``), three rules — two marketing
contacts a week, six contacts a month with service and care counting half, one call a day —
quiet hours (21:00–08:00 every day, calls not on Sunday) and active suppressions for 2% of
the customers.

Measured, as a planner would run it, five campaigns competing for every customer over the next
five days (one candidate per customer and campaign: 5,000,000 candidates):

* ``audience``: reading the audience's customer ids (here every customer) into an array;
* ``load``: ``policy_inputs`` — rules, quiet hours, history counted per customer, instant,
  channel and purpose in the reach of the longest window, consent, suppressions — with its
  query count;
* ``evaluate``: the engine on the arrays; and ``plan_counts``;
* ``in_memory``: the engine alone on synthetic arrays with 10,000,000 past interactions
  (of which those in the window reach count), for the figure without the database.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiti.customers.models import ConsentState, Customer
from yiti.demo.seed import SeedOptions, seed
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.policy import (
    CHANNELS,
    DAY,
    Candidates,
    Consent,
    Contacts,
    Suppressed,
    evaluate,
    plan_counts,
)
from yiti.engagement.policy_data import audience_ids, policy_inputs, quiet_active, rules_active

TARGET_S = 5.0
CAMPAIGNS = 5
CAMPAIGN_CHANNELS = ["sms", "email", "call", "sms", "push"]
INTERACTIONS_PER_CUSTOMER = 10
RUNS = 3


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {"target_s": TARGET_S}
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
        result["seed"] = {"reused": True}
    else:
        log(f"Seeding {customers:,} customers with ~{INTERACTIONS_PER_CUSTOMER} interactions each…")
        report = seed(
            SeedOptions(
                customers=customers,
                interactions_per_customer=INTERACTIONS_PER_CUSTOMER,
                orders_per_customer=0.2,
            ),
            force=bool(existing),
            progress=log,
        )
        result["seed"] = {"reused": False, "seconds": round(report.seconds, 1)}
        log(f"Seeded in {report.seconds:.1f} s.")
        gc.collect()
    _policy()
    result["customers"] = Customer.objects.count()
    result["interactions"] = Interaction.objects.count()
    log(f"{result['customers']:,} customers, {result['interactions']:,} interactions.")
    result["rules"] = [r.name for r in rules_active()]
    result["database"] = _database(log)
    result["in_memory"] = _in_memory(result["customers"], log)
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
    if not Suppression.objects.filter(source_type="bench").exists():  # 2%: complaints, DND
        ids = list(Customer.objects.order_by("id").values_list("id", flat=True)[::50])
        reasons = ["open_complaint", "do_not_disturb"]
        Suppression.objects.bulk_create(
            [
                Suppression(customer_id=c, reason=reasons[i % 2], source_type="bench")
                for i, c in enumerate(ids)
            ],
            batch_size=5000,
        )
    if connection.vendor == "postgresql":  # as autovacuum keeps a live database: index-only scans
        with connection.cursor() as cursor:
            for model in (Interaction, ConsentState, Customer, Suppression):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def _candidates(ids: np.ndarray, start: int, rng: np.random.Generator) -> Candidates:
    """Five campaigns, one contact each per customer, campaign i on day i after ``start``."""
    n = len(ids)
    camp = np.tile(np.arange(1, CAMPAIGNS + 1, dtype=np.int64), n)
    channel_codes = np.array([CHANNELS.index(c) for c in CAMPAIGN_CHANNELS], dtype=np.int8)
    hours = rng.integers(8, 22, size=n * CAMPAIGNS)  # some at 21:xx fall in the quiet hours
    return Candidates(
        customer_id=np.repeat(ids, CAMPAIGNS),
        campaign_id=camp,
        wave_id=camp * 10 + 1,
        channel=channel_codes[camp - 1],
        purpose=np.zeros(n * CAMPAIGNS, dtype=np.int8),  # marketing
        planned_at=start + (camp - 1) * DAY + hours * 3600 - 8 * 3600,
        priority=np.array([3.0, 2.0, 2.0, 1.0, 1.0])[camp - 1],
        expected_value=rng.gamma(2.0, 50.0, size=n * CAMPAIGNS),
    )


def _database(log: Callable[[str], None]) -> dict[str, Any]:
    """Plan end to end, reading the audience and the inputs from the database.

    Three ways of naming the audience to ``policy_inputs``: ``None`` (every customer — the
    audience here is the whole book), the array of ids the planner read (and builds its
    candidates from), and the ``Customer`` queryset (its ids read again inside). Each phase is
    timed in wall and CPU seconds (CPU of the whole process: both threads of the engine count);
    the load average before each run says how busy the machine was.
    """
    rng = np.random.default_rng(5)
    tomorrow = (datetime.now(tz=UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start = int(tomorrow.timestamp())
    first, last = tomorrow, tomorrow + timedelta(days=CAMPAIGNS)
    out: dict[str, Any] = {}
    for mode, runs_wanted in (("whole_book", RUNS), ("ids", RUNS), ("queryset", 1)):
        runs: list[dict[str, float]] = []
        for attempt in range(runs_wanted):
            gc.collect()
            load_before = round(os.getloadavg()[0], 2)
            clock = _Clock()
            ids = audience_ids()
            clock.lap("audience")
            audience = {"whole_book": None, "ids": ids, "queryset": Customer.objects.all()}[mode]
            with CaptureQueriesContext(connection) as captured:
                inputs = policy_inputs(
                    customers=audience,
                    first=first,
                    last=last,
                    channels=sorted(set(CAMPAIGN_CHANNELS)),
                    purposes=["marketing"],
                )
            clock.lap("load")
            candidates = _candidates(ids, start, rng)
            clock.lap("candidates", timed=False)
            decision = evaluate(
                candidates,
                inputs.history,
                inputs.rules,
                inputs.quiet,
                inputs.consent,
                inputs.suppressed,
                utc_offset=inputs.utc_offset,
            )
            counts = plan_counts(decision)
            clock.lap("evaluate")
            run_ = {"load_average_before": load_before, **clock.result()}
            runs.append(run_)
            log(f"database {mode} run {attempt + 1}: {run_}")
        out[mode] = {
            "runs": runs,
            "best": min(runs, key=lambda r: r["total_s"]),
            "load_queries": len(captured.captured_queries),
        }
        out.update(
            {
                "audience": len(ids),
                "candidates": len(candidates),
                "history_rows": len(inputs.history),
                "history_contacts": int(inputs.history.count.sum()),
                "consent_rows": len(inputs.consent.customer_id),
                "suppressed_rows": len(inputs.suppressed.customer_id),
                "counts": counts,
            }
        )
    return out


class _Clock:
    """Wall and CPU seconds per phase; ``total`` adds the timed phases.

    On PostgreSQL the work of the queries is done by the server: its backend's CPU seconds
    (read from ``/proc``, the server being local) are counted apart as ``db_cpu``.
    """

    def __init__(self) -> None:
        self.wall, self.cpu, self.db = time.perf_counter(), time.process_time(), _server_cpu()
        self.phases: dict[str, float] = {}
        self.totals: dict[str, float] = {"total_s": 0.0, "total_cpu_s": 0.0}

    def lap(self, name: str, *, timed: bool = True) -> None:
        wall, cpu, db = time.perf_counter(), time.process_time(), _server_cpu()
        if timed:
            spent = {"s": wall - self.wall, "cpu_s": cpu - self.cpu}
            if db is not None and self.db is not None:
                spent["db_cpu_s"] = db - self.db
            for unit, seconds in spent.items():
                self.phases[f"{name}_{unit}"] = round(seconds, 3)
                self.totals[f"total_{unit}"] = self.totals.get(f"total_{unit}", 0.0) + seconds
        self.wall, self.cpu, self.db = wall, cpu, db

    def result(self) -> dict[str, float]:
        return {**self.phases, **{k: round(v, 3) for k, v in self.totals.items()}}


def _server_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (None elsewhere)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _in_memory(customers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The engine alone: synthetic arrays, 10M past interactions over a year."""
    rng = np.random.default_rng(9)
    n = max(customers, 1)
    day0 = 20_600
    ids = np.arange(1, n + 1, dtype=np.int64)
    candidates = _candidates(ids, day0 * DAY, rng)
    h = 10 * n
    h_at = day0 * DAY - rng.integers(DAY, 366 * DAY, size=h)  # instants over a year
    reach = h_at > (day0 - 30) * DAY  # the loader reads only these
    m = int(reach.sum())
    history = Contacts(
        customer_id=rng.integers(1, n + 1, size=m),
        at=h_at[reach],
        channel=rng.choice([CHANNELS.index(c) for c in ("sms", "email", "call")], m).astype(
            np.int8
        ),
        purpose=rng.choice([0, 1, 2], m, p=[0.5, 0.3, 0.2]).astype(np.int8),
        count=np.ones(m, dtype=np.int64),
    )
    granted = rng.random(len(candidates)) < 0.7
    consent = Consent(
        customer_id=candidates.customer_id[granted],
        channel=candidates.channel[granted],
        purpose=candidates.purpose[granted],
        granted=np.ones(int(granted.sum()), dtype=bool),
    )
    supp = rng.choice(ids, size=n // 50, replace=False)
    suppressed = Suppressed(customer_id=np.sort(supp), reason=np.zeros(len(supp), dtype=np.int8))
    rules, quiet = rules_active(), quiet_active()
    samples, cpu, loads = [], [], []
    for _ in range(RUNS):
        gc.collect()
        loads.append(round(os.getloadavg()[0], 2))
        t0, c0 = time.perf_counter(), time.process_time()
        decision = evaluate(
            candidates, history, rules, quiet, consent, suppressed, utc_offset=8 * 3600
        )
        counts = plan_counts(decision)
        samples.append(round(time.perf_counter() - t0, 3))
        cpu.append(round(time.process_time() - c0, 3))
    log(f"in memory: {len(candidates):,} candidates, {h:,} interactions: {samples} s (cpu {cpu})")
    return {
        "candidates": len(candidates),
        "interactions": h,
        "history_rows_in_reach": m,
        "seconds": samples,
        "cpu_seconds": cpu,
        "load_average_before": loads,
        "counts": counts,
    }


def summary(result: dict[str, Any]) -> str:
    db = result["database"]
    mem = result["in_memory"]
    lines = [
        f"Customers: {result['customers']:,}, interactions: {result['interactions']:,} "
        f"on {result['machine']['database']}"
    ]
    for mode in ("whole_book", "ids", "queryset"):
        best = db[mode]["best"]
        mark = "ok " if best["total_s"] <= TARGET_S else "MISS"
        lines.append(
            f"  [{mark}] plan {db['candidates']:,} candidates ({CAMPAIGNS} campaigns, {mode}): "
            f"{best['total_s']} s (cpu {best['total_cpu_s']} s"
            + (f" + database {best['total_db_cpu_s']} s" if "total_db_cpu_s" in best else "")
            + f", load {best['load_average_before']})"
            f" = audience {best['audience_s']} + load {best['load_s']} "
            f"({db[mode]['load_queries']} queries, {db['history_rows']:,} history rows) "
            f"+ evaluate {best['evaluate_s']} s"
        )
    fastest = min(range(len(mem["seconds"])), key=lambda i: mem["seconds"][i])
    return "\n".join(
        [
            *lines,
            f"  kept {db['counts']['kept']:,}; excluded {db['counts']['excluded']}",
            f"  in memory: {mem['candidates']:,} candidates, {mem['interactions']:,} "
            f"interactions: {mem['seconds'][fastest]} s (cpu {mem['cpu_seconds'][fastest]} s)",
        ]
    )
