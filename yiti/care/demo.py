"""Demo care data: follow-up rules, two surveys, and care tasks standing in every state.

Called by the demo seed after tickets exist. The rules apply to the last 30 days of tickets;
the order rule applies only from now on (the seeded order history gets no calls), so a few
orders in progress are fulfilled here to give the satisfaction calls something to rate.
Every call and answer goes through the services, so the timeline, the audit trail, the
complaints opened by unhappy answers and the escalation notifications are all real.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from django.utils import timezone

from yiti.care import services
from yiti.care.choices import QuestionKind, QuestionTarget, TaskKind, TaskStatus, Trigger
from yiti.care.models import CareTask, FollowUpRule, SurveyTemplate
from yiti.care.services import QuestionInput
from yiti.customers.choices import OrderStatus
from yiti.customers.models import Order
from yiti.customers.services import order_set_status

REPAIR_SURVEY = "repair-csat"
ORDER_SURVEY = "order-sat"

# what happens to the n-th open task the demo walks
PLAN: tuple[str, ...] = (
    "done_happy",
    "escalated",
    "done_unhappy",
    "attempted",
    "refused",
    "link_pending",
    "done_happy",
    "cancelled",
    "link_answered",
    "attempted",
    "done_happy",
    "escalated",
)
NOTES = (
    "客户对处理结果满意。",
    "客户表示问题已解决。",
    "客户称维修人员态度好。",
    "建议加快上门速度。",
)
UNHAPPY_NOTES = ("客户不满意：问题反复出现。", "客户抱怨解释不清楚。")


@dataclass
class CareSeedReport:
    rules: int = 0
    tasks: int = 0
    states: dict[str, int] = field(default_factory=dict)


def _templates() -> tuple[SurveyTemplate, SurveyTemplate]:
    repair = SurveyTemplate.objects.filter(code=REPAIR_SURVEY).first()
    if repair is None:
        repair = services.survey_template_create(
            actor=None,
            name="维修 / 投诉回访",
            code=REPAIR_SURVEY,
            intro="您好，这里是客户关怀中心，想了解您对本次服务的评价。",
            thanks="感谢您的反馈，我们会持续改进服务。",
            questions=[
                QuestionInput(kind=QuestionKind.CSAT, text="您对本次处理结果是否满意？"),
                QuestionInput(
                    kind=QuestionKind.CSAT,
                    text="您对服务人员的态度是否满意？",
                    target=QuestionTarget.SERVICE,
                ),
                QuestionInput(
                    kind=QuestionKind.NPS, text="您有多大可能向亲友推荐我们？", required=False
                ),
                QuestionInput(kind=QuestionKind.TEXT, text="其他意见或建议", required=False),
            ],
        )
    order = SurveyTemplate.objects.filter(code=ORDER_SURVEY).first()
    if order is None:
        order = services.survey_template_create(
            actor=None,
            name="客服回访（销售与服务满意度）",
            code=ORDER_SURVEY,
            intro="感谢您的购买，想分别了解您对销售人员和售后服务的评价。",
            thanks="感谢您的评价！",
            questions=[
                QuestionInput(
                    kind=QuestionKind.CSAT,
                    text="您对销售人员的讲解和办理是否满意？",
                    target=QuestionTarget.SALES,
                ),
                QuestionInput(
                    kind=QuestionKind.CSAT,
                    text="您对开通 / 安装服务是否满意？",
                    target=QuestionTarget.SERVICE,
                ),
                QuestionInput(
                    kind=QuestionKind.NPS, text="您有多大可能向亲友推荐我们？", required=False
                ),
            ],
        )
    return repair, order


def _rules(now: datetime, repair: SurveyTemplate, order: SurveyTemplate) -> list[FollowUpRule]:
    wanted: list[tuple[str, str, dict[str, Any]]] = [
        (
            "维修完成三个工作日内回访",
            Trigger.REPAIR_RESOLVED,
            {"survey_template": repair, "starts_at": now - timedelta(days=60), "lookback_days": 30},
        ),
        (
            "投诉解决后回访及二次回访",
            Trigger.COMPLAINT_RESOLVED,
            {
                "survey_template": repair,
                "second_after_days": 5,
                "starts_at": now - timedelta(days=60),
                "lookback_days": 30,
            },
        ),
        (
            "订单完成满意度回访（销售与服务）",
            Trigger.ORDER_FULFILLED,
            {"survey_template": order, "starts_at": now - timedelta(minutes=5)},
        ),
    ]
    rules: list[FollowUpRule] = []
    for name, trigger, options in wanted:
        rule = FollowUpRule.objects.filter(trigger=trigger, name=name).first()
        if rule is None:
            rule = services.followup_rule_create(actor=None, name=name, trigger=trigger, **options)
        rules.append(rule)
    return rules


def _answers(task: CareTask, *, happy: bool, rng: random.Random) -> dict[int, Any]:
    template = task.rule.survey_template
    assert template is not None
    answers: dict[int, Any] = {}
    for question in template.questions.all():
        if question.kind == QuestionKind.CSAT:
            answers[question.pk] = rng.choice((4, 5, 5)) if happy else rng.choice((1, 2))
            if not happy and question.target == QuestionTarget.SERVICE:
                answers[question.pk] = 4  # the unhappy answer is about one thing, not everything
        elif question.kind == QuestionKind.NPS:
            answers[question.pk] = rng.randint(8, 10) if happy else rng.randint(0, 5)
        elif not happy:
            answers[question.pk] = rng.choice(UNHAPPY_NOTES)
    return answers


def _times(task: CareTask, now: datetime, n: int) -> list[datetime]:
    """``n`` increasing attempt times after the task's source, none in the future."""
    start = max(task.source_at + timedelta(hours=2), now - timedelta(days=2))
    step = max((now - timedelta(minutes=5) - start) / max(n, 1), timedelta(minutes=1))
    return [min(start + step * i, now - timedelta(minutes=5)) for i in range(n)]


