"""Benchmark: one next-best-action decision with 200 active offers and the contact policy.

Run with ``yiti bench nba [--customers 20000] [--reuse] [--database-url postgres://…]``.
Targets (issue 5, part 3–4): p99 ≤ 10 ms in-process (a warm process, many decisions over
different customers), and p99 ≤ 50 ms over HTTP at 50 concurrent requests on 2 cores.

Set-up (not timed): the demo company's book (``--customers``, at most 100,000 here: a decision
reads one customer, so the book's size matters only through index depth), about six
interactions per customer, three contact-policy rules and quiet hours as in ``bench/policy``,
and 200 active offers over the demo products: a third with a gift in stock (some used up),
eligibility rules drawn from the rule language (tiers, holdings, orders in a window, city,
consent, tenure), some pairs incompatible.

Measured:

* ``in_process``: ``selectors.next_best_for`` (two queries + the engine) for 3,000 decisions
  over different random customers, after a warm-up that compiles the catalogue; wall time
  and the thread's CPU time (on a shared machine the wall-time tail is mostly waiting for a
  core: compare the two);
* ``http``: the API ``POST /api/v1/decisions/next-best-action`` (the default compact answer)
  served as in production by ``yiti serve``: granian, one worker process per core with one
  thread each, persistent database connections (``YITI_DB_CONN_MAX_AGE=60``, the production
  default), on loopback, over different random customers on keep-alive connections:

  - ``closed_loop``: 50 connections, each sending its next request as soon as the last is
    answered, for 15 s with ``wrk`` (C; Debian's package ``wrk``) when it is installed, else
    4,000 requests from an asyncio client here: p50/p95/p99 and throughput;
  - ``bursts``: 200 bursts of 50 requests written at the same moment on 50 connections, the
    next burst 100 ms after the last answer of the one before: per-request p50/p95/p99, the
    time until the whole burst is answered (p50/p99), and the throughput within bursts.

  The clients run on the same two cores as the server (and, on a shared machine, beside
  other work: the load average before and after is recorded), so these are upper bounds on
  the latency of a dedicated server. By Little's law a closed loop of 50 clients can only
  answer at p50 ≈ 50 / throughput: a p99 of 50 ms at 50 concurrent requests needs ≥ 1,000
  answers a second, i.e. ≤ 2 ms of CPU per request with both cores free; a burst of 50 is
  answered within 50 ms when a request costs ≤ 2 ms of CPU, the client's share included.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

from yiti.campaigns.models import Offer
from yiti.customers.models import Customer, Product
from yiti.decisions import nba, selectors
from yiti.demo.bench import stats
from yiti.demo.seed import SeedOptions, seed
from yiti.org.models import OrgUnit, User
from yiti.org.services import membership_grant, token_create, user_create

OFFERS = 200
IN_PROCESS_RUNS = 3000
HTTP_REQUESTS = 4000
HTTP_WARMUP = 400
CONCURRENCY = 50
BURSTS = 200  # 10,000 requests: the p99 is not the slowest one or two bursts alone
BURST_PAUSE_S = 0.1
WORKERS = os.cpu_count() or 2  # ``yiti serve``: one worker process per core
THREADS = int(os.environ.get("YITI_BENCH_THREADS", "1"))  # ``yiti serve``'s default
WRK_SECONDS = 15
TARGET_IN_PROCESS_MS = 10.0
TARGET_HTTP_MS = 50.0
MAX_CUSTOMERS = 100_000


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    customers = min(customers, MAX_CUSTOMERS)
    result: dict[str, Any] = {
        "target_in_process_p99_ms": TARGET_IN_PROCESS_MS,
        "target_http_p99_ms": TARGET_HTTP_MS,
    }
    existing = Customer.objects.count()
    if existing and reuse:
        log(f"Reusing the benchmark database with {existing:,} customers.")
    else:
        log(f"Seeding {customers:,} customers…")
        report = seed(
            SeedOptions(customers=customers, interactions_per_customer=6, tickets=0),
            force=bool(existing),
            progress=log,
        )
        log(f"Seeded in {report.seconds:.1f} s.")
    _policy()
    _offers()
    result["customers"] = Customer.objects.count()
    result["active_offers"] = Offer.objects.filter(active=True).count()
    ids = list(Customer.objects.filter(status="active").values_list("id", flat=True))
    result["load_before"] = _load()
    result["in_process"] = _in_process(ids, log)
    result["http"] = _http(ids, log)
    result["load_after"] = _load()
    return result


def _load() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    return [round(x, 2) for x in os.getloadavg()]


def _policy() -> None:
    from importlib import util
    from pathlib import Path

    spec = util.spec_from_file_location("bench_policy", Path(__file__).with_name("policy.py"))
    assert spec and spec.loader
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._policy()


def _offers() -> None:
    if Offer.objects.filter(code__startswith="bench-").count() >= OFFERS:
        return
    rng = random.Random(5)
    products = list(Product.objects.filter(active=True))
    cities = list(
        Customer.objects.exclude(city="").values_list("city", flat=True).distinct()[:10]
    ) or ["杭州"]
    conditions = [
        lambda: {
            "field": "value_tier",
            "op": "in",
            "value": rng.sample(["mvc", "mgc", "standard"], 2),
        },
        lambda: {
            "field": "holds_category",
            "op": rng.choice(["any", "none"]),
            "value": [rng.choice(["broadband", "mobile_plan", "device"])],
        },
        lambda: {"field": "order_count", "op": "gte", "value": rng.randint(1, 3), "days": 365},
        lambda: {"field": "city", "op": "in", "value": rng.sample(cities, min(3, len(cities)))},
        lambda: {"field": "consent", "op": "any", "value": ["sms", "call"]},
        lambda: {"field": "tenure_days", "op": "gte", "value": rng.randint(30, 900)},
        lambda: {"field": "churn_risk", "op": "lte", "value": 0.8},
    ]
    made: list[Offer] = []
    for i in range(OFFERS):
        gift = i % 3 == 0
        rule = {
            "match": rng.choice(["all", "all", "any"]),
            "conditions": [rng.choice(conditions)() for _ in range(rng.randint(0, 3))],
        }
        stock = rng.choice([0, 50, 500]) if gift else 0
        made.append(
            Offer(
                code=f"bench-{i:03d}",
                name=f"Bench offer {i}",
                product=rng.choice(products),
                benefit="gift" if gift else rng.choice(["discount", "credit"]),
                benefit_value=rng.choice([5, 10, 20, 30]),
                gift_name="Gift" if gift else "",
                stock_total=stock,
                stock_reserved=stock if stock == 50 else 0,  # some used up
                eligibility=rule,
                active=True,
            )
        )
    Offer.objects.bulk_create(made)
    made = list(Offer.objects.filter(code__startswith="bench-").order_by("id"))
    for a, b in zip(made[::7], made[3::7], strict=False):
        a.incompatible_with.add(b)


def _context() -> nba.Context:
    return nba.Context(channel="call", reason="billing")


def _in_process(ids: list[int], log: Callable[[str], None]) -> dict[str, Any]:
    nba.caches_clear()
    rng = random.Random(11)
    sample = [rng.choice(ids) for _ in range(IN_PROCESS_RUNS)]
    ctx = _context()
    for cid in sample[:50]:  # warm: compile the catalogue, fill caches
        selectors.next_best_for(None, cid, ctx)
    samples, cpu, ranked, dropped = [], [], 0, 0
    for cid in sample:
        started, cpu_started = time.perf_counter(), time.thread_time()
        best = selectors.next_best_for(None, cid, ctx)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - cpu_started) * 1000)
        ranked += best.ranked
        dropped += len(best.dropped)
    out = stats(samples)
    out["cpu"] = stats(cpu)
    out["mean_ranked"] = round(ranked / len(sample), 1)
    out["mean_dropped"] = round(dropped / len(sample), 1)
    out["database"] = connection.vendor
    log(
        f"in-process: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms (CPU p99 "
        f"{out['cpu']['p99_ms']} ms) over {len(sample)} decisions"
    )
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token() -> str:
    user = User.objects.filter(username="bench-agent").first()
    if user is None:
        user = user_create(username="bench-agent", password=None, display_name="bench")
        root = OrgUnit.objects.order_by("depth", "id").first()
        assert root is not None
        membership_grant(user=user, unit=root, role="admin")
    _t, raw = token_create(user=user, name="bench")
    return raw


def _http(ids: list[int], log: Callable[[str], None]) -> dict[str, Any]:
    token = _token()
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
            f"--threads={THREADS}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(13)
    bodies = [_body(rng.choice(ids)) for _ in range(HTTP_REQUESTS + HTTP_WARMUP)]
    try:
        _wait(port)
        log(f"http: yiti serve (granian), {WORKERS} worker processes × {THREADS} thread(s)")
        wrk = shutil.which("wrk")
        asyncio.run(_closed_loop_py(port, token, bodies[:HTTP_WARMUP]))  # warm every worker
        cpu_before, client_before = _tree_cpu_s(server.pid), time.process_time()
        db_before, children_before = _database_cpu_s(), _children_cpu_s()
        if wrk:
            closed = _closed_loop_wrk(wrk, port, token, ids)
            client_cpu = _children_cpu_s() - children_before  # wrk, a finished child
        else:
            closed = asyncio.run(_closed_loop_py(port, token, bodies[HTTP_WARMUP:]))
            client_cpu = time.process_time() - client_before
        served = closed["requests"]
        cpu_after, db_after = _tree_cpu_s(server.pid), _database_cpu_s()
        closed["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / served, 2)
        closed["client_cpu_ms_per_request"] = round(client_cpu * 1000 / served, 2)
        closed["database_cpu_ms_per_request"] = (
            None
            if db_before is None or db_after is None
            else round((db_after - db_before) * 1000 / served, 2)
        )
        log(
            f"http closed loop ({closed['client']}): p50 {closed['p50_ms']} ms, p95 "
            f"{closed['p95_ms']} ms, p99 {closed['p99_ms']} ms, {closed['throughput_rps']} req/s "
            f"at {CONCURRENCY} connections"
        )
        bursts = asyncio.run(_bursts(port, token, bodies))
        log(
            f"http bursts of {CONCURRENCY}: p50 {bursts['p50_ms']} ms, p95 {bursts['p95_ms']} ms, "
            f"p99 {bursts['p99_ms']} ms; whole burst p50 {bursts['burst']['p50_ms']} ms, "
            f"p99 {bursts['burst']['p99_ms']} ms"
        )
        floor = _floor_wrk(wrk, port) if wrk else None
        if floor:
            log(
                f"floor (GET /api/v1/, no decision): p50 {floor['p50_ms']} ms, p99 "
                f"{floor['p99_ms']} ms, {floor['throughput_rps']} req/s"
            )
    finally:
        server.terminate()
        server.wait(20)
    return {
        "floor": floor,
        "server": "yiti serve (granian)",
        "workers": WORKERS,
        "threads_per_worker": THREADS,
        "db_conn_max_age": 60,
        "answer_bytes_mean": bursts.pop("answer_bytes_mean"),
        "closed_loop": closed,
        "bursts": bursts,
    }


def _body(customer_id: int) -> bytes:
    return json.dumps(
        {"customer_id": customer_id, "context": {"channel": "call", "reason": "billing"}}
    ).encode()


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


def _database_cpu_s() -> float | None:
    """CPU seconds so far of every PostgreSQL server process on this machine (its backends
    share the two cores with the web server and the client); None on SQLite, in-process."""
    if connection.vendor != "postgresql":
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        if name == "postgres":
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, latency.mean, summary.bytes))
end
"""
WRK_SCRIPT = (
    """
local ids = {%(ids)s}
math.randomseed(13)
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = '{"customer_id": ' .. ids[math.random(#ids)] ..
    ', "context": {"channel": "call", "reason": "billing"}}'
  return wrk.format(nil, "/api/v1/decisions/next-best-action", nil, body)
end
"""
    + WRK_DONE
)


