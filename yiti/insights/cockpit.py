"""The management cockpit's figures, read from the rollups only (never the domain tables).

``cockpit_scope`` says which units a user may look at (administrators and analysts: all; a
region manager: his subtrees); ``cockpit_query`` checks a chosen unit and period against it;
``cockpit_figures`` returns every chart with its table and the drill-down of each point. The
number of queries is fixed (one or two per chart), whatever the period, unit or data size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from yiti.campaigns.models import Campaign
from yiti.care.choices import TaskKind
from yiti.core.errors import NotFound, PermissionDenied
from yiti.customers.choices import ValueTier
from yiti.engagement.models import ContactPolicyRule
from yiti.insights.models import (
    CareDay,
    FunnelDay,
    PressureWeek,
    SatisfactionDay,
    TicketDay,
    TierMoveDay,
    UnitCustomers,
)
from yiti.insights.sql import PRESSURE_TOP
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import OrgUnit
from yiti.service.choices import ComplaintClass, TicketKind

COCKPIT_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.REGION_MANAGER})
PERIODS = (7, 30, 90, 365)
MAX_DAYS = 3 * 366
TOP_CAMPAIGNS = 8


# --- who sees what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The units a user's cockpit covers: ``None`` is every unit."""

    unit_ids: frozenset[int] | None

    def allows(self, unit_id: int) -> bool:
        return self.unit_ids is None or unit_id in self.unit_ids


def cockpit_scope(user: Any) -> Scope:
    access = access_for(user)
    if access.user_id is None or not (access.roles & COCKPIT_ROLES):
        raise PermissionDenied(
            _("The cockpit is for region managers, analysts and administrators.")
        )
    if access.is_admin or Role.ANALYST in access.roles:
        return Scope(unit_ids=None)
    return Scope(unit_ids=access.unit_ids)


def cockpit_allowed(user: Any) -> bool:
    access = access_for(user)
    return access.user_id is not None and bool(access.roles & COCKPIT_ROLES)


def cockpit_units(scope: Scope) -> list[OrgUnit]:
    """The units to pick from, in tree order."""
    qs = OrgUnit.objects.filter(active=True)
    if scope.unit_ids is not None:
        qs = qs.filter(pk__in=scope.unit_ids)
    return list(qs.order_by("path"))


# --- the question asked ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One step of the time axis: ``[start, end]`` (both inclusive, local days)."""

    start: date
    end: date
    label: str


@dataclass(frozen=True)
class CockpitQuery:
    scope: Scope
    unit: OrgUnit
    start: date
    end: date  # inclusive
    today: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def grain(self) -> str:
        if self.days <= 31:
            return "day"
        if self.days <= 190:
            return "week"
        return "month"

    @cached_property
    def _buckets(self) -> list[Bucket]:
        out: list[Bucket] = []
        if self.grain == "day":
            day = self.start
            while day <= self.end:
                out.append(Bucket(day, day, day.strftime("%m-%d")))
                day += timedelta(days=1)
        elif self.grain == "week":
            day = self.start - timedelta(days=self.start.weekday())
            while day <= self.end:
                start = max(day, self.start)
                end = min(day + timedelta(days=6), self.end)
                out.append(Bucket(start, end, start.strftime("%m-%d")))
                day += timedelta(days=7)
        else:
            day = self.start.replace(day=1)
            while day <= self.end:
                nxt = (day + timedelta(days=32)).replace(day=1)
                start = max(day, self.start)
                end = min(nxt - timedelta(days=1), self.end)
                out.append(Bucket(start, end, start.strftime("%Y-%m")))
                day = nxt
        return out

    def buckets(self) -> list[Bucket]:
        return list(self._buckets)

    def params(self, **extra: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "unit": self.unit.pk,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }
        base.update({k: v for k, v in extra.items() if v not in (None, "")})
        return base

    def querystring(self, **extra: Any) -> str:
        return urlencode(self.params(**extra))

    def rows(self, qs: QuerySet[Any], *, field_name: str = "day") -> QuerySet[Any]:
        """Rollup rows of the chosen unit's subtree (within the user's scope) and period."""
        qs = qs.filter(
            unit__path__startswith=self.unit.path,
            **{f"{field_name}__gte": self.start, f"{field_name}__lte": self.end},
        )
        if self.scope.unit_ids is not None:
            qs = qs.filter(unit_id__in=self.scope.unit_ids)
        return qs

    def units_q(self) -> Q:
        q = Q(unit__path__startswith=self.unit.path)
        if self.scope.unit_ids is not None:
            q &= Q(unit_id__in=self.scope.unit_ids)
        return q


