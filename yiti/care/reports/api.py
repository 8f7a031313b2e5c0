"""API endpoints for the satisfaction reports (to be mounted at /api/v1/reports).

Thin: the same selectors and rules as the web pages. A report's problem customers are those
in the caller's scope; phones are masked as stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from yiti.care.reports import selectors, services
from yiti.care.reports.choices import ReportKind
from yiti.care.reports.models import ReportSnapshot
from yiti.core.pagination import MAX_PAGE_SIZE, paginate

router = Router(tags=["reports"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class ReportSnapshotOut(Schema):
    id: int
    kind: str
    period_start: date
    period_end: date
    unit_id: int | None
    unit_name: str | None
    status: str
    generated_at: datetime | None
    error: str

    @classmethod
    def of(cls, s: ReportSnapshot) -> ReportSnapshotOut:
        return cls(
            id=s.pk,
            kind=s.kind,
            period_start=s.period_start,
            period_end=s.period_end,
            unit_id=s.unit_id,
            unit_name=s.unit.name if s.unit else None,
            status=s.status,
            generated_at=s.generated_at,
            error=s.error,
        )


class SnapshotDetail(ReportSnapshotOut):
    summary: dict[str, Any] | None
    by_unit: list[dict[str, Any]]
    previous: dict[str, Any] | None
    trend: dict[str, Any] | None
    problems: list[dict[str, Any]]
    problems_truncated: bool


class SnapshotPage(Schema):
    items: list[ReportSnapshotOut]
    page: int
    page_size: int
    has_next: bool


class SnapshotQuery(Schema):
    kind: ReportKind | None = None
    unit: str = Field("", description='a unit id, or "company" for the company reports')
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class GenerateIn(Schema):
    kind: ReportKind
    slot: datetime | None = Field(
        None, description="Generate the period before this instant (default: now)."
    )


_PROBLEM_FIELDS = (
    "customer_id",
    "name",
    "phone",
    "unit_id",
    "unit",
    "owner",
    "types",
    "resolved",
)
_ITEM_FIELDS = ("type", "ref", "id", "at", "subject", "status", "resolution", "resolved_at")


@router.get("/snapshots", response=SnapshotPage, summary="Report snapshots in scope")
def snapshots_list(request: HttpRequest, query: Query[SnapshotQuery]) -> SnapshotPage:
    filters = selectors.SnapshotFilters.from_mapping(
        {"kind": query.kind.value if query.kind else "", "unit": query.unit}
    )
    page = paginate(
        selectors.snapshot_list(_user(request), filters), page=query.page, size=query.page_size
    )
    return SnapshotPage(
        items=[ReportSnapshotOut.of(s) for s in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.get("/snapshots/{snapshot_id}", response=SnapshotDetail, summary="One report")
def snapshots_get(request: HttpRequest, snapshot_id: int) -> SnapshotDetail:
    user = _user(request)
    snapshot = selectors.snapshot_get_for(user, snapshot_id)
    data = snapshot.data or {}
    rows = selectors.problem_rows_for(user, snapshot) if "summary" in data else []
    return SnapshotDetail(
        **ReportSnapshotOut.of(snapshot).model_dump(),
        summary=data.get("summary"),
        by_unit=data.get("by_unit", []),
        previous=data.get("previous"),
        trend=data.get("trend"),
        problems=[
            {
                **{k: row[k] for k in _PROBLEM_FIELDS},
                "items": [{k: item[k] for k in _ITEM_FIELDS} for item in row["items"]],
            }
            for row in rows
        ],
        problems_truncated=bool(data.get("problems_truncated")),
    )


@router.post(
    "/generate",
    response={202: ReportSnapshotOut},
    summary="Generate a report now (admins and region managers); poll the company snapshot",
)
def generate(request: HttpRequest, payload: GenerateIn) -> Status[ReportSnapshotOut]:
    snapshot = services.report_generation_request(
        actor=_user(request), kind=payload.kind.value, slot=payload.slot
    )
    snapshot.refresh_from_db()
    return Status(202, ReportSnapshotOut.of(snapshot))
