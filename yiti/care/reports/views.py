"""Report pages: the list of snapshots, one report with charts and problem customers, the XLSX
export, the generation status (polled by htmx) and "Generate now"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from yiti.care.reports import selectors, services
from yiti.care.reports.charts import bar_chart
from yiti.care.reports.choices import ProblemType, ReportKind, SnapshotStatus
from yiti.care.reports.models import ReportSnapshot
from yiti.care.reports.rules import can_generate
from yiti.care.reports.xlsx import snapshot_workbook
from yiti.core.audit import audit_record
from yiti.core.errors import Conflict, ValidationFailed
from yiti.core.htmx import is_htmx, render_page_or_partial
from yiti.core.pagination import Page, paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.selectors import units_visible
from yiti.org.web import acting_user as _actor

PROBLEMS_PER_PAGE = 100
BUSY = (SnapshotStatus.QUEUED, SnapshotStatus.RUNNING)


@login_required
@yiti_errors
@require_GET
def snapshot_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.SnapshotFilters.from_mapping(request.GET)
    page = paginate(
        selectors.snapshot_list(request.user, filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    context = {
        "page": page,
        "filters": filters,
        "kinds": ReportKind.choices,
        "units": units_visible(request.user),
        "company_reader": selectors.company_reader(request.user),
        "can_generate": can_generate(access_for(request.user)),
    }
    return render_page_or_partial(
        request, "care_reports/list.html", "care_reports/_list_results.html", context
    )


def _charts(data: dict[str, Any]) -> list[Any]:
    summary = data["summary"]
    charts = [
        bar_chart(
            _("CSAT answers by score"),
            ["1", "2", "3", "4", "5"],
            [(_("Answers"), [summary["csat"]["distribution"][str(s)] for s in range(1, 6)])],
        ),
        bar_chart(
            _("NPS answers"),
            [_("Detractors (0–6)"), _("Passives (7–8)"), _("Promoters (9–10)")],
            [
                (
                    _("Answers"),
                    [
                        summary["nps"]["detractors"],
                        summary["nps"]["passives"],
                        summary["nps"]["promoters"],
                    ],
                )
            ],
        ),
    ]
    classes = sorted({*summary["complaints"]["opened"], *summary["complaints"]["resolved"]})
    if classes:
        charts.append(
            bar_chart(
                _("Complaints by class"),
                [selectors.class_label(c) for c in classes],
                [
                    (
                        pgettext("count", "Opened"),
                        [summary["complaints"]["opened"].get(c, 0) for c in classes],
                    ),
                    (_("Resolved"), [summary["complaints"]["resolved"].get(c, 0) for c in classes]),
                ],
            )
        )
    rated = [u for u in data.get("by_unit", []) if u["csat"]["average"] is not None]
    if len(rated) > 1:
        charts.append(
            bar_chart(
                _("CSAT average by unit"),
                [u["unit"] for u in rated[:12]],
                [(_("CSAT"), [u["csat"]["average"] for u in rated[:12]])],
                max_value=5,
                digits=2,
            )
        )
    if "trend" in data:
        previous = data["previous"]["summary"]
        charts.append(
            bar_chart(
                _("Against the previous period"),
                [_("CSAT ×20"), _("NPS"), _("SLA %")],
                [
                    (
                        pgettext("report period", "Previous"),
                        [
                            previous["csat"]["average"] and previous["csat"]["average"] * 20,
                            previous["nps"]["score"],
                            previous["sla"]["attainment"],
                        ],
                    ),
                    (
                        _("This period"),
                        [
                            summary["csat"]["average"] and summary["csat"]["average"] * 20,
                            summary["nps"]["score"],
                            summary["sla"]["attainment"],
                        ],
                    ),
                ],
                max_value=100,
                digits=1,
            )
        )
    return charts


def _problem_page(rows: list[dict[str, Any]], number: int) -> Page[dict[str, Any]]:
    offset = (number - 1) * PROBLEMS_PER_PAGE
    chunk = rows[offset : offset + PROBLEMS_PER_PAGE]
    return Page(
        items=chunk,
        number=number,
        size=PROBLEMS_PER_PAGE,
        has_next=len(rows) > offset + PROBLEMS_PER_PAGE,
    )


@login_required
@yiti_errors
@require_GET
def snapshot_detail(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = selectors.snapshot_get_for(request.user, snapshot_id)
    data = snapshot.data or {}
    ready = "summary" in data
    rows = selectors.problem_rows_for(request.user, snapshot) if ready else []
    context = {
        "snapshot": snapshot,
        "data": data,
        "ready": ready,
        "busy": snapshot.status in BUSY,
        "summary": data.get("summary"),
        "charts": _charts(data) if ready else [],
        "trend": selectors.trend_rows(data) if ready else [],
        "targets": [
            (selectors.target_label(t), v)
            for t, v in (data.get("summary") or {}).get("csat", {}).get("by_target", {}).items()
        ],
        "problem_types": [
            (label, (data.get("summary") or {}).get("problems_by_type", {}).get(value, 0))
            for value, label in ProblemType.choices
        ],
        "problems": _problem_page(rows, parse_page(request.GET.get("page"))),
        "problems_total": len(rows),
        "can_generate": can_generate(access_for(request.user)),
        "kinds": ReportKind.choices,
    }
    return render_page_or_partial(
        request, "care_reports/detail.html", "care_reports/_problems.html", context
    )


@login_required
@yiti_errors
@require_GET
def snapshot_status(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """The generation status; htmx polls it while a run is queued or running, and reloads the
    page once the run is over."""
    snapshot = selectors.snapshot_get_for(request.user, snapshot_id)
    busy = snapshot.status in BUSY
    response = render(
        request, "care_reports/_status.html", {"snapshot": snapshot, "busy": busy, "poll": busy}
    )
    if is_htmx(request) and not busy and request.GET.get("was") == "busy":
        response["HX-Refresh"] = "true"
    return response


@login_required
@yiti_errors
@require_GET
def snapshot_export(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = selectors.snapshot_get_for(request.user, snapshot_id)
    if "summary" not in (snapshot.data or {}):
        raise Conflict(_("This report has no numbers yet."), code="report_not_ready")
    rows = selectors.problem_rows_for(request.user, snapshot)
    content = snapshot_workbook(snapshot, rows)
    audit_record(
        actor=request.user,
        action="report.export",
        obj=snapshot,
        changes={"problem_customers": len(rows)},
        summary=str(snapshot),
    )
    scope = snapshot.unit.code if snapshot.unit else "company"
    name = f"yiti-{snapshot.kind}-{snapshot.period_start:%Y%m%d}-{scope}.xlsx"
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@yiti_errors
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    try:
        snapshot: ReportSnapshot = services.report_generation_request(
            actor=_actor(request), kind=kind
        )
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message)
        return redirect("care_reports:list")
    messages.success(
        request,
        _("The report for %(start)s – %(end)s is being generated.")
        % {"start": snapshot.period_start, "end": snapshot.period_end},
    )
    return redirect("care_reports:detail", snapshot_id=snapshot.pk)