def _parse_date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def cockpit_query(
    user: Any,
    *,
    unit_id: Any = None,
    start: Any = None,
    end: Any = None,
    days: Any = None,
    today: date | None = None,
) -> CockpitQuery:
    """The unit and period asked for, checked against the user's scope. The default unit is
    the top of the user's scope; the default period the 30 days up to ``end`` (or today); a
    quick period (``days``, one of ``PERIODS``) is the last so many days up to today."""
    scope = cockpit_scope(user)
    today = today or timezone.localdate()
    units = OrgUnit.objects.filter(active=True)
    unit: OrgUnit | None
    try:
        wanted = int(unit_id) if unit_id not in (None, "") else None
    except (TypeError, ValueError):
        wanted = None
    if wanted is not None:
        unit = units.filter(pk=wanted).first()
        if unit is None or not scope.allows(unit.pk):
            raise NotFound(_("Unit not found."))
    else:
        if scope.unit_ids is not None:
            units = units.filter(pk__in=scope.unit_ids)
        unit = units.order_by("depth", "path").first()
        if unit is None:
            raise NotFound(_("Unit not found."))
    try:
        span = int(days) if days else None
    except (TypeError, ValueError):
        span = None
    end_day = _parse_date(end) or today
    start_day = _parse_date(start)
    if span in PERIODS:  # a quick period ends today, whatever dates came with it
        end_day = today
        start_day = today - timedelta(days=span - 1)
    elif start_day is None:
        start_day = end_day - timedelta(days=29)
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    if (end_day - start_day).days >= MAX_DAYS:
        start_day = end_day - timedelta(days=MAX_DAYS - 1)
    return CockpitQuery(scope=scope, unit=unit, start=start_day, end=end_day, today=today)


# --- charts ----------------------------------------------------------------------------------


@dataclass
class Series:
    key: str
    name: str
    values: Sequence[float | int | None]
    links: list[str] = field(default_factory=list)
    kind: str = "bar"  # bar or line
    stack: str = ""
    axis: int = 0  # 0: left, 1: right


@dataclass
class Cell:
    value: Any
    link: str = ""


@dataclass
class Chart:
    key: str
    title: str
    note: str
    categories: list[str]
    series: list[Series]
    columns: list[str]
    rows: list[list[Cell]]
    horizontal: bool = False
    percent_axis: bool = False
    axis_names: tuple[str, str] = ("", "")

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def dom_id(self) -> str:
        return f"chart-{self.key}-data"

    def spec(self) -> dict[str, Any]:
        """What the browser needs to draw it (json_script)."""
        return {
            "key": self.key,
            "categories": self.categories,
            "horizontal": self.horizontal,
            "percent": self.percent_axis,
            "axes": list(self.axis_names),
            "series": [
                {
                    "name": s.name,
                    "type": s.kind,
                    "stack": s.stack,
                    "axis": s.axis,
                    "data": s.values,
                    "links": s.links,
                }
                for s in self.series
            ],
        }

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return self.columns, [[cell.value for cell in row] for row in self.rows]


def _records(record_kind: str, q: CockpitQuery, /, *, start: date, end: date, **extra: Any) -> str:
    params = q.params(**extra)
    params["start"], params["end"] = start.isoformat(), end.isoformat()
    return f"{reverse('insights:records', args=[record_kind])}?{urlencode(params)}"


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _bucket_index(buckets: list[Bucket]) -> dict[date, int]:
    index: dict[date, int] = {}
    for i, bucket in enumerate(buckets):
        day = bucket.start
        while day <= bucket.end:
            index[day] = i
            day += timedelta(days=1)
    return index


