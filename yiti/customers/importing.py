"""The contract every kind of import implements, and the registry of kinds.

The import runner (``yiti.customers.imports_runner``) reads a CSV or XLSX file as a stream,
maps its header to column keys (automatically from each column's aliases, or as the user
chose in the mapping step), and hands the importer chunks of rows. The importer validates a
chunk with a constant number of set-based look-up queries and returns the rows it can write
as tuples plus a :class:`RowError` for every problem; the runner then hands the valid tuples
back to ``write``. Everything an import writes happens in one transaction: when any row is
invalid and the user did not choose to skip invalid rows, the runner rolls all of it back, so
nothing is written.

A kind registers itself from its app's ``AppConfig.ready`` with :func:`register`, so the
runner (in ``customers``) can run importers that live in higher apps (interactions and the
do-not-disturb list live in ``engagement``) without importing them.

Optional hooks the runner calls when an importer has them (plain methods, not part of the
protocol, so importers without them stay valid):

* ``required_columns(ctx) -> list[str]``: the keys a file must map, when they depend on the
  options (customers: ``unit`` is optional with a default unit); default: ``Column.required``.
* ``check_columns(keys: set[str], ctx) -> None``: raise ``ValidationFailed`` (field "file")
  for a file whose mapped columns cannot work (orders: neither customer id nor phone).
* ``validate_end(ctx) -> (tuples, errors)``: after the last chunk, for an importer that must
  see the whole file before it decides (customers: merged customers, updates by external id).
* ``validate_columns(numbers, columns, ctx) -> (tuples, errors)``: used instead of
  ``validate`` when present, for kinds whose files run to tens of millions of rows (contact
  history): the chunk comes as columns — ``numbers`` the row numbers, ``columns`` each mapped
  key's stripped cells as one list (``""`` when empty) — so the importer checks a whole
  column at a time with C-level ``map`` over its look-up tables, and builds no dict per row.
  The errors and tuples must be those ``validate`` would give.

* ``write_guard(ctx) -> context manager``: entered by the runner around the write
  transaction (outside it), for what SQLite allows only between transactions — contact
  history turns per-row foreign-key checks off for a large load and checks its customers once,
  set-based, inside the transaction instead.

Before the first ``write`` the runner sets ``ctx.rows_to_write`` (the valid tuples), so a
large load can choose its write strategy up front (orders: SQLite's indexes rebuilt once).
Raising ``ValidationFailed`` from ``begin`` or ``validate`` rejects the whole file with its
message; any other ``YitiError`` from ``begin`` too (e.g. ``PermissionDenied``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from yiti.org.access import Access
from yiti.org.models import User

CHUNK = 5000  # rows handed to ``validate``/``write`` at a time


@dataclass(frozen=True)
class Column:
    """One column an importer understands: its key, the header Yiti writes, other headers."""

    key: str
    label: Any  # lazy translation
    aliases: tuple[str, ...] = ()
    required: bool = False
    help: Any = ""  # lazy translation: what the cell holds, shown in the mapping step


@dataclass(frozen=True)
class RowError:
    """A problem with one cell (or a whole row, ``column`` ""): row number as in the file."""

    row: int
    column: str
    value: str
    reason: str

    def as_list(self) -> list[Any]:
        return [self.row, self.column, self.value, self.reason]


@dataclass
class ImportContext:
    """What one run of an importer knows: who, options, and a scratch space across chunks."""

    actor: User | None  # None: the system (the CLI without --user), no scope applies
    access: Access | None  # the actor's access, None for the system
    job_id: int
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"default_unit": "hz"}
    dry_run: bool = False
    skip_invalid: bool = False
    state: dict[str, Any] = field(default_factory=dict)  # the importer's own, across chunks
    created: int = 0  # the importer adds what it wrote (rows created)
    updated: int = 0
    unchanged: int = 0
    rows_to_write: int = 0  # set by the runner before the first ``write``: the valid tuples


class Importer(Protocol):
    """One kind of import. Implementations are plain classes with these attributes."""

    kind: ClassVar[str]  # an ``ImportKind`` value
    columns: ClassVar[tuple[Column, ...]]
    perm: ClassVar[str]  # the ``Perm`` the actor needs

    def begin(self, ctx: ImportContext) -> None:
        """Before the first chunk (load small look-up tables, check options)."""

    def validate(
        self, rows: Sequence[tuple[int, dict[str, str]]], ctx: ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        """Check a chunk: ``(row number, {column key: cell text})`` in, writable tuples out.

        Cells are stripped text, "" when empty; keys are only the mapped columns. A constant
        number of queries per chunk. Rows that are invalid produce errors and no tuple.
        Duplicates within the file are the importer's to find (``ctx.state`` persists).
        """
        ...

    def write(self, rows: list[tuple[Any, ...]], ctx: ImportContext) -> None:
        """Write the valid tuples of one chunk (set-based); add to ``ctx.created``/``updated``."""

    def finish(self, ctx: ImportContext) -> None:
        """After the last chunk, inside the transaction: audit, aggregates, follow-up work."""


_REGISTRY: dict[str, Importer] = {}


def register(importer: Importer) -> None:
    _REGISTRY[importer.kind] = importer


def importer_for(kind: str) -> Importer:
    return _REGISTRY[kind]


def registered_kinds() -> list[str]:
    return list(_REGISTRY)


_PARENS = re.compile(r"[(（\[【].*?[)）\]】]")


def header_key(text: str) -> str:
    """``"E-mail (必填)*"`` -> ``"email"``: how headers and aliases are compared."""
    text = _PARENS.sub("", unicodedata.normalize("NFKC", text or "")).lower()
    return "".join(ch for ch in text if ch.isalnum())


def auto_mapping(headers: Sequence[str], columns: Sequence[Column]) -> dict[str, int]:
    """Column key -> header position, matching each header against keys, labels and aliases."""
    table: dict[str, str] = {}
    for column in columns:
        for alias in (column.key, str(column.label), *column.aliases):
            table.setdefault(header_key(alias), column.key)
    mapping: dict[str, int] = {}
    for position, header in enumerate(headers):
        key = table.get(header_key(header))
        if key is not None and key not in mapping:
            mapping[key] = position
    return mapping
