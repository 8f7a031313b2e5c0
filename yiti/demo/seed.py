"""Seeding a realistic demo company: up to millions of customers in minutes.

The org, users and products are few and go through the services (``company.py``). The
customers and everything hanging off them (contact points, consent ledger and state,
orders, assignment history, a year of interactions) are generated as numpy columns from
one seeded generator and inserted with ``executemany`` in chunked transactions, with ids
assigned here so that rows can reference each other without reading back. Faker is only
used to fill small pools of names, streets and companies, which are then sampled.

The derived fields are computed exactly as the services compute them: phone values as
``normalize_phone`` gives them, ``name_key`` with ``search_key``, order margins as
``amount × margin_rate`` rounded half-even to cents, ``ConsentState`` as the latest ledger
event per channel and purpose, and ``last_contact_at`` as the newest interaction.

The first seed then opens a few hundred service tickets for a sample of the customers,
dispatches a dozen work orders, walks care tasks into every state and generates the last
daily, weekly and monthly reports, all through the services (``desk.py``). Then it fits the
value model on the orders (``yiti.decisions.services.value_refit``), so that tiers, churn
risk and the retention calls of valuable customers at risk show from the first start. Last,
on top of the tiers, the contact policy, offers, segments and a month of campaigns in every
status, planned, sent, answered and worked through the campaign services (``campaigns.py``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import phonenumbers
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhPerson

from yiti.core.scheduling import schedule_mark_done
from yiti.core.search import search_key
from yiti.customers.choices import (
    Channel,
    ConsentSource,
    ContactKind,
    CustomerKind,
    CustomerStatus,
    OrderStatus,
    Purpose,
    SalesChannel,
)
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    Order,
)
from yiti.decisions.choices import FitTrigger
from yiti.decisions.services import value_refit
from yiti.demo.campaigns import CampaignsReport, campaigns_seeded, seed_campaigns
from yiti.demo.company import PRODUCTS, Company, company_build, company_exists, company_load
from yiti.demo.desk import DeskReport, desk_seeded, seed_desk
from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose, Outcome
from yiti.engagement.models import Interaction
from yiti.org.choices import Role
from yiti.org.notices import notifications_expire_all
from yiti.quality.demo import seed_quality

DAY = 86400
TZ_OFFSET = 8 * 3600  # the demo company works on Beijing time
DESK_PHASE = "service, care, reports"
VALUE_PHASE = "value model"
CAMPAIGN_PHASE = "campaigns"
LEAVING_SILENCE_DAYS = 45  # the leaver's customers have not been contacted for 6+ weeks
ORDER_HISTORY_DAYS = 730  # two years of orders
ORDER_SHAPE = 1.2  # Gamma shape of the customers' purchase rates (smaller: more varied)
ORDER_DROPOUT = (1.0, 5.0)  # Beta(a, b) of the chance to stop buying after a repeat purchase
FAVOURITE_SHARE = 0.6  # share of a customer's orders that are his favourite product

# Mobile prefixes of the three operators, weighted roughly by how common they are.
PHONE_PREFIXES = {
    "138": 9,
    "139": 9,
    "137": 6,
    "136": 6,
    "135": 6,
    "134": 4,
    "150": 6,
    "151": 5,
    "152": 4,
    "157": 3,
    "158": 5,
    "159": 5,
    "182": 4,
    "183": 3,
    "187": 4,
    "188": 4,
    "130": 4,
    "131": 4,
    "132": 3,
    "155": 3,
    "156": 3,
    "185": 3,
    "186": 6,
    "133": 3,
    "153": 2,
    "180": 3,
    "181": 2,
    "189": 4,
    "177": 2,
    "173": 2,
    "199": 2,
    "166": 1,
    "198": 1,
}
EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "139.com", "foxmail.com", "gmail.com")
INDUSTRIES = (
    "制造业",
    "零售",
    "教育",
    "医疗",
    "物流",
    "金融",
    "餐饮",
    "政府机关",
    "房地产",
    "互联网",
)

SALES_CHANNELS = (
    (SalesChannel.BRANCH, 0.34),
    (SalesChannel.VISIT, 0.18),
    (SalesChannel.CALL_CENTRE, 0.14),
    (SalesChannel.ONLINE, 0.14),
    (SalesChannel.MOBILE, 0.16),
    (SalesChannel.PARTNER, 0.04),
)
ORDER_STATUSES = (
    (OrderStatus.FULFILLED, 0.90),
    (OrderStatus.PROCESSING, 0.04),
    (OrderStatus.PENDING, 0.03),
    (OrderStatus.CANCELLED, 0.03),
)


@dataclass(frozen=True)
class ContactKindPlan:
    """A kind of contact: how often, who makes it, what can come of it, what it is about."""

    channel: str
    direction: str
    purpose: str
    weight: float
    actor: str  # "owner", a Role value for regional staff, or "" for the system
    outcomes: tuple[tuple[str, float], ...]
    subjects: tuple[str, ...]


CONTACT_PLANS = (
    ContactKindPlan(
        InteractionChannel.VISIT,
        Direction.OUTBOUND,
        InteractionPurpose.SALES,
        0.06,
        "owner",
        ((Outcome.COMPLETED, 0.6), (Outcome.ACCEPTED, 0.2), (Outcome.DECLINED, 0.2)),
        ("客户经理上门拜访", "政企客户走访", "宽带续约面谈", "家庭套餐升级沟通"),
    ),
    ContactKindPlan(
        InteractionChannel.CALL,
        Direction.OUTBOUND,
        InteractionPurpose.SALES,
        0.07,
        "owner",
        (
            (Outcome.REACHED, 0.45),
            (Outcome.NO_ANSWER, 0.25),
            (Outcome.ACCEPTED, 0.12),
            (Outcome.DECLINED, 0.18),
        ),
        ("5G套餐升级推荐", "宽带提速推荐", "合约到期续约", "融合套餐推荐"),
    ),
    ContactKindPlan(
        InteractionChannel.CALL,
        Direction.OUTBOUND,
        InteractionPurpose.MARKETING,
        0.08,
        "",
        (
            (Outcome.REACHED, 0.35),
            (Outcome.NO_ANSWER, 0.35),
            (Outcome.REFUSED, 0.12),
            (Outcome.ACCEPTED, 0.08),
            (Outcome.DECLINED, 0.10),
        ),
        ("外呼：流量包优惠", "外呼：千兆宽带体验", "外呼：视频会员赠送"),
    ),
    ContactKindPlan(
        InteractionChannel.SMS,
        Direction.OUTBOUND,
        InteractionPurpose.MARKETING,
        0.16,
        "",
        (
            (Outcome.SENT, 0.15),
            (Outcome.DELIVERED, 0.78),
            (Outcome.FAILED, 0.04),
            (Outcome.RESPONDED, 0.03),
        ),
        ("短信：5G套餐限时优惠", "短信：宽带续费立减", "短信：会员日活动", "短信：彩铃免费体验"),
    ),
    ContactKindPlan(
        InteractionChannel.SMS,
        Direction.OUTBOUND,
        InteractionPurpose.SERVICE,
        0.14,
        "",
        ((Outcome.DELIVERED, 0.96), (Outcome.FAILED, 0.04)),
        ("账单提醒", "流量使用提醒", "停机保号提醒", "装机预约确认"),
    ),
    ContactKindPlan(
        InteractionChannel.EMAIL,
        Direction.OUTBOUND,
        InteractionPurpose.MARKETING,
        0.05,
        "",
        (
            (Outcome.SENT, 0.3),
            (Outcome.DELIVERED, 0.45),
            (Outcome.OPENED, 0.22),
            (Outcome.FAILED, 0.03),
        ),
        ("电子月刊：本月优惠", "邮件：政企专线方案"),
    ),
    ContactKindPlan(
        InteractionChannel.CALL,
        Direction.INBOUND,
        InteractionPurpose.SERVICE,
        0.14,
        Role.SERVICE_AGENT,
        ((Outcome.COMPLETED, 1.0),),
        ("咨询话费", "宽带故障报修", "套餐变更咨询", "发票开具", "投诉：网络信号差"),
    ),
    ContactKindPlan(
        InteractionChannel.CALL,
        Direction.OUTBOUND,
        InteractionPurpose.CARE,
        0.09,
        Role.CARE_AGENT,
        ((Outcome.REACHED, 0.62), (Outcome.NO_ANSWER, 0.30), (Outcome.REFUSED, 0.08)),
        ("装机回访", "维修回访", "满意度回访", "新入网关怀"),
    ),
    ContactKindPlan(
        InteractionChannel.PORTAL,
        Direction.INBOUND,
        InteractionPurpose.SERVICE,
        0.09,
        "",
        ((Outcome.COMPLETED, 1.0),),
        ("网上营业厅：查询账单", "网上营业厅：办理流量包", "网上营业厅：修改资料"),
    ),
    ContactKindPlan(
        InteractionChannel.COUNTER,
        Direction.INBOUND,
        InteractionPurpose.SERVICE,
        0.06,
        "owner",
        ((Outcome.COMPLETED, 0.9), (Outcome.CONVERTED, 0.1)),
        ("营业厅办理补卡", "营业厅缴费", "营业厅办理过户", "营业厅咨询"),
    ),
    ContactKindPlan(
        InteractionChannel.IM,
        Direction.INBOUND,
        InteractionPurpose.SERVICE,
        0.06,
        Role.SERVICE_AGENT,
        ((Outcome.RESPONDED, 0.7), (Outcome.COMPLETED, 0.3)),
        ("微信客服咨询", "在线客服：宽带报修", "在线客服：积分兑换"),
    ),
)


@dataclass(frozen=True)
class ConsentPlan:
    """One channel × purpose: who grants it (at joining), who withdraws later, who refuses."""

    channel: str
    purpose: str
    grant: float
    withdraw: float  # share of the granted who later opt out
    refuse: float  # share of the others with an explicit refusal on record
    needs_email: bool = False


CONSENT_PLANS = (
    ConsentPlan(Channel.CALL, Purpose.SERVICE, 0.96, 0.01, 0.5),
    ConsentPlan(Channel.SMS, Purpose.SERVICE, 0.93, 0.02, 0.5),
    ConsentPlan(Channel.CALL, Purpose.CARE, 0.88, 0.04, 0.5),
    ConsentPlan(Channel.SMS, Purpose.MARKETING, 0.66, 0.09, 0.5),
    ConsentPlan(Channel.CALL, Purpose.MARKETING, 0.38, 0.10, 0.4),
    ConsentPlan(Channel.EMAIL, Purpose.MARKETING, 0.55, 0.06, 0.3, needs_email=True),
    # account-manager visits for offers (the campaigns' visit follow-ups need the opt-in)
    ConsentPlan(Channel.VISIT, Purpose.MARKETING, 0.30, 0.05, 0.3),
)


@dataclass
class SeedOptions:
    customers: int
    seed: int = 2026
    interactions_per_customer: float = 6.0
    orders_per_customer: float = 3.0  # over two years
    departing_customers: int | None = None  # default: about 2% of the book, 10..3,000
    chunk_size: int = 100_000
    tickets: int = 300  # service-desk tickets on the first seed; 0: no desk, care or reports
    value_refit: bool = True  # fit the value model at the end, so tiers show from the start
    campaigns: bool = True  # offers, segments, contact policy, campaigns (first seed only)


@dataclass
class SeedReport:
    customers: int = 0
    contact_points: int = 0
    consent_events: int = 0
    consent_states: int = 0
    orders: int = 0
    assignments: int = 0
    interactions: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    company_created: bool = False
    desk: DeskReport | None = None  # tickets, work orders, care tasks, reports (first seed only)
    value_fit: str = ""  # the value model's fit at the end: "#id status"
    campaigns: CampaignsReport | None = None  # offers, segments, campaigns (first seed only)

    def rows(self) -> int:
        return sum(
            getattr(self, name)
            for name in (
                "customers",
                "contact_points",
                "consent_events",
                "consent_states",
                "orders",
                "assignments",
                "interactions",
            )
        )


class SeedRefused(Exception):
    """The database already holds customers and ``force`` was not given."""


# --- pools ----------------------------------------------------------------------------------


@dataclass
class Pools:
    surnames: list[str]
    given: list[str]
    companies: list[str]
    streets: list[str]
    email_users: list[str]


def _pools(seed: int) -> Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    surnames = [fake.last_name() for _ in range(4000)]  # Faker weights surnames by frequency
    singles = sorted({ch for name in ZhPerson.first_names for ch in name})
    rng = np.random.default_rng(seed + 1)
    pairs = rng.choice(len(singles), size=(3000, 2))
    given = list(ZhPerson.first_names) * 10 + [singles[a] + singles[b] for a, b in pairs]
    companies = sorted({fake.company() for _ in range(4000)})
    streets = sorted({fake.street_name() for _ in range(600)})
    email_users = sorted({fake.user_name() for _ in range(6000)})
    return Pools(surnames, given, companies, streets, email_users)


def _valid_phone_prefixes() -> tuple[list[str], np.ndarray]:
    """The prefixes above that China's numbering plan accepts for any 8 following digits."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = meta.mobile if meta is not None else None
    if mobile is None or not mobile.national_number_pattern:
        raise RuntimeError("phonenumbers has no mobile number pattern for CN")
    pattern = re.compile(str(mobile.national_number_pattern))
    prefixes = [
        p
        for p in PHONE_PREFIXES
        if pattern.fullmatch(p + "00000000") and pattern.fullmatch(p + "99999999")
    ]
    weights = np.array([PHONE_PREFIXES[p] for p in prefixes], dtype=float)
    return prefixes, weights / weights.sum()


