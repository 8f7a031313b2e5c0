"""Benchmark: importing historic orders (``yiti import orders FILE``) — 1,000,000 rows.

Run with ``yiti bench imports [--customers N] [--reuse] [--database-url …]``. ``N`` (default
1,000,000) is the number of ORDER rows in the file (``YITI_BENCH_ROWS`` overrides it); the
bench seeds N/10 customers (at least 1,000) set-based — every one with an external id and a
mobile phone — and 20 products. Target (issue 12): 1,000,000 orders in under 60 s on SQLite,
as a set-based path with row-level errors; the same run on PostgreSQL for comparison.

The file is what a legacy system exports: 70 % of the rows name the customer by external id,
30 % by phone (written with spaces, as people type them); times local to the second over
three years; half the rows leave the margin to the product's rate; status and channel mixed
in English and Chinese; every row has an order number. It is imported by the real runner
(``imports_runner.import_run``, as ``yiti import orders`` and the worker do): phase one reads
and validates into the spool, phase two writes in one transaction. The result has both phases'
seconds, rows per second, the peak memory and the orders table's count after.
"""

from __future__ import annotations

import csv
import gc
import os
import random
import resource
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from yiti.core.bulk import insert_rows
from yiti.core.search import search_key
from yiti.customers.choices import ImportStatus
from yiti.customers.import_jobs import import_job_create
from yiti.customers.imports_runner import import_run
from yiti.customers.models import ContactPoint, Customer, Order, Product
from yiti.org.models import OrgUnit

TARGET_S = 60.0
PRODUCTS = 20
CHANNELS = ["branch", "online", "mobile", "营业厅", "call_centre", ""]
STATUSES = ["fulfilled", "", "已完成", "cancelled"]


