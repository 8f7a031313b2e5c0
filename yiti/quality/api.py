"""API of quality (thin: schemas in, a service or selector call, schemas out), mounted at
/api/v1/quality. Scoped like the pages: the ranking for administrators, analysts and region
managers (their region's units), the rising topics over the caller's units with only the
example tickets the caller may open."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.ids import MAX_ID
from yiti.customers.models import Product
from yiti.org.choices import UnitKind
from yiti.quality import selectors, services
from yiti.quality.choices import Direction, IndicatorCode, RunKind
from yiti.quality.models import Indicator, QualityRun
from yiti.quality.periods import parse_month, week_start
from yiti.service.models import Topic
from yiti.service.selectors import ticket_get_for
from yiti.service.topics import ticket_topic_set, topic_save

router = Router(tags=["quality"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _id(description: str) -> Any:
    return Path(..., ge=1, le=MAX_ID, description=description)


# --- indicators --------------------------------------------------------------------------------


class TargetOut(Schema):
    unit_kind: str
    target: Decimal
    floor: Decimal = Field(description="The zero-score line.")
    weight: Decimal


class IndicatorOut(Schema):
    code: str
    name: str
    direction: str
    measure: str
    active: bool
    note: str
    targets: list[TargetOut]

    @classmethod
    def of(cls, i: Indicator) -> IndicatorOut:
        return cls(
            code=i.code,
            name=str(i.get_code_display()),
            direction=i.direction,
            measure=i.measure,
            active=i.active,
            note=i.note,
            targets=[
                TargetOut(unit_kind=t.unit_kind, target=t.target, floor=t.floor, weight=t.weight)
                for t in i.targets.all()
            ],
        )


class TargetIn(Schema):
    unit_kind: UnitKind
    target: Decimal
    floor: Decimal
    weight: Decimal = Field(ge=0, le=1000)


class IndicatorIn(Schema):
    direction: Direction
    active: bool = True
    note: str = Field("", max_length=300)
    targets: list[TargetIn]


@router.get("/indicators", response=list[IndicatorOut], summary="The indicator catalogue")
def indicators_list(request: HttpRequest) -> list[IndicatorOut]:
    return [IndicatorOut.of(i) for i in selectors.indicators()]


@router.put(
    "/indicators/{code}", response=IndicatorOut, summary="Change an indicator (administrators)"
)
def indicators_update(
    request: HttpRequest, code: IndicatorCode, payload: IndicatorIn
) -> IndicatorOut:
    indicator = selectors.indicator_get(code)
    services.indicator_save(
        actor=_user(request),
        indicator=indicator,
        direction=payload.direction,
        active=payload.active,
        note=payload.note,
        targets={
            t.unit_kind: {"target": t.target, "floor": t.floor, "weight": t.weight}
            for t in payload.targets
        },
    )
    return IndicatorOut.of(selectors.indicator_get(code))


# --- ranking -----------------------------------------------------------------------------------


class PartOut(Schema):
    code: str
    name: str
    value: float | None
    numerator: float
    denominator: float
    score: float | None
    weight: float
    target: float
    contribution: float | None = Field(description="Points of the unit's score it brings.")


class RankOut(Schema):
    unit_id: int
    unit: str
    unit_kind: str
    score: float | None
    rank: int | None
    ranked_of: int
    previous_rank: int | None
    moved: int | None = Field(description="Places gained (+) or lost (−) since last month.")
    coverage: float
    trend: list[float | None]
    indicators: list[PartOut]


class RankingOut(Schema):
    month: date | None
    unit_kind: str
    months: list[date]
    trend_months: list[date]
    units: list[RankOut]


class RankingQuery(Schema):
    month: str = Field("", description="YYYY-MM (default: the latest computed month).")
    kind: Literal["", "company", "region", "branch"] = ""


@router.get("/ranking", response=RankingOut, summary="Units ranked on the weighted indicators")
def ranking(request: HttpRequest, query: Query[RankingQuery]) -> RankingOut:
    month = None
    if query.month:
        try:
            month = parse_month(query.month)
        except ValueError as exc:
            raise ValidationFailed(_("Give the month as YYYY-MM."), field="month") from exc
    view = selectors.ranking(_user(request), month=month, kind=query.kind)
    return RankingOut(
        month=view.month,
        unit_kind=view.kind,
        months=view.months,
        trend_months=view.trend_months,
        units=[
            RankOut(
                unit_id=r.unit_id,
                unit=r.unit,
                unit_kind=r.kind,
                score=r.score,
                rank=r.rank,
                ranked_of=r.ranked_of,
                previous_rank=r.previous_rank,
                moved=r.moved,
                coverage=r.coverage,
                trend=r.trend,
                indicators=[
                    PartOut(
                        code=p.code,
                        name=p.label,
                        value=p.value,
                        numerator=p.num,
                        denominator=p.den,
                        score=p.score,
                        weight=p.weight,
                        target=p.target,
                        contribution=p.contribution,
                    )
                    for p in r.parts
                ],
            )
            for r in view.rows
        ],
    )


class HistoryOut(Schema):
    month: date
    score: float | None
    rank: int | None
    ranked_of: int
    coverage: float
    indicators: dict[str, Any] = Field(
        description="Per indicator code: value, num, den, score, weight, target, floor, contribution."
    )


@router.get(
    "/ranking/units/{unit_id}",
    response=list[HistoryOut],
    summary="One unit's monthly scores, newest first (12 months)",
)
def ranking_unit(request: HttpRequest, unit_id: int = _id("Unit id.")) -> list[HistoryOut]:
    return [
        HistoryOut(
            month=s.month,
            score=s.score,
            rank=s.rank,
            ranked_of=s.ranked_of,
            coverage=s.coverage,
            indicators=s.indicators,
        )
        for s in selectors.unit_history(_user(request), unit_id)
    ]


# --- rising topics -----------------------------------------------------------------------------


class ExampleOut(Schema):
    id: int
    subject: str
    kind: str
    opened_at: datetime


class RisingOut(Schema):
    term: str
    documents: int = Field(description="Texts of the week it occurs in.")
    previous: int
    expected: float
    surprise: float
    examples: list[ExampleOut]


class TopicCountOut(Schema):
    topic_id: int
    name: str
    tickets: int
    previous: int
    examples: list[ExampleOut]


class HotOut(Schema):
    week: date | None
    weeks: list[date]
    documents: int
    previous_documents: int
    rising: list[RisingOut]
    topics: list[TopicCountOut]


def _examples(items: list[Any]) -> list[ExampleOut]:
    return [
        ExampleOut(id=e.id, subject=e.subject, kind=e.kind, opened_at=e.opened_at) for e in items
    ]


class HotQuery(Schema):
    week: date | None = Field(None, description="Any day of the week (default: the latest).")


@router.get("/rising-topics", response=HotOut, summary="The week's rising terms and topics")
def rising_topics(request: HttpRequest, query: Query[HotQuery]) -> HotOut:
    week = query.week
    view = selectors.hot_issues(_user(request), week=week_start(week) if week else None)
    return HotOut(
        week=view.week,
        weeks=view.weeks,
        documents=view.documents,
        previous_documents=view.previous_documents,
        rising=[
            RisingOut(
                term=r.term,
                documents=r.documents,
                previous=r.previous,
                expected=r.expected,
                surprise=r.surprise,
                examples=_examples(r.examples),
            )
            for r in view.rising
        ],
        topics=[
            TopicCountOut(
                topic_id=t.topic_id,
                name=t.name,
                tickets=t.tickets,
                previous=t.previous,
                examples=_examples(t.examples),
            )
            for t in view.topics
        ],
    )


# --- computations ------------------------------------------------------------------------------


class ComputeIn(Schema):
    kind: RunKind
    start: date = Field(description="A day of the month (ranking) or of the week (themes).")


class RunOut(Schema):
    kind: str
    period_start: date
    period_end: date
    status: str
    computed_at: datetime | None
    error: str

    @classmethod
    def of(cls, run: QualityRun) -> RunOut:
        return cls(
            kind=run.kind,
            period_start=run.period_start,
            period_end=run.period_end,
            status=run.status,
            computed_at=run.computed_at,
            error=run.error,
        )


@router.post("/compute", response={202: RunOut}, summary="Compute a month or a week now")
def compute(request: HttpRequest, payload: ComputeIn) -> Status[RunOut]:
    run = services.run_request(actor=_user(request), kind=payload.kind, start=payload.start)
    run.refresh_from_db()
    return Status(202, RunOut.of(run))


# --- topics ------------------------------------------------------------------------------------


class TopicOut(Schema):
    id: int
    name: str
    applies_to: str
    product_id: int | None
    campaign_id: int | None
    keywords: str
    active: bool

    @classmethod
    def of(cls, t: Topic) -> TopicOut:
        return cls(
            id=t.pk,
            name=t.name,
            applies_to=t.applies_to,
            product_id=t.product_id,
            campaign_id=t.campaign_id,
            keywords=t.keywords,
            active=t.active,
        )


class TopicIn(Schema):
    name: str = Field(max_length=80)
    applies_to: Literal["", "consultation", "complaint"] = ""
    product: int | None = Field(None, ge=1, le=MAX_ID, description="Product id.")
    campaign_id: int | None = Field(None, ge=1, le=MAX_ID)
    keywords: str = Field("", max_length=255)
    active: bool = True


class TicketTopicIn(Schema):
    topic: int | None = Field(ge=1, le=MAX_ID, description="Topic id; null clears it.")


def _product(product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ValidationFailed(_("No such product."), field="product", code="unknown_product")
    return product


def _topic(topic_id: int) -> Topic:
    topic = Topic.objects.filter(pk=topic_id).first()
    if topic is None:
        raise NotFound(_("Topic not found."))
    return topic


@router.get("/topics", response=list[TopicOut], summary="The topic catalogue")
def topics_list(request: HttpRequest, active: bool | None = None) -> list[TopicOut]:
    qs = Topic.objects.order_by("name")
    if active is not None:
        qs = qs.filter(active=active)
    return [TopicOut.of(t) for t in qs]


@router.post("/topics", response={201: TopicOut}, summary="Add a topic")
def topics_create(request: HttpRequest, payload: TopicIn) -> Status[TopicOut]:
    topic = topic_save(
        actor=_user(request),
        name=payload.name,
        applies_to=payload.applies_to,
        product=_product(payload.product),
        campaign_id=payload.campaign_id,
        keywords=payload.keywords,
        active=payload.active,
    )
    return Status(201, TopicOut.of(topic))


@router.put("/topics/{topic_id}", response=TopicOut, summary="Change a topic")
def topics_update(
    request: HttpRequest, payload: TopicIn, topic_id: int = _id("Topic id.")
) -> TopicOut:
    topic = topic_save(
        actor=_user(request),
        topic=_topic(topic_id),
        name=payload.name,
        applies_to=payload.applies_to,
        product=_product(payload.product),
        campaign_id=payload.campaign_id,
        keywords=payload.keywords,
        active=payload.active,
    )
    return TopicOut.of(topic)


@router.post(
    "/tickets/{ticket_id}/topic", response=TopicOut | None, summary="Choose a ticket's topic"
)
def ticket_topic(
    request: HttpRequest, payload: TicketTopicIn, ticket_id: int = _id("Ticket id.")
) -> TopicOut | None:
    user = _user(request)
    ticket = ticket_get_for(user, ticket_id)
    topic = _topic(payload.topic) if payload.topic is not None else None
    ticket_topic_set(actor=user, ticket=ticket, topic=topic)
    return TopicOut.of(topic) if topic else None
