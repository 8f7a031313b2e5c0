"""Pagination that never counts the whole table.

``COUNT(*)`` over a million visible customers costs more than the page itself, so lists
fetch one row past the page to know whether a next page exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.db.models import QuerySet

T = TypeVar("T")
MAX_PAGE_SIZE = 200


class Sliceable(Protocol):
    """What a page can be cut from besides a queryset: a ``[start:stop]`` slice gives rows."""

    def __getitem__(self, part: slice, /) -> Sequence[Any]: ...


@dataclass
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)


def parse_page(raw: Any, default: int = 1) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return max(1, min(value, 100_000))


def paginate(queryset: QuerySet[Any] | Sliceable, *, page: int, size: int) -> Page[Any]:
    size = max(1, min(size, MAX_PAGE_SIZE))
    offset = (page - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    return Page(items=rows[:size], number=page, size=size, has_next=len(rows) > size)
