"""The numbers of a report, computed set-based: a fixed number of aggregate queries per period
(GROUP BY the customer's unit, the complaint class, the score), however many customers there are.

Everything is attributed to the unit of the customer concerned, so a unit's report covers the
customers of that unit and the units below it, the same scope its people see in the app.
Each unit's own counts are tallied first (:class:`Tally`, additive); a unit's report adds up
the tallies of its subtree and derives the averages and percentages from the sums.

Problem customers (seed 003: "每天回访中有问题的客户 … 表中单独记录有问题的客户及解决情况"):
open complaints, SLA breaches, dissatisfied answers (CSAT at or below the survey's threshold)
and unreached follow-ups (escalated, or every attempt used without reaching the customer). A
weekly or monthly report lists the problems that arose in the period; the daily list also
carries the complaints and breached tickets opened earlier that were still open that day. Each row shows the
state and resolution at generation time ("解决情况"). Phones are masked before they are stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q

from yiti.care.choices import AttemptOutcome, QuestionKind, TaskStatus
from yiti.care.models import CareAttempt, CareTask, SurveyAnswer, SurveyResponse
from yiti.care.reports.choices import NPS_DETRACTOR_MAX, NPS_PROMOTER_MIN, ProblemType, ReportKind
from yiti.care.reports.periods import Period
from yiti.core.masking import mask_phone
from yiti.org.models import OrgUnit
from yiti.service.choices import OPEN_STATUSES, SlaState, TicketKind, TicketStatus
from yiti.service.models import Ticket

SOURCE_LIMIT = 5000  # problem items read per source and period; more sets ``problems_truncated``
RESOLUTION_CHARS = 300
DONE_TICKET = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
DONE_TASK = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})


# --- tallies ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """Additive counts of one unit's customers (or of a subtree, once added up)."""

    care_attempts: int = 0
    care_reached: int = 0
    responses: int = 0
    dissatisfied: int = 0
    csat: Counter[int] = field(default_factory=Counter)  # score -> answers
    csat_target: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    nps: Counter[int] = field(default_factory=Counter)
    opened: Counter[str] = field(default_factory=Counter)  # complaint class -> complaints
    resolved: Counter[str] = field(default_factory=Counter)
    sla_met: int = 0
    sla_missed: int = 0

    def add(self, other: Tally) -> None:
        self.care_attempts += other.care_attempts
        self.care_reached += other.care_reached
        self.responses += other.responses
        self.dissatisfied += other.dissatisfied
        self.csat.update(other.csat)
        for target, dist in other.csat_target.items():
            self.csat_target[target].update(dist)
        self.nps.update(other.nps)
        self.opened.update(other.opened)
        self.resolved.update(other.resolved)
        self.sla_met += other.sla_met
        self.sla_missed += other.sla_missed

    @property
    def empty(self) -> bool:
        return not (
            self.care_attempts
            or self.responses
            or self.csat
            or self.nps
            or self.opened
            or self.resolved
            or self.sla_met
            or self.sla_missed
        )


def _average(dist: Counter[int]) -> float | None:
    count = sum(dist.values())
    if not count:
        return None
    return round(sum(score * n for score, n in dist.items()) / count, 2)


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def summarise(tally: Tally) -> dict[str, Any]:
    """The measures shown and exported, derived from the counts (JSON-ready)."""
    nps_count = sum(tally.nps.values())
    promoters = sum(n for s, n in tally.nps.items() if s >= NPS_PROMOTER_MIN)
    detractors = sum(n for s, n in tally.nps.items() if s <= NPS_DETRACTOR_MAX)
    sla_total = tally.sla_met + tally.sla_missed
    return {
        "care": {
            "attempts": tally.care_attempts,
            "reached": tally.care_reached,
            "reach_rate": _percent(tally.care_reached, tally.care_attempts),
        },
        "surveys": {"responses": tally.responses, "dissatisfied": tally.dissatisfied},
        "csat": {
            "count": sum(tally.csat.values()),
            "average": _average(tally.csat),
            "distribution": {str(s): tally.csat.get(s, 0) for s in range(1, 6)},
            "by_target": {
                target: {"count": sum(dist.values()), "average": _average(dist)}
                for target, dist in sorted(tally.csat_target.items())
                if dist
            },
        },
        "nps": {
            "count": nps_count,
            "promoters": promoters,
            "passives": nps_count - promoters - detractors,
            "detractors": detractors,
            "score": round((promoters - detractors) * 100 / nps_count, 1) if nps_count else None,
        },
        "complaints": {
            "opened": dict(sorted(tally.opened.items())),
            "resolved": dict(sorted(tally.resolved.items())),
            "opened_total": sum(tally.opened.values()),
            "resolved_total": sum(tally.resolved.values()),
        },
        "sla": {
            "met": tally.sla_met,
            "missed": tally.sla_missed,
            "total": sla_total,
            "attainment": _percent(tally.sla_met, sla_total),
        },
    }


