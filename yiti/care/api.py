"""API endpoints for customer care (to be mounted at /api/v1/care).

Thin: schemas in, a selector or service call, schemas out, with the same scoping as the web
UI. The customer's own survey link (/care/s/<token>/) is a web page, not an API endpoint;
``POST /surveys/responses/{id}/submit`` lets a staff system (IVR, SMS gateway) hand in the
answers a customer gave for a pending link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from yiti.care import selectors, services
from yiti.care.choices import AttemptOutcome, Bucket, TaskKind
from yiti.care.models import CareAttempt, CareTask, SurveyResponse, SurveyTemplate
from yiti.care.rules import can_use_care, require_work
from yiti.core.errors import NotFound, PermissionDenied
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.core.schema_types import Id, Int, Text
from yiti.org.access import access_for
from yiti.org.api import UserRef

router = Router(tags=["care"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# --- schemas --------------------------------------------------------------------------------


class CareTaskOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    kind: str
    rule_id: int
    ticket_id: int | None
    order_id: int | None
    parent_id: int | None
    source_at: datetime
    unit_id: int | None
    assignee: UserRef | None
    due_at: datetime
    status: str
    attempts: int
    max_attempts: int
    last_attempt_at: datetime | None
    outcome: str
    completed_at: datetime | None
    escalated_at: datetime | None
    complaint_ticket_id: int | None

    @classmethod
    def of(cls, t: CareTask) -> CareTaskOut:
        return cls(
            id=t.pk,
            customer_id=t.customer_id,
            customer_name=t.customer.name,
            kind=t.kind,
            rule_id=t.rule_id,
            ticket_id=t.ticket_id,
            order_id=t.order_id,
            parent_id=t.parent_id,
            source_at=t.source_at,
            unit_id=t.unit_id,
            assignee=UserRef.of(t.assignee),
            due_at=t.due_at,
            status=t.status,
            attempts=t.attempts,
            max_attempts=t.rule.max_attempts,
            last_attempt_at=t.last_attempt_at,
            outcome=t.outcome,
            completed_at=t.completed_at,
            escalated_at=t.escalated_at,
            complaint_ticket_id=t.complaint_ticket_id,
        )


class CareTaskPage(Schema):
    items: list[CareTaskOut]
    page: int
    page_size: int
    has_next: bool


class CareTaskQuery(Schema):
    bucket: Bucket = Bucket.OPEN
    kind: TaskKind | None = None
    assignee: str = Field("", description='"me", "none" or a user id')
    unit: int | None = None
    customer: int | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class AttemptOut(Schema):
    id: int
    task_id: int
    at: datetime
    agent: UserRef | None
    outcome: str
    note: str
    interaction_id: int | None

    @classmethod
    def of(cls, a: CareAttempt) -> AttemptOut:
        return cls(
            id=a.pk,
            task_id=a.task_id,
            at=a.at,
            agent=UserRef.of(a.agent),
            outcome=a.outcome,
            note=a.note,
            interaction_id=a.interaction_id,
        )


class AnswerIn(Schema):
    question_id: Id
    score: Int | None = Field(None, ge=0, le=10, description="A rating question's score.")
    text: Text = Field("", max_length=5000)


class AttemptIn(Schema):
    outcome: AttemptOutcome
    note: Text = Field("", max_length=5000)
    answers: list[AnswerIn] = Field(
        default_factory=list,
        max_length=100,
        description="Survey answers; only with outcome reached.",
    )


class AttemptResult(Schema):
    attempt: AttemptOut
    task: CareTaskOut


class QuestionOut(Schema):
    id: int
    position: int
    kind: str
    text: str
    target: str
    complaint_class: str
    required: bool


class TemplateOut(Schema):
    id: int
    code: str
    name: str
    dissatisfied_at_or_below: int
    link_valid_days: int
    active: bool
    questions: list[QuestionOut]

    @classmethod
    def of(cls, t: SurveyTemplate) -> TemplateOut:
        return cls(
            id=t.pk,
            code=t.code,
            name=t.name,
            dissatisfied_at_or_below=t.dissatisfied_at_or_below,
            link_valid_days=t.link_valid_days,
            active=t.active,
            questions=[
                QuestionOut(
                    id=q.pk,
                    position=q.position,
                    kind=q.kind,
                    text=q.text,
                    target=q.target,
                    complaint_class=q.complaint_class,
                    required=q.required,
                )
                for q in t.questions.all()
            ],
        )


class AnswerOut(Schema):
    question_id: int
    kind: str
    target: str
    score: int | None
    text: str


class ResponseOut(Schema):
    id: int
    customer_id: int
    template_id: int
    task_id: int | None
    channel: str
    expires_at: datetime | None
    submitted_at: datetime | None
    dissatisfied: bool
    complaint_ticket_id: int | None
    answers: list[AnswerOut]

    @classmethod
    def of(cls, r: SurveyResponse) -> ResponseOut:
        return cls(
            id=r.pk,
            customer_id=r.customer_id,
            template_id=r.template_id,
            task_id=r.task_id,
            channel=r.channel,
            expires_at=r.expires_at,
            submitted_at=r.submitted_at,
            dissatisfied=r.dissatisfied,
            complaint_ticket_id=r.complaint_ticket_id,
            answers=[
                AnswerOut(
                    question_id=a.question_id,
                    kind=a.question.kind,
                    target=a.question.target,
                    score=a.score,
                    text=a.text,
                )
                for a in r.answers.all()
            ],
        )


class ResponsePage(Schema):
    items: list[ResponseOut]
    page: int
    page_size: int
    has_next: bool


class ResponseQuery(Schema):
    customer: int | None = None
    dissatisfied: bool | None = None
    submitted: bool | None = True
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class SubmitIn(Schema):
    answers: list[AnswerIn] = Field(max_length=100)


def _answers(items: list[AnswerIn]) -> dict[int, Any]:
    return {a.question_id: a.score if a.score is not None else a.text for a in items}


# --- endpoints ------------------------------------------------------------------------------


@router.get("/tasks", response=CareTaskPage, summary="Care tasks in scope (the care queue)")
def tasks_list(request: HttpRequest, query: Query[CareTaskQuery]) -> CareTaskPage:
    user = _user(request)
    data = query.model_dump()
    filters = selectors.CareTaskFilters.from_mapping(data)
    page = paginate(selectors.care_queue(user, filters), page=query.page, size=query.page_size)
    return CareTaskPage(
        items=[CareTaskOut.of(t) for t in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.get("/tasks/{task_id}", response=CareTaskOut, summary="One care task")
def tasks_get(request: HttpRequest, task_id: int) -> CareTaskOut:
    return CareTaskOut.of(selectors.care_task_get_for(_user(request), task_id))


@router.get(
    "/tasks/{task_id}/attempts", response=list[AttemptOut], summary="A task's call attempts"
)
def attempts_list(request: HttpRequest, task_id: int) -> list[AttemptOut]:
    task = selectors.care_task_get_for(_user(request), task_id)
    return [AttemptOut.of(a) for a in selectors.attempts_of(task)]


@router.post(
    "/tasks/{task_id}/attempts",
    response={201: AttemptResult},
    summary="Record a call attempt, with the survey answers when the customer was reached",
)
def attempts_create(
    request: HttpRequest, task_id: int, payload: AttemptIn
) -> Status[AttemptResult]:
    user = _user(request)
    task = selectors.care_task_get_for(user, task_id)
    attempt = services.care_attempt_record(
        actor=user,
        task=task,
        outcome=payload.outcome,
        note=payload.note,
        answers=_answers(payload.answers) or None,
    )
    task = selectors.care_task_get_for(user, task_id)
    return Status(201, AttemptResult(attempt=AttemptOut.of(attempt), task=CareTaskOut.of(task)))


@router.post(
    "/tasks/{task_id}/survey-link",
    response={201: ResponseOut},
    summary="The customer's survey link for this task (the open one if there is one)",
)
def survey_link_create(request: HttpRequest, task_id: int) -> Status[ResponseOut]:
    user = _user(request)
    task = selectors.care_task_get_for(user, task_id)
    response = services.survey_link_create(actor=user, task=task)
    return Status(201, ResponseOut.of(response))


@router.get("/surveys/templates", response=list[TemplateOut], summary="Survey templates")
def templates_list(request: HttpRequest, active: bool = True) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in selectors.survey_templates(active_only=active)]


@router.get("/surveys/responses", response=ResponsePage, summary="Survey responses in scope")
def responses_list(request: HttpRequest, query: Query[ResponseQuery]) -> ResponsePage:
    qs = selectors.survey_responses(
        _user(request),
        customer_id=query.customer,
        dissatisfied=query.dissatisfied,
        submitted=query.submitted,
    )
    page = paginate(qs, page=query.page, size=query.page_size)
    return ResponsePage(
        items=[ResponseOut.of(r) for r in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "/surveys/responses/{response_id}/submit",
    response=ResponseOut,
    summary="Hand in the answers of a pending survey link (once)",
)
def responses_submit(request: HttpRequest, response_id: int, payload: SubmitIn) -> ResponseOut:
    user = _user(request)
    response = selectors.survey_responses(user, submitted=None).filter(pk=response_id).first()
    if response is None:
        raise NotFound(_("Survey response not found."))
    if response.task is not None:
        require_work(user, response.task)
    elif not can_use_care(access_for(user)):
        raise PermissionDenied(_("Only care agents and their managers hand in survey answers."))
    services.survey_submit(response=response, answers=_answers(payload.answers), actor=user)
    refreshed = selectors.survey_responses(user, submitted=None).get(pk=response_id)
    return ResponseOut.of(refreshed)
