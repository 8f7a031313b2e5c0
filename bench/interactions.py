"""Benchmark: importing contact history from a legacy system (``yiti import interactions``).

Run with ``yiti bench interactions [--customers N] [--reuse]``: seeds N customers (the demo
seed without history, orders or campaigns; 60 % of them carry an external id) and writes a
CSV of ``YITI_BENCH_ROWS`` contacts (default 10 × N, so ``--customers 1000000`` is the issue's
ten million rows) over the customers with an external id, its values mixed in English and
Chinese (``call``/``电话``, ``out``/``呼出`` …), times local, a reference per row. Target
(issue 12): 10,000,000 rows in under 180 s on SQLite.

Measured through the real runner (``imports_runner.import_run``, as ``yiti import
interactions`` and the worker run it): the file read into chunks of ``CHUNK`` rows,
``InteractionImporter.validate`` per chunk with the valid tuples spooled (phase one), then in
one transaction ``write`` per chunk and ``finish`` (the indexes built again when they were
dropped, customers' ``last_contact_at`` moved forward, one audit event) — phase two. The
result has the seconds of each phase, rows per second, and the table's row count after.

``YITI_BENCH_REBUILD=0`` keeps the indexes during the load (to compare with dropping and
building them again, the default past ``REBUILD_AFTER`` rows on SQLite).
"""

from __future__ import annotations

import csv
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from yiti.customers.choices import ImportStatus
from yiti.customers.import_jobs import import_job_create
from yiti.customers.imports_runner import import_run
from yiti.customers.models import Customer
from yiti.demo.seed import SeedOptions, seed
from yiti.engagement import imports
from yiti.engagement.models import Interaction

TARGET_SECONDS_10M = 180.0
HEADER = ["客户编号", "渠道", "方向", "目的", "接触时间", "结果", "主题", "流水号"]
CHANNELS = ["call", "电话", "sms", "短信", "email", "visit", "上门", "im"]
DIRECTIONS = ["out", "呼出", "out", "in", "呼入"]
PURPOSES = ["marketing", "营销", "service", "服务", "care", "sales"]
OUTCOMES = ["completed", "接通", "no_answer", "未接", "sent", "delivered", ""]


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    rows = int(os.environ.get("YITI_BENCH_ROWS", str(10 * customers)))
    result: dict[str, Any] = {
        "target": {"rows": 10_000_000, "seconds": TARGET_SECONDS_10M},
        "database": connection.vendor,
    }
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
    else:
        log(f"Seeding {customers:,} customers without history…")
        report = seed(
            SeedOptions(
                customers=customers,
                interactions_per_customer=0.01,  # (0 trips the seed's numpy on empty arrays)
                orders_per_customer=0.01,
                tickets=0,
                value_refit=False,
                campaigns=False,
            ),
            force=bool(existing),
            progress=log,
        )
        result["seed_seconds"] = round(report.seconds, 1)
    ids = list(Customer.objects.filter(external_id__gt="").values_list("external_id", flat=True))
    result["customers"] = Customer.objects.count()
    result["customers_with_external_id"] = len(ids)
    before = Interaction.objects.count()

    data = Path(settings.DATA_DIR)
    path = data / f"interactions-{rows}.csv"
    if not (reuse and path.exists()):
        log(f"Writing {rows:,} contacts to {path}…")
        t = time.perf_counter()
        _write_csv(path, ids, rows)
        result["csv_seconds"] = round(time.perf_counter() - t, 1)
    result["csv_bytes"] = path.stat().st_size
    if os.environ.get("YITI_BENCH_REBUILD", "1") == "0":
        imports.REBUILD_AFTER = 1 << 62
    gc.collect()

    log(f"Importing {rows:,} contacts…")
    timings = _import(path)
    after = Interaction.objects.count()
    result.update(timings)
    result["rows"] = rows
    result["inserted"] = after - before
    result["rows_per_second"] = round(rows / timings["seconds"])
    result["extrapolated_10m_seconds"] = round(timings["seconds"] * 10_000_000 / rows, 1)
    result["extrapolated_10m_cpu_seconds"] = round(timings["cpu_seconds"] * 10_000_000 / rows, 1)
    result["indexes_rebuilt"] = rows > imports.REBUILD_AFTER and connection.vendor == "sqlite"
    result["rebuild_after"] = imports.REBUILD_AFTER
    return result


