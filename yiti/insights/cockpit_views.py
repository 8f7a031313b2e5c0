"""The management cockpit pages: the charts, each chart's XLSX, and the records behind a point."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yiti.core.errors import NotFound
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.insights.cockpit import (
    CHART_KEYS,
    PERIODS,
    CockpitQuery,
    cockpit_figures,
    cockpit_query,
    cockpit_units,
)
from yiti.insights.cockpit_export import chart_xlsx
from yiti.insights.cockpit_records import RECORD_KINDS, RecordFilter, cockpit_records
from yiti.insights.models import RollupWatermark
from yiti.org.access import access_for


def _query(request: HttpRequest) -> CockpitQuery:
    return cockpit_query(
        request.user,
        unit_id=request.GET.get("unit"),
        start=request.GET.get("start"),
        end=request.GET.get("end"),
        days=request.GET.get("days"),
    )


@login_required
@yiti_errors
@require_GET
def cockpit(request: HttpRequest) -> HttpResponse:
    """/insights/: the charts for a unit (and its subtree) and a period; htmx swaps the charts
    when a picker changes."""
    q = _query(request)
    charts = cockpit_figures(q)
    context: dict[str, Any] = {
        "q": q,
        "charts": charts,
        "units": cockpit_units(q.scope),
        "periods": PERIODS,
        "refreshed": RollupWatermark.objects.order_by("-changed_until")
        .values_list("changed_until", flat=True)
        .first(),
        "querystring": q.querystring(),
    }
    return render_page_or_partial(
        request, "insights/cockpit.html", "insights/cockpit_charts.html", context
    )


@login_required
@yiti_errors
@require_GET
def cockpit_export(request: HttpRequest, chart: str) -> HttpResponse:
    """One chart's table as an .xlsx workbook."""
    if chart not in CHART_KEYS:
        raise NotFound(_("No such chart."))
    q = _query(request)
    figure = cockpit_figures(q, only=chart)[0]
    name = f"yiti-{chart}-{q.unit.code}-{q.start:%Y%m%d}-{q.end:%Y%m%d}.xlsx"
    response = HttpResponse(
        chart_xlsx(figure, q),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@yiti_errors
@require_GET
def records(request: HttpRequest, kind: str) -> HttpResponse:
    """The records behind one figure of the cockpit."""
    if kind not in RECORD_KINDS:
        raise NotFound(_("No such list."))
    q = _query(request)
    filters = RecordFilter.from_mapping(request.GET)
    page = paginate(
        cockpit_records(kind, q, filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    access = access_for(request.user)
    context = {
        "q": q,
        "kind": kind,
        "kind_label": RECORD_KINDS[kind],
        "filters": filters,
        "page": page,
        "total": cockpit_records(kind, q, filters).count(),
        "openable": None if access.is_admin else access.unit_ids,
        "back": q.querystring(),
    }
    return render_page_or_partial(
        request, "insights/cockpit_records.html", "insights/cockpit_records_rows.html", context
    )