def funnel_chart(q: CockpitQuery) -> Chart:
    """Campaign funnel across campaigns (the biggest by planned contacts) and ROI inputs."""
    stages = [
        ("planned", _("Planned")),
        ("sent", _("Sent")),
        ("delivered", _("Delivered")),
        ("opened", pgettext("funnel step", "Opened")),
        ("responded", _("Responded")),
        ("converted", pgettext("funnel step", "Converted")),
    ]
    rows = list(
        q.rows(FunnelDay.objects.all())
        .values("campaign_id")
        .annotate(
            **{key: Sum(key) for key, _label in stages},
            revenue_sum=Sum("revenue"),
            margin_sum=Sum("margin"),
        )
        .order_by("-planned", "campaign_id")
    )
    names = dict(
        Campaign.objects.filter(pk__in=[r["campaign_id"] for r in rows]).values_list("id", "name")
    )
    top = rows[:TOP_CAMPAIGNS]
    detail = [reverse("campaigns:detail", args=[r["campaign_id"]]) for r in top]
    series = [
        Series(key=key, name=label, values=[int(r[key] or 0) for r in top], links=detail)
        for key, label in stages
    ]
    table: list[list[Cell]] = []
    for r in rows:
        link = reverse("campaigns:detail", args=[r["campaign_id"]])
        sent = int(r["sent"] or 0)
        margin = Decimal(r["margin_sum"] or 0)
        table.append(
            [
                Cell(names.get(r["campaign_id"], "—"), link),
                *[Cell(int(r[key] or 0)) for key, _label in stages],
                Cell(_pct(int(r["converted"] or 0), sent)),
                Cell(float(Decimal(r["revenue_sum"] or 0))),
                Cell(float(margin)),
                Cell(round(float(margin) * 1000 / sent, 2) if sent else None),
            ]
        )
    return Chart(
        key="funnel",
        title=_("Campaign funnel and returns"),
        note=_(
            "Contacts planned in the period among the unit's customers, and how far they got; "
            "returns are the revenue and margin of the orders they converted into."
        ),
        categories=[names.get(r["campaign_id"], "—") for r in top],
        series=series,
        columns=[
            _("Campaign"),
            *[label for _key, label in stages],
            _("Conversion %"),
            _("Revenue"),
            _("Margin"),
            _("Margin per 1,000 contacts"),
        ],
        rows=table,
    )


def _ticket_rows(q: CockpitQuery) -> list[dict[str, Any]]:
    """Tickets per day, kind and (for complaints) class: at most a few rows a day, however
    many campaigns, so a year of a big company stays a few thousand rows."""
    return list(
        q.rows(TicketDay.objects.all())
        .values("day", "kind", "complaint_class")
        .annotate(
            opened_sum=Sum("opened"),
            resolved_sum=Sum("resolved"),
            breached_sum=Sum("breached"),
            attained_sum=Sum("attained"),
        )
        .order_by()
    )


def _complaint_campaign_rows(q: CockpitQuery) -> list[dict[str, Any]]:
    """Complaints per campaign and class over the whole period."""
    return list(
        q.rows(TicketDay.objects.filter(kind=TicketKind.COMPLAINT))
        .values("campaign_id", "complaint_class")
        .annotate(opened_sum=Sum("opened"))
        .order_by()
    )


