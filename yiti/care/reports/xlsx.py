"""A report as an XLSX workbook: one sheet for the numbers, one for the problem customers.

The problem rows are those the reader may see (``selectors.problem_rows_for``), with phones
masked as stored. Cells never start with ``=``/``+``/``-``/``@`` text, so a customer's name or a
resolution note cannot turn into a formula in the reader's spreadsheet.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from yiti.care.reports.models import ReportSnapshot
from yiti.care.reports.selectors import class_label, target_label, trend_rows

BOLD = Font(bold=True)


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _row(sheet: Any, *values: Any, bold: bool = False) -> None:
    sheet.append([_safe(v) for v in values])
    if bold:
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD


def _measures(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (_("Care calls attempted"), summary["care"]["attempts"]),
        (_("Care calls reached"), summary["care"]["reached"]),
        (_("Survey responses"), summary["surveys"]["responses"]),
        (_("Dissatisfied responses"), summary["surveys"]["dissatisfied"]),
        (_("CSAT answers"), summary["csat"]["count"]),
        (_("CSAT average (1–5)"), summary["csat"]["average"]),
        (_("NPS answers"), summary["nps"]["count"]),
        (_("Promoters (9–10)"), summary["nps"]["promoters"]),
        (_("Passives (7–8)"), summary["nps"]["passives"]),
        (_("Detractors (0–6)"), summary["nps"]["detractors"]),
        (_("NPS"), summary["nps"]["score"]),
        (_("Complaints opened"), summary["complaints"]["opened_total"]),
        (_("Complaints resolved"), summary["complaints"]["resolved_total"]),
        (_("SLA met (tickets resolved)"), summary["sla"]["met"]),
        (_("SLA missed (tickets resolved)"), summary["sla"]["missed"]),
        (_("SLA attainment (%)"), summary["sla"]["attainment"]),
        (_("Problem customers"), summary.get("problem_customers", 0)),
    ]


def snapshot_workbook(snapshot: ReportSnapshot, problem_rows: list[dict[str, Any]]) -> bytes:
    data = snapshot.data
    summary = data["summary"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Summary")[:31]
    _row(sheet, str(snapshot.get_kind_display()), bold=True)
    _row(sheet, _("Unit"), snapshot.unit.name if snapshot.unit else _("Whole company"))
    _row(sheet, pgettext("report", "Period"), f"{snapshot.period_start} – {snapshot.period_end}")
    _row(
        sheet,
        _("Generated"),
        snapshot.generated_at.strftime("%Y-%m-%d %H:%M") if snapshot.generated_at else "",
    )
    _row(sheet)
    _row(sheet, _("Measure"), pgettext("field value", "Value"), bold=True)
    for label, value in _measures(summary):
        _row(sheet, label, value)
    _row(sheet)
    _row(sheet, _("CSAT score"), _("Answers"), bold=True)
    for score, count in summary["csat"]["distribution"].items():
        _row(sheet, int(score), count)
    for target, values in summary["csat"]["by_target"].items():
        _row(sheet, _("CSAT average: %(t)s") % {"t": target_label(target)}, values["average"])
    _row(sheet)
    _row(sheet, _("Complaint class"), pgettext("count", "Opened"), _("Resolved"), bold=True)
    classes = sorted({*summary["complaints"]["opened"], *summary["complaints"]["resolved"]})
    for value in classes:
        _row(
            sheet,
            class_label(value),
            summary["complaints"]["opened"].get(value, 0),
            summary["complaints"]["resolved"].get(value, 0),
        )
    if "trend" in data:
        _row(sheet)
        previous = data["previous"]
        _row(
            sheet,
            _("Change against %(start)s – %(end)s")
            % {"start": previous["period"]["start"], "end": previous["period"]["end"]},
            bold=True,
        )
        _row(
            sheet,
            _("Measure"),
            _("This period"),
            _("Previous period"),
            pgettext("difference", "Change"),
            bold=True,
        )
        for label, current, before, change in trend_rows(data):
            _row(sheet, label, current, before, change)
    _row(sheet)
    _row(
        sheet,
        _("Unit"),
        _("Care calls attempted"),
        _("Care calls reached"),
        _("Survey responses"),
        _("CSAT average"),
        _("NPS"),
        _("Complaints opened"),
        _("Complaints resolved"),
        _("SLA attainment (%)"),
        _("Problem customers"),
        bold=True,
    )
    for unit in data.get("by_unit", []):
        _row(
            sheet,
            ("  " * unit["depth"]) + unit["unit"],
            unit["care"]["attempts"],
            unit["care"]["reached"],
            unit["surveys"]["responses"],
            unit["csat"]["average"],
            unit["nps"]["score"],
            unit["complaints"]["opened_total"],
            unit["complaints"]["resolved_total"],
            unit["sla"]["attainment"],
            unit["problem_customers"],
        )
    sheet.column_dimensions["A"].width = 42

    problems = book.create_sheet(_("Problem customers")[:31])
    _row(
        problems,
        _("Customer"),
        _("Phone"),
        _("Unit"),
        _("Account manager"),
        _("Problem"),
        _("Reference"),
        _("Subject"),
        _("Since"),
        _("Status"),
        _("Resolution"),
        _("Resolved at"),
        bold=True,
    )
    for row in problem_rows:
        for item in row["items"]:
            _row(
                problems,
                row["name"],
                row["phone"],
                row["unit"],
                row["owner"],
                item["type_label"],
                item["ref_label"],
                item["subject_label"],
                item["at_text"],
                item["status_label"],
                item["resolution"],
                item["resolved_at_text"],
            )
    if data.get("problems_truncated"):
        _row(problems, _("The list was cut at its size limit."))
    for column, width in zip(
        "ABCDEFGHIJK", (16, 16, 16, 16, 18, 16, 36, 17, 14, 40, 17), strict=True
    ):
        problems.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()
