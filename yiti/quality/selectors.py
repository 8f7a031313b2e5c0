"""Reads of the quality layer, restricted to what the acting user may see (``rules``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound
from yiti.org.choices import UnitKind
from yiti.org.models import OrgUnit
from yiti.quality import themes
from yiti.quality.choices import IndicatorCode, RunKind, RunStatus
from yiti.quality.defaults import RANKED_KINDS
from yiti.quality.indicators import MEASURE_OF
from yiti.quality.models import Indicator, QualityRun, ThemeTerm, ThemeWeek, UnitScore
from yiti.quality.periods import bounds, months_back, previous_month
from yiti.quality.rules import HOT_ALL, RANKING_ALL, require_hot, require_ranking, unit_scope
from yiti.service.models import Ticket, Topic
from yiti.service.selectors import tickets_visible

TREND_MONTHS = 6


# --- the indicator catalogue -------------------------------------------------------------------


def indicators() -> QuerySet[Indicator]:
    return Indicator.objects.prefetch_related("targets").order_by("position", "code")


def indicator_get(code: str) -> Indicator:
    indicator = indicators().filter(code=code).first()
    if indicator is None:
        raise NotFound(_("Indicator not found."))
    return indicator


def runs(kind: str) -> QuerySet[QualityRun]:
    return QualityRun.objects.filter(kind=kind).order_by("-period_start")


# --- the ranking -------------------------------------------------------------------------------


@dataclass
class Part:
    code: str
    label: str
    measure: str
    value: float | None
    num: float
    den: float
    score: float | None
    weight: float
    target: float
    contribution: float | None
    previous_contribution: float | None = None


@dataclass
class Row:
    unit_id: int
    unit: str
    kind: str
    score: float | None
    rank: int | None
    ranked_of: int
    coverage: float
    parts: list[Part]
    previous_rank: int | None = None
    previous_score: float | None = None
    trend: list[float | None] = field(default_factory=list)

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost (negative) since last month."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def delta(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return round(self.score - self.previous_score, 2)

    @property
    def driver(self) -> Part | None:
        """The indicator whose contribution changed the most since last month."""
        best: Part | None = None
        best_change = 0.0
        for part in self.parts:
            if part.contribution is None or part.previous_contribution is None:
                continue
            change = abs(part.contribution - part.previous_contribution)
            if change > best_change:
                best, best_change = part, change
        return best

    @property
    def driver_change(self) -> float | None:
        part = self.driver
        if part is None or part.contribution is None or part.previous_contribution is None:
            return None
        return round(part.contribution - part.previous_contribution, 2)


@dataclass
class Ranking:
    month: date | None
    kind: str
    kinds: list[tuple[str, str]]
    months: list[date]
    trend_months: list[date]
    rows: list[Row]
    run: QualityRun | None
    codes: list[tuple[str, str]]

    @property
    def movers(self) -> list[Row]:
        moved = [r for r in self.rows if r.moved]
        return sorted(moved, key=lambda r: (-abs(r.moved or 0), r.rank or 0))


def _labels() -> dict[str, str]:
    return {code: str(label) for code, label in IndicatorCode.choices}


def _parts(data: dict[str, Any], order: list[str]) -> list[Part]:
    labels = _labels()
    parts = []
    for code in order:
        item = data.get(code)
        if item is None:
            continue
        parts.append(
            Part(
                code=code,
                label=labels.get(code, code),
                measure=MEASURE_OF.get(code, ""),
                value=item.get("value"),
                num=item.get("num", 0),
                den=item.get("den", 0),
                score=item.get("score"),
                weight=item.get("weight", 0),
                target=item.get("target", 0),
                contribution=item.get("contribution"),
            )
        )
    return parts


def ranking_scores(user: Any) -> QuerySet[UnitScore]:
    """The unit scores the user may read."""
    access = require_ranking(user)
    scope = unit_scope(access, RANKING_ALL)
    qs = UnitScore.objects.select_related("unit")
    if scope is not None:
        qs = qs.filter(unit_id__in=scope)
    return qs


def ranking(user: Any, *, month: date | None = None, kind: str = "") -> Ranking:
    """The month's ranking of the units of one kind that the user may see, with last month's
    rank, the change of each indicator's contribution and a six-month trend of the score."""
    scores = ranking_scores(user)
    ready = list(
        QualityRun.objects.filter(kind=RunKind.RANKING, status=RunStatus.READY)
        .order_by("-period_start")
        .values_list("period_start", flat=True)[:36]
    )
    if month is None or month not in ready:
        month = ready[0] if ready else None
    present = (
        set(scores.filter(month=month).values_list("unit_kind", flat=True)) if month else set()
    )
    kinds = [(k.value, str(k.label)) for k in RANKED_KINDS if k in present]
    if kind not in present:
        if UnitKind.BRANCH in present:
            kind = UnitKind.BRANCH
        else:
            kind = kinds[0][0] if kinds else UnitKind.BRANCH
    order = [
        code
        for code in Indicator.objects.filter(active=True)
        .order_by("position", "code")
        .values_list("code", flat=True)
    ]
    labels = _labels()
    codes = [(code, labels.get(code, code)) for code in order]
    if month is None:
        return Ranking(None, kind, kinds, ready, [], [], None, codes)
    run = QualityRun.objects.filter(kind=RunKind.RANKING, period_start=month).first()
    trend_months = months_back(month, TREND_MONTHS)
    history = scores.filter(month__in=trend_months, unit_kind=kind)
    by_unit: dict[int, dict[date, UnitScore]] = defaultdict(dict)
    for s in history:
        by_unit[s.unit_id][s.month] = s
    last = previous_month(month)
    rows: list[Row] = []
    for unit_id, months in by_unit.items():
        current = months.get(month)
        if current is None:
            continue
        before = months.get(last)
        parts = _parts(current.indicators, order)
        if before is not None:
            for part in parts:
                old = before.indicators.get(part.code) or {}
                part.previous_contribution = old.get("contribution")
        rows.append(
            Row(
                unit_id=unit_id,
                unit=current.unit.name,
                kind=current.unit_kind,
                score=current.score,
                rank=current.rank,
                ranked_of=current.ranked_of,
                coverage=current.coverage,
                parts=parts,
                previous_rank=before.rank if before else None,
                previous_score=before.score if before else None,
                trend=[months[m].score if m in months else None for m in trend_months],
            )
        )
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit))
    return Ranking(month, kind, kinds, ready, trend_months, rows, run, codes)


