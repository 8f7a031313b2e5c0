"""Reading a slice of a big SQLite query in a second process, so the two cores share the work.

Fetching ten million rows from SQLite is bound by the Python objects made per row (about a
microsecond a row, whatever the SQL), and one process uses one core. ``yiti.decisions.inputs``
hands one half of the orders (a range of row ids) to :func:`fetch_slice` in a spawned child
process while it reads the other half itself.

This module imports no Django, so the spawned child starts in a fraction of a second: it
opens the database file read-only with the standard library's ``sqlite3`` and returns a
numpy array, which comes back to the parent pickled through a pipe (a few hundred MB/s).
"""

from __future__ import annotations

import sqlite3
from itertools import chain
from typing import Any

import numpy as np

CHUNK = 250_000


def fetch_slice(path: str, sql: str, params: list[Any], columns: int) -> np.ndarray:
    """All rows of ``sql`` (``?`` placeholders) as an int64 array of ``columns`` columns."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        connection.execute("PRAGMA mmap_size=268435456")
        cursor = connection.execute(sql, params)
        parts = []
        while True:
            rows = cursor.fetchmany(CHUNK)
            if not rows:
                break
            flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=columns * len(rows))
            parts.append(flat.reshape(-1, columns))
    finally:
        connection.close()
    if not parts:
        return np.zeros((0, columns), dtype=np.int64)
    return np.concatenate(parts)
