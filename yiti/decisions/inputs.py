"""Reading the book for a refit: a handful of set-based queries straight into numpy arrays.

No model instances and no per-customer query: the customers, their orders and the counts of
what it cost to serve them are each one query (the counts are grouped in SQL), however many
customers there are. Rows are fetched in chunks and turned into arrays chunk by chunk, so
ten million orders never exist as ten million Python tuples at once.

Days are local calendar days (``settings.TIME_ZONE``): PostgreSQL converts each timestamp in
SQL; SQLite stores UTC text, read as a Julian day and shifted by the zone's UTC offset at the
end of the window (exact for zones without daylight saving time, such as Asia/Shanghai).
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count

from yiti.care.models import CareAttempt
from yiti.customers.choices import CustomerStatus, OrderStatus, ProductCategory
from yiti.customers.models import Customer, Order, Product
from yiti.decisions import sqlite_reader
from yiti.decisions.choices import TICKET_COST_ITEMS, CostItem
from yiti.decisions.scores import Book, Orders, positions
from yiti.engagement.choices import Direction, InteractionChannel
from yiti.engagement.models import Interaction
from yiti.service.models import Ticket

CHUNK = 250_000
PARALLEL_AT = 1_000_000  # orders (by row ids) from which SQLite reads them in two processes
logger = logging.getLogger("yiti.decisions")
UNIX_EPOCH_JULIAN_DAY = 2440587.5


def fetch_array(sql: str, params: list[Any], columns: int, dtype: Any = np.float64) -> np.ndarray:
    """All rows of ``sql`` as a 2-D array, fetched and converted ``CHUNK`` rows at a time.

    ``np.fromiter`` over the flattened rows is about three times faster than ``np.array``
    on a list of tuples (measured on a million order rows)."""
    parts: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(CHUNK)
            if not rows:
                break
            flat = np.fromiter(chain.from_iterable(rows), dtype=dtype, count=columns * len(rows))
            parts.append(flat.reshape(-1, columns))
    if not parts:
        return np.zeros((0, columns), dtype=dtype)
    return np.concatenate(parts)


def table(model: Any) -> str:
    """The quoted table of a model, for hand-written SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model: Any, name: str) -> str:
    """The quoted column of a model field, for hand-written SQL."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def read_book() -> Book:
    """Every customer that is not merged away, sorted by id (one query).

    The unit and the account manager come packed in one integer (unit × 2^32 + owner; both
    are ids of small tables): fetching is per value, and a million customers is the point.
    """
    c = Customer
    sql = (
        f"SELECT {column(c, 'id')}, "  # noqa: S608
        f"{column(c, 'unit')} * {2**32} + COALESCE({column(c, 'owner')}, 0) "
        f"FROM {table(c)} WHERE {column(c, 'status')} <> %s ORDER BY {column(c, 'id')}"
    )
    rows = fetch_array(sql, [CustomerStatus.MERGED.value], 2, dtype=np.int64)
    return Book(
        customer_id=rows[:, 0].copy(),
        unit=rows[:, 1] >> 32,
        owner=rows[:, 1] & 0xFFFFFFFF,
    )


def _utc_offset_days(at: datetime) -> float:
    offset = at.astimezone(ZoneInfo(settings.TIME_ZONE)).utcoffset()
    return (offset.total_seconds() if offset else 0.0) / 86400.0


# The packed order row: customer id << 28 | day in the window << 16 | product id.
DAY_BITS, PRODUCT_BITS = 12, 16
CUSTOMER_SHIFT = DAY_BITS + PRODUCT_BITS


def _category_lookup() -> np.ndarray:
    """Product id -> category code (index into ProductCategory.values); one small query."""
    codes = {value: i for i, value in enumerate(ProductCategory.values)}
    product_category = dict(Product.objects.values_list("id", "category"))
    lookup = np.zeros(max(product_category, default=0) + 1, dtype=np.int64)
    for product_id, category in product_category.items():
        lookup[product_id] = codes.get(category, codes[ProductCategory.OTHER])
    return lookup


def read_orders(*, start: datetime | None, end: datetime) -> Orders:
    """The orders that are not cancelled, ordered in [start, end] (one query).

    Reading ten million rows costs mostly the Python objects made per value, so the
    customer, the day in the window and the product travel packed in one 64-bit integer, and
    amount and margin as whole cents: three integers a row instead of five mixed values.
    Without a window start, or with ids beyond the packing's room, the rows come unpacked.
    """
    o = Order
    at, amount, margin = column(o, "ordered_at"), column(o, "amount"), column(o, "margin")
    customer, product = column(o, "customer"), column(o, "product")
    where = [f"{column(o, 'status')} <> %s", f"{at} <= %s"]
    where_params: list[Any] = [OrderStatus.CANCELLED.value, _db_time(end)]
    if start is not None:
        where.append(f"{at} >= %s")
        where_params.append(_db_time(start))
    if connection.vendor == "postgresql":
        day = f"(({at} AT TIME ZONE %s)::date - DATE '1970-01-01')"
        day_params: list[Any] = [settings.TIME_ZONE]
        amount_cents, margin_cents = f"ROUND({amount} * 100)::int8", f"ROUND({margin} * 100)::int8"
    else:
        # julianday - (2440587.5 - UTC offset) is the local day count since 1970, positive
        day = f"CAST(julianday({at}) - %s AS INTEGER)"
        day_params = [UNIX_EPOCH_JULIAN_DAY - _utc_offset_days(end)]
        amount_cents = f"CAST(ROUND({amount} * 100) AS INTEGER)"
        margin_cents = f"CAST(ROUND({margin} * 100) AS INTEGER)"
    lookup = _category_lookup()
    end_day = local_day(end)
    first_day = local_day(start) if start is not None else None
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    packed = (
        first_day is not None
        and end_day - first_day < 2**DAY_BITS
        and len(lookup) <= 2**PRODUCT_BITS
        and top < 2 ** (63 - CUSTOMER_SHIFT)
    )
    if packed:
        key = (
            f"{customer} * {2**CUSTOMER_SHIFT} + "
            f"({day} - {first_day}) * {2**PRODUCT_BITS} + {product}"
        )
        sql = (
            f"SELECT {key}, {amount_cents}, {margin_cents} "  # noqa: S608
            f"FROM {table(o)} WHERE {' AND '.join(where)}"
        )
        rows = _fetch_orders(sql, [*day_params, *where_params], 3)
        keys = rows[:, 0]
        assert first_day is not None
        return Orders(
            customer_id=keys >> CUSTOMER_SHIFT,
            day=first_day + ((keys >> PRODUCT_BITS) & (2**DAY_BITS - 1)),
            amount=rows[:, 1] / 100.0,
            margin=rows[:, 2] / 100.0,
            category=lookup[keys & (2**PRODUCT_BITS - 1)],
        )
    sql = (
        f"SELECT {customer}, {day}, {amount_cents}, {margin_cents}, {product} "  # noqa: S608
        f"FROM {table(o)} WHERE {' AND '.join(where)}"
    )
    rows = _fetch_orders(sql, [*day_params, *where_params], 5)
    return Orders(
        customer_id=rows[:, 0].copy(),
        day=rows[:, 1].copy(),
        amount=rows[:, 2] / 100.0,
        margin=rows[:, 3] / 100.0,
        category=lookup[rows[:, 4]],
    )


def _fetch_orders(sql: str, params: list[Any], columns: int) -> np.ndarray:
    """The order rows of ``sql`` (ending in its WHERE clause) as an int64 array.

    On SQLite, outside a transaction and from ``PARALLEL_AT`` orders on, the upper half of the
    row ids is read by a spawned process (:mod:`yiti.decisions.sqlite_reader`) while this one
    reads the lower half: the two cores share the per-row cost. Inside a transaction a second
    connection would not see its uncommitted rows, so the read stays in this process; and if
    the child fails, this process reads its half too.
    """
    name = str(connection.settings_dict.get("NAME") or "")
    if (
        connection.vendor != "sqlite"
        or connection.in_atomic_block
        or not name
        or name == ":memory:"
        or "mode=memory" in name
    ):
        return fetch_array(sql, params, columns, dtype=np.int64)
    pk = column(Order, "id")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN({pk}), MAX({pk}) FROM {table(Order)}")  # noqa: S608
        low, high = cursor.fetchone()
    if low is None or high - low + 1 < PARALLEL_AT:
        return fetch_array(sql, params, columns, dtype=np.int64)
    middle = (low + high) // 2
    upper = f"{sql} AND {pk} > %s"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        theirs = pool.submit(
            sqlite_reader.fetch_slice, name, upper.replace("%s", "?"), [*params, middle], columns
        )
        mine = fetch_array(f"{sql} AND {pk} <= %s", [*params, middle], columns, dtype=np.int64)
        try:
            rest = theirs.result()
        except Exception:  # no child process here: read the upper half in this one
            logger.exception("parallel read of the orders failed; reading them here")
            rest = fetch_array(upper, [*params, middle], columns, dtype=np.int64)
    return np.concatenate([mine, rest])


def local_day(at: datetime) -> int:
    """Days since 1970-01-01 of ``at``'s local date."""
    local = at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    return int(np.datetime64(local.isoformat(), "D").astype(np.int64))


