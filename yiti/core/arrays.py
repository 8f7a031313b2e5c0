"""Reading many rows of integers into numpy, fast.

A million rows fetched as Python tuples cost more than the query that produced them. For the
bulk paths (planning a wave, …) every row of an all-integer query is turned into one
``"a,b,c"`` string in SQL, the rows are aggregated into one string (``group_concat`` on
SQLite, ``string_agg`` on PostgreSQL) and numpy parses it in C. Written by hand because no
library does this for the Django ORM; ``engagement.policy_data`` uses the same idea.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet


def int_rows(qs: QuerySet[Any], columns: int) -> np.ndarray:
    """The rows of an all-integer ``values_list`` queryset with ``columns`` columns, as an
    ``(n, columns)`` int64 array in no particular order (NULL reads as 0). One query."""
    try:
        inner, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return np.zeros((0, columns), dtype=np.int64)
    return int_rows_sql(inner, params, columns)


def int_rows_sql(inner: str, params: Sequence[Any], columns: int) -> np.ndarray:
    """As :func:`int_rows`, for the SQL of a query whose ``columns`` columns are integers."""
    names = [f"c{i}" for i in range(columns)]
    if connection.vendor == "postgresql":
        row = " || ',' || ".join(f"COALESCE({n}, 0)::bigint::text" for n in names)
        agg = f"string_agg({row}, ',')"
    else:
        row = " || ',' || ".join(f"CAST(COALESCE({n}, 0) AS INTEGER)" for n in names)
        agg = f"group_concat({row}, ',')"
    sql = f"WITH t({', '.join(names)}) AS ({inner}) SELECT {agg} FROM t"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        found = cursor.fetchone()
    text = found[0] if found else None
    if not text:
        return np.zeros((0, columns), dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, columns)
