"""Index-friendly prefix matching on both SQLite and PostgreSQL.

SQLite's ``LIKE`` is case-insensitive and cannot use an ordinary index, so on SQLite a
prefix match is written as a half-open range (``col >= q AND col < q + U+10FFFF``), which
uses the B-tree index. PostgreSQL uses ``LIKE 'q%'`` on the ``varchar_pattern_ops``
index Django creates for indexed character columns.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Q

_MAX_CHAR = "\U0010ffff"


def prefix_q(field: str, prefix: str, *, using: str = "default") -> Q:
    if connections[using].vendor == "sqlite":
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + _MAX_CHAR})
    return Q(**{f"{field}__startswith": prefix})


def search_key(value: str) -> str:
    """The normalised form used for name search: folded case, no surrounding blanks."""
    return " ".join(value.split()).casefold()