def _write_csv(path: Path, external_ids: list[str], rows: int) -> None:
    rng = np.random.default_rng(2026)
    start = int(time.time()) - 2 * 365 * 86_400
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        step = 500_000
        for first in range(0, rows, step):
            n = min(step, rows - first)
            who = rng.integers(0, len(external_ids), n)
            at = start + rng.integers(0, 2 * 365 * 86_400 - 86_400, n)
            ch = rng.integers(0, len(CHANNELS), n)
            di = rng.integers(0, len(DIRECTIONS), n)
            pu = rng.integers(0, len(PURPOSES), n)
            oc = rng.integers(0, len(OUTCOMES), n)
            stamps = np.datetime_as_string(at.astype("datetime64[s]")).tolist()
            writer.writerows(
                (
                    external_ids[w],
                    CHANNELS[c],
                    DIRECTIONS[d],
                    PURPOSES[p],
                    s.replace("T", " "),  # local time, as a legacy export writes it
                    OUTCOMES[o],
                    "",
                    f"L{first + i}",
                )
                for i, (w, c, d, p, o, s) in enumerate(
                    zip(
                        who.tolist(),
                        ch.tolist(),
                        di.tolist(),
                        pu.tolist(),
                        oc.tolist(),
                        stamps,
                        strict=True,
                    )
                )
            )


def _import(path: Path) -> dict[str, Any]:
    """The file through the real runner (``imports_runner.import_run``), as ``yiti import
    interactions`` and the worker run it; the phases are read from its progress reports."""
    marks: list[tuple[str, float, float]] = []

    def progress(values: dict[str, int]) -> None:
        phase = "writing" if "rows_written" in values else "reading"
        if not marks or marks[-1][0] != phase:
            marks.append((phase, time.perf_counter(), time.process_time()))

    started, cpu0 = time.perf_counter(), time.process_time()
    job = import_job_create(
        actor=None, kind="interactions", file_name=path.name, stored_at=path, queue=False
    )
    outcome = import_run(job, on_progress=progress)
    done, cpu3 = time.perf_counter(), time.process_time()
    job = outcome.job
    if job.status != ImportStatus.COMPLETED:
        raise RuntimeError(f"import {job.status}: {job.message} {job.errors[:5]}")
    writing = next(((t, c) for p, t, c in marks if p == "writing"), (done, cpu3))
    return {
        "valid": job.created_count,
        "errors": job.error_count,
        "seconds": round(done - started, 1),
        "phases": {
            "read_validate_spool": round(writing[0] - started, 1),
            "write_indexes_last_contact": round(done - writing[0], 1),
        },
        # on a shared machine the process's CPU seconds say more than the wall clock
        "cpu_seconds": round(cpu3 - cpu0, 1),
        "cpu_phases": {
            "read_validate_spool": round(writing[1] - cpu0, 1),
            "write_indexes_last_contact": round(cpu3 - writing[1], 1),
        },
    }


def summary(result: dict[str, Any]) -> str:
    return (
        f"{result['rows']:,} contacts on {result['database']} in {result['seconds']} s "
        f"({result['rows_per_second']:,} rows/s; phases {result['phases']}); "
        f"CPU {result['cpu_seconds']} s {result['cpu_phases']}; "
        f"10M extrapolated {result['extrapolated_10m_seconds']} s "
        f"({result['extrapolated_10m_cpu_seconds']} CPU s) "
        f"(target {TARGET_SECONDS_10M:.0f} s); indexes rebuilt: {result['indexes_rebuilt']}"
    )
