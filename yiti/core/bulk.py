"""Fast bulk writes for set-based paths (imports, bulk audit) over plain tuples.

``bulk_create`` prepares every value through its model field and builds instances first; at
hundreds of thousands of rows that Python work, not the database, is most of the time.
These helpers take tuples, choose one preparation per column up front (most columns need
none), and send the rows with ``executemany`` — or a multi-row ``INSERT … RETURNING`` when
the new ids are needed. Each call is one statement per batch, whatever the row count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connections, models

_PASS_THROUGH = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
}


def _preparer(field: models.Field, connection: Any) -> Callable[[Any], Any] | None:
    """How to turn a Python value into a database parameter for this column (None: as is)."""
    kind = field.get_internal_type()
    if kind in _PASS_THROUGH:
        return None
    if kind in ("DateTimeField", "DateField"):
        adapt = (
            connection.ops.adapt_datetimefield_value
            if kind == "DateTimeField"
            else connection.ops.adapt_datefield_value
        )
        cache: dict[Any, Any] = {}

        def prepare_temporal(value: Any) -> Any:
            # bulk rows share a handful of timestamps: adapt each once
            if value not in cache:
                cache[value] = adapt(value)
            return cache[value]

        return prepare_temporal
    return lambda value: field.get_db_prep_save(value, connection)


def _prepared(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], connection: Any
) -> tuple[list[str], list[tuple[Any, ...]]]:
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    columns = [connection.ops.quote_name(f.column) for f in concrete]  # type: ignore[union-attr]
    preparers = [_preparer(f, connection) for f in concrete]  # type: ignore[arg-type]
    if not any(preparers):
        return columns, [tuple(row) for row in rows]
    steps = list(enumerate(preparers))
    prepared = []
    for row in rows:
        values = list(row)
        for i, prepare in steps:
            if prepare is not None and values[i] is not None:
                values[i] = prepare(values[i])
        prepared.append(tuple(values))
    return columns, prepared


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    returning_ids: bool = False,
    batch_size: int = 2000,
    using: str = "default",
) -> list[int]:
    """INSERT ``rows`` (tuples in the order of ``fields``); the new ids if ``returning_ids``.

    ``fields`` are model field names; foreign keys take ids (``customer`` gets the id).
    Timestamps such as ``created_at`` are not filled in: pass them.
    """
    connection = connections[using]
    columns, params = _prepared(model, fields, rows, connection)
    if not params:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    with connection.cursor() as cursor:
        if not returning_ids:
            for start in range(0, len(params), batch_size):
                cursor.executemany(head + placeholders, params[start : start + batch_size])
            return []
        pk = connection.ops.quote_name(model._meta.pk.column)  # type: ignore[union-attr]
        per_statement = max(1, min(batch_size, connection.features.max_query_params // len(columns)))
        ids: list[int] = []
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            sql = head + ", ".join([placeholders] * len(chunk)) + f" RETURNING {pk}"
            cursor.execute(sql, [value for row in chunk for value in row])
            ids.extend(row[0] for row in cursor.fetchall())
        return ids


def update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_size: int = 2000,
    using: str = "default",
) -> None:
    """UPDATE by primary key: each row is ``(*values in the order of fields, pk)``."""
    connection = connections[using]
    columns, params = _prepared(model, [*fields, model._meta.pk.name], rows, connection)  # type: ignore[union-attr]
    if not params:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{column} = %s" for column in columns[:-1])
    sql = f"UPDATE {table} SET {assignments} WHERE {columns[-1]} = %s"
    with connection.cursor() as cursor:
        for start in range(0, len(params), batch_size):
            cursor.executemany(sql, params[start : start + batch_size])