def _unique_phones(
    rng: np.random.Generator, count: int, taken: np.ndarray | None = None
) -> np.ndarray:
    """``count`` distinct valid mobile numbers as int64 (e.g. 13812345678)."""
    prefixes, weights = _valid_phone_prefixes()
    prefix_ints = np.array([int(p) for p in prefixes], dtype=np.int64)
    phones = np.empty(0, dtype=np.int64)
    while len(phones) < count:
        need = count - len(phones)
        fresh = (
            prefix_ints[rng.choice(len(prefixes), size=int(need * 1.01) + 10, p=weights)] * 10**8
        )
        fresh += rng.integers(0, 10**8, size=len(fresh), dtype=np.int64)
        merged = np.concatenate([phones, fresh])
        _, first = np.unique(merged, return_index=True)
        keep = np.sort(first)
        phones = merged[keep]
        if taken is not None and len(taken):
            phones = phones[~np.isin(phones, taken)]
    return phones[:count]


# --- helpers --------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, choices: Sequence[tuple[Any, float]], size: int) -> np.ndarray:
    p = np.array([w for _, w in choices], dtype=float)
    return rng.choice(len(choices), size=size, p=p / p.sum())


def _ts_strings(seconds: np.ndarray) -> list[str]:
    """UTC epoch seconds as the text the database backend stores for aware datetimes."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    text = np.strings.replace(text, "T", " ")
    if connection.vendor != "sqlite":
        text = np.strings.add(text, "+00:00")
    return text.tolist()


def _date_strings(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()


def _cents_text(cents: np.ndarray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def _with_nulls(values: list[Any], present: np.ndarray) -> list[Any]:
    return [v if ok else None for v, ok in zip(values, present.tolist(), strict=True)]


def _next_id(model: type[models.Model]) -> int:
    return (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a concrete column")
    return field.column


def _local_day(seconds: np.ndarray) -> np.ndarray:
    return (seconds + TZ_OFFSET) // DAY


def _times_between(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A moment in business hours (08:00–21:00 Beijing time) between ``start`` and ``end``."""
    first, last = _local_day(start) + 1, _local_day(end) - 1
    last = np.maximum(last, first)
    day = first + (rng.random(len(start)) * (last - first + 1)).astype(np.int64)
    sec = rng.integers(8 * 3600, 21 * 3600, size=len(start))
    moment = day * DAY + sec - TZ_OFFSET
    return np.minimum(moment, end)