def complaints_chart(
    q: CockpitQuery, ticket_rows: list[dict[str, Any]], campaign_rows: list[dict[str, Any]]
) -> Chart:
    buckets = q.buckets()
    where = _bucket_index(buckets)
    classes = list(ComplaintClass.choices)
    counts: dict[str, list[int]] = {c: [0] * len(buckets) for c, _label in classes}
    by_campaign: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in ticket_rows:
        if r["kind"] != TicketKind.COMPLAINT:
            continue
        cls = r["complaint_class"] or ""
        i = where.get(r["day"])
        if i is not None and cls in counts:
            counts[cls][i] += int(r["opened_sum"] or 0)
    for r in campaign_rows:
        by_campaign[r["campaign_id"]][r["complaint_class"] or ""] += int(r["opened_sum"] or 0)
    series = [
        Series(
            key=cls,
            name=str(label),
            values=list(counts[cls]),
            links=[
                _records(
                    "tickets",
                    q,
                    start=b.start,
                    end=b.end,
                    kind=TicketKind.COMPLAINT,
                    complaint_class=cls,
                )
                for b in buckets
            ],
            stack="complaints",
        )
        for cls, label in classes
    ]
    names = dict(
        Campaign.objects.filter(pk__in=[k for k in by_campaign if k]).values_list("id", "name")
    )
    table: list[list[Cell]] = []
    for campaign_id, per_class in sorted(
        by_campaign.items(), key=lambda item: (-sum(item[1].values()), item[0] or 0)
    ):
        name = names.get(campaign_id, "—") if campaign_id else _("No campaign")
        extra = {"kind": TicketKind.COMPLAINT, "campaign": campaign_id or "none"}
        table.append(
            [
                Cell(name),
                *[
                    Cell(
                        per_class.get(cls, 0),
                        _records(
                            "tickets", q, start=q.start, end=q.end, complaint_class=cls, **extra
                        )
                        if per_class.get(cls)
                        else "",
                    )
                    for cls, _label in classes
                ],
                Cell(
                    sum(per_class.values()),
                    _records("tickets", q, start=q.start, end=q.end, **extra),
                ),
            ]
        )
    return Chart(
        key="complaints",
        title=_("Complaints by class over time"),
        note=_("Complaints opened by the unit's customers; the table splits them by campaign."),
        categories=[b.label for b in buckets],
        series=series,
        columns=[_("Campaign"), *[str(label) for _c, label in classes], _("Total")],
        rows=table,
    )


def sla_chart(q: CockpitQuery, ticket_rows: list[dict[str, Any]]) -> Chart:
    buckets = q.buckets()
    where = _bucket_index(buckets)
    kinds = list(TicketKind.choices)
    attained: dict[str, list[int]] = {k: [0] * len(buckets) for k, _label in kinds}
    breached: dict[str, list[int]] = {k: [0] * len(buckets) for k, _label in kinds}
    totals: dict[str, dict[str, int]] = {k: defaultdict(int) for k, _label in kinds}
    for r in ticket_rows:
        kind = r["kind"]
        if kind not in attained:
            continue
        i = where.get(r["day"])
        if i is not None:
            attained[kind][i] += int(r["attained_sum"] or 0)
            breached[kind][i] += int(r["breached_sum"] or 0)
        for key in ("opened", "resolved", "breached", "attained"):
            totals[kind][key] += int(r[f"{key}_sum"] or 0)
    series = []
    for kind, label in kinds:
        values = [
            _pct(attained[kind][i], attained[kind][i] + breached[kind][i])
            for i in range(len(buckets))
        ]
        series.append(
            Series(
                key=kind,
                name=str(label),
                values=values,
                links=[
                    _records("tickets", q, start=b.start, end=b.end, kind=kind, measure="breached")
                    for b in buckets
                ],
                kind="line",
            )
        )
    table: list[list[Cell]] = []
    for kind, label in kinds:
        t = totals[kind]
        if not t.get("opened"):
            continue
        table.append(
            [
                Cell(str(label)),
                *[
                    Cell(
                        t.get(measure, 0),
                        _records(
                            "tickets", q, start=q.start, end=q.end, kind=kind, measure=measure
                        ),
                    )
                    for measure in ("opened", "resolved", "attained", "breached")
                ],
                Cell(_pct(t.get("attained", 0), t.get("attained", 0) + t.get("breached", 0))),
            ]
        )
    return Chart(
        key="sla",
        title=_("SLA attainment by ticket kind"),
        note=_(
            "Share of the tickets opened in each step that were resolved within their SLA, "
            "of those resolved in time or breached; a point opens the breached tickets."
        ),
        categories=[b.label for b in buckets],
        series=series,
        columns=[
            _("Ticket kind"),
            pgettext("count", "Opened"),
            _("Resolved"),
            _("Within SLA"),
            _("Breached"),
            _("Attainment %"),
        ],
        rows=table,
        percent_axis=True,
    )


