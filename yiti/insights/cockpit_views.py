"""The management cockpit pages: the charts, each chart's XLSX, and the records behind a point."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.insights.cockpit import (
    CHART_KEYS,
    COCKPIT_ROLES,
    PERIODS,
    CockpitQuery,
    cockpit_figures,
    cockpit_query,
    cockpit_units,
)
from yiti.insights.cockpit_export import chart_xlsx
from yiti.insights.cockpit_records import RECORD_KINDS, RecordFilter, cockpit_records
from yiti.insights.cockpit_reports import (
    cockpit_subscription_save,
    report_deliveries,
    reports_visible,
)
from yiti.insights.models import RollupWatermark
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import OrgUnit


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


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def reports(request: HttpRequest) -> HttpResponse:
    """/insights/reports/: who receives which unit's cockpit report, and each report's e-mails
    (sent, waiting for a retry with the last error, given up). Administrators and region
    managers subscribe a role of a unit they manage."""
    access = access_for(request.user)
    if not (access.is_admin or access.managed_unit_ids):
        raise PermissionDenied(_("Only administrators and region managers manage reports."))
    error = ""
    if request.method == "POST":
        unit = OrgUnit.objects.filter(pk=request.POST.get("unit") or 0).first()
        if unit is None:
            raise NotFound(_("Unit not found."))
        try:
            cockpit_subscription_save(
                actor=request.user,
                unit=unit,
                role=request.POST.get("role", ""),
                cadence=request.POST.get("cadence", ""),
                active=request.POST.get("active", "1") == "1",
            )
        except ValidationFailed as exc:
            error = exc.message
        else:
            return redirect("insights:cockpit_reports")
    subscriptions, recent = reports_visible(request.user)
    units = OrgUnit.objects.filter(active=True).order_by("path")
    if not access.is_admin:
        units = units.filter(pk__in=access.managed_unit_ids)
    context = {
        "subscriptions": subscriptions,
        "reports": [(r, report_deliveries(r)) for r in recent],
        "units": units,
        "roles": [(role, label) for role, label in Role.choices if role in COCKPIT_ROLES],
        "error": error,
    }
    return render(request, "insights/cockpit_reports.html", context)
