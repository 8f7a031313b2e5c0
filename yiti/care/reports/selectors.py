"""Reads of reports, already restricted to what the acting user may see (see ``rules``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from yiti.care.choices import QuestionTarget, TaskKind, TaskStatus
from yiti.care.reports.choices import ProblemType, ReportKind
from yiti.care.reports.models import ReportSnapshot
from yiti.care.reports.periods import local_tz
from yiti.care.reports.rules import can_read_company, snapshot_visible_q
from yiti.core.errors import NotFound
from yiti.org.access import access_for
from yiti.service.choices import ComplaintClass, TicketStatus

COMPANY = "company"


@dataclass(frozen=True)
class SnapshotFilters:
    """Shared by the list page and the API: ``kind``, ``unit`` (an id or ``"company"``)."""

    kind: str = ""
    unit: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> SnapshotFilters:
        kind = str(data.get("kind") or "")
        unit = str(data.get("unit") or "")
        return cls(
            kind=kind if kind in ReportKind.values else "",
            unit=unit if unit == COMPANY or unit.isdigit() else "",
        )


def snapshots_visible(user: Any) -> QuerySet[ReportSnapshot]:
    return ReportSnapshot.objects.filter(snapshot_visible_q(access_for(user)))


def snapshot_list(user: Any, filters: SnapshotFilters) -> QuerySet[ReportSnapshot]:
    """Newest periods first, without the (large) data column."""
    qs = snapshots_visible(user).select_related("unit").defer("data")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.unit == COMPANY:
        qs = qs.filter(unit__isnull=True)
    elif filters.unit:
        qs = qs.filter(unit_id=int(filters.unit))
    return qs


def snapshot_get_for(user: Any, snapshot_id: int) -> ReportSnapshot:
    snapshot = (
        snapshots_visible(user)
        .select_related("unit", "requested_by")
        .filter(pk=snapshot_id)
        .first()
    )
    if snapshot is None:
        raise NotFound(_("No such report, or it is not in your scope."), code="report_not_found")
    return snapshot


def company_reader(user: Any) -> bool:
    return can_read_company(access_for(user))


# --- presenting the stored data --------------------------------------------------------------


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _status_label(item: dict[str, Any]) -> str:
    if item["ref"] == "task":
        return _label(TaskStatus, item["status"])
    if item["ref"] == "response":
        return _("No complaint opened")
    return _label(TicketStatus, item["status"])


def _local(value: str | None) -> str:
    if not value:
        return ""
    return f"{datetime.fromisoformat(value).astimezone(local_tz()):%Y-%m-%d %H:%M}"


def _subject(item: dict[str, Any]) -> str:
    if item["type"] == ProblemType.UNREACHED:
        return _label(TaskKind, item["subject"])
    if item["type"] == ProblemType.COMPLAINT and item.get("detail"):
        return f"{item['subject']} ({_label(ComplaintClass, item['detail'])})"
    return str(item["subject"])


def problem_rows_for(user: Any, snapshot: ReportSnapshot) -> list[dict[str, Any]]:
    """The snapshot's problem customers that ``user`` may see, with display labels added."""
    unit_ids = access_for(user).unit_ids
    rows = []
    for row in snapshot.data.get("problems", []):
        if row["unit_id"] not in unit_ids:
            continue
        items = [
            {
                **item,
                "type_label": _label(ProblemType, item["type"]),
                "status_label": _status_label(item),
                "subject_label": _subject(item),
                "at_text": _local(item["at"]),
                "resolved_at_text": _local(item["resolved_at"]),
                "ref_label": (
                    _("Follow-up #%(id)s") if item["ref"] == "task" else _("Ticket #%(id)s")
                )
                % {"id": item["id"]}
                if item["ref"] != "response"
                else _("Survey #%(id)s") % {"id": item["id"]},
            }
            for item in row["items"]
        ]
        rows.append(
            {
                **row,
                "items": items,
                "type_labels": [_label(ProblemType, t) for t in row["types"]],
            }
        )
    return rows


def target_label(target: str) -> str:
    if target == "general":
        return str(QuestionTarget.GENERAL.label)
    return _label(QuestionTarget, target)


def class_label(value: str) -> str:
    return _label(ComplaintClass, value)


def trend_rows(data: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(measure, this period, previous period, change) for weekly and monthly reports."""
    if "trend" not in data:
        return []
    now, before, change = data["summary"], data["previous"]["summary"], data["trend"]
    spec = [
        ("care_reached", _("Care calls reached"), ("care", "reached")),
        ("responses", _("Survey responses"), ("surveys", "responses")),
        ("csat_average", _("CSAT average (1–5)"), ("csat", "average")),
        ("nps_score", _("NPS"), ("nps", "score")),
        ("complaints_opened", _("Complaints opened"), ("complaints", "opened_total")),
        ("sla_attainment", _("SLA attainment (%)"), ("sla", "attainment")),
    ]
    return [
        (label, now[group][key], before[group][key], change.get(name))
        for name, label, (group, key) in spec
    ]
