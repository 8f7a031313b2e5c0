"""A cockpit chart's table as an .xlsx workbook (openpyxl, write-only)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from yiti.insights.cockpit import Chart, CockpitQuery


def chart_xlsx(chart: Chart, q: CockpitQuery) -> bytes:
    """The table behind ``chart`` for ``q``, with the unit and period above it."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=chart.key)
    sheet.append([chart.title])
    sheet.append([_("Unit"), q.unit.name])
    sheet.append([pgettext("report", "Period"), q.start.isoformat(), q.end.isoformat()])
    sheet.append([])
    columns, rows = chart.table()
    sheet.append(columns)
    for row in rows:
        sheet.append(["" if value is None else value for value in row])
    out = io.BytesIO()  # a chart's table is small: tens of rows
    book.save(out)
    return out.getvalue()
