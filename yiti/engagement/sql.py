"""Hand-written SQL of the engagement app's bulk paths (the contact-history import).

The ORM is the default; these statements exist because a ten-million-row load cannot afford
its per-object work. Each is tested on both databases against an ORM reference.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.db import connection

from yiti.customers.models import Customer
from yiti.customers.sql import indexes_create, secondary_indexes_drop
from yiti.engagement.models import Interaction

__all__ = [
    "customers_last_contact_from_interactions",
    "customers_missing",
    "indexes_create",
    "secondary_indexes_drop",
]


def customers_last_contact_from_interactions(*, after_id: int) -> int:
    """Move ``last_contact_at`` of every customer with an interaction whose id is above
    ``after_id`` (a load's rows) forward to the newest such interaction, never backwards; one
    statement whatever the load's size. Returns how many customers moved."""
    qn = connection.ops.quote_name
    customers = qn(Customer._meta.db_table)
    interactions = qn(Interaction._meta.db_table)
    statement = (
        f"UPDATE {customers} SET last_contact_at = m.at "  # noqa: S608 (quoted identifiers)
        f"FROM (SELECT customer_id, MAX(occurred_at) AS at FROM {interactions} "
        "WHERE id > %s GROUP BY customer_id) AS m "
        f"WHERE {customers}.id = m.customer_id "
        f"AND ({customers}.last_contact_at IS NULL OR {customers}.last_contact_at < m.at)"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [after_id])
        return max(cursor.rowcount, 0)


def customers_missing(ids: Collection[int]) -> int:
    """How many of ``ids`` name no customer: one statement, the ids as one JSON (SQLite) or
    array (PostgreSQL) parameter, however many there are."""
    if not ids:
        return 0
    table = connection.ops.quote_name(Customer._meta.db_table)
    if connection.vendor == "postgresql":
        statement = (
            f"SELECT count(*) FROM unnest(%s::bigint[]) AS given(id) "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} c WHERE c.id = given.id)"
        )
        param: Any = list(ids)
    else:
        statement = (
            f"SELECT count(*) FROM json_each(%s) AS given "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} c WHERE c.id = given.value)"
        )
        param = json.dumps(list(ids))
    with connection.cursor() as cursor:
        cursor.execute(statement, [param])
        return int(cursor.fetchone()[0])