def _closed_loop_wrk(wrk: str, port: int, token: str, ids: list[int]) -> dict[str, Any]:
    """``wrk`` (C, two threads) keeps 50 connections busy for ``WRK_SECONDS``."""
    return _run_wrk(wrk, port, WRK_SCRIPT % {"ids": ",".join(map(str, ids)), "token": token})


def _run_wrk(wrk: str, port: int, script: str, path: str = "/") -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [
                wrk,
                "-t2",
                f"-c{CONCURRENCY}",
                f"-d{WRK_SECONDS}s",
                "-s",
                f.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(f.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    n, us, p50, p95, p99, top, errors, non2xx, mean, _bytes = (
        int(float(v)) for v in line.split()[1:]
    )
    return {
        "client": "wrk",
        "clients": CONCURRENCY,
        "requests": n,
        "wall_s": round(us / 1e6, 2),
        "throughput_rps": round(n / (us / 1e6), 1),
        "p50_ms": round(p50 / 1000, 2),
        "p95_ms": round(p95 / 1000, 2),
        "p99_ms": round(p99 / 1000, 2),
        "max_ms": round(top / 1000, 2),
        "mean_ms": round(mean / 1000, 2),
        "errors": errors,
        "non_2xx": non2xx,
    }


def _floor_wrk(wrk: str, port: int) -> dict[str, Any]:
    """The same server and load on ``GET /api/v1/`` (the API's root: no token, no query, a
    few bytes of JSON): the cheapest answer Django gives, i.e. the floor under any endpoint."""
    return _run_wrk(wrk, port, WRK_DONE.replace("%%", "%"), path="/api/v1/")


class _Conn:
    """One keep-alive HTTP/1.1 connection speaking just enough to POST and read the answer."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, body: bytes) -> tuple[float, int, int]:
        head = (
            f"POST /api/v1/decisions/next-best-action HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _sep, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        ms = (time.perf_counter() - started) * 1000
        return ms, int(status_line.split()[1]), len(data)

    def close(self) -> None:
        self.writer.close()


async def _connections(port: int, token: str) -> list[_Conn]:
    conns = [_Conn(port, token) for _ in range(CONCURRENCY)]
    await asyncio.gather(*(c.open() for c in conns))
    return conns


async def _closed_loop_py(port: int, token: str, bodies: list[bytes]) -> dict[str, Any]:
    """50 connections, each sending its next request as soon as the last is answered."""
    conns = await _connections(port, token)
    todo = iter(bodies)
    results: list[tuple[float, int, int]] = []

    async def client(conn: _Conn) -> None:
        for body in todo:
            results.append(await conn.post(body))

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    wall = time.perf_counter() - started
    for c in conns:
        c.close()
    out: dict[str, Any] = stats([ms for ms, _s, _n in results])
    out.update(
        {
            "client": "python",
            "clients": CONCURRENCY,
            "requests": len(results),
            "wall_s": round(wall, 2),
            "throughput_rps": round(len(results) / wall, 1),
            "status": _statuses([s for _ms, s, _n in results]),
        }
    )
    return out


def _statuses(codes: list[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in codes:
        out[str(status)] = out.get(str(status), 0) + 1
    return out


async def _bursts(port: int, token: str, bodies: list[bytes]) -> dict[str, Any]:
    """BURSTS times: 50 requests written at once on 50 connections; the next burst
    ``BURST_PAUSE_S`` after the last answer of the one before."""
    conns = await _connections(port, token)
    results: list[tuple[float, int, int]] = []
    spans: list[float] = []
    for b in range(BURSTS):
        chunk = [bodies[(b * CONCURRENCY + i) % len(bodies)] for i in range(CONCURRENCY)]
        started = time.perf_counter()
        results += await asyncio.gather(*(c.post(x) for c, x in zip(conns, chunk, strict=True)))
        spans.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(BURST_PAUSE_S)
    for c in conns:
        c.close()
    out: dict[str, Any] = stats([ms for ms, _s, _n in results])
    out.update(
        {
            "bursts": BURSTS,
            "burst_size": CONCURRENCY,
            "requests": len(results),
            "burst": stats(spans),
            "throughput_rps": round(len(results) / (sum(spans) / 1000), 1),
            "status": _statuses([s for _ms, s, _n in results]),
            "answer_bytes_mean": round(sum(n for _ms, _s, n in results) / len(results)),
        }
    )
    return out


def _wait(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def _wrk_status(cl: dict[str, Any]) -> str:
    return f"{cl['non_2xx']} not 2xx, {cl['errors']} socket errors"


def summary(result: dict[str, Any]) -> str:
    ip, hp = result["in_process"], result["http"]
    cl, bu = hp["closed_loop"], hp["bursts"]
    lines = [
        f"Next best action, {result['active_offers']} active offers, {result['customers']:,} "
        f"customers ({ip['database']}), load average {result['load_before']} before, "
        f"{result['load_after']} after:",
        f"  in-process   p50 {ip['p50_ms']} ms  p95 {ip['p95_ms']} ms  p99 {ip['p99_ms']} ms "
        f"(target ≤ {TARGET_IN_PROCESS_MS} ms); CPU p50 {ip['cpu']['p50_ms']} ms, p99 "
        f"{ip['cpu']['p99_ms']} ms — {ip['mean_ranked']} ranked, {ip['mean_dropped']} dropped",
        f"  HTTP ({hp['server']}, {hp['workers']} workers × {hp['threads_per_worker']} thread, "
        f"{hp['answer_bytes_mean']} bytes per answer on average):",
        f"    closed loop of {cl['clients']} ({cl['client']}): p50 {cl['p50_ms']} ms  p95 "
        f"{cl['p95_ms']} ms  p99 {cl['p99_ms']} ms (target ≤ {TARGET_HTTP_MS} ms), "
        f"{cl['throughput_rps']} req/s, statuses {cl.get('status') or _wrk_status(cl)}; "
        f"CPU per request: server {cl['server_cpu_ms_per_request']} ms, client "
        f"{cl['client_cpu_ms_per_request']} ms"
        + (
            f", PostgreSQL {cl['database_cpu_ms_per_request']} ms"
            if cl.get("database_cpu_ms_per_request") is not None
            else ""
        ),
        *(
            [
                f"    floor, GET /api/v1/ (no token, no query): p50 {fl['p50_ms']} ms  p95 "
                f"{fl['p95_ms']} ms  p99 {fl['p99_ms']} ms, {fl['throughput_rps']} req/s"
            ]
            if (fl := hp.get("floor"))
            else []
        ),
        f"    bursts of {bu['burst_size']}: p50 {bu['p50_ms']} ms  p95 {bu['p95_ms']} ms  "
        f"p99 {bu['p99_ms']} ms; whole burst answered p50 {bu['burst']['p50_ms']} ms, "
        f"p99 {bu['burst']['p99_ms']} ms; {bu['throughput_rps']} req/s, statuses {bu['status']}",
    ]
    return "\n".join(lines)