def unit_history(user: Any, unit_id: int, *, months: int = 12) -> list[UnitScore]:
    """One unit's scores, newest first; a unit outside the user's scope is not found."""
    access = require_ranking(user)
    scope = unit_scope(access, RANKING_ALL)
    if (scope is not None and unit_id not in scope) or not OrgUnit.objects.filter(
        pk=unit_id
    ).exists():
        raise NotFound(_("Unit not found."))
    return list(
        UnitScore.objects.filter(unit_id=unit_id).select_related("unit").order_by("-month")[:months]
    )


# --- hot issues --------------------------------------------------------------------------------


@dataclass
class ExampleTicket:
    id: int
    subject: str
    kind: str
    opened_at: Any


@dataclass
class RisingTerm:
    term: str
    documents: int
    previous: int
    expected: float
    surprise: float
    examples: list[ExampleTicket]


@dataclass
class TopicCount:
    topic_id: int
    name: str
    tickets: int
    previous: int
    examples: list[ExampleTicket]

    @property
    def change(self) -> int:
        return self.tickets - self.previous


@dataclass
class HotIssues:
    week: date | None
    weeks: list[date]
    documents: int
    previous_documents: int
    rising: list[RisingTerm]
    top: list[tuple[str, int]]
    topics: list[TopicCount]
    run: QualityRun | None


def _term_counts(week: date, scope: frozenset[int] | None) -> tuple[int, dict[str, int]]:
    weeks = ThemeWeek.objects.filter(week=week)
    terms = ThemeTerm.objects.filter(week=week)
    if scope is not None:
        weeks = weeks.filter(unit_id__in=scope)
        terms = terms.filter(theme_week__unit_id__in=scope)
    documents = weeks.aggregate(n=Sum("documents"))["n"] or 0
    counts = {row["term"]: row["n"] for row in terms.values("term").annotate(n=Sum("documents"))}
    return documents, counts


def _examples(week: date, scope: frozenset[int] | None, terms: list[str]) -> dict[str, list[int]]:
    rows = ThemeTerm.objects.filter(week=week, term__in=terms)
    if scope is not None:
        rows = rows.filter(theme_week__unit_id__in=scope)
    out: dict[str, list[int]] = defaultdict(list)
    for term, ids in rows.values_list("term", "examples"):
        out[term].extend(ids or [])
    return out


