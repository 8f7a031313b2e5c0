"""Benchmark: the management cockpit's answer time, and its rollups rebuilt and refreshed.

Run with ``yiti bench insights [--customers 1000000] [--reuse] [--database-url postgres://…]``.
The customer book is seeded first with the demo company (``YITI_BENCH_INTERACTIONS`` contacts per
customer, default 10: ten million at a million customers), then ``YITI_BENCH_TICKETS`` tickets
(default: one per customer) through ``bench/tickets.py``'s generator. Target (issue 15, item 7):
the cockpit answers in under 1 s at 1,000,000 customers, 10,000,000 interactions and 1,000,000
tickets, on SQLite and PostgreSQL.

Measured:
* ``yiti insights rebuild`` over the whole book (rows written, seconds);
* the incremental refresh after a slice of new work (1,000 contacts, 200 tickets changed);
* ``/insights/`` over HTTP with Django's test client (server time in-process) as the analyst,
  for the whole company and for one region, over 30 and 365 days, with the query count; and
  ``/api/v1/insights/cockpit`` for the company over 365 days.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone

from yiti.customers.models import Customer
from yiti.demo.bench import stats, timed
from yiti.demo.seed import SeedOptions, seed
from yiti.engagement.models import Interaction
from yiti.insights.rollups import rollups_rebuild, rollups_refresh
from yiti.org.access import access_reset
from yiti.org.models import OrgUnit, User
from yiti.service.demo import seed_calendar, seed_policies, seed_routing
from yiti.service.models import Ticket

INTERACTIONS = float(os.environ.get("YITI_BENCH_INTERACTIONS", "10"))
TICKETS = os.environ.get("YITI_BENCH_TICKETS", "")
HTTP_RUNS = 20
TARGET_MS = 1000.0


def _tickets_module() -> Any:
    path = Path(__file__).with_name("tickets.py")
    spec = importlib.util.spec_from_file_location("yiti_bench_tickets_gen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {"targets": {"cockpit_ms": TARGET_MS}}
    if reuse and Customer.objects.exists():
        log("Reusing the benchmark database.")
        result["seed"] = {"reused": True}
    else:
        started = time.perf_counter()
        log(f"Seeding {customers:,} customers with {INTERACTIONS:g} contacts each…")
        seed(
            SeedOptions(
                customers=customers,
                interactions_per_customer=INTERACTIONS,
                orders_per_customer=0.5,
            ),
            progress=log,
        )
        seed_policies()
        seed_calendar(timezone.localdate())
        seed_routing({u.code: u for u in OrgUnit.objects.all()})
        total = int(TICKETS) if TICKETS else customers
        log(f"Inserting {total:,} tickets…")
        _tickets_module()._insert_tickets(total, log)
        result["seed"] = {"reused": False, "seconds": round(time.perf_counter() - started, 1)}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    result["book"] = {
        "customers": Customer.objects.count(),
        "interactions": Interaction.objects.count(),
        "tickets": Ticket.objects.count(),
    }
    log(f"Book: {result['book']}")

    log("Rebuilding the rollups…")
    started = time.perf_counter()
    written = rollups_rebuild()
    result["rebuild"] = {"seconds": round(time.perf_counter() - started, 2), "rows": written}

    log("A slice of new work, then the incremental refresh…")
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True)[:1000])
    now = timezone.now()
    Interaction.objects.bulk_create(
        [
            Interaction(
                customer_id=cid, occurred_at=now, channel="call", direction="out", purpose="service"
            )
            for cid in ids
        ]
    )
    changed = list(Ticket.objects.order_by("-id").values_list("id", flat=True)[:200])
    Ticket.objects.filter(pk__in=changed).update(updated_at=now)
    started = time.perf_counter()
    days = rollups_refresh()
    result["refresh"] = {"seconds": round(time.perf_counter() - started, 2), "recomputed": days}

    analyst = (
        User.objects.filter(memberships__role="analyst").first()
        or User.objects.filter(is_superuser=True).first()
    )
    assert analyst is not None, "the demo company has an analyst"
    # keep one connection across requests (as a long-lived web process does), so that the
    # query count of a request can be captured
    request_finished.disconnect(close_old_connections)
    client = Client()
    client.force_login(analyst)
    company = OrgUnit.objects.order_by("depth", "id").first()
    region = OrgUnit.objects.filter(kind="region").order_by("id").first() or company
    assert company is not None and region is not None
    pages: dict[str, Any] = {}
    for label, unit, days_back in (
        ("company_30d", company, 30),
        ("company_365d", company, 365),
        ("region_30d", region, 30),
        ("region_365d", region, 365),
    ):
        url = f"/insights/?unit={unit.pk}&days={days_back}"
        access_reset(analyst)
        counted = [0]

        def count(
            execute: Any,
            sql: str,
            params: Any,
            many: bool,
            context: Any,
            counted: list[int] = counted,
        ) -> Any:
            counted[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            assert client.get(url).status_code == 200
        samples = timed(_getter(client, url), list(range(HTTP_RUNS)))
        pages[label] = {**stats(samples), "queries": counted[0]}
        log(f"{label}: p50 {pages[label]['p50_ms']} ms, p95 {pages[label]['p95_ms']} ms")
    api_url = f"/api/v1/insights/cockpit?unit={company.pk}&days=365"
    samples = timed(lambda _x: client.get(api_url), list(range(HTTP_RUNS)))
    pages["api_company_365d"] = stats(samples)
    result["cockpit"] = pages
    return result


def _getter(client: Client, url: str) -> Callable[[Any], Any]:
    def get(_run: Any) -> Any:
        return client.get(url)

    return get


def summary(result: dict[str, Any]) -> str:
    book = result["book"]
    lines = [
        f"Book: {book['customers']:,} customers, {book['interactions']:,} interactions, "
        f"{book['tickets']:,} tickets",
        f"Rebuild: {result['rebuild']['seconds']} s; refresh after new work: "
        f"{result['refresh']['seconds']} s",
    ]
    for label, s in result["cockpit"].items():
        verdict = "OK" if s.get("p95_ms", 1e9) < TARGET_MS else "over target"
        queries = f", {s['queries']} queries" if "queries" in s else ""
        lines.append(f"{label}: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms{queries} ({verdict})")
    return "\n".join(lines)
