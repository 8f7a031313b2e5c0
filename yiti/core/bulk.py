"""Fast bulk writes for set-based paths (imports, bulk audit) over plain tuples.

``bulk_create`` prepares every value through its model field and builds instances first; at
hundreds of thousands of rows that Python work, not the database, is most of the time.
These helpers take tuples, choose one preparation per column up front (most columns need
none), and send the rows the fastest way the database offers: ``COPY`` on PostgreSQL,
``executemany`` on SQLite, multi-row ``INSERT`` elsewhere. The number of statements does not
depend on the number of rows beyond one per batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connections, models
from django.utils import timezone

_PASS_THROUGH = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "FloatField",
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


def _filled(
    model: type[models.Model], fields: Sequence[str], *, adding: bool
) -> tuple[list[str], list[Any]]:
    """The columns not given, with what ``Model()`` and ``save()`` would put in them."""
    now = timezone.now()
    extra: list[str] = []
    values: list[Any] = []
    given = set(fields)
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in given or field.attname in given:
            continue
        if getattr(field, "auto_now", False) or (adding and getattr(field, "auto_now_add", False)):
            extra.append(field.name)
            values.append(now)
        elif adding:  # what Model() would hold: the default, or "" for text, else None
            extra.append(field.name)
            values.append(field.get_default())
    return extra, values


def _prepared_values(
    model: type[models.Model], fields: Sequence[str], values: Sequence[Any], connection: Any
) -> list[Any]:
    """``values`` of ``fields`` as database parameters."""
    out = []
    for name, value in zip(fields, values, strict=True):
        prepare = _preparer(model._meta.get_field(name), connection)  # type: ignore[arg-type]
        out.append(prepare(value) if prepare is not None and value is not None else value)
    return out


def _prepared(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    connection: Any,
    *,
    adding: bool,
    ready: bool = False,
    keys: int = 1,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    extra, defaults = _filled(model, fields, adding=adding)
    if ready:  # the rows are parameters already; the filled-in values are not: prepare each once
        defaults = _prepared_values(model, extra, defaults, connection)
    if not adding and extra:  # updates: (*values, *keys) — keep the keys last
        fields = [*fields[:-keys], *extra, *fields[-keys:]]
        rows = ((*row[:-keys], *defaults, *row[-keys:]) for row in rows)
    elif extra:
        fields = [*fields, *extra]
        rows = ((*row, *defaults) for row in rows)
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    columns = [connection.ops.quote_name(f.column) for f in concrete]  # type: ignore[union-attr]
    preparers = [_preparer(f, connection) for f in concrete]  # type: ignore[arg-type]
    if ready and isinstance(rows, list):
        return columns, rows
    if ready or not any(preparers):
        return columns, [tuple(row) for row in rows]
    steps = [(i, prepare) for i, prepare in enumerate(preparers) if prepare is not None]
    prepared = []
    for row in rows:
        values = list(row)
        for i, prepare in steps:
            if values[i] is not None:
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
    ready: bool = False,
) -> list[int]:
    """INSERT ``rows`` (tuples in the order of ``fields``); the new ids if ``returning_ids``.

    ``fields`` are model field names; foreign keys take ids (``customer`` gets the id).
    Fields left out get what ``Model(...).save()`` would give them: ``auto_now``/
    ``auto_now_add`` timestamps, field defaults, "" for text and NULL otherwise.
    ``ready=True``: the rows hold database parameters already (dates as ISO text, datetimes
    as ``connection.ops.adapt_datetimefield_value`` gives them), so no value is prepared — a
    million-row load saves a Python pass over every row; a list of tuples is sent as it is.
    """
    connection = connections[using]
    fast = ready and not returning_ids and connection.vendor == "sqlite"
    if (
        fast
        and isinstance(rows, list)
        and _sqlite_json_insert(model, fields, rows, connection, batch_size)
    ):
        return []
    columns, params = _prepared(model, fields, rows, connection, adding=True, ready=ready)
    if not params:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # identifiers come from model metadata, quoted; every value is a parameter
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
    max_params = connection.features.max_query_params or 65535  # PostgreSQL: protocol limit
    per_statement = max(1, min(batch_size, max_params // len(columns)))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _copy(connection, cursor, model, columns, params, returning_ids=returning_ids)
        if not returning_ids and connection.vendor == "sqlite":
            # in-process: executemany is the fastest way and not limited to 999 parameters
            for start in range(0, len(params), batch_size):
                cursor.executemany(head + placeholders, params[start : start + batch_size])
            return []
        if returning_ids and not connection.features.can_return_rows_from_bulk_insert:
            ids = []  # SQLite before 3.35: no RETURNING
            for row in params:
                cursor.execute(head + placeholders, row)
                ids.append(connection.ops.last_insert_id(cursor, model._meta.db_table, "id"))
            return ids
        # a server: one multi-row INSERT per batch, not one statement per row
        pk = connection.ops.quote_name(model._meta.pk.column)  # type: ignore[arg-type]
        returning = f" RETURNING {pk}" if returning_ids else ""
        ids = []
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            sql = head + ", ".join([placeholders] * len(chunk)) + returning
            cursor.execute(sql, [value for row in chunk for value in row])
            if returning_ids:
                ids.extend(row[0] for row in cursor.fetchall())
        return ids


def _sqlite_json_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: list[Sequence[Any]],
    connection: Any,
    batch_size: int,
) -> bool:
    """SQLite, rows of database parameters (``ready``): each batch as one JSON array of rows,
    unpacked by ``json_each`` inside SQLite, so that no value is bound one by one from Python;
    the columns left out are bound once. False (nothing written) when a value is not plain
    JSON (bytes, NaN, …); the caller then binds the rows.

    Written by hand: neither Django nor the sqlite3 module offers a faster bulk path."""
    if not rows:
        return True
    try:
        texts = [
            json.dumps(rows[start : start + batch_size], allow_nan=False, separators=(",", ":"))
            for start in range(0, len(rows), batch_size)
        ]
    except (TypeError, ValueError):
        return False
    extra, defaults = _filled(model, fields, adding=True)
    constants = _prepared_values(model, extra, defaults, connection)
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    filled = [meta.get_field(name) for name in extra]
    columns = [connection.ops.quote_name(f.column) for f in (*given, *filled)]  # type: ignore[union-attr]
    picks = [f"json_extract(value, '$[{i}]')" for i in range(len(given))] + ["%s"] * len(filled)
    table = connection.ops.quote_name(meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (quoted identifiers)
        f"SELECT {', '.join(picks)} FROM json_each(%s)"
    )
    with connection.cursor() as cursor:
        for text in texts:
            cursor.execute(sql, [*constants, text])
    return True


def _copy(
    connection: Any,
    cursor: Any,
    model: type[models.Model],
    columns: list[str],
    params: list[tuple[Any, ...]],
    *,
    returning_ids: bool,
) -> list[int]:
    """PostgreSQL: ``COPY … FROM STDIN``, the fastest way in; ids come from the sequence first."""
    meta = model._meta
    ids: list[int] = []
    if returning_ids:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(params)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = [connection.ops.quote_name(meta.pk.column), *columns]
        params = [(pk, *row) for pk, row in zip(ids, params, strict=True)]
    table = connection.ops.quote_name(meta.db_table)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in params:
            copy.write_row(row)
    return ids


def analyze(*models_: type[models.Model], using: str = "default") -> None:
    """Refresh the planner's statistics after a large bulk write (PostgreSQL).

    Until autovacuum catches up, the planner believes freshly filled tables are nearly empty
    and may choose nested loops that turn a full export quadratic.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models_)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    by: Sequence[str] | None = None,
    batch_size: int = 2000,
    using: str = "default",
) -> None:
    """UPDATE by primary key: each row is ``(*values in the order of fields, pk)``; with
    ``by``, by those fields instead (a unique key): ``(*values, *keys in the order of by)``.

    ``auto_now`` fields (``updated_at``) are set to now unless given.
    """
    connection = connections[using]
    keys = list(by or [model._meta.pk.name])
    columns, params = _prepared(
        model, [*fields, *keys], rows, connection, adding=False, keys=len(keys)
    )
    if not params:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    width = len(columns) - len(keys)
    assignments = ", ".join(f"{column} = %s" for column in columns[:width])
    where = " AND ".join(f"{column} = %s" for column in columns[width:])
    sql = f"UPDATE {table} SET {assignments} WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(params), batch_size):
            cursor.executemany(sql, params[start : start + batch_size])