def _purchase_rounds(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, time) of every purchase: the first after an exponential wait from
    ``start``, then Poisson at ``rate`` per second while active; after each repeat purchase
    the customer stops buying with his own probability (Beta-distributed), until ``end``."""
    n = len(start)
    dropout = rng.beta(ORDER_DROPOUT[0], ORDER_DROPOUT[1], n)
    t = start.astype(np.float64) + rng.exponential(1.0, n) / rate
    active = np.flatnonzero(t <= end)
    customers, times = [active], [t[active].copy()]
    while len(active):
        t[active] += rng.exponential(1.0, len(active)) / rate[active]
        active = active[t[active] <= end[active]]
        customers.append(active)
        times.append(t[active].copy())
        active = active[rng.random(len(active)) >= dropout[active]]
    return np.concatenate(customers), np.concatenate(times).astype(np.int64)


def _purchases(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, mean: float, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases of every customer between ``start`` and ``end`` (epoch seconds), about
    ``mean`` per customer: purchase rates ~ Gamma(ORDER_SHAPE), scaled so that the mean comes
    out right (found by bisection on a sample, with a generator of its own), at moments in
    business hours."""
    n = len(start)
    if mean <= 0 or not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    shape = rng.gamma(ORDER_SHAPE, 1.0 / ORDER_SHAPE, n)  # mean 1
    span = np.maximum(end - start, DAY).astype(np.float64)
    probe = np.random.default_rng(seed + 104729)
    sample = probe.choice(n, size=min(n, 4000), replace=False)
    low, high = 0.01, 100.0
    for _ in range(30):  # rate = scale × shape / (mean span): find the scale giving the mean
        mid = (low * high) ** 0.5
        rate = mid * shape[sample] / span.mean()
        count = len(_purchase_rounds(probe, start[sample], end[sample], rate)[0])
        low, high = (mid, high) if count / len(sample) < mean else (low, mid)
    rate = (low * high) ** 0.5 * shape / span.mean()
    customers, moments = _purchase_rounds(rng, start, end, rate)
    # the same day, at a moment in business hours (08:00–21:00 Beijing time), never after end
    day = _local_day(moments)
    at = day * DAY + rng.integers(8 * 3600, 21 * 3600, size=len(day)) - TZ_OFFSET
    return customers, np.clip(at, start[customers], end[customers])


