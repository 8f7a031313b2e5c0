"""Queries on the request's hot paths whose text is the same on every call.

On PostgreSQL they run as prepared statements on Django's (persistent) connection: planning
a short query costs more than running it (the decision's first query, 15 scalar subqueries,
took twice as long to plan as to run; the token check's plan cost six times its run).
Django's cursors bind on the client and never prepare, so a psycopg cursor on Django's
connection (same transaction) runs it, and it is logged like a Django query so that query
counts still see it. Elsewhere (SQLite) a plain Django cursor runs it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def fetch_all(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``%s`` placeholders) run with ``params`` on the default database."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    import psycopg

    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def aware(value: Any) -> datetime | None:
    """A datetime column as Django's converters give it: SQLite returns naive UTC datetimes
    (or text), PostgreSQL aware ones."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = parse_datetime(str(value))
        if value is None:
            return None
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
