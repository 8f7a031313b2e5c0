"""The cockpit's figures over the API (mounted at /api/v1/insights/): the same charts, tables
and scope as the /insights/ page, as JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from yiti.core.errors import NotFound
from yiti.insights.cockpit import CHART_KEYS, Chart, CockpitQuery, cockpit_figures, cockpit_query

router = Router(tags=["insights"])


class CockpitParams(Schema):
    unit: int | None = None
    start: date | None = None
    end: date | None = None
    days: int | None = None


class SeriesOut(Schema):
    key: str
    name: str
    type: str
    values: list[float | int | None]


class ChartOut(Schema):
    key: str
    title: str
    note: str
    categories: list[str]
    series: list[SeriesOut]
    columns: list[str]
    rows: list[list[Any]]

    @classmethod
    def of(cls, chart: Chart) -> ChartOut:
        columns, rows = chart.table()
        return cls(
            key=chart.key,
            title=chart.title,
            note=chart.note,
            categories=chart.categories,
            series=[
                SeriesOut(key=s.key, name=s.name, type=s.kind, values=list(s.values))
                for s in chart.series
            ],
            columns=columns,
            rows=rows,
        )


class UnitOut(Schema):
    id: int
    name: str


class CockpitOut(Schema):
    unit: UnitOut
    start: date
    end: date
    grain: str
    charts: list[ChartOut]


def _query(request: HttpRequest, params: CockpitParams) -> CockpitQuery:
    return cockpit_query(
        request.auth,  # type: ignore[attr-defined]
        unit_id=params.unit,
        start=params.start.isoformat() if params.start else None,
        end=params.end.isoformat() if params.end else None,
        days=params.days,
    )


def _out(q: CockpitQuery, charts: list[Chart]) -> CockpitOut:
    return CockpitOut(
        unit=UnitOut(id=q.unit.pk, name=q.unit.name),
        start=q.start,
        end=q.end,
        grain=q.grain,
        charts=[ChartOut.of(c) for c in charts],
    )


@router.get("/cockpit", response=CockpitOut, summary="Every cockpit chart for a unit and period")
def cockpit_get(request: HttpRequest, params: Query[CockpitParams]) -> CockpitOut:
    """Region managers see their subtrees; analysts and administrators every unit. The
    default unit is the top of the caller's scope, the default period the last 30 days."""
    q = _query(request, params)
    return _out(q, cockpit_figures(q))


@router.get(
    "/cockpit/{chart}", response=CockpitOut, summary="One cockpit chart for a unit and period"
)
def cockpit_chart_get(request: HttpRequest, chart: str, params: Query[CockpitParams]) -> CockpitOut:
    if chart not in CHART_KEYS:
        raise NotFound(_("No such chart."))
    q = _query(request, params)
    return _out(q, cockpit_figures(q, only=chart))


class DeliveryOut(Schema):
    to: str
    status: str
    attempts: int
    last_error: str


class ReportOut(Schema):
    id: int
    unit: UnitOut
    role: str
    cadence: str
    period_start: date
    period_end: date
    figures: dict[str, str]
    deliveries: list[DeliveryOut]


@router.get(
    "/reports", response=list[ReportOut], summary="Cockpit reports written and their e-mails"
)
def reports_list(request: HttpRequest) -> list[ReportOut]:
    """The latest reports of the units the caller manages (all for administrators), each with
    the state of its e-mails (sent, pending a retry with the last error, given up)."""
    from yiti.insights.cockpit_reports import report_deliveries, reports_visible

    _subs, reports = reports_visible(request.auth)  # type: ignore[attr-defined]
    out = []
    for report in reports:
        sub = report.subscription
        out.append(
            ReportOut(
                id=report.pk,
                unit=UnitOut(id=sub.unit_id, name=sub.unit.name),
                role=sub.role,
                cadence=sub.cadence,
                period_start=report.period_start,
                period_end=report.period_end,
                figures={code: str(pair[1]) for code, pair in (report.figures or {}).items()},
                deliveries=[
                    DeliveryOut(
                        to=d.to, status=d.status, attempts=d.attempts, last_error=d.last_error
                    )
                    for d in report_deliveries(report)
                ],
            )
        )
    return out