def _db_time(at: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(at) if connection.vendor == "sqlite" else at


@dataclass(frozen=True)
class ServiceUse:
    """Cost to serve over the lookback per customer (aligned with the book), and the counts
    and cost per item over everyone, for the fit's diagnostics."""

    cost: np.ndarray
    counts: dict[str, int]
    totals: dict[str, float]


def read_service_use(
    book: Book, *, start: datetime, end: datetime, unit_costs: dict[str, Decimal]
) -> ServiceUse:
    """Tickets by kind, care call attempts and account-manager visits per customer in
    [start, end], priced at ``unit_costs`` (three grouped queries)."""
    cost = np.zeros(len(book))
    counts: dict[str, int] = {item: 0 for item in CostItem.values}
    totals: dict[str, float] = {item: 0.0 for item in CostItem.values}

    def add(item: str, rows: list[tuple[int, int]]) -> None:
        if not rows:
            return
        data = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        where, found = positions(book.customer_id, data[:, 0])
        n = data[found, 1]
        unit = float(unit_costs.get(item, 0))
        np.add.at(cost, where[found], n * unit)
        counts[item] += int(n.sum())
        totals[item] += float(n.sum()) * unit

    tickets = (
        Ticket.objects.filter(opened_at__gte=start, opened_at__lte=end)
        .order_by()
        .values_list("customer_id", "kind")
        .annotate(n=Count("id"))
    )
    by_kind: dict[str, list[tuple[int, int]]] = {}
    for customer_id, kind, n in tickets:
        by_kind.setdefault(kind, []).append((customer_id, n))
    for kind, rows in by_kind.items():
        item = TICKET_COST_ITEMS.get(kind)
        if item is not None:
            add(item, rows)
    add(
        CostItem.CARE_CALL,
        list(
            CareAttempt.objects.filter(at__gte=start, at__lte=end)
            .order_by()
            .values_list("task__customer_id")
            .annotate(n=Count("id"))
        ),
    )
    add(
        CostItem.VISIT,
        list(
            Interaction.objects.filter(
                channel=InteractionChannel.VISIT,
                direction=Direction.OUTBOUND,
                occurred_at__gte=start,
                occurred_at__lte=end,
            )
            .order_by()
            .values_list("customer_id")
            .annotate(n=Count("id"))
        ),
    )
    return ServiceUse(cost=cost, counts=counts, totals=totals)