def _walk(task: CareTask, state: str, now: datetime, rng: random.Random) -> None:
    actor = task.assignee
    record = services.care_attempt_record
    if state in ("done_happy", "done_unhappy"):
        at = _times(task, now, 1)[0]
        happy = state == "done_happy"
        note = rng.choice(NOTES if happy else UNHAPPY_NOTES)
        record(
            actor=actor,
            task=task,
            outcome="reached",
            note=note,
            at=at,
            answers=_answers(task, happy=happy, rng=rng),
        )
    elif state == "escalated":
        for at in _times(task, now, task.rule.max_attempts):
            record(actor=actor, task=task, outcome="no_answer", at=at)
    elif state == "attempted":
        for at in _times(task, now, max(1, task.rule.max_attempts - 1)):
            record(actor=actor, task=task, outcome="no_answer", at=at)
    elif state == "refused":
        record(
            actor=actor,
            task=task,
            outcome="refused",
            note="客户表示不方便接听。",
            at=_times(task, now, 1)[0],
        )
    elif state == "cancelled":
        services.care_task_cancel(actor=actor, task=task, reason="客户要求不再回访。")
    elif state in ("link_pending", "link_answered"):
        record(actor=actor, task=task, outcome="no_answer", at=_times(task, now, 1)[0])
        link = services.survey_link_create(actor=actor, task=task)
        if state == "link_answered":
            services.survey_submit(response=link, answers=_answers(task, happy=True, rng=rng))


def seed_care(
    *, rng: Any = None, now: datetime | None = None, count: int = 24, orders: int = 8
) -> CareSeedReport:
    """Rules and surveys, then the sweep, then up to ``count`` open tasks walked into every
    state (done with happy and unhappy answers, escalated, attempted, refused, cancelled, with
    a pending and an answered survey link). The other tasks stay open: overdue, due today or
    upcoming, depending on when their ticket was resolved. Safe to call twice."""
    now = now or timezone.now()
    if rng is None:
        seed = 3
    elif hasattr(rng, "integers"):  # a numpy Generator, as the demo seed passes
        seed = int(rng.integers(0, 2**31))
    else:
        seed = rng.randrange(2**31)
    pick = random.Random(seed)
    repair, order = _templates()
    rules = _rules(now, repair, order)
    in_progress: Sequence[Order] = list(
        Order.objects.filter(status=OrderStatus.PROCESSING, sold_by__isnull=False)
        .select_related("customer")
        .order_by("-ordered_at")[:orders]
    )
    for o in in_progress:
        order_set_status(actor=None, order=o, status=OrderStatus.FULFILLED)
    services.followups_generate(now=max(now, timezone.now()))
    open_tasks = (
        CareTask.objects.filter(status=TaskStatus.OPEN, attempts=0)
        .select_related("rule", "rule__survey_template", "customer", "assignee")
        .order_by("source_at", "id")
    )
    satisfaction = list(open_tasks.filter(kind=TaskKind.SATISFACTION)[: max(1, count // 3)])
    others = list(open_tasks.exclude(kind=TaskKind.SATISFACTION)[: count - len(satisfaction)])
    walkable = [t for pair in zip_longest(others, satisfaction) for t in pair if t is not None]
    for i, task in enumerate(walkable):
        _walk(task, PLAN[i % len(PLAN)], now, pick)
    states = Counter(CareTask.objects.values_list("status", flat=True))
    return CareSeedReport(
        rules=len(rules), tasks=sum(states.values()), states={str(k): v for k, v in states.items()}
    )
