"""Hand-written SQL of the customers app's bulk paths (the historic orders import).

The ORM is the default; these statements exist because a million-row load cannot afford the
random B-tree inserts of every secondary index. The contact-history import
(``yiti.engagement.sql``) uses the same pair.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import connection
from django.db.models import Model


def secondary_indexes_drop(
    model: type[Model], *, keep: Collection[str] = ()
) -> list[tuple[str, str]]:
    """SQLite: drop the indexes of ``model``'s table that were created by a statement (not the
    primary key nor UNIQUE constraints, which keep guarding the load), except those in
    ``keep``, inside the caller's transaction; returns ``(name, CREATE statement)`` for
    :func:`indexes_create`. A rollback brings them back. Other databases: nothing ([]):
    on PostgreSQL ``DROP INDEX`` would lock every reader out of the table for the load."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL ORDER BY name",
            [model._meta.db_table],
        )
        indexes = [(str(name), str(text)) for name, text in cursor.fetchall() if name not in keep]
        for name, _text in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return indexes


def indexes_create(indexes: list[tuple[str, str]]) -> None:
    """Build again the indexes :func:`secondary_indexes_drop` dropped, as they were defined."""
    with connection.cursor() as cursor:
        for _name, statement in indexes:
            cursor.execute(statement)