class _Writer:
    """Chunked inserts, one transaction per chunk, with progress: ``executemany``, or ``COPY``
    on PostgreSQL (measured: 3,000 customers/s with ``executemany``, far more with ``COPY``).

    A load of ``rebuild_at`` rows or more drops the table's secondary indexes first and
    recreates them from their stored SQL afterwards: building an index once is about twice as
    fast as maintaining it row by row (measured on SQLite: 600k interactions with five
    indexes, 9.9 s kept vs 5.5 s dropped and rebuilt; on PostgreSQL, with its small default
    buffers, 10M interactions went in at 5,000 rows/s with nine indexes kept). On SQLite
    unique indexes are rebuilt too, so a duplicate would still fail the load; on PostgreSQL
    the indexes behind constraints stay.
    """

    def __init__(self, chunk_size: int, progress: Callable[[str], None], rebuild_at: int = 200_000):
        self.chunk_size = chunk_size
        self.progress = progress
        self.rebuild_at = rebuild_at

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # indexes not backing a constraint
                cursor.execute(
                    "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x "
                    "JOIN pg_class c ON c.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                    "AND sql IS NOT NULL",
                    [table],
                )
            return list(cursor.fetchall())

    def insert(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        rows_for: Callable[[slice], Iterable[tuple]],
        total: int,
    ) -> int:
        meta = model._meta
        qn = connection.ops.quote_name
        cols = ", ".join(qn(_column(model, name)) for name in columns)
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({marks})"  # noqa: S608
        copy_sql = f"COPY {qn(meta.db_table)} ({cols}) FROM STDIN"
        rebuild = (
            connection.vendor in ("sqlite", "postgresql")
            and total >= self.rebuild_at
            and not connection.in_atomic_block
        )
        indexes = self._secondary_indexes(meta.db_table) if rebuild else []
        started = time.perf_counter()
        try:
            if indexes:
                with connection.cursor() as cursor:
                    for name, _sql in indexes:
                        cursor.execute(f"DROP INDEX {qn(name)}")
            for start in range(0, total, self.chunk_size):
                part = slice(start, min(total, start + self.chunk_size))
                rows = list(rows_for(part))
                with transaction.atomic(), connection.cursor() as cursor:
                    if connection.vendor == "postgresql":  # COPY: ~10x executemany's rate
                        with cursor.cursor.copy(copy_sql) as copy:
                            for row in rows:
                                copy.write_row(row)
                    else:
                        cursor.executemany(sql, rows)
                done = part.stop
                if total > self.chunk_size:
                    rate = done / max(time.perf_counter() - started, 1e-9)
                    self.progress(f"  {meta.db_table}: {done:,}/{total:,} ({rate:,.0f} rows/s)")
        finally:
            if indexes:
                t = time.perf_counter()
                with connection.cursor() as cursor:
                    for _name, index_sql in indexes:
                        cursor.execute(index_sql)
                self.progress(
                    f"  {meta.db_table}: rebuilt {len(indexes)} indexes "
                    f"in {time.perf_counter() - t:.1f} s"
                )
        return total


# --- the seed -------------------------------------------------------------------------------


def seed(
    options: SeedOptions, *, force: bool = False, progress: Callable[[str], None] = lambda _m: None
) -> SeedReport:
    """Create the demo company (once) and ``options.customers`` customers with their history."""
    report = SeedReport()
    t0 = time.perf_counter()
    if Customer.objects.exists() and not force:
        raise SeedRefused(
            "This database already has customers. Seed into an empty database, or pass --force "
            "to add more customers to the existing demo company."
        )
    if company_exists():
        company = company_load()
    else:
        progress("Creating the demo company, its users and products…")
        company = company_build(seed=options.seed, customers_hint=options.customers)
        report.company_created = True
    report.phases["company"] = time.perf_counter() - t0
    if options.customers <= 0:
        report.seconds = time.perf_counter() - t0
        return report

    sqlite = connection.vendor == "sqlite"
    tuned = sqlite and not connection.in_atomic_block
    if tuned:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    try:
        customer_ids = _seed_customers(options, company, report, progress)
    finally:
        if tuned:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")
    t = time.perf_counter()
    with connection.cursor() as cursor:
        if sqlite or not connection.in_atomic_block:
            cursor.execute("ANALYZE")
        for sql in connection.ops.sequence_reset_sql(
            no_style(),
            [Customer, ContactPoint, ConsentEvent, ConsentState, Order, Assignment, Interaction],
        ):
            cursor.execute(sql)
    report.phases["analyze"] = time.perf_counter() - t
    # After the sequence reset: these rows are written through the services and the ORM.
    if options.tickets > 0 and not desk_seeded():
        progress("Opening tickets, dispatching engineers, calling customers back, reporting…")
        t = time.perf_counter()
        report.desk = seed_desk(
            seed=options.seed,
            company=company,
            customer_ids=customer_ids,
            tickets=options.tickets,
        )
        report.phases[DESK_PHASE] = time.perf_counter() - t
    if options.value_refit:
        progress("Fitting the value model: tiers, churn risk, retention calls…")
        t = time.perf_counter()
        fit = value_refit(trigger=FitTrigger.SEED)
        # the weekly refit's latest slot is this fit: the worker's first tick must not refit
        # the same orders again (and report tier changes that are not)
        schedule_mark_done("decisions.value_refit")
        report.value_fit = f"#{fit.pk} {fit.status}" + (f": {fit.error}" if fit.error else "")
        report.phases[VALUE_PHASE] = time.perf_counter() - t
    if options.campaigns and not campaigns_seeded():
        progress("Planning, sending and working a month of campaigns…")
        t = time.perf_counter()
        report.campaigns = seed_campaigns(seed=options.seed, company=company)
        report.phases[CAMPAIGN_PHASE] = time.perf_counter() - t
    if options.tickets > 0:
        progress("Ranking the units on the quality indicators, mining the hot issues…")
        t = time.perf_counter()
        seed_quality()
        report.phases["quality"] = time.perf_counter() - t
    # the month of history resolved most of what the notifications were about: put those away,
    # as the worker does every few minutes, so each login's count is what still needs him
    notifications_expire_all()
    report.seconds = time.perf_counter() - t0
    return report


