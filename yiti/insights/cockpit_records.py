"""The records behind a cockpit figure: each drill-down is the same predicate the rollup
counted (the customer's unit in the chosen subtree and the user's scope, the local day the row
counts on, the kind and measure), so a list always holds exactly the number it was opened from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.campaigns.models import Campaign
from yiti.care.models import CareTask, SurveyAnswer
from yiti.core.errors import NotFound
from yiti.decisions.models import TierChange
from yiti.engagement.models import Interaction
from yiti.insights.cockpit import CockpitQuery
from yiti.insights.sql import PRESSURE_TOP, day_start
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket

RECORD_KINDS = {
    "tickets": gettext_lazy("Tickets"),
    "care": gettext_lazy("Care calls"),
    "responses": gettext_lazy("Survey answers"),
    "contacts": gettext_lazy("Customer-weeks"),
    "tiers": gettext_lazy("Tier changes"),
}
BREACHED_Q = Q(sla_breached_at__isnull=False) | Q(sla_state__in=("breached", "missed"))


@dataclass(frozen=True)
class RecordFilter:
    """What a drill-down asked for, beyond the unit and period of ``CockpitQuery``."""

    kind: str = ""
    complaint_class: str = ""
    campaign: str = ""  # an id, or "none" for complaints about no (known) campaign
    measure: str = ""
    line: str = ""
    qkind: str = ""
    contacts: int | None = None
    from_tier: str = ""
    to_tier: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> RecordFilter:
        try:
            contacts = int(data.get("contacts")) if data.get("contacts") else None
        except (TypeError, ValueError):
            contacts = None
        return cls(
            kind=str(data.get("kind") or "")[:24],
            complaint_class=str(data.get("complaint_class") or "")[:16],
            campaign=str(data.get("campaign") or "")[:20],
            measure=str(data.get("measure") or "")[:16],
            line=str(data.get("line") or "")[:10],
            qkind=str(data.get("qkind") or "")[:8],
            contacts=contacts,
            from_tier=str(data.get("from_tier") or "")[:10],
            to_tier=str(data.get("to_tier") or "")[:10],
        )


def _customer_scope(q: CockpitQuery, prefix: str) -> Q:
    scope = Q(**{f"{prefix}unit__path__startswith": q.unit.path})
    if q.scope.unit_ids is not None:
        scope &= Q(**{f"{prefix}unit_id__in": q.scope.unit_ids})
    return scope


def _between(field: str, start: date, end: date) -> Q:
    return Q(**{f"{field}__gte": day_start(start), f"{field}__lt": day_start(end + timedelta(1))})


def tickets_records(q: CockpitQuery, f: RecordFilter) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(
        _customer_scope(q, "customer__"), _between("opened_at", q.start, q.end)
    )
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.complaint_class:
        qs = qs.filter(kind=TicketKind.COMPLAINT, complaint_class=f.complaint_class)
    if f.campaign == "none":
        known = Campaign.objects.filter(pk=OuterRef("campaign_id"))
        qs = qs.filter(Q(campaign_id__isnull=True) | ~Exists(known))
    elif f.campaign.isdigit():
        qs = qs.filter(campaign_id=int(f.campaign))
    if f.measure == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    elif f.measure == "breached":
        qs = qs.filter(BREACHED_Q)
    elif f.measure == "attained":
        qs = qs.filter(resolved_at__isnull=False).exclude(BREACHED_Q)
    return qs.select_related("customer", "customer__unit", "unit").order_by("-opened_at", "-id")


def care_records(q: CockpitQuery, f: RecordFilter) -> QuerySet[CareTask]:
    qs = CareTask.objects.filter(
        _customer_scope(q, "customer__"), _between("due_at", q.start, q.end)
    )
    if f.kind:
        qs = qs.filter(kind=f.kind)
    on_time = Q(status="done", completed_at__lte=F("due_at"))
    if f.measure == "done_on_time":
        qs = qs.filter(on_time)
    elif f.measure == "done_late":
        qs = qs.filter(status="done").exclude(on_time)
    elif f.measure in ("escalated", "open", "cancelled", "done"):
        qs = qs.filter(status=f.measure)
    return qs.select_related("customer", "customer__unit", "unit", "assignee").order_by(
        "-due_at", "-id"
    )


def responses_records(q: CockpitQuery, f: RecordFilter) -> QuerySet[SurveyAnswer]:
    qs = SurveyAnswer.objects.filter(
        _customer_scope(q, "response__customer__"),
        _between("response__submitted_at", q.start, q.end),
        score__isnull=False,
        question__kind__in=("csat", "nps"),
    )
    if f.line:
        qs = qs.filter(question__target="" if f.line == "overall" else f.line)
    if f.qkind in ("csat", "nps"):
        qs = qs.filter(question__kind=f.qkind)
    return qs.select_related("response", "response__customer", "question").order_by(
        "-response__submitted_at", "-id"
    )


def contacts_records(q: CockpitQuery, f: RecordFilter) -> QuerySet[Any]:
    """Customer-weeks with ``f.contacts`` contacts (or more, for the top bucket)."""
    qs = (
        Interaction.objects.filter(
            _customer_scope(q, "customer__"), _between("occurred_at", q.start, q.end)
        )
        .exclude(customer__status="merged")
        .annotate(week=TruncWeek("occurred_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values(
            "week", "customer_id", "customer__name", "customer__unit_id", "customer__unit__name"
        )
        .annotate(n=Count("id"))
    )
    if f.contacts is not None:
        qs = (
            qs.filter(n__gte=PRESSURE_TOP)
            if f.contacts >= PRESSURE_TOP
            else qs.filter(n=f.contacts)
        )
    return qs.order_by("-week", "customer_id")


def tiers_records(q: CockpitQuery, f: RecordFilter) -> QuerySet[TierChange]:
    qs = TierChange.objects.filter(_customer_scope(q, "customer__"), _between("at", q.start, q.end))
    if f.from_tier:
        qs = qs.filter(from_tier="" if f.from_tier == "new" else f.from_tier)
    if f.to_tier:
        qs = qs.filter(to_tier=f.to_tier)
    return qs.select_related("customer", "customer__unit").order_by("-at", "-id")


def cockpit_records(kind: str, q: CockpitQuery, f: RecordFilter) -> QuerySet[Any]:
    builders = {
        "tickets": tickets_records,
        "care": care_records,
        "responses": responses_records,
        "contacts": contacts_records,
        "tiers": tiers_records,
    }
    if kind not in builders:
        raise NotFound(_("No such list."))
    return builders[kind](q, f)
