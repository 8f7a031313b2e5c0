"""Hand-written SQL of the engagement app's bulk paths (the contact-history import).

The ORM is the default; these statements exist because a ten-million-row load cannot afford
its per-object work. Each is tested on both databases against an ORM reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection

from yiti.customers.models import Customer
from yiti.customers.sql import indexes_create, secondary_indexes_drop

__all__ = ["customers_last_contact_forward", "indexes_create", "secondary_indexes_drop"]


def customers_last_contact_forward(latest: Mapping[int, Any], batch_size: int = 10_000) -> int:
    """Move ``last_contact_at`` of each customer id in ``latest`` forward to its value (a
    database parameter of a datetime column), never backwards; one statement per batch.
    Returns how many customers moved."""
    if not latest:
        return 0
    table = connection.ops.quote_name(Customer._meta.db_table)
    if connection.vendor == "postgresql":
        return _last_contact_forward_pg(table, latest, batch_size * 5)
    statement = (
        f"UPDATE {table} SET last_contact_at = %s "  # noqa: S608 (quoted identifier)
        "WHERE id = %s AND (last_contact_at IS NULL OR last_contact_at < %s)"
    )
    rows = [(at, pk, at) for pk, at in latest.items()]
    moved = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            cursor.executemany(statement, rows[start : start + batch_size])
            moved += max(cursor.rowcount, 0)
    return moved


def _last_contact_forward_pg(table: str, latest: Mapping[int, Any], batch_size: int) -> int:
    """PostgreSQL: one UPDATE … FROM unnest(ids, times) per batch (executemany would be a
    round trip per customer)."""
    statement = (
        f"UPDATE {table} AS c SET last_contact_at = v.at "  # noqa: S608 (quoted identifier)
        "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
        "WHERE c.id = v.id AND (c.last_contact_at IS NULL OR c.last_contact_at < v.at)"
    )
    items = list(latest.items())
    moved = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), batch_size):
            part = items[start : start + batch_size]
            cursor.execute(statement, [[pk for pk, _at in part], [at for _pk, at in part]])
            moved += max(cursor.rowcount, 0)
    return moved
