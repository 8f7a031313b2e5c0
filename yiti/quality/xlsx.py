"""The ranking and the hot issues as XLSX workbooks (the same rows the reader sees on the page).

One sheet each: the ranking with every indicator's value and contribution per unit; the rising
terms and the topics with their counts. Text cells never start with ``=``/``+``/``-``/``@``,
so a unit's or a topic's name cannot turn into a formula in the reader's spreadsheet.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from yiti.quality.selectors import HotIssues, Ranking

BOLD = Font(bold=True)


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _row(sheet: Any, values: list[Any], *, bold: bool = False) -> None:
    sheet.append([_safe(v) for v in values])
    if bold:
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD


def _bytes(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def ranking_workbook(view: Ranking) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Unit ranking")[:31]
    month = view.month.strftime("%Y-%m") if view.month else ""
    _row(sheet, [_("Quality ranking of units"), month], bold=True)
    head = [
        _("Rank"),
        _("Unit"),
        _("Score"),
        _("Last month's rank"),
        _("Places moved"),
        _("Share of the weights with data"),
    ]
    for _code, label in view.codes:
        head += [label, _("%(indicator)s: points") % {"indicator": label}]
    _row(sheet, head, bold=True)
    for row in view.rows:
        parts = {p.code: p for p in row.parts}
        values: list[Any] = [
            row.rank,
            row.unit,
            row.score,
            row.previous_rank,
            row.moved,
            round(row.coverage * 100),
        ]
        for code, _label in view.codes:
            part = parts.get(code)
            values += [part.value if part else None, part.contribution if part else None]
        _row(sheet, values)
    return _bytes(book)


def hot_workbook(view: HotIssues) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Hot issues")[:31]
    week = view.week.isoformat() if view.week else ""
    _row(sheet, [_("Hot issues: rising topics of the week"), week], bold=True)
    _row(sheet, [_("Rising terms")], bold=True)
    _row(
        sheet,
        [_("Term"), _("Texts this week"), _("Texts the week before"), _("Examples")],
        bold=True,
    )
    for r in view.rising:
        _row(sheet, [r.term, r.documents, r.previous, "; ".join(e.subject for e in r.examples)])
    _row(sheet, [])
    _row(sheet, [_("Topics chosen on tickets")], bold=True)
    _row(sheet, [_("Topic"), _("Tickets this week"), _("Tickets the week before")], bold=True)
    for t in view.topics:
        _row(sheet, [t.name, t.tickets, t.previous])
    return _bytes(book)