LINES = (
    ("", gettext_lazy("Overall")),
    ("sales", gettext_lazy("Sales")),
    ("service", gettext_lazy("Service")),
)


def satisfaction_chart(q: CockpitQuery) -> Chart:
    buckets = q.buckets()
    where = _bucket_index(buckets)
    rows = list(
        q.rows(SatisfactionDay.objects.all())
        .values("day", "line")
        .annotate(
            n=Sum("csat_count"),
            s=Sum("csat_sum"),
            sat=Sum("csat_satisfied"),
            nps_n=Sum("nps_count"),
            pro=Sum("promoters"),
            det=Sum("detractors"),
        )
        .order_by()
    )
    per: dict[str, list[dict[str, int]]] = {
        line: [defaultdict(int) for _b in buckets] for line, _l in LINES
    }
    totals: dict[str, dict[str, int]] = {line: defaultdict(int) for line, _l in LINES}
    for r in rows:
        line = r["line"] or ""
        if line not in per:
            continue
        i = where.get(r["day"])
        for key in ("n", "s", "sat", "nps_n", "pro", "det"):
            value = int(r[key] or 0)
            totals[line][key] += value
            if i is not None:
                per[line][i][key] += value
    series: list[Series] = []
    for line, label in LINES:
        links = [
            _records("responses", q, start=b.start, end=b.end, line=line or "overall")
            for b in buckets
        ]
        series.append(
            Series(
                key=f"csat-{line or 'overall'}",
                name=_("CSAT %(line)s") % {"line": label},
                values=[_pct(c["sat"], c["n"]) for c in per[line]],
                links=links,
                kind="line",
            )
        )
        series.append(
            Series(
                key=f"nps-{line or 'overall'}",
                name=_("NPS %(line)s") % {"line": label},
                values=[
                    round(100.0 * (c["pro"] - c["det"]) / c["nps_n"], 1) if c["nps_n"] else None
                    for c in per[line]
                ],
                links=links,
                kind="line",
                axis=1,
            )
        )
    table: list[list[Cell]] = []
    for line, label in LINES:
        t = totals[line]
        if not (t.get("n") or t.get("nps_n")):
            continue
        line_key = line or "overall"
        csat_link = _records("responses", q, start=q.start, end=q.end, line=line_key, qkind="csat")
        nps_link = _records("responses", q, start=q.start, end=q.end, line=line_key, qkind="nps")
        table.append(
            [
                Cell(str(label)),
                Cell(t.get("n", 0), csat_link),
                Cell(round(t["s"] / t["n"], 2) if t.get("n") else None),
                Cell(_pct(t.get("sat", 0), t.get("n", 0))),
                Cell(t.get("nps_n", 0), nps_link),
                Cell(
                    round(100.0 * (t.get("pro", 0) - t.get("det", 0)) / t["nps_n"], 1)
                    if t.get("nps_n")
                    else None
                ),
            ]
        )
    return Chart(
        key="satisfaction",
        title=_("Satisfaction: CSAT and NPS, sales and service"),
        note=_(
            "CSAT is the share of 4 and 5 answers on the 1–5 scale; NPS is promoters (9–10) "
            "less detractors (0–6) on the 0–10 scale, right axis."
        ),
        categories=[b.label for b in buckets],
        series=series,
        columns=[
            _("Line"),
            _("CSAT answers"),
            _("Average (1–5)"),
            _("CSAT %"),
            _("NPS answers"),
            _("NPS"),
        ],
        rows=table,
        percent_axis=True,
        axis_names=(_("CSAT %"), _("NPS")),
    )


def weekly_cap() -> int | None:
    """The tightest active weekly limit across all channels and purposes (the contact policy's
    rule over 7 days with no channel or purpose restriction), if there is one."""
    caps = [
        rule.max_contacts
        for rule in ContactPolicyRule.objects.filter(active=True, window_days=7)
        if not rule.channels and not rule.purposes
    ]
    return min(caps) if caps else None


