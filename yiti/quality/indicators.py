"""The nine indicators, counted set-based: one aggregate query per source, grouped by the unit
of the customer concerned, however many customers there are (the same attribution as the
satisfaction reports, so the two agree). Each indicator is a numerator and a denominator, both
additive, so a unit's numbers are the sums over its subtree and the value is derived from the
sums: ``value = scale × numerator / denominator``.

How each is counted, for a month ``[start, end)`` in local time:

- **SLA attainment** (%): tickets resolved in the month that had an SLA (state met or missed);
  met unless the resolution clock ran out at or before the resolution.
- **First-contact resolution** (%): contact tickets (not order processing) resolved in the
  month within 24 hours of opening, never waiting on the customer and never reopened.
- **Complaints per thousand customers**: complaints opened in the month × 1000 / the unit's
  active customers.
- **Repeat complaints within 30 days** (%): complaints opened in the month whose customer had
  complained in the 30 days before.
- **Care calls completed in time** (%): care calls due in the month (not cancelled) done by
  their due time — the rule's business days after the event.
- **CSAT**: the mean of the CSAT answers (1–5) submitted in the month.
- **NPS**: promoters (9–10) minus detractors (0–6), in % of the NPS answers of the month.
- **Average handling time** (hours): opening to resolution of contact tickets resolved in the
  month.
- **Reopen rate** (%): tickets resolved in the month that were reopened (on or after the
  month's first day).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
)

from yiti.care.choices import QuestionKind, TaskStatus
from yiti.care.models import CareTask, SurveyAnswer
from yiti.care.reports.choices import NPS_DETRACTOR_MAX, NPS_PROMOTER_MIN
from yiti.customers.choices import CustomerStatus
from yiti.customers.models import Customer
from yiti.org.models import OrgUnit
from yiti.quality.choices import IndicatorCode, Measure
from yiti.quality.periods import bounds, month_end
from yiti.service.choices import SlaState, TicketKind, TicketStatus
from yiti.service.models import Ticket, TicketEvent

C = IndicatorCode

FCR_WINDOW = timedelta(hours=24)
REPEAT_WINDOW = timedelta(days=30)
CONTACT_KINDS = (
    TicketKind.CONSULTATION,
    TicketKind.REPAIR,
    TicketKind.SERVICE_REQUEST,
    TicketKind.COMPLAINT,
)

SCALE: dict[str, float] = {
    Measure.PERCENT: 100.0,
    Measure.PER_THOUSAND: 1000.0,
    Measure.SCORE_5: 1.0,
    Measure.NPS: 100.0,
    Measure.HOURS: 1 / 3600,
}

MEASURE_OF: dict[str, str] = {
    C.SLA_ATTAINMENT: Measure.PERCENT,
    C.FIRST_CONTACT_RESOLUTION: Measure.PERCENT,
    C.COMPLAINT_RATE: Measure.PER_THOUSAND,
    C.REPEAT_COMPLAINTS: Measure.PERCENT,
    C.CARE_ON_TIME: Measure.PERCENT,
    C.CSAT: Measure.SCORE_5,
    C.NPS: Measure.NPS,
    C.HANDLING_TIME: Measure.HOURS,
    C.REOPEN_RATE: Measure.PERCENT,
}


@dataclass
class Ratio:
    """An additive numerator and denominator."""

    num: float = 0.0
    den: float = 0.0

    def add(self, other: Ratio) -> None:
        self.num += other.num
        self.den += other.den


Counts = dict[str, Ratio]  # indicator code -> ratio


def value_of(code: str, ratio: Ratio | None) -> float | None:
    """The indicator's value from its counts; None without a base (no tickets, no answers)."""
    if ratio is None or not ratio.den:
        return None
    return round(SCALE[MEASURE_OF[code]] * ratio.num / ratio.den, 2)


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000  # a duration summed as microseconds


def _rows(queryset: Any) -> list[dict[str, Any]]:
    """Aggregate rows as plain dicts (one shape for every GROUP BY below)."""
    return list(queryset)