def _delta(current: float | int | None, previous: float | int | None) -> float | None:
    if current is None or previous is None:
        return None
    return round(current - previous, 2)


def trend(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    """Change against the previous period (this minus that) of the headline measures."""
    pairs = {
        "care_reached": ("care", "reached"),
        "responses": ("surveys", "responses"),
        "csat_average": ("csat", "average"),
        "nps_score": ("nps", "score"),
        "complaints_opened": ("complaints", "opened_total"),
        "sla_attainment": ("sla", "attainment"),
    }
    return {
        name: _delta(current[group][key], previous[group][key])
        for name, (group, key) in pairs.items()
    }


def _rows(queryset: Any) -> list[dict[str, Any]]:
    """Aggregate rows as plain dicts (one shape for every GROUP BY below)."""
    return list(queryset)


def tallies(period: Period) -> dict[int, Tally]:
    """Each unit's own counts for ``period``: seven aggregate queries."""
    start, end = period.bounds
    by_unit: dict[int, Tally] = defaultdict(Tally)

    attempts = (
        CareAttempt.objects.filter(at__gte=start, at__lt=end)
        .values("task__customer__unit_id")
        .annotate(n=Count("id"), reached=Count("id", filter=Q(outcome=AttemptOutcome.REACHED)))
    )
    for row in _rows(attempts):
        tally = by_unit[row["task__customer__unit_id"]]
        tally.care_attempts += row["n"]
        tally.care_reached += row["reached"]

    responses = (
        SurveyResponse.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
        .values("customer__unit_id")
        .annotate(n=Count("id"), unhappy=Count("id", filter=Q(dissatisfied=True)))
    )
    for row in _rows(responses):
        tally = by_unit[row["customer__unit_id"]]
        tally.responses += row["n"]
        tally.dissatisfied += row["unhappy"]

    scored = SurveyAnswer.objects.filter(
        response__submitted_at__gte=start, response__submitted_at__lt=end, score__isnull=False
    )
    csat = (
        scored.filter(question__kind=QuestionKind.CSAT)
        .values("response__customer__unit_id", "question__target", "score")
        .annotate(n=Count("id"))
    )
    for row in _rows(csat):
        tally = by_unit[row["response__customer__unit_id"]]
        tally.csat[row["score"]] += row["n"]
        tally.csat_target[row["question__target"] or "general"][row["score"]] += row["n"]
    nps = (
        scored.filter(question__kind=QuestionKind.NPS)
        .values("response__customer__unit_id", "score")
        .annotate(n=Count("id"))
    )
    for row in _rows(nps):
        by_unit[row["response__customer__unit_id"]].nps[row["score"]] += row["n"]

    complaints = Ticket.objects.filter(kind=TicketKind.COMPLAINT)
    opened = (
        complaints.filter(opened_at__gte=start, opened_at__lt=end)
        .values("customer__unit_id", "complaint_class")
        .annotate(n=Count("id"))
    )
    for row in _rows(opened):
        by_unit[row["customer__unit_id"]].opened[row["complaint_class"]] += row["n"]
    resolved = (
        complaints.filter(resolved_at__gte=start, resolved_at__lt=end)
        .values("customer__unit_id", "complaint_class")
        .annotate(n=Count("id"))
    )
    for row in _rows(resolved):
        by_unit[row["customer__unit_id"]].resolved[row["complaint_class"]] += row["n"]

    # The resolution clock of a resolved ticket: missed when it ran out at or before the
    # resolution (the SLA clock then stores the breach instant as ``resolution_due_at``);
    # only tickets that had an SLA (state met or missed) count.
    missed_q = Q(resolution_due_at__isnull=False, resolution_due_at__lte=F("resolved_at"))
    sla = (
        Ticket.objects.filter(
            resolved_at__gte=start,
            resolved_at__lt=end,
            sla_state__in=[SlaState.MET, SlaState.MISSED],
        )
        .values("customer__unit_id")
        .annotate(n=Count("id"), missed=Count("id", filter=missed_q))
    )
    for row in _rows(sla):
        tally = by_unit[row["customer__unit_id"]]
        tally.sla_missed += row["missed"]
        tally.sla_met += row["n"] - row["missed"]
    return dict(by_unit)


# --- problem customers -----------------------------------------------------------------------


def _owner_name(row: dict[str, Any], prefix: str) -> str:
    display = row.get(f"{prefix}display_name") or ""
    full = f"{row.get(f'{prefix}first_name') or ''} {row.get(f'{prefix}last_name') or ''}".strip()
    return display or full or row.get(f"{prefix}username") or ""


def _customer_fields(prefix: str) -> list[str]:
    owner = f"{prefix}owner__"
    return [
        f"{prefix}id",
        f"{prefix}name",
        f"{prefix}primary_phone",
        f"{prefix}unit_id",
        f"{owner}display_name",
        f"{owner}first_name",
        f"{owner}last_name",
        f"{owner}username",
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class Problems:
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False

    def add(self, row: dict[str, Any], prefix: str, item: dict[str, Any]) -> None:
        customer_id = row[f"{prefix}id"]
        entry = self.customers.get(customer_id)
        if entry is None:
            entry = self.customers[customer_id] = {
                "customer_id": customer_id,
                "name": row[f"{prefix}name"],
                "phone": mask_phone(row[f"{prefix}primary_phone"] or ""),
                "unit_id": row[f"{prefix}unit_id"],
                "owner": _owner_name(row, f"{prefix}owner__"),
                "items": [],
            }
        entry["items"].append(item)

    def rows(self, unit_names: dict[int, str]) -> list[dict[str, Any]]:
        out = []
        for entry in self.customers.values():
            items = sorted(entry["items"], key=lambda i: (i["at"] or "", i["ref"], i["id"]))
            out.append(
                {
                    **entry,
                    "unit": unit_names.get(entry["unit_id"], ""),
                    "items": items,
                    "types": sorted({i["type"] for i in items}),
                    "resolved": all(i["resolved"] for i in items),
                }
            )
        out.sort(key=lambda r: (r["resolved"], r["unit"], r["name"], r["customer_id"]))
        return out

    def check_limit(self, rows: list[Any]) -> list[Any]:
        if len(rows) > SOURCE_LIMIT:
            self.truncated = True
            return rows[:SOURCE_LIMIT]
        return rows


def _ticket_item(kind: str, row: dict[str, Any], at: datetime | None) -> dict[str, Any]:
    return {
        "type": kind,
        "ref": "ticket",
        "id": row["id"],
        "at": _iso(at),
        "subject": row["subject"],
        "detail": row["complaint_class"],
        "status": row["status"],
        "resolution": (row["resolution"] or "")[:RESOLUTION_CHARS],
        "resolved_at": _iso(row["resolved_at"]),
        "resolved": row["status"] in DONE_TICKET,
    }


def problems(period: Period) -> Problems:
    """The problem customers of ``period``: four queries, one per kind of problem."""
    start, end = period.bounds
    carry_open = period.kind == ReportKind.DAILY
    found = Problems()
    ticket_fields = [
        "id",
        "subject",
        "complaint_class",
        "status",
        "resolution",
        "resolved_at",
        "opened_at",
        "sla_breached_at",
        *_customer_fields("customer__"),
    ]
    # open at some moment of the period: not resolved before it started (a ticket closed
    # without a resolution was withdrawn, not open)
    open_during = Q(resolved_at__gte=start) | Q(resolved_at__isnull=True, status__in=OPEN_STATUSES)

    arose = Q(opened_at__gte=start, opened_at__lt=end)
    if carry_open:
        arose |= Q(opened_at__lt=start) & open_during
    complaints = found.check_limit(
        list(
            Ticket.objects.filter(arose, kind=TicketKind.COMPLAINT)
            .order_by("-opened_at", "-id")
            .values(*ticket_fields)[: SOURCE_LIMIT + 1]
        )
    )
    for row in complaints:
        found.add(row, "customer__", _ticket_item(ProblemType.COMPLAINT, row, row["opened_at"]))

    breached = Q(sla_breached_at__gte=start, sla_breached_at__lt=end)
    if carry_open:
        breached |= Q(sla_breached_at__lt=start) & open_during
    breaches = found.check_limit(
        list(
            Ticket.objects.filter(breached, sla_breached_at__isnull=False)
            .order_by("-sla_breached_at", "-id")
            .values(*ticket_fields)[: SOURCE_LIMIT + 1]
        )
    )
    for row in breaches:
        found.add(
            row, "customer__", _ticket_item(ProblemType.SLA_BREACH, row, row["sla_breached_at"])
        )

    unhappy = found.check_limit(
        list(
            SurveyAnswer.objects.filter(
                response__submitted_at__gte=start,
                response__submitted_at__lt=end,
                question__kind=QuestionKind.CSAT,
                score__lte=F("question__template__dissatisfied_at_or_below"),
            )
            .order_by("-response__submitted_at", "response_id", "id")
            .values(
                "id",
                "score",
                "question__text",
                "response_id",
                "response__submitted_at",
                "response__task_id",
                "response__complaint_ticket_id",
                "response__complaint_ticket__status",
                "response__complaint_ticket__resolution",
                "response__complaint_ticket__resolved_at",
                *_customer_fields("response__customer__"),
            )[: SOURCE_LIMIT + 1]
        )
    )
    worst_of: dict[int, dict[str, Any]] = {}
    for row in unhappy:  # one item per response, named after its worst answer
        known = worst_of.get(row["response_id"])
        if known is None or row["score"] < known["score"]:
            worst_of[row["response_id"]] = row
    for worst in worst_of.values():
        complaint_id = worst["response__complaint_ticket_id"]
        complaint_status = worst["response__complaint_ticket__status"] or ""
        found.add(
            worst,
            "response__customer__",
            {
                "type": ProblemType.DISSATISFIED,
                "ref": "ticket" if complaint_id else "response",
                "id": complaint_id or worst["response_id"],
                "at": _iso(worst["response__submitted_at"]),
                "subject": f"{worst['question__text']}: {worst['score']}/5",
                "detail": str(worst["score"]),
                "status": complaint_status,
                "resolution": (worst["response__complaint_ticket__resolution"] or "")[
                    :RESOLUTION_CHARS
                ],
                "resolved_at": _iso(worst["response__complaint_ticket__resolved_at"]),
                "resolved": complaint_status in DONE_TICKET,
            },
        )

    unreached_q = Q(status=TaskStatus.ESCALATED, escalated_at__gte=start, escalated_at__lt=end) | Q(
        status=TaskStatus.OPEN,
        attempts__gte=F("rule__max_attempts"),
        last_attempt_at__gte=start,
        last_attempt_at__lt=end,
    )
    tasks = found.check_limit(
        list(
            CareTask.objects.filter(unreached_q)
            .order_by("-last_attempt_at", "-id")
            .values(
                "id",
                "kind",
                "status",
                "attempts",
                "outcome",
                "escalated_at",
                "last_attempt_at",
                "ticket_id",
                *_customer_fields("customer__"),
            )[: SOURCE_LIMIT + 1]
        )
    )
    for row in tasks:
        found.add(
            row,
            "customer__",
            {
                "type": ProblemType.UNREACHED,
                "ref": "task",
                "id": row["id"],
                "at": _iso(row["escalated_at"] or row["last_attempt_at"]),
                "subject": row["kind"],
                "detail": f"{row['attempts']} × {row['outcome']}",
                "status": row["status"],
                "resolution": "",
                "resolved_at": None,
                "resolved": row["status"] in DONE_TASK,
            },
        )
    return found


# --- putting a report together ---------------------------------------------------------------


def ancestors(unit: OrgUnit | dict[str, Any]) -> list[int]:
    """The ids on a unit's materialised path (``/1/4/17/`` -> ``[1, 4, 17]``), itself last."""
    path = unit["path"] if isinstance(unit, dict) else unit.path
    return [int(part) for part in path.strip("/").split("/") if part]


@dataclass
class Computed:
    period: Period
    previous: Period | None
    units: dict[int, dict[str, Any]]  # id -> {id, name, path, depth, kind, parent_id}
    own: dict[int, Tally]
    own_previous: dict[int, Tally]
    problem_rows: list[dict[str, Any]]
    problems_truncated: bool

    def subtree_ids(self, unit_id: int | None) -> set[int]:
        if unit_id is None:
            return set(self.units)
        return {uid for uid, u in self.units.items() if unit_id in ancestors(u)}

    def active_unit_ids(self) -> set[int]:
        """Units whose subtree has anything to report."""
        active: set[int] = set()
        sources: Iterable[int] = [
            *(uid for uid, t in self.own.items() if not t.empty),
            *(row["unit_id"] for row in self.problem_rows),
        ]
        for uid in sources:
            unit = self.units.get(uid)
            if unit is not None:
                active.update(ancestors(unit))
        return active

    def data_for(self, unit_id: int | None) -> dict[str, Any]:
        ids = self.subtree_ids(unit_id)
        total, previous = Tally(), Tally()
        for uid in ids:
            if uid in self.own:
                total.add(self.own[uid])
            if uid in self.own_previous:
                previous.add(self.own_previous[uid])
        rows = [r for r in self.problem_rows if r["unit_id"] in ids]
        problem_units = Counter(r["unit_id"] for r in rows)
        base_depth = self.units[unit_id]["depth"] if unit_id is not None else 0
        by_unit = []
        for uid in sorted(ids, key=lambda i: self.units[i]["path"]):
            tally = self.own.get(uid)
            if (tally is None or tally.empty) and not problem_units.get(uid):
                continue
            unit = self.units[uid]
            by_unit.append(
                {
                    "unit_id": uid,
                    "unit": unit["name"],
                    "depth": max(0, unit["depth"] - base_depth),
                    "problem_customers": problem_units.get(uid, 0),
                    **summarise(tally or Tally()),
                }
            )
        summary = summarise(total)
        summary["problem_customers"] = len(rows)
        summary["problems_by_type"] = {
            kind: sum(1 for r in rows if kind in r["types"]) for kind in ProblemType.values
        }
        summary["problems_unresolved"] = sum(1 for r in rows if not r["resolved"])
        data: dict[str, Any] = {
            "version": 1,
            "kind": self.period.kind,
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "unit": (
                {"id": unit_id, "name": self.units[unit_id]["name"]}
                if unit_id is not None
                else None
            ),
            "summary": summary,
            "by_unit": by_unit,
            "problems": rows,
            "problems_truncated": self.problems_truncated,
        }
        if self.previous is not None:
            previous_summary = summarise(previous)
            data["previous"] = {
                "period": {
                    "start": self.previous.start.isoformat(),
                    "end": self.previous.end.isoformat(),
                },
                "summary": previous_summary,
            }
            data["trend"] = trend(summary, previous_summary)
        return data


def compute(period: Period) -> Computed:
    """Everything a period's reports need, for the company and every unit, in fixed queries."""
    units: dict[int, dict[str, Any]] = {
        u["id"]: dict(u)
        for u in OrgUnit.objects.values("id", "name", "path", "depth", "kind", "parent_id")
    }
    own = tallies(period)
    previous = period.previous() if period.kind != ReportKind.DAILY else None
    own_previous = tallies(previous) if previous is not None else {}
    found = problems(period)
    names = {uid: str(u["name"]) for uid, u in units.items()}
    return Computed(
        period=period,
        previous=previous,
        units=units,
        own=own,
        own_previous=own_previous,
        problem_rows=found.rows(names),
        problems_truncated=found.truncated,
    )