def _visible_examples(user: Any, ids: set[int]) -> dict[int, ExampleTicket]:
    if not ids:
        return {}
    rows = tickets_visible(user).filter(pk__in=ids).values("id", "subject", "kind", "opened_at")
    return {r["id"]: ExampleTicket(r["id"], r["subject"], r["kind"], r["opened_at"]) for r in rows}


EXAMPLES_SHOWN = 3
RISING_SHOWN = 20


def hot_issues(user: Any, *, week: date | None = None) -> HotIssues:
    """The week's rising terms and the topics chosen on tickets against the week before, over
    the units the user may read; example tickets only those the user may open."""
    access = require_hot(user)
    scope = unit_scope(access, HOT_ALL)
    weeks = list(
        QualityRun.objects.filter(kind=RunKind.THEMES, status=RunStatus.READY)
        .order_by("-period_start")
        .values_list("period_start", flat=True)[:26]
    )
    if week is None or week not in weeks:
        week = weeks[0] if weeks else None
    if week is None:
        return HotIssues(None, weeks, 0, 0, [], [], [], None)
    run = QualityRun.objects.filter(kind=RunKind.THEMES, period_start=week).first()
    before = week - timedelta(days=7)
    documents, current = _term_counts(week, scope)
    previous_documents, previous = _term_counts(before, scope)
    rising = themes.rising_terms(current, previous, documents, previous_documents)[:RISING_SHOWN]
    examples = _examples(week, scope, [r.term for r in rising])
    wanted = {i for r in rising for i in examples.get(r.term, [])}
    topics = _topic_counts(user, week, scope)
    wanted |= {e.id for t in topics for e in t.examples}
    visible = _visible_examples(user, wanted)
    rising_rows = [
        RisingTerm(
            term=r.term,
            documents=r.documents,
            previous=r.previous,
            expected=r.expected,
            surprise=r.surprise,
            examples=[
                visible[i]
                for i in sorted(set(examples.get(r.term, [])), reverse=True)
                if i in visible
            ][:EXAMPLES_SHOWN],
        )
        for r in rising
    ]
    for t in topics:
        t.examples = [e for e in t.examples if e.id in visible][:EXAMPLES_SHOWN]
    top = sorted(current.items(), key=lambda p: (-p[1], p[0]))[:15]
    return HotIssues(week, weeks, documents, previous_documents, rising_rows, top, topics, run)


def _topic_counts(user: Any, week: date, scope: frozenset[int] | None) -> list[TopicCount]:
    """Tickets per catalogue topic opened this week and the week before (customers in scope)."""
    start, end = bounds(week, week + timedelta(days=6))
    prev_start = start - timedelta(days=7)
    qs = Ticket.objects.filter(topic__isnull=False, opened_at__gte=prev_start, opened_at__lt=end)
    if scope is not None:
        qs = qs.filter(customer__unit_id__in=scope)
    this_week = dict(
        qs.filter(opened_at__gte=start).values_list("topic_id").annotate(n=Count("id"))
    )
    last_week = dict(qs.filter(opened_at__lt=start).values_list("topic_id").annotate(n=Count("id")))
    ids = set(this_week) | set(last_week)
    names = dict(Topic.objects.filter(pk__in=ids).values_list("id", "name"))
    recent: dict[int, list[ExampleTicket]] = defaultdict(list)
    visible = (
        tickets_visible(user)
        .filter(topic_id__in=list(this_week), opened_at__gte=start, opened_at__lt=end)
        .order_by("-opened_at")
        .values("id", "subject", "kind", "opened_at", "topic_id")[:200]
    )
    for r in visible:
        if len(recent[r["topic_id"]]) < EXAMPLES_SHOWN:
            recent[r["topic_id"]].append(
                ExampleTicket(r["id"], r["subject"], r["kind"], r["opened_at"])
            )
    out = [
        TopicCount(
            topic_id=topic_id,
            name=names.get(topic_id, ""),
            tickets=this_week.get(topic_id, 0),
            previous=last_week.get(topic_id, 0),
            examples=recent.get(topic_id, []),
        )
        for topic_id in ids
    ]
    out.sort(key=lambda t: (-t.change, -t.tickets, t.name))
    return out