def _seed(customers: int, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.perf_counter()
    unit = OrgUnit.objects.filter(code="bench").first()
    if unit is None:
        from yiti.org.services import unit_create

        unit = unit_create(name="Bench", code="bench", kind="company")
    Product.objects.bulk_create(
        [
            Product(
                code=f"P-{i:03d}",
                name=f"Product {i}",
                category="mobile_plan",
                price=10 * (i + 1),
                margin_rate="0.3",
            )
            for i in range(PRODUCTS)
        ]
    )
    today = datetime.now().date().isoformat()
    insert_rows(
        Customer,
        ("name", "name_key", "external_id", "unit", "status", "kind", "since", "primary_phone"),
        [
            (
                f"客户{i}",
                search_key(f"客户{i}"),
                f"C{i:08d}",
                unit.pk,
                "active",
                "person",
                today,
                f"139{i:08d}",
            )
            for i in range(customers)
        ],
        ready=True,
        batch_size=5000,
    )
    ids = dict(Customer.objects.values_list("external_id", "pk"))
    insert_rows(
        ContactPoint,
        ("customer", "kind", "value", "normalized", "search_key", "is_primary", "label"),
        [
            (ids[f"C{i:08d}"], "phone", f"139{i:08d}", f"+86139{i:08d}", f"139{i:08d}", True, "")
            for i in range(customers)
        ],
        ready=True,
        batch_size=5000,
    )
    seconds = time.perf_counter() - started
    log(
        f"Seeded {customers:,} customers with a phone each and {PRODUCTS} products in {seconds:.1f} s."
    )
    return {"customers": customers, "products": PRODUCTS, "seconds": round(seconds, 1)}


def _write_file(path: Path, rows: int, customers: int, log: Callable[[str], None]) -> float:
    started = time.perf_counter()
    rng = random.Random(12)
    start = datetime(2023, 1, 1)
    span = 3 * 365 * 86400
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "客户编号",
                "手机",
                "产品编码",
                "下单时间",
                "数量",
                "金额",
                "毛利",
                "状态",
                "渠道",
                "订单号",
            ]
        )
        for i in range(rows):
            c = rng.randrange(customers)
            by_phone = rng.random() < 0.3
            product = rng.randrange(PRODUCTS)
            quantity = 1 + (i % 3 == 0)
            amount = 10 * (product + 1) * quantity
            at = start + timedelta(seconds=rng.randrange(span))
            writer.writerow(
                [
                    "" if by_phone else f"C{c:08d}",
                    f"139 {c // 10000:04d} {c % 10000:04d}" if by_phone else "",
                    f"P-{product:03d}",
                    at.strftime("%Y-%m-%d %H:%M:%S"),
                    quantity,
                    f"{amount}.00",
                    "" if i % 2 else f"{amount * 0.25:.2f}",
                    STATUSES[i % len(STATUSES)],
                    CHANNELS[i % len(CHANNELS)],
                    f"SO{i:010d}",
                ]
            )
    seconds = time.perf_counter() - started
    log(f"Wrote {rows:,} order rows ({path.stat().st_size / 1e6:.0f} MB) in {seconds:.1f} s.")
    return seconds


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    del reuse  # a database with customers is always reused (the orders are cleared)
    rows = int(os.environ.get("YITI_BENCH_ROWS") or customers)
    wanted_customers = max(rows // 10, 1000)
    result: dict[str, Any] = {
        "targets": {"import_s": TARGET_S},
        "database": connection.vendor,
        "rows": rows,
    }
    existing = Customer.objects.count()
    if existing:  # (a server database is not recreated: its customers are reused)
        log(f"Reusing the benchmark database with {existing:,} customers.")
        result["seed"] = {"reused": True, "customers": existing}
        wanted_customers = existing
        while ids := list(Order.objects.values_list("pk", flat=True)[:5000]):
            Order.objects.filter(pk__in=ids).delete()
    else:
        result["seed"] = _seed(wanted_customers, log)
    folder = Path(settings.DATA_DIR) / "imports-bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"orders-{rows}-{wanted_customers}.csv"
    if not path.exists():
        result["file_s"] = round(_write_file(path, rows, wanted_customers, log), 1)
    result["file_mb"] = round(path.stat().st_size / 1e6, 1)

    gc.collect()
    phases: dict[str, float] = {}
    marks: list[tuple[str, float]] = []

    def progress(values: dict[str, int]) -> None:
        phase = "writing" if "rows_written" in values else "reading"
        if not marks or marks[-1][0] != phase:
            marks.append((phase, time.perf_counter()))

    load_before = [round(x, 2) for x in os.getloadavg()]
    wall, cpu = time.perf_counter(), time.process_time()
    job = import_job_create(
        actor=None, kind="orders", file_name=path.name, stored_at=path, queue=False
    )
    outcome = import_run(job, on_progress=progress)
    wall_end, cpu = time.perf_counter(), time.process_time() - cpu
    job = outcome.job
    if job.status != ImportStatus.COMPLETED:
        raise RuntimeError(f"import {job.status}: {job.message} {job.errors[:5]}")
    writing = next((t for p, t in marks if p == "writing"), wall_end)
    phases["read_and_validate_s"] = round(writing - wall, 2)
    phases["write_s"] = round(wall_end - writing, 2)
    total = wall_end - wall
    log(
        f"Imported {job.created_count:,} orders in {total:.1f} s wall, {cpu:.1f} s CPU "
        f"({job.created_count / total:,.0f} rows/s); phases {phases}"
    )
    result.update(
        wall_s=round(total, 2),
        cpu_s=round(cpu, 2),
        phases=phases,
        rows_per_s=round(job.created_count / total),
        created=job.created_count,
        errors=job.error_count,
        orders_after=Order.objects.count(),
        load_average_before=load_before,
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    )
    return result


def summary(result: dict[str, Any]) -> str:
    mark = "ok " if result["wall_s"] < result["targets"]["import_s"] else "MISS"
    scaled = result["wall_s"] * 1_000_000 / max(result["rows"], 1)
    return "\n".join(
        [
            f"Orders import on {result['database']}: {result['rows']:,} rows, "
            f"{result['file_mb']} MB",
            f"  [{mark}] {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU, "
            f"{result['rows_per_s']:,} rows/s (target 1M < {result['targets']['import_s']:.0f} s; "
            f"≈ {scaled:.0f} s per million at this rate; load {result['load_average_before'][0]}"
            f" → {result['load_average_after'][0]})",
            f"      read+validate {result['phases']['read_and_validate_s']:.1f} s, "
            f"write {result['phases']['write_s']:.1f} s; peak RSS {result['peak_rss_mb']:,} MB",
        ]
    )
