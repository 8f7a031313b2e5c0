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
  served as in production: one waitress process per core (8 threads each, as ``yiti demo``),
  persistent database connections (``YITI_DB_CONN_MAX_AGE=60``, the production default), on
  loopback; every client thread keeps one keep-alive connection per server and goes
  round-robin over the servers, over different random customers:

  - ``closed_loop``: 50 clients, each sending its next request as soon as the last is
    answered (4,000 requests after 400 to warm up): p50/p95/p99 and throughput;
  - ``bursts``: 60 bursts of 50 requests released at the same instant (a barrier), the next
    burst 100 ms after the last answer of the one before: per-request p50/p95/p99, the
    time until the whole burst is answered (p50/p99), and the throughput within bursts.

  The clients run on the same two cores as the servers (and, on a shared machine, beside
  other work: the load average before and after is recorded), so these are upper bounds on
  the latency of a dedicated server. By Little's law a closed loop of 50 clients can only
  answer at p50 ≈ 50 / throughput: a p99 of 50 ms at 50 concurrent requests needs ≥ 1,000
  answers a second, i.e. ≤ 2 ms of CPU per request with both cores free.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
BURSTS = 60
BURST_PAUSE_S = 0.1
SERVERS = os.cpu_count() or 2  # one waitress process per core
THREADS = int(os.environ.get("YITI_BENCH_THREADS", "8"))  # 8: as ``yiti demo``
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


SERVER = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiti.config.settings")
django.setup()
from django.core.wsgi import get_wsgi_application
from waitress import serve
serve(get_wsgi_application(), host="127.0.0.1", port={port}, threads={threads}, _quiet=True,
      connection_limit=200, channel_timeout=60)
"""


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
    ports = [_free_port() for _ in range(SERVERS)]
    env = {**os.environ, "YITI_DB_CONN_MAX_AGE": "60"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SERVER.format(port=p, threads=THREADS)],
            env=env,
        )
        for p in ports
    ]
    try:
        for p in ports:
            _wait(p)
        client = _Client(ports, token, ids)
        log(f"http: {SERVERS} waitress processes × {THREADS} threads")
        with ThreadPoolExecutor(CONCURRENCY) as pool:  # warm every server thread and cache
            list(pool.map(client.call, range(HTTP_WARMUP)))
        cpu_before, client_before = _cpu_s(procs), time.process_time()
        closed = _closed_loop(client)
        served = closed["requests"]
        if cpu_before is not None and (cpu_after := _cpu_s(procs)) is not None:
            closed["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / served, 2)
        closed["client_cpu_ms_per_request"] = round(
            (time.process_time() - client_before) * 1000 / served, 2
        )
        log(
            f"http closed loop: p50 {closed['p50_ms']} ms, p95 {closed['p95_ms']} ms, "
            f"p99 {closed['p99_ms']} ms, {closed['throughput_rps']} req/s at {CONCURRENCY} clients"
        )
        bursts = _bursts(client)
        log(
            f"http bursts of {CONCURRENCY}: p50 {bursts['p50_ms']} ms, p95 {bursts['p95_ms']} ms, "
            f"p99 {bursts['p99_ms']} ms; whole burst p50 {bursts['burst']['p50_ms']} ms, "
            f"p99 {bursts['burst']['p99_ms']} ms"
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
    return {
        "servers": SERVERS,
        "threads_per_server": THREADS,
        "db_conn_max_age": 60,
        "answer_bytes_mean": round(client.bytes / max(1, client.answers)),
        "closed_loop": closed,
        "bursts": bursts,
    }


def _cpu_s(procs: list[subprocess.Popen[bytes]]) -> float | None:
    """CPU seconds (user + system) the server processes used so far (Linux /proc)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for proc in procs:
        try:
            fields = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class _Client:
    """Keep-alive connections per client thread and server; round-robin over the servers."""

    def __init__(self, ports: list[int], token: str, ids: list[int]) -> None:
        self.ports, self.ids = ports, ids
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.local = threading.local()
        self.rng = random.Random(13)
        self.bytes, self.answers = 0, 0

    def call(self, i: int) -> tuple[float, int]:
        port = self.ports[i % len(self.ports)]
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        conn = conns.get(port)
        if conn is None:
            conn = conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps(
            {
                "customer_id": self.rng.choice(self.ids),
                "context": {"channel": "call", "reason": "billing"},
            }
        )
        started = time.perf_counter()
        conn.request("POST", "/api/v1/decisions/next-best-action", body, self.headers)
        res = conn.getresponse()
        data = res.read()
        ms = (time.perf_counter() - started) * 1000
        self.bytes += len(data)
        self.answers += 1
        return ms, res.status


def _statuses(results: list[tuple[float, int]]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for _ms, status in results:
        codes[str(status)] = codes.get(str(status), 0) + 1
    return codes


def _closed_loop(client: _Client) -> dict[str, Any]:
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(pool.map(client.call, range(HTTP_REQUESTS)))
    wall = time.perf_counter() - started
    out: dict[str, Any] = stats([ms for ms, _status in results])
    out.update(
        {
            "clients": CONCURRENCY,
            "requests": len(results),
            "wall_s": round(wall, 2),
            "throughput_rps": round(len(results) / wall, 1),
            "status": _statuses(results),
        }
    )
    return out


def _bursts(client: _Client) -> dict[str, Any]:
    """BURSTS times: CONCURRENCY threads released together, each sending one request."""
    results: list[tuple[float, int]] = []
    spans: list[float] = []
    lock = threading.Lock()
    marks: dict[str, float] = {}

    def released() -> None:
        marks["start"] = time.perf_counter()

    def answered() -> None:
        spans.append((time.perf_counter() - marks["start"]) * 1000)
        time.sleep(BURST_PAUSE_S)

    start = threading.Barrier(CONCURRENCY, action=released)
    end = threading.Barrier(CONCURRENCY, action=answered)

    def worker(n: int) -> None:
        for b in range(BURSTS):
            start.wait()
            got = client.call(b * CONCURRENCY + n)
            with lock:
                results.append(got)
            end.wait()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy_s = sum(spans) / 1000
    out: dict[str, Any] = stats([ms for ms, _status in results])
    out.update(
        {
            "bursts": BURSTS,
            "burst_size": CONCURRENCY,
            "requests": len(results),
            "burst": stats(spans),
            "throughput_rps": round(len(results) / busy_s, 1),
            "status": _statuses(results),
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
        f"  HTTP ({hp['servers']} waitress processes × {hp['threads_per_server']} threads, "
        f"{hp['answer_bytes_mean']} bytes per answer on average):",
        f"    closed loop of {cl['clients']}: p50 {cl['p50_ms']} ms  p95 {cl['p95_ms']} ms  "
        f"p99 {cl['p99_ms']} ms (target ≤ {TARGET_HTTP_MS} ms), {cl['throughput_rps']} req/s, "
        f"statuses {cl['status']}; CPU per request: servers "
        f"{cl.get('server_cpu_ms_per_request')} ms, client {cl['client_cpu_ms_per_request']} ms",
        f"    bursts of {bu['burst_size']}: p50 {bu['p50_ms']} ms  p95 {bu['p95_ms']} ms  "
        f"p99 {bu['p99_ms']} ms; whole burst answered p50 {bu['burst']['p50_ms']} ms, "
        f"p99 {bu['burst']['p99_ms']} ms; {bu['throughput_rps']} req/s, statuses {bu['status']}",
    ]
    return "\n".join(lines)
