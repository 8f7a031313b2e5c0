"""Benchmark: the customer portal's home page under a steady stream of customers.

Run with ``yiti bench portal [--customers 1000000] [--reuse] [--database-url postgres://…]``.
Target (issue 17): the home page (``GET /portal/``: open requests, orders in progress, unread
messages and the next best action's offers in the portal context) at 200 requests a second
with p99 under 100 ms, on ``yiti serve`` with 1,000,000 customers, SQLite and PostgreSQL.

Set-up (not timed): the demo company's book (``--customers``; its orders, contact history,
consent, campaigns and offers), ``SESSIONS`` signed-in customers drawn at random — portal
sessions made directly, as the code flow makes them (only the key's hash is stored) — and a
portal message for each of them, so the home page has something unread.

Measured:

* ``in_process``: the home page's reads for one customer (the selectors the view calls) over
  different random customers, wall time and the thread's CPU time;
* ``http``: ``GET /portal/`` with each customer's session cookie, served as in production by
  ``yiti serve`` (granian, one worker per core, persistent database connections), **open
  loop**: a request is due every 1/``RATE`` s whatever the answers do, for ``SECONDS`` s, on
  up to ``CONNECTIONS`` keep-alive connections; each latency is counted from when the request
  was due (queueing included: no coordinated omission), so a server that falls behind the rate
  shows it in the tail. p50/p95/p99, achieved rate, statuses.

The client runs on the same cores as the server; on a shared machine the load average before
and after is recorded: the numbers are then upper bounds.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

from yiti.channels.models import InboxMessage
from yiti.customers.models import Customer
from yiti.demo.bench import stats
from yiti.demo.seed import SeedOptions, seed
from yiti.portal import selectors
from yiti.portal.auth import COOKIE_NAME, secret_hash
from yiti.portal.models import PortalSession

RATE = int(os.environ.get("YITI_BENCH_PORTAL_RATE", "200"))
SECONDS = int(os.environ.get("YITI_BENCH_PORTAL_SECONDS", "20"))
SESSIONS = 2000
IN_PROCESS_RUNS = 500
CONNECTIONS = 64
WORKERS = os.cpu_count() or 2
TARGET_P99_MS = 100.0


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
    else:
        log(f"Seeding {customers:,} customers…")
        report = seed(
            SeedOptions(customers=customers, interactions_per_customer=6, tickets=300),
            force=bool(existing),
            progress=log,
        )
        log(f"Seeded in {report.seconds:.1f} s.")
    keys = _sessions(log)
    result: dict[str, Any] = {
        "target": {"rate_rps": RATE, "p99_ms": TARGET_P99_MS},
        "customers": Customer.objects.count(),
        "sessions": len(keys),
        "database": connection.vendor,
        "load_before": _load(),
    }
    result["in_process"] = _in_process(list(keys.values()), log)
    result["http"] = _http(list(keys), log)
    result["load_after"] = _load()
    return result


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _sessions(log: Callable[[str], None]) -> dict[str, int]:
    """``SESSIONS`` live web sessions of random customers: {raw cookie key: customer id}."""
    PortalSession.objects.filter(user_agent="bench").delete()
    rng = random.Random(17)
    top = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids: set[int] = set()
    while len(ids) < min(SESSIONS, Customer.objects.count()):
        found = (
            Customer.objects.filter(id__gte=rng.randint(1, max(1, top)), status="active")
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        if found is not None:
            ids.add(found)
    now = timezone.now()
    keys = {secrets.token_urlsafe(32): customer_id for customer_id in sorted(ids)}
    PortalSession.objects.bulk_create(
        [
            PortalSession(
                kind="web",
                customer_id=customer_id,
                phone="+8613800000000",
                key_hash=secret_hash(key),
                expires_at=now + timedelta(hours=12),
                last_seen_at=now,
                user_agent="bench",
            )
            for key, customer_id in keys.items()
        ],
        batch_size=1000,
    )
    InboxMessage.objects.bulk_create(
        [
            InboxMessage(
                customer_id=customer_id,
                channel="inbox",
                subject="宽带升级好礼",
                body="办理宽带300M包年送路由器。",
                idempotency_key=f"bench-portal-{customer_id}-{secrets.token_hex(4)}",
            )
            for customer_id in keys.values()
        ],
        batch_size=1000,
    )
    log(f"{len(keys):,} signed-in customers, each with an unread message.")
    return keys


def _in_process(ids: list[int], log: Callable[[str], None]) -> dict[str, Any]:
    rng = random.Random(3)
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    walls: list[float] = []
    cpus: list[float] = []
    for i in range(IN_PROCESS_RUNS + 50):
        customer = customers[rng.choice(ids)]
        w, c = time.perf_counter(), time.thread_time()
        selectors.open_tickets_of(customer)
        selectors.orders_of(customer, in_progress=True, limit=5, tickets=False)
        selectors.unread_of(customer)
        selectors.offers_for(customer, top=3)
        if i >= 50:  # warm-up: the offer catalogue is compiled once per process
            walls.append((time.perf_counter() - w) * 1000)
            cpus.append((time.thread_time() - c) * 1000)
    out: dict[str, Any] = stats(walls)
    out["cpu"] = stats(cpus)
    log(f"in-process reads: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


class _Conn:
    def __init__(self, port: int) -> None:
        self.port = port

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, key: str) -> tuple[int, int]:
        self.writer.write(
            (
                f"GET /portal/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Cookie: {COOKIE_NAME}={key}\r\nAccept-Language: zh-hans\r\n\r\n"
            ).encode()
        )
        status_line = await self.reader.readline()
        length, chunked = -1, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _sep, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        size = 0
        if chunked:
            while True:
                n = int((await self.reader.readline()).strip(), 16)
                await self.reader.readexactly(n + 2)
                size += n
                if n == 0:
                    break
        elif length >= 0:
            size = len(await self.reader.readexactly(length))
        return int(status_line.split()[1]), size


async def _open_loop(port: int, keys: list[str], rate: int, seconds: int) -> dict[str, Any]:
    free: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        conn = _Conn(port)
        await conn.open()
        free.put_nowait(conn)
    rng = random.Random(11)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    sizes: list[int] = []

    async def one(due: float, key: str) -> None:
        conn = await free.get()
        try:
            status, size = await conn.get(key)
        finally:
            free.put_nowait(conn)
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        sizes.append(size)

    total = rate * seconds
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, rng.choice(keys))))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    out: dict[str, Any] = stats(latencies)
    out.update(
        {
            "requests": total,
            "offered_rps": rate,
            "achieved_rps": round(total / wall, 1),
            "wall_s": round(wall, 2),
            "status": statuses,
            "answer_bytes_mean": round(sum(sizes) / max(1, len(sizes))),
        }
    )
    return out


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants so far (Linux /proc):
    granian's main process and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def _http(keys: list[str], log: Callable[[str], None]) -> dict[str, Any]:
    connection.close()
    port = _free_port()
    env = {**os.environ, "YITI_DB_CONN_MAX_AGE": "60"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from yiti.cli import main; main()",
            "serve",
            f"--port={port}",
            f"--workers={WORKERS}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port)
        log(f"http: yiti serve (granian), {WORKERS} worker processes")
        asyncio.run(_open_loop(port, keys, rate=50, seconds=4))  # warm every worker
        cpu_before = _tree_cpu_s(server.pid)
        result = asyncio.run(_open_loop(port, keys, rate=RATE, seconds=SECONDS))
        result["server_cpu_ms_per_request"] = round(
            (_tree_cpu_s(server.pid) - cpu_before) * 1000 / result["requests"], 2
        )
        log(
            f"http open loop at {RATE} req/s for {SECONDS} s: p50 {result['p50_ms']} ms, "
            f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, achieved "
            f"{result['achieved_rps']} req/s, statuses {result['status']}, server CPU "
            f"{result['server_cpu_ms_per_request']} ms per request"
        )
    finally:
        server.terminate()
        server.wait(20)
    return {"server": "yiti serve (granian)", "workers": WORKERS, "open_loop": result}


def summary(result: dict[str, Any]) -> str:
    ip, hp = result["in_process"], result["http"]["open_loop"]
    verdict = (
        "met" if hp["p99_ms"] < TARGET_P99_MS and hp["achieved_rps"] >= RATE * 0.98 else "missed"
    )
    return "\n".join(
        [
            f"Portal home page, {result['customers']:,} customers ({result['database']}), "
            f"{result['sessions']:,} signed in; load average {result['load_before']} before, "
            f"{result['load_after']} after:",
            f"  in-process reads  p50 {ip['p50_ms']} ms  p99 {ip['p99_ms']} ms "
            f"(CPU p99 {ip['cpu']['p99_ms']} ms)",
            f"  HTTP open loop at {hp['offered_rps']} req/s: p50 {hp['p50_ms']} ms  p95 "
            f"{hp['p95_ms']} ms  p99 {hp['p99_ms']} ms, achieved {hp['achieved_rps']} req/s, "
            f"statuses {hp['status']} — target p99 < {TARGET_P99_MS:g} ms at {RATE} req/s: "
            f"{verdict}",
            f"  server CPU per request {hp['server_cpu_ms_per_request']} ms: "
            f"{WORKERS} free cores would serve at most "
            f"{WORKERS * 1000 / max(0.01, hp['server_cpu_ms_per_request']):.0f} req/s",
        ]
    )
