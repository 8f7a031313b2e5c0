"""Helpers for the benchmarks in ``bench/`` (run with ``yiti bench NAME``).

A benchmark is a module ``bench/<name>.py`` with ``run(*, customers, reuse, log) -> dict``
and optionally ``summary(result) -> str``. ``yiti bench`` runs it in a child process
whose settings point at a database of its own (``var/bench/<name>.sqlite3`` by default),
so a benchmark never touches the working database.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
import numpy as np
from django.db import connection


def bench_dir() -> Path | None:
    """The repository's ``bench/`` folder: under the working directory or beside the package."""
    import yiti

    for base in (Path.cwd(), Path(yiti.__file__).resolve().parent.parent):
        candidate = base / "bench"
        if candidate.is_dir():
            return candidate
    return None


def stats(samples_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max (and mean) of timings in milliseconds."""
    arr = np.asarray(samples_ms, dtype=float)
    if not len(arr):
        return {"runs": 0}
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {
        "runs": len(arr),
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2),
        "max_ms": round(float(arr.max()), 2),
        "mean_ms": round(float(arr.mean()), 2),
    }


def timed(fn: Callable[[Any], Any], inputs: list[Any], *, warmup: int = 3) -> list[float]:
    """Milliseconds for ``fn(x)`` over ``inputs`` after ``warmup`` untimed calls."""
    for x in inputs[:warmup]:
        fn(x)
    samples = []
    for x in inputs:
        started = time.perf_counter()
        fn(x)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "numpy": np.__version__,
        "database": connection.vendor,
    }
    if connection.vendor == "sqlite":
        facts["sqlite"] = sqlite3.sqlite_version
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            facts["database_version"] = cursor.fetchone()[0]
    return facts