def own_counts(month: date) -> dict[int, Counts]:
    """Each unit's own counts (customers whose unit it is) for the month: nine aggregates."""
    start, end = bounds(month, month_end(month))
    by_unit: dict[int, Counts] = defaultdict(lambda: defaultdict(Ratio))

    def put(unit_id: int | None, code: str, num: float, den: float) -> None:
        if unit_id is not None:
            ratio = by_unit[unit_id][code]
            ratio.num += num
            ratio.den += den

    resolved = Ticket.objects.filter(resolved_at__gte=start, resolved_at__lt=end)

    missed = Q(resolution_due_at__isnull=False, resolution_due_at__lte=F("resolved_at"))
    for row in _rows(
        resolved.filter(sla_state__in=[SlaState.MET, SlaState.MISSED])
        .values("customer__unit_id")
        .annotate(n=Count("id"), missed=Count("id", filter=missed))
    ):
        put(row["customer__unit_id"], C.SLA_ATTAINMENT, row["n"] - row["missed"], row["n"])

    waited_or_reopened = TicketEvent.objects.filter(
        ticket_id=OuterRef("pk"),
        to_status__in=[TicketStatus.WAITING_CUSTOMER, TicketStatus.REOPENED],
    )
    handled = ExpressionWrapper(F("resolved_at") - F("opened_at"), output_field=DurationField())
    contact = (
        resolved.filter(kind__in=CONTACT_KINDS)
        .annotate(detour=Exists(waited_or_reopened), took=handled)
        .values("customer__unit_id")
        .annotate(
            n=Count("id"),
            first=Count("id", filter=Q(detour=False, took__lte=FCR_WINDOW)),
            total=Sum("took"),
        )
    )
    for row in _rows(contact):
        put(row["customer__unit_id"], C.FIRST_CONTACT_RESOLUTION, row["first"], row["n"])
        put(row["customer__unit_id"], C.HANDLING_TIME, _seconds(row["total"]), row["n"])

    reopened = TicketEvent.objects.filter(
        ticket_id=OuterRef("pk"), to_status=TicketStatus.REOPENED, at__gte=start
    )
    for row in _rows(
        resolved.annotate(again=Exists(reopened))
        .values("customer__unit_id")
        .annotate(n=Count("id"), again_n=Count("id", filter=Q(again=True)))
    ):
        put(row["customer__unit_id"], C.REOPEN_RATE, row["again_n"], row["n"])

    complaints = Ticket.objects.filter(kind=TicketKind.COMPLAINT)
    earlier = complaints.filter(
        customer_id=OuterRef("customer_id"),
        opened_at__lt=OuterRef("opened_at"),
        opened_at__gte=OuterRef("opened_at") - REPEAT_WINDOW,
    )
    opened_complaints: dict[int, int] = {}
    for row in _rows(
        complaints.filter(opened_at__gte=start, opened_at__lt=end)
        .annotate(repeat=Exists(earlier))
        .values("customer__unit_id")
        .annotate(n=Count("id"), repeat_n=Count("id", filter=Q(repeat=True)))
    ):
        put(row["customer__unit_id"], C.REPEAT_COMPLAINTS, row["repeat_n"], row["n"])
        opened_complaints[row["customer__unit_id"]] = row["n"]

    for row in _rows(
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .values("unit_id")
        .annotate(n=Count("id"))
    ):
        put(row["unit_id"], C.COMPLAINT_RATE, opened_complaints.get(row["unit_id"], 0), row["n"])

    on_time = Q(status=TaskStatus.DONE, completed_at__isnull=False, completed_at__lte=F("due_at"))
    for row in _rows(
        CareTask.objects.filter(due_at__gte=start, due_at__lt=end)
        .exclude(status=TaskStatus.CANCELLED)
        .values("customer__unit_id")
        .annotate(n=Count("id"), done=Count("id", filter=on_time))
    ):
        put(row["customer__unit_id"], C.CARE_ON_TIME, row["done"], row["n"])

    scored = SurveyAnswer.objects.filter(
        response__submitted_at__gte=start, response__submitted_at__lt=end, score__isnull=False
    )
    for row in _rows(
        scored.filter(question__kind=QuestionKind.CSAT)
        .values("response__customer__unit_id")
        .annotate(n=Count("id"), total=Sum("score"))
    ):
        put(row["response__customer__unit_id"], C.CSAT, row["total"] or 0, row["n"])
    for row in _rows(
        scored.filter(question__kind=QuestionKind.NPS)
        .values("response__customer__unit_id")
        .annotate(
            n=Count("id"),
            promoters=Count("id", filter=Q(score__gte=NPS_PROMOTER_MIN)),
            detractors=Count("id", filter=Q(score__lte=NPS_DETRACTOR_MAX)),
        )
    ):
        put(
            row["response__customer__unit_id"],
            C.NPS,
            row["promoters"] - row["detractors"],
            row["n"],
        )
    return {unit_id: dict(counts) for unit_id, counts in by_unit.items()}


def rolled_up(own: dict[int, Counts], units: list[OrgUnit]) -> dict[int, Counts]:
    """Each unit's counts over its subtree (its own plus every unit below it)."""
    by_path = {u.path: u.pk for u in units}
    total: dict[int, Counts] = {u.pk: defaultdict(Ratio) for u in units}
    for unit in units:
        counts = own.get(unit.pk)
        if not counts:
            continue
        # the unit and each ancestor: the ids in its materialised path
        for ancestor_id in _path_ids(unit.path, by_path):
            for code, ratio in counts.items():
                total[ancestor_id][code].add(ratio)
    return {unit_id: dict(counts) for unit_id, counts in total.items()}


def _path_ids(path: str, by_path: dict[str, int]) -> list[int]:
    parts = [p for p in path.split("/") if p]
    ids = []
    for i in range(1, len(parts) + 1):
        unit_id = by_path.get("/" + "/".join(parts[:i]) + "/")
        if unit_id is not None:
            ids.append(unit_id)
    return ids
