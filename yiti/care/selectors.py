"""Reads for customer care, always restricted to what the acting user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.care.choices import Bucket, TaskKind, TaskStatus
from yiti.care.models import (
    CareAttempt,
    CareTask,
    FollowUpRule,
    SurveyAnswer,
    SurveyResponse,
    SurveyTemplate,
)
from yiti.care.rules import task_visible_q
from yiti.core.errors import NotFound
from yiti.customers.rules import visible_q
from yiti.org.access import access_for


@dataclass(frozen=True)
class CareTaskFilters:
    """One filter for the queue page and the API (STYLE habit 7)."""

    bucket: str = Bucket.OPEN
    kind: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    unit_id: int | None = None
    customer_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> CareTaskFilters:
        def _int(name: str) -> int | None:
            raw = data.get(name)
            try:
                return int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                return None

        bucket = data.get("bucket") or Bucket.OPEN
        kind = data.get("kind") or ""
        assignee = str(data.get("assignee") or "")
        if assignee not in ("", "me", "none") and not assignee.isdigit():
            assignee = ""
        return cls(
            bucket=bucket if bucket in Bucket.values else Bucket.OPEN,
            kind=kind if kind in TaskKind.values else "",
            assignee=assignee,
            unit_id=_int("unit"),
            customer_id=_int("customer"),
        )


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def bucket_q(bucket: str, now: datetime) -> Q:
    _start, end_of_day = _day_bounds(now)
    is_open = Q(status=TaskStatus.OPEN)
    if bucket == Bucket.OVERDUE:
        return is_open & Q(due_at__lt=now)
    if bucket == Bucket.DUE_TODAY:
        return is_open & Q(due_at__gte=now, due_at__lt=end_of_day)
    if bucket == Bucket.UPCOMING:
        return is_open & Q(due_at__gte=end_of_day)
    if bucket == Bucket.ESCALATED:
        return Q(status=TaskStatus.ESCALATED)
    if bucket == Bucket.DONE:
        return Q(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
    return is_open


def care_tasks_visible(user: Any) -> QuerySet[CareTask]:
    access = access_for(user)
    qs = CareTask.objects.all()
    if not access.is_admin:
        qs = qs.filter(task_visible_q(access))
    return qs


def care_queue(
    user: Any, filters: CareTaskFilters, *, now: datetime | None = None
) -> QuerySet[CareTask]:
    now = now or timezone.now()
    qs = care_tasks_visible(user).filter(bucket_q(filters.bucket, now))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=getattr(user, "pk", None))
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.unit_id:
        qs = qs.filter(unit_id=filters.unit_id)
    if filters.customer_id:
        qs = qs.filter(customer_id=filters.customer_id)
    qs = qs.select_related("customer", "assignee", "unit", "rule", "ticket", "order__product")
    if filters.bucket in (Bucket.DONE, Bucket.ESCALATED):
        return qs.order_by("-updated_at", "-id")
    return qs.order_by("due_at", "id")


def queue_counts(
    user: Any, filters: CareTaskFilters, *, now: datetime | None = None
) -> dict[str, int]:
    """How many tasks each open bucket holds, for the tabs (one aggregate query)."""
    now = now or timezone.now()
    qs = care_tasks_visible(user).filter(status__in=[TaskStatus.OPEN, TaskStatus.ESCALATED])
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=getattr(user, "pk", None))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.unit_id:
        qs = qs.filter(unit_id=filters.unit_id)
    buckets = (Bucket.OVERDUE, Bucket.DUE_TODAY, Bucket.UPCOMING, Bucket.ESCALATED)
    row = qs.aggregate(**{b.value: Count("id", filter=bucket_q(b, now)) for b in buckets})
    return {key: value or 0 for key, value in row.items()}


def care_task_get_for(user: Any, task_id: int) -> CareTask:
    task = (
        care_tasks_visible(user)
        .select_related(
            "customer",
            "customer__unit",
            "customer__owner",
            "assignee",
            "unit",
            "rule",
            "rule__survey_template",
            "ticket",
            "ticket__assignee",
            "order",
            "order__product",
            "order__sold_by",
            "complaint_ticket",
            "parent",
        )
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise NotFound(_("Care task not found."))
    return task


def attempts_of(task: CareTask) -> QuerySet[CareAttempt]:
    return CareAttempt.objects.filter(task=task).select_related("agent").order_by("-at", "-id")


def responses_of_task(task: CareTask) -> QuerySet[SurveyResponse]:
    return (
        SurveyResponse.objects.filter(task=task)
        .select_related("template", "complaint_ticket")
        .prefetch_related(_answers_prefetch())
        .order_by("-created_at", "-id")
    )


def _answers_prefetch() -> Prefetch[Any]:
    return Prefetch("answers", queryset=SurveyAnswer.objects.select_related("question"))


def survey_responses_visible(user: Any) -> QuerySet[SurveyResponse]:
    access = access_for(user)
    qs = SurveyResponse.objects.all()
    if not access.is_admin:
        qs = qs.filter(visible_q(access, prefix="customer__"))
    return qs


def survey_responses(
    user: Any,
    *,
    customer_id: int | None = None,
    dissatisfied: bool | None = None,
    submitted: bool | None = True,
) -> QuerySet[SurveyResponse]:
    qs = survey_responses_visible(user)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if dissatisfied is not None:
        qs = qs.filter(dissatisfied=dissatisfied)
    if submitted is True:
        qs = qs.filter(submitted_at__isnull=False)
    elif submitted is False:
        qs = qs.filter(submitted_at__isnull=True)
    return (
        qs.select_related("template", "customer", "task", "complaint_ticket")
        .prefetch_related(_answers_prefetch())
        .order_by("-submitted_at", "-id")
    )


def survey_templates(*, active_only: bool = True) -> QuerySet[SurveyTemplate]:
    qs = SurveyTemplate.objects.prefetch_related("questions")
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("name")


def followup_rules() -> QuerySet[FollowUpRule]:
    """Every follow-up rule with its survey, for the settings page."""
    return FollowUpRule.objects.select_related("survey_template").order_by("trigger", "name")


def open_tasks_of_customer(customer: Any, *, limit: int = 10) -> QuerySet[CareTask]:
    return (
        CareTask.objects.filter(
            customer=customer, status__in=[TaskStatus.OPEN, TaskStatus.ESCALATED]
        )
        .select_related("assignee", "rule")
        .order_by("due_at", "id")[:limit]
    )


def recent_responses_of_customer(customer: Any, *, limit: int = 5) -> QuerySet[SurveyResponse]:
    return (
        SurveyResponse.objects.filter(customer=customer, submitted_at__isnull=False)
        .select_related("template", "complaint_ticket")
        .prefetch_related(_answers_prefetch())
        .order_by("-submitted_at", "-id")[:limit]
    )