def _seed_customers(
    options: SeedOptions, company: Company, report: SeedReport, progress: Callable[[str], None]
) -> np.ndarray:
    """Insert the customers and their history; returns the new customers' ids."""
    n = options.customers
    rng = np.random.default_rng(options.seed)
    writer = _Writer(options.chunk_size, progress)
    phase = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal phase
        now_ = time.perf_counter()
        report.phases[name] = now_ - phase
        phase = now_

    pools = _pools(options.seed)
    now_dt = timezone.now().replace(microsecond=0)
    now = int(now_dt.timestamp())
    now_text = _ts_strings(np.array([now]))[0]
    today = _local_day(np.array([now]))[0]
    window_start = now - 365 * DAY

    # --- who, where, whose ----------------------------------------------------------------
    branches = company.branches
    weights = np.array([b.weight for b in branches])
    branch_of = rng.choice(len(branches), size=n, p=weights / weights.sum())
    hz = next(i for i, b in enumerate(branches) if b.code == "hz")
    departing = np.zeros(n, dtype=bool)
    want = options.departing_customers
    if want is None:
        want = min(3000, max(10, n // 50))
    hz_ids = np.flatnonzero(branch_of == hz)
    if want and len(hz_ids):
        departing[rng.choice(hz_ids, size=min(want, len(hz_ids)), replace=False)] = True

    unit_ids = np.array([company.units[b.code].pk for b in branches], dtype=np.int64)[branch_of]
    is_org = rng.random(n) < 0.08
    owner = np.zeros(n, dtype=np.int64)  # 0 = no account manager
    has_owner = rng.random(n) < 0.85
    for i, b in enumerate(branches):
        ams = company.account_managers.get(b.code) or []
        members = np.flatnonzero((branch_of == i) & has_owner & ~departing)
        if ams and len(members):
            owner[members] = np.array(ams, dtype=np.int64)[
                rng.integers(0, len(ams), size=len(members))
            ]
    owner[departing] = company.leaving_id
    status_inactive = rng.random(n) < 0.03

    # --- names, contacts ------------------------------------------------------------------
    sur = rng.integers(0, len(pools.surnames), size=n)
    giv = rng.integers(0, len(pools.given), size=n)
    comp = rng.integers(0, len(pools.companies), size=n)
    names = [
        pools.companies[c] if org else pools.surnames[s] + pools.given[g]
        for s, g, c, org in zip(
            sur.tolist(), giv.tolist(), comp.tolist(), is_org.tolist(), strict=True
        )
    ]
    taken = None
    if Customer.objects.exists():  # --force: keep new phones clear of the existing ones
        taken = np.array(
            [
                int(k)
                for k in ContactPoint.objects.filter(kind=ContactKind.PHONE).values_list(
                    "search_key", flat=True
                )
                if k.isdigit()
            ],
            dtype=np.int64,
        )
    has_second = rng.random(n) < 0.06
    phones = _unique_phones(rng, n + int(has_second.sum()), taken)
    phone = phones[:n].copy()
    second_phone = np.zeros(n, dtype=np.int64)
    second_phone[has_second] = phones[n:]

    # A few customers recorded twice (same person, same phone) for the merge feature.
    n_dup = 0 if n < 20 else max(3, n // 1000)
    candidates = np.flatnonzero(~departing & ~is_org & ~has_second)
    if n_dup and len(candidates) >= 2 * n_dup:
        pick = rng.choice(candidates, size=2 * n_dup, replace=False)
        original, copy = pick[:n_dup], pick[n_dup:]
        phone[copy] = phone[original]
        branch_of[copy] = branch_of[original]
        unit_ids[copy] = unit_ids[original]
        owner[copy] = 0
        for o, c in zip(original.tolist(), copy.tolist(), strict=True):
            names[c] = names[o]

    has_email = rng.random(n) < np.where(is_org, 0.6, 0.25)
    email_user = rng.integers(0, len(pools.email_users), size=n)
    email_num = rng.integers(1, 9999, size=n)
    email_dom = rng.integers(0, len(EMAIL_DOMAINS), size=n)
    emails = [
        (f"{pools.email_users[u]}{k}@{EMAIL_DOMAINS[d]}" if ok else "")
        for u, k, d, ok in zip(
            email_user.tolist(),
            email_num.tolist(),
            email_dom.tolist(),
            has_email.tolist(),
            strict=True,
        )
    ]

    street = rng.integers(0, len(pools.streets), size=n)
    district = rng.integers(0, 64, size=n)
    house = rng.integers(1, 999, size=n)
    addresses = []
    cities = []
    for bi, st, di, ho in zip(
        branch_of.tolist(), street.tolist(), district.tolist(), house.tolist(), strict=True
    ):
        b = branches[bi]
        cities.append(b.city)
        addresses.append(f"{b.city}市{b.districts[di % len(b.districts)]}{pools.streets[st]}{ho}号")
    industry = [
        INDUSTRIES[i] if org else ""
        for i, org in zip(
            rng.integers(0, len(INDUSTRIES), size=n).tolist(), is_org.tolist(), strict=True
        )
    ]

    # Customer since: up to eight years ago; the leaver's book is older than a year.
    since_day = today - rng.integers(0, 8 * 365, size=n)
    since_day[departing] = today - rng.integers(400, 8 * 365, size=int(departing.sum()))
    since_ts = since_day * DAY + 10 * 3600 - TZ_OFFSET  # joined at 10:00
    active_start = np.maximum(since_ts, window_start)
    active_end = np.where(departing, now - LEAVING_SILENCE_DAYS * DAY, now)
    active_start = np.minimum(active_start, active_end - DAY)
    has_birth = ~is_org & (rng.random(n) < 0.7)
    birth_day = today - rng.integers(18 * 365, 75 * 365, size=n)
    lap("generate customers")

    cid0 = _next_id(Customer)
    cids = np.arange(cid0, cid0 + n, dtype=np.int64)

    # --- interactions (generated first: last_contact_at comes from them) -------------------
    k_count = (
        rng.poisson(options.interactions_per_customer, size=n)
        if options.interactions_per_customer > 0
        else np.zeros(n, dtype=np.int64)
    )
    i_cust = np.repeat(np.arange(n), k_count)
    m = len(i_cust)
    i_at = _times_between(rng, active_start[i_cust], active_end[i_cust])
    order = np.argsort(i_at, kind="stable")
    i_cust, i_at = i_cust[order], i_at[order]
    last_contact = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_contact, i_cust, i_at)
    i_plan = _pick(rng, [(p, p.weight) for p in CONTACT_PLANS], m)
    i_outcome = np.empty(m, dtype=object)
    i_subject = np.empty(m, dtype=object)
    i_actor = np.zeros(m, dtype=np.int64)
    region_of_branch = [b.region for b in branches]
    cust_region = np.array([region_of_branch[b] for b in range(len(branches))], dtype=object)[
        branch_of
    ]
    for pi, plan in enumerate(CONTACT_PLANS):
        sel = np.flatnonzero(i_plan == pi)
        if not len(sel):
            continue
        outs = _pick(rng, plan.outcomes, len(sel))
        i_outcome[sel] = np.array([str(o) for o, _ in plan.outcomes], dtype=object)[outs]
        i_subject[sel] = np.array(plan.subjects, dtype=object)[
            rng.integers(0, len(plan.subjects), size=len(sel))
        ]
        if plan.actor == "owner":
            i_actor[sel] = owner[i_cust[sel]]
        elif plan.actor:
            staff = np.array(
                [
                    company.staff.get((plan.actor, region), 0)
                    for region in cust_region[i_cust[sel]].tolist()
                ],
                dtype=np.int64,
            )
            i_actor[sel] = staff
    lap("generate interactions")

    # --- customers -------------------------------------------------------------------------
    has_external = rng.random(n) < 0.6
    last_text = _ts_strings(np.maximum(last_contact, 0))
    since_text = _date_strings(since_day)
    birth_text = _date_strings(birth_day)
    phone_text = phone.astype(str).tolist()
    cid_list = cids.tolist()
    owner_list = owner.tolist()
    unit_list = unit_ids.tolist()
    kind_list = np.where(
        is_org, CustomerKind.ORGANISATION.value, CustomerKind.PERSON.value
    ).tolist()
    status_list = np.where(
        status_inactive, CustomerStatus.INACTIVE.value, CustomerStatus.ACTIVE.value
    ).tolist()
    has_last = (last_contact >= 0).tolist()
    has_ext = has_external.tolist()
    has_b = has_birth.tolist()
    name_keys = [search_key(name) for name in names]

    def customer_rows(part: slice) -> Iterable[tuple]:
        for i in range(part.start, part.stop):
            yield (
                cid_list[i],
                now_text,
                now_text,
                kind_list[i],
                names[i],
                name_keys[i],
                f"BOSS{cid_list[i]:010d}" if has_ext[i] else None,
                status_list[i],
                unit_list[i],
                owner_list[i] or None,
                phone_text[i],
                emails[i],
                cities[i],
                addresses[i],
                industry[i],
                birth_text[i] if has_b[i] else None,
                "",
                since_text[i],
                last_text[i] if has_last[i] else None,
                None,
            )

    report.customers = writer.insert(
        Customer,
        [
            "id",
            "created_at",
            "updated_at",
            "kind",
            "name",
            "name_key",
            "external_id",
            "status",
            "unit",
            "owner",
            "primary_phone",
            "primary_email",
            "city",
            "address",
            "industry",
            "birth_date",
            "note",
            "since",
            "last_contact_at",
            "merged_into",
        ],
        customer_rows,
        n,
    )
    lap("insert customers")

    # --- contact points ----------------------------------------------------------------------
    # normalize_phone on a CN mobile gives value = search_key = national digits, E.164 "+86…".
    # Rows: every customer's phone (primary), some a second phone, some an e-mail (primary).
    cp_cust = np.concatenate([np.arange(n), np.flatnonzero(has_second), np.flatnonzero(has_email)])
    cp_what = np.concatenate(
        [
            np.zeros(n, np.int8),
            np.ones(int(has_second.sum()), np.int8),
            np.full(int(has_email.sum()), 2, np.int8),
        ]
    )
    cp_order = np.lexsort((cp_what, cp_cust))
    cp_cust, cp_what = cp_cust[cp_order], cp_what[cp_order]
    cp0 = _next_id(ContactPoint)
    phone_kind, email_kind = ContactKind.PHONE.value, ContactKind.EMAIL.value

    def contact_rows(part: slice) -> Iterable[tuple]:
        for j, i, what in zip(
            range(part.start, part.stop),
            cp_cust[part].tolist(),
            cp_what[part].tolist(),
            strict=True,
        ):
            if what == 2:
                e = emails[i]
                yield (cp0 + j, now_text, now_text, cid_list[i], email_kind, e, e, e[:64], "", True)
            else:
                p = phone_text[i] if what == 0 else str(second_phone[i])
                label = "" if what == 0 else "备用"
                yield (
                    cp0 + j,
                    now_text,
                    now_text,
                    cid_list[i],
                    phone_kind,
                    p,
                    "+86" + p,
                    p,
                    label,
                    what == 0,
                )

    report.contact_points = writer.insert(
        ContactPoint,
        [
            "id",
            "created_at",
            "updated_at",
            "customer",
            "kind",
            "value",
            "normalized",
            "search_key",
            "label",
            "is_primary",
        ],
        contact_rows,
        len(cp_cust),
    )
    lap("insert contact points")

    # --- consent ledger and state --------------------------------------------------------------
    ev_cust: list[np.ndarray] = []
    ev_slot: list[np.ndarray] = []
    ev_granted: list[np.ndarray] = []
    ev_at: list[np.ndarray] = []
    ev_source: list[np.ndarray] = []
    for si, consent_plan in enumerate(CONSENT_PLANS):
        eligible = has_email if consent_plan.needs_email else np.ones(n, dtype=bool)
        roll = rng.random(n)
        granted = eligible & (roll < consent_plan.grant)
        refused = eligible & ~granted & (rng.random(n) < consent_plan.refuse)
        withdraw = granted & (rng.random(n) < consent_plan.withdraw)
        first = np.flatnonzero(granted | refused)
        ev_cust.append(first)
        ev_slot.append(np.full(len(first), si))
        ev_granted.append(granted[first])
        ev_at.append(since_ts[first])
        ev_source.append(np.where(rng.random(len(first)) < 0.7, 0, 1))  # import or staff at joining
        later = np.flatnonzero(withdraw)
        ev_cust.append(later)
        ev_slot.append(np.full(len(later), si))
        ev_granted.append(np.zeros(len(later), dtype=bool))
        lo = np.maximum(since_ts[later] + DAY, active_start[later])
        ev_at.append(
            _times_between(rng, lo, np.maximum(active_end[later], lo + 2 * DAY)).clip(max=now)
        )
        ev_source.append(np.where(rng.random(len(later)) < 0.6, 2, 3))  # SMS reply "TD" or portal
    e_cust = np.concatenate(ev_cust)
    e_slot = np.concatenate(ev_slot)
    e_granted = np.concatenate(ev_granted)
    e_at = np.concatenate(ev_at)
    e_source = np.concatenate(ev_source)
    order = np.lexsort((e_at, e_cust))
    e_cust, e_slot, e_granted, e_at, e_source = (
        a[order] for a in (e_cust, e_slot, e_granted, e_at, e_source)
    )
    sources = [
        ConsentSource.IMPORT.value,
        ConsentSource.STAFF.value,
        ConsentSource.REPLY.value,
        ConsentSource.PORTAL.value,
    ]
    notes = ["开户时登记", "开户时登记", "回复TD退订", "网上营业厅自助退订"]
    slot_channel = [str(p.channel) for p in CONSENT_PLANS]
    slot_purpose = [str(p.purpose) for p in CONSENT_PLANS]

    def consent_rows(
        rows: np.ndarray, first_id: int, part: slice, *, ledger: bool
    ) -> Iterable[tuple]:
        cust = cids[e_cust[rows]].tolist()
        slot, granted = e_slot[rows].tolist(), e_granted[rows].tolist()
        at = _ts_strings(e_at[rows])
        src = e_source[rows].tolist()
        for j in range(len(cust)):
            head = (
                first_id + part.start + j,
                cust[j],
                slot_channel[slot[j]],
                slot_purpose[slot[j]],
                granted[j],
            )
            if ledger:
                yield (*head, sources[src[j]], None, notes[src[j]], at[j])
            else:
                yield (*head, at[j])

    ce0 = _next_id(ConsentEvent)
    report.consent_events = writer.insert(
        ConsentEvent,
        ["id", "customer", "channel", "purpose", "granted", "source", "actor", "note", "at"],
        lambda part: consent_rows(np.arange(part.start, part.stop), ce0, part, ledger=True),
        len(e_cust),
    )
    # The state is the latest event per customer and slot.
    key = e_cust * len(CONSENT_PLANS) + e_slot
    order = np.lexsort((e_at, key))
    s_idx = np.sort(order[np.r_[key[order][1:] != key[order][:-1], True]])
    cs0 = _next_id(ConsentState)
    report.consent_states = writer.insert(
        ConsentState,
        ["id", "customer", "channel", "purpose", "granted", "since"],
        lambda part: consent_rows(s_idx[part], cs0, part, ledger=False),
        len(s_idx),
    )
    lap("insert consent")

    # --- orders ---------------------------------------------------------------------------------
    # Two years of purchases that follow the buy-till-you-die story the value model assumes
    # (varying purchase rates, customers who stop buying), so that the model has something to
    # find: see _purchases.
    order_start = np.minimum(np.maximum(since_ts, now - ORDER_HISTORY_DAYS * DAY), active_end - DAY)
    o_cust, o_at = _purchases(
        rng, order_start, active_end, options.orders_per_customer, seed=options.seed
    )
    mo = len(o_cust)
    order = np.argsort(o_at, kind="stable")
    o_cust, o_at = o_cust[order], o_at[order]
    products = {p.code: p for p in company.products}
    plans = [p for p in PRODUCTS if p.code in products]
    # each customer has a favourite product, bought in most of his orders (spend per customer
    # differs, and each has a main product category)
    favourite = _pick(rng, [(p, p.weight) for p in plans], n)
    o_prod = np.where(
        rng.random(mo) < FAVOURITE_SHARE,
        favourite[o_cust],
        _pick(rng, [(p, p.weight) for p in plans], mo),
    )
    price_cents = np.array([round(float(p.price) * 100) for p in plans], dtype=np.int64)
    rate_bp = np.array([round(float(p.margin_rate) * 10000) for p in plans], dtype=np.int64)
    amount = price_cents[o_prod]
    discounted = rng.random(mo) < 0.12
    amount[discounted] = amount[discounted] * 8 // 10  # 八折 promotions
    # margin = amount × rate, rounded half-even to the cent as Decimal.quantize does
    q, r = np.divmod(amount * rate_bp[o_prod], 10000)
    margin = q + ((r > 5000) | ((r == 5000) & (q % 2 == 1)))
    o_channel = np.array([c.value for c, _ in SALES_CHANNELS], dtype=object)[
        _pick(rng, SALES_CHANNELS, mo)
    ]
    o_status = np.array([s.value for s, _ in ORDER_STATUSES], dtype=object)[
        _pick(rng, ORDER_STATUSES, mo)
    ]
    recent = o_at > now - 14 * DAY  # fresh orders are still in progress more often
    o_status[recent & (rng.random(mo) < 0.4)] = OrderStatus.PROCESSING.value
    product_ids = np.array([products[p.code].pk for p in plans], dtype=np.int64)[o_prod].tolist()
    o_cust_l, amount_t, margin_t, at_t = (
        o_cust.tolist(),
        _cents_text(amount),
        _cents_text(margin),
        _ts_strings(o_at),
    )
    o_channel_l, o_status_l = o_channel.tolist(), o_status.tolist()
    # An order row was written when it was taken: created_at = updated_at = ordered_at. (The
    # care sweep takes a fulfilled order's updated_at as its fulfilment time; stamping the
    # whole history "now" would queue a satisfaction call for every order ever sold.)
    o0 = _next_id(Order)
    report.orders = writer.insert(
        Order,
        [
            "id",
            "created_at",
            "updated_at",
            "customer",
            "product",
            "amount",
            "margin",
            "ordered_at",
            "channel",
            "sold_by",
            "unit",
            "status",
            "external_id",
        ],
        lambda part: (
            (
                o0 + j,
                at_t[j],
                at_t[j],
                cid_list[o_cust_l[j]],
                product_ids[j],
                amount_t[j],
                margin_t[j],
                at_t[j],
                o_channel_l[j],
                owner_list[o_cust_l[j]] or None,
                unit_list[o_cust_l[j]],
                o_status_l[j],
                None,
            )
            for j in range(part.start, part.stop)
        ),
        mo,
    )
    lap("insert orders")

    # --- assignment history: the initial assignment of every owned customer --------------------
    owned = np.flatnonzero(owner > 0).tolist()
    since_ts_text = _ts_strings(since_ts)
    a0 = _next_id(Assignment)
    report.assignments = writer.insert(
        Assignment,
        [
            "id",
            "customer",
            "from_user",
            "to_user",
            "from_unit",
            "to_unit",
            "at",
            "actor",
            "reason",
            "batch",
        ],
        lambda part: (
            (
                a0 + j,
                cid_list[i],
                None,
                owner_list[i],
                None,
                unit_list[i],
                since_ts_text[i],
                None,
                "开户分配",
                "seed",
            )
            for j, i in zip(range(part.start, part.stop), owned[part], strict=True)
        ),
        len(owned),
    )
    lap("insert assignments")

    # --- interactions ----------------------------------------------------------------------
    chan = [str(p.channel) for p in CONTACT_PLANS]
    direc = [str(p.direction) for p in CONTACT_PLANS]
    purp = [str(p.purpose) for p in CONTACT_PLANS]
    i0 = _next_id(Interaction)

    def interaction_rows(part: slice) -> Iterable[tuple]:
        cust, at = i_cust[part], _ts_strings(i_at[part])
        cid, unit = cids[cust].tolist(), unit_ids[cust].tolist()
        plan, out = i_plan[part].tolist(), i_outcome[part].tolist()
        subject, actor = i_subject[part].tolist(), i_actor[part].tolist()
        for j in range(len(cid)):
            k = plan[j]
            yield (
                i0 + part.start + j,
                cid[j],
                at[j],
                chan[k],
                direc[k],
                purp[k],
                out[j],
                subject[j],
                "",
                actor[j] or None,
                unit[j],
                None,
                None,
                None,
                "",
                now_text,
            )

    report.interactions = writer.insert(
        Interaction,
        [
            "id",
            "customer",
            "occurred_at",
            "channel",
            "direction",
            "purpose",
            "outcome",
            "subject",
            "body",
            "actor",
            "unit",
            "campaign_id",
            "wave_id",
            "ticket_id",
            "external_ref",
            "created_at",
        ],
        interaction_rows,
        m,
    )
    lap("insert interactions")
    return cids


def seed_summary(report: SeedReport) -> str:
    parts = [
        f"{report.customers:,} customers",
        f"{report.contact_points:,} contact points",
        f"{report.consent_events:,} consent events",
        f"{report.consent_states:,} consent states",
        f"{report.orders:,} orders",
        f"{report.assignments:,} assignments",
        f"{report.interactions:,} interactions",
    ]
    bulk = report.seconds - sum(
        report.phases.get(name, 0.0) for name in (DESK_PHASE, VALUE_PHASE, CAMPAIGN_PHASE)
    )
    rate = report.rows() / bulk if bulk > 0 else 0
    text = f"Seeded {', '.join(parts)} in {report.seconds:.1f} s ({rate:,.0f} rows/s in bulk)."
    desk = report.desk
    if desk is not None:
        text += (
            f"\nService and care: {desk.tickets:,} tickets ({desk.complaints:,} complaints), "
            f"{desk.work_orders:,} work orders, {desk.care_tasks:,} care tasks, "
            f"{desk.reports:,} report snapshots."
        )
    if report.value_fit:
        text += f"\nValue model: fit {report.value_fit}."
    camp = report.campaigns
    if camp is not None and camp.campaigns_total():
        statuses = ", ".join(f"{n} {status}" for status, n in camp.campaigns.items() if n)
        text += (
            f"\nCampaigns: {camp.campaigns_total()} ({statuses}), {camp.waves} waves, "
            f"{camp.offers} offers, {camp.segments} segments, {camp.rules} contact rules; "
            f"{camp.deliveries:,} planned contacts ({camp.lost_arbitration:,} lost to a "
            f"competing campaign), {camp.sent:,} messages sent, {camp.calls_worked} calls and "
            f"visits worked, {camp.responses} answers, {camp.conversions} conversions, "
            f"{camp.complaints} complaints."
        )
    return text