def _weeks_in(q: CockpitQuery) -> list[date]:
    first = q.start - timedelta(days=q.start.weekday())
    if first < q.start:
        first += timedelta(days=7)  # whole weeks only
    weeks = []
    while first + timedelta(days=6) <= q.end:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def pressure_chart(q: CockpitQuery) -> Chart:
    weeks = _weeks_in(q)
    hist = [0] * (PRESSURE_TOP + 1)
    if weeks:
        for contacts, customers in (
            q.rows(PressureWeek.objects.all(), field_name="week")
            .filter(week__in=weeks)
            .values("contacts")
            .annotate(n=Sum("customers"))
            .order_by()
            .values_list("contacts", "n")
        ):
            hist[min(int(contacts), PRESSURE_TOP)] += int(customers or 0)
    base = UnitCustomers.objects.filter(q.units_q()).aggregate(n=Sum("customers"))["n"] or 0
    hist[0] = max(base * len(weeks) - sum(hist[1:]), 0)
    total = sum(hist)
    cap = weekly_cap()
    at_cap = sum(hist[cap:]) if cap is not None and cap <= PRESSURE_TOP else 0
    labels = [str(n) for n in range(PRESSURE_TOP)] + [f"{PRESSURE_TOP}+"]
    first, last = (weeks[0], weeks[-1] + timedelta(days=6)) if weeks else (q.start, q.end)
    links = [""] + [
        _records("contacts", q, start=first, end=last, contacts=n)
        for n in range(1, PRESSURE_TOP + 1)
    ]
    table = [
        [
            Cell(labels[n]),
            Cell(hist[n], links[n]),
            Cell(_pct(hist[n], total)),
            Cell(_("yes") if cap is not None and n >= cap else ""),
        ]
        for n in range(PRESSURE_TOP + 1)
        if hist[n]
    ]
    note = _(
        "Customer-weeks by the number of contacts (every channel and department, marketing "
        "and service together) in the %(weeks)s whole weeks of the period."
    ) % {"weeks": len(weeks)}
    if cap is not None:
        note += " " + _("At the weekly cap of %(cap)s or above: %(share)s%% of customer-weeks.") % {
            "cap": cap,
            "share": _pct(at_cap, total) if total else 0,
        }
    return Chart(
        key="pressure",
        title=_("Contact pressure"),
        note=note,
        categories=labels,
        series=[Series(key="customers", name=_("Customer-weeks"), values=hist, links=links)],
        columns=[_("Contacts in a week"), _("Customer-weeks"), _("Share %"), _("At the cap")],
        rows=table,
    )


TIER_LABELS = dict(ValueTier.choices)


def tiers_chart(q: CockpitQuery) -> Chart:
    moves = list(
        q.rows(TierMoveDay.objects.all())
        .values("from_tier", "to_tier")
        .annotate(n=Sum("customers"))
        .order_by("-n", "from_tier", "to_tier")
    )
    snapshot = {
        r["tier"]: r
        for r in UnitCustomers.objects.filter(q.units_q())
        .values("tier")
        .annotate(n=Sum("customers"), risk=Sum("at_risk"))
        .order_by()
    }

    def label(tier: str) -> str:
        new = pgettext("value tier", "New")
        return str(TIER_LABELS.get(tier, new)) if tier else str(new)

    categories = [f"{label(m['from_tier'])} → {label(m['to_tier'])}" for m in moves]
    links = [
        _records(
            "tiers",
            q,
            start=q.start,
            end=q.end,
            from_tier=m["from_tier"] or "new",
            to_tier=m["to_tier"],
        )
        for m in moves
    ]
    table: list[list[Cell]] = [
        [Cell(categories[i]), Cell(int(m["n"] or 0), links[i])] for i, m in enumerate(moves)
    ]
    mvc: dict[str, Any] = dict(snapshot.get(ValueTier.MVC) or {})
    note = _(
        "Customers whose value tier changed in the period. Today %(mvc)s customers are most "
        "valuable, %(risk)s of them at risk of churning."
    ) % {"mvc": int(mvc.get("n") or 0), "risk": int(mvc.get("risk") or 0)}
    return Chart(
        key="tiers",
        title=_("Tier migration and churn risk"),
        note=note,
        categories=categories,
        series=[
            Series(
                key="moved",
                name=_("Customers"),
                values=[int(m["n"] or 0) for m in moves],
                links=links,
            )
        ],
        columns=[pgettext("tier migration", "Move"), _("Customers")],
        rows=table,
        horizontal=True,
    )


def care_chart(q: CockpitQuery) -> Chart:
    buckets = q.buckets()
    where = _bucket_index(buckets)
    rows = list(
        q.rows(CareDay.objects.all())
        .values("day", "kind")
        .annotate(
            due_n=Sum("due"),
            done_n=Sum("done"),
            ontime_n=Sum("done_on_time"),
            esc_n=Sum("escalated"),
            cancelled_n=Sum("cancelled"),
            open_n=Sum("open"),
        )
        .order_by()
    )
    measures = [
        ("done_on_time", "ontime_n", _("Done on time")),
        ("done_late", "", _("Done late")),
        ("escalated", "esc_n", _("Escalated")),
        ("open", "open_n", pgettext("care call", "Open")),
    ]
    per: dict[str, list[int]] = {m: [0] * len(buckets) for m, _k, _l in measures}
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        i = where.get(r["day"])
        late = int(r["done_n"] or 0) - int(r["ontime_n"] or 0)
        values = {
            "done_on_time": int(r["ontime_n"] or 0),
            "done_late": late,
            "escalated": int(r["esc_n"] or 0),
            "open": int(r["open_n"] or 0),
        }
        if i is not None:
            for key, value in values.items():
                per[key][i] += value
        for key, value in values.items():
            by_kind[r["kind"]][key] += value
        by_kind[r["kind"]]["due"] += int(r["due_n"] or 0)
        by_kind[r["kind"]]["done"] += int(r["done_n"] or 0)
    series = [
        Series(
            key=key,
            name=str(label),
            values=per[key],
            links=[_records("care", q, start=b.start, end=b.end, measure=key) for b in buckets],
            stack="care",
        )
        for key, _k, label in measures
    ]
    table: list[list[Cell]] = []
    for kind, label in TaskKind.choices:
        t = by_kind.get(kind)
        if not t or not t.get("due"):
            continue
        table.append(
            [
                Cell(str(label)),
                Cell(t["due"], _records("care", q, start=q.start, end=q.end, kind=kind)),
                *[
                    Cell(
                        t.get(key, 0),
                        _records("care", q, start=q.start, end=q.end, kind=kind, measure=key),
                    )
                    for key, _k, _l in measures
                ],
                Cell(_pct(t.get("done_on_time", 0), t["due"])),
            ]
        )
    return Chart(
        key="care",
        title=_("Care call completion"),
        note=_("Care calls due in each step and what became of them (cancelled ones left out)."),
        categories=[b.label for b in buckets],
        series=series,
        columns=[
            _("Call"),
            pgettext("care calls due", "Due"),
            *[str(label) for _m, _k, label in measures],
            _("On time %"),
        ],
        rows=table,
    )


CHART_KEYS = ("funnel", "complaints", "sla", "satisfaction", "pressure", "tiers", "care")


def cockpit_figures(q: CockpitQuery, *, only: str | None = None) -> list[Chart]:
    """Every chart of the cockpit for ``q`` (or just the one named ``only``)."""
    wanted = [only] if only else list(CHART_KEYS)
    ticket_rows = _ticket_rows(q) if {"complaints", "sla"} & set(wanted) else []
    builders = {
        "funnel": lambda: funnel_chart(q),
        "complaints": lambda: complaints_chart(q, ticket_rows, _complaint_campaign_rows(q)),
        "sla": lambda: sla_chart(q, ticket_rows),
        "satisfaction": lambda: satisfaction_chart(q),
        "pressure": lambda: pressure_chart(q),
        "tiers": lambda: tiers_chart(q),
        "care": lambda: care_chart(q),
    }
    return [builders[key]() for key in wanted if key in builders]
