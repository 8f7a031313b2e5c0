"""Writes for customer care: the follow-up sweep, call attempts, survey links and answers.

Flows that cross into other apps are explicit calls: every attempt lands on the timeline
(``engagement.services.interaction_record``), an escalation notifies the care unit's manager
(``org.services.notify``), and a dissatisfied answer opens a complaint through
``service.services.ticket_create``, which also puts the customer on the suppression list.

Complaint class of a dissatisfied answer (issue 3 item 7):

* the question's own ``complaint_class`` when set (data, editable per template);
* else the answer's context: a follow-up of a complaint keeps that complaint's class (the
  customer is still unhappy about the same thing); on an order's satisfaction call the
  salesperson's rating is staff conduct (naming him) and the service after the sale
  (delivery, installation, the gift) is fulfilment;
* else a question rating the service of a ticket: staff conduct, naming its agent;
* else an order's call: fulfilment; a repair follow-up: staff conduct.

The agent who reads the complaint may correct the class on the ticket
(``service.complaints.complaint_classify``). Its subject names what the call followed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.care import rules
from yiti.care.choices import (
    SCORE_RANGES,
    AttemptOutcome,
    QuestionKind,
    QuestionTarget,
    ResponseChannel,
    TaskKind,
    TaskStatus,
    Trigger,
)
from yiti.care.due import CalendarBook
from yiti.care.handover import handover_candidates
from yiti.care.models import (
    CareAttempt,
    CareTask,
    FollowUpRule,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyTemplate,
)
from yiti.care.roster import CareRoster, managers_for
from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.errors import Conflict, NotFound, ValidationFailed
from yiti.customers.choices import CustomerStatus, OrderStatus, ValueTier
from yiti.customers.models import Customer, CustomerValue, Order
from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose, Outcome
from yiti.engagement.services import interaction_record
from yiti.org.models import User
from yiti.org.services import notify
from yiti.service.choices import ComplaintClass, TicketKind, TicketStatus
from yiti.service.models import Ticket

TRIGGER_TASK_KIND = {
    Trigger.REPAIR_RESOLVED: TaskKind.FIRST,
    Trigger.COMPLAINT_RESOLVED: TaskKind.FIRST,
    Trigger.ORDER_FULFILLED: TaskKind.SATISFACTION,
    Trigger.HANDOVER: TaskKind.HANDOVER,
}
TRIGGER_TICKET_KIND = {
    Trigger.REPAIR_RESOLVED: TicketKind.REPAIR,
    Trigger.COMPLAINT_RESOLVED: TicketKind.COMPLAINT,
}
ATTEMPT_OUTCOME_TIMELINE = {
    AttemptOutcome.REACHED: Outcome.REACHED,
    AttemptOutcome.NO_ANSWER: Outcome.NO_ANSWER,
    AttemptOutcome.REFUSED: Outcome.REFUSED,
    AttemptOutcome.WRONG_NUMBER: Outcome.WRONG_NUMBER,
}
RESOLVED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)

Answers = Mapping[int, Any]
"""Survey answers by question id: an int (or digit string) for CSAT/NPS, a string for text."""


# --- the sweep -------------------------------------------------------------------------------


@dataclass
class SweepResult:
    created: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.created.values())


def _new_task(
    *,
    rule: FollowUpRule,
    kind: str,
    customer_id: int,
    unit_path: str,
    unit_id: int,
    source_at: datetime,
    days: int,
    book: CalendarBook,
    roster: CareRoster,
    ticket_id: int | None = None,
    order_id: int | None = None,
    parent_id: int | None = None,
    batch: str = "",
) -> CareTask:
    care_unit_id = roster.care_unit(unit_path, unit_id)
    if care_unit_id is None:
        due_at = book.due(path=unit_path, unit_id=unit_id, start=source_at, days=days)
    else:
        # the care unit is on the customer's unit chain: cut the path there for its calendar
        marker = f"/{care_unit_id}/"
        path = unit_path[: unit_path.index(marker) + len(marker)] if marker in unit_path else ""
        due_at = book.due(path=path, unit_id=care_unit_id, start=source_at, days=days)
    return CareTask(
        customer_id=customer_id,
        rule=rule,
        kind=kind,
        ticket_id=ticket_id,
        order_id=order_id,
        parent_id=parent_id,
        source_at=source_at,
        unit_id=care_unit_id,
        assignee_id=roster.pick(care_unit_id),
        due_at=due_at,
        status=TaskStatus.OPEN,
        batch=batch,
    )


def _ticket_candidates(rule: FollowUpRule, since: datetime, now: datetime) -> list[Any]:
    kind = TRIGGER_TICKET_KIND[Trigger(rule.trigger)]
    task_kind = TRIGGER_TASK_KIND[Trigger(rule.trigger)]
    return list(
        Ticket.objects.filter(
            kind=kind,
            status__in=RESOLVED_STATUSES,
            resolved_at__gte=since,
            resolved_at__lte=now,
        )
        .exclude(customer__status=CustomerStatus.MERGED)
        .filter(
            ~Exists(CareTask.objects.filter(rule=rule, ticket_id=OuterRef("pk"), kind=task_kind))
        )
        .order_by("resolved_at", "pk")
        .values("pk", "customer_id", "resolved_at", "customer__unit_id", "customer__unit__path")
    )


def _order_candidates(rule: FollowUpRule, since: datetime, now: datetime) -> list[Any]:
    """Orders fulfilled in the window. Orders keep no fulfilment time; the last change of a
    fulfilled order (``updated_at``) stands in for it."""
    return list(
        Order.objects.filter(
            status=OrderStatus.FULFILLED, updated_at__gte=since, updated_at__lte=now
        )
        .exclude(customer__status=CustomerStatus.MERGED)
        .filter(
            ~Exists(
                CareTask.objects.filter(
                    rule=rule, order_id=OuterRef("pk"), kind=TaskKind.SATISFACTION
                )
            )
        )
        .order_by("updated_at", "pk")
        .values("pk", "customer_id", "updated_at", "customer__unit_id", "customer__unit__path")
    )


def _second_candidates(rule: FollowUpRule) -> list[Any]:
    return list(
        CareTask.objects.filter(
            rule=rule, kind=TaskKind.FIRST, status=TaskStatus.DONE, completed_at__isnull=False
        )
        .filter(
            ~Exists(
                CareTask.objects.filter(
                    rule=rule, ticket_id=OuterRef("ticket_id"), kind=TaskKind.SECOND
                )
            )
        )
        .order_by("completed_at", "pk")
        .values(
            "pk",
            "customer_id",
            "ticket_id",
            "completed_at",
            "customer__unit_id",
            "customer__unit__path",
        )
    )


def followups_generate(*, now: datetime | None = None) -> SweepResult:
    """The scheduled sweep: a care task for every resolved repair or complaint and every
    fulfilled order (within each rule's look-back window) that has none yet, and the second
    follow-up of every complaint whose first call is done.

    Set-based: per active rule one query finds the sources without a task (NOT EXISTS), the
    calendars and the care agents with their workload are read once, the tasks are inserted
    in bulk. Idempotent: a second run finds nothing, and the unique constraints make two
    concurrent runs safe (conflicting rows are skipped).
    """
    now = now or timezone.now()
    result = SweepResult()
    # retention calls are created by the value refit (retention_calls_create), and calls asked
    # for while serving a customer by care_call_request: neither by events
    active_rules = list(
        FollowUpRule.objects.filter(active=True)
        .exclude(trigger__in=[Trigger.VALUE_AT_RISK, Trigger.AGENT_REQUEST])
        .order_by("pk")
    )
    if not active_rules:
        return result
    book = CalendarBook()
    roster = CareRoster()
    new: list[CareTask] = []
    for rule in active_rules:
        since = max(now - timedelta(days=rule.lookback_days), rule.starts_at)
        before = len(new)
        trigger = Trigger(rule.trigger)
        kind = TRIGGER_TASK_KIND[trigger]
        if trigger == Trigger.HANDOVER:
            for row in handover_candidates(rule, since, now):
                new.append(
                    _new_task(
                        rule=rule,
                        kind=kind,
                        customer_id=row["customer_id"],
                        unit_path=row["customer__unit__path"],
                        unit_id=row["customer__unit_id"],
                        source_at=row["at"],
                        days=rule.due_business_days,
                        book=book,
                        roster=roster,
                        batch=row["batch"],
                    )
                )
        elif trigger == Trigger.ORDER_FULFILLED:
            for row in _order_candidates(rule, since, now):
                new.append(
                    _new_task(
                        rule=rule,
                        kind=kind,
                        customer_id=row["customer_id"],
                        unit_path=row["customer__unit__path"],
                        unit_id=row["customer__unit_id"],
                        source_at=row["updated_at"],
                        days=rule.due_business_days,
                        book=book,
                        roster=roster,
                        order_id=row["pk"],
                    )
                )
        else:
            for row in _ticket_candidates(rule, since, now):
                new.append(
                    _new_task(
                        rule=rule,
                        kind=kind,
                        customer_id=row["customer_id"],
                        unit_path=row["customer__unit__path"],
                        unit_id=row["customer__unit_id"],
                        source_at=row["resolved_at"],
                        days=rule.due_business_days,
                        book=book,
                        roster=roster,
                        ticket_id=row["pk"],
                    )
                )
        if trigger == Trigger.COMPLAINT_RESOLVED and rule.second_after_days:
            for row in _second_candidates(rule):
                new.append(
                    _new_task(
                        rule=rule,
                        kind=TaskKind.SECOND,
                        customer_id=row["customer_id"],
                        unit_path=row["customer__unit__path"],
                        unit_id=row["customer__unit_id"],
                        source_at=row["completed_at"],
                        days=rule.second_after_days,
                        book=book,
                        roster=roster,
                        ticket_id=row["ticket_id"],
                        parent_id=row["pk"],
                    )
                )
        if len(new) > before:
            result.created[f"{rule.pk}:{rule.trigger}"] = len(new) - before
    if new:
        with transaction.atomic():
            CareTask.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
            audit_record(
                actor=None,
                action="care.followups_generate",
                object_type="care.caretask",
                changes={"created": result.created, "at": now},
                summary=f"{len(new)} care tasks",
            )
    return result


def _second_followup_create(first: CareTask) -> CareTask | None:
    """Right after a complaint's first call is done: its second follow-up (idempotent)."""
    rule = first.rule
    if (
        first.kind != TaskKind.FIRST
        or rule.trigger != Trigger.COMPLAINT_RESOLVED
        or not rule.second_after_days
        or first.completed_at is None
        or first.ticket_id is None
    ):
        return None
    existing = CareTask.objects.filter(rule=rule, ticket_id=first.ticket_id, kind=TaskKind.SECOND)
    if existing.exists():
        return None
    customer = first.customer
    task = _new_task(
        rule=rule,
        kind=TaskKind.SECOND,
        customer_id=customer.pk,
        unit_path=customer.unit.path,
        unit_id=customer.unit_id,
        source_at=first.completed_at,
        days=rule.second_after_days,
        book=CalendarBook(),
        roster=CareRoster(),
        ticket_id=first.ticket_id,
        parent_id=first.pk,
    )
    task.save()
    audit_record(
        actor=None,
        action="care.task_create",
        obj=task,
        customer_id=customer.pk,
        changes={"kind": task.kind, "parent": first.pk, "due_at": task.due_at},
    )
    return task


# --- retention calls for most valuable customers at risk --------------------------------------


def retention_rule_ensure() -> FollowUpRule:
    """The follow-up rule of retention calls: the first one with the value-at-risk trigger, or
    a new active one (due in 3 business days, 3 attempts) when there is none. A rule switched
    off stays off: the refit then creates no retention calls."""
    return _rule_ensure(
        Trigger.VALUE_AT_RISK,
        name=_("Retention call: most valuable customer at risk"),
        due_business_days=3,
        lookback_days=28,
    )


def _rule_ensure(
    trigger: str, *, name: str, due_business_days: int, lookback_days: int
) -> FollowUpRule:
    """The first follow-up rule with ``trigger``, or a new one (3 attempts), audited."""
    rule = FollowUpRule.objects.filter(trigger=trigger).order_by("pk").first()
    if rule is not None:
        return rule
    rule = FollowUpRule.objects.create(
        name=name,
        trigger=trigger,
        due_business_days=due_business_days,
        max_attempts=3,
        lookback_days=lookback_days,
    )
    audit_record(
        actor=None,
        action="care.rule_create",
        obj=rule,
        changes={
            "trigger": rule.trigger,
            "due_business_days": due_business_days,
            "max_attempts": 3,
        },
        summary=rule.name,
    )
    return rule


@dataclass(frozen=True)
class RetentionResult:
    created: int
    rule_id: int | None


def retention_calls_create(
    *, churn_threshold: float, now: datetime | None = None, source: str = ""
) -> RetentionResult:
    """A retention call (回访) for every most valuable customer whose churn risk is at least
    ``churn_threshold``, assigned to the customer's account manager (or, without one, to the
    least-loaded care agent of the customer's care unit), due within the rule's business days.

    Reads the scores the value refit just wrote (``customers.CustomerValue``). Set-based: one
    query finds the customers at risk who have no open retention call of the rule and none
    created within the rule's ``lookback_days`` (so a call that was made is not repeated every
    week), calendars and care agents are read once, the tasks go in in bulk. Idempotent: a
    second run creates nothing, and the unique open-retention constraint keeps two concurrent
    runs from doubling a call. Call it inside the refit's transaction.
    """
    now = now or timezone.now()
    rule = retention_rule_ensure()
    if not rule.active:
        return RetentionResult(created=0, rule_id=rule.pk)
    recent = now - timedelta(days=rule.lookback_days)
    candidates = list(
        CustomerValue.objects.filter(tier=ValueTier.MVC, churn_risk__gte=churn_threshold)
        .exclude(customer__status=CustomerStatus.MERGED)
        .filter(
            ~Exists(
                CareTask.objects.filter(
                    rule=rule, customer_id=OuterRef("customer_id"), kind=TaskKind.RETENTION
                ).filter(Q(status=TaskStatus.OPEN) | Q(created_at__gte=recent))
            )
        )
        .order_by("customer_id")
        .values_list(
            "customer_id",
            "customer__owner_id",
            "customer__owner__is_active",
            "customer__unit_id",
            "customer__unit__path",
        )
    )
    if not candidates:
        return RetentionResult(created=0, rule_id=rule.pk)
    book = CalendarBook()
    roster = CareRoster()
    due_by_unit: dict[int, datetime] = {}
    new: list[CareTask] = []
    for customer_id, owner_id, owner_active, unit_id, unit_path in candidates:
        if owner_id is not None and owner_active:
            # the account manager calls, on the calendar of the customer's unit
            if unit_id not in due_by_unit:
                due_by_unit[unit_id] = book.due(
                    path=unit_path, unit_id=unit_id, start=now, days=rule.due_business_days
                )
            task = CareTask(
                customer_id=customer_id,
                rule=rule,
                kind=TaskKind.RETENTION,
                source_at=now,
                unit_id=unit_id,
                assignee_id=owner_id,
                due_at=due_by_unit[unit_id],
                status=TaskStatus.OPEN,
            )
        else:
            task = _new_task(
                rule=rule,
                kind=TaskKind.RETENTION,
                customer_id=customer_id,
                unit_path=unit_path,
                unit_id=unit_id,
                source_at=now,
                days=rule.due_business_days,
                book=book,
                roster=roster,
            )
        new.append(task)
    with transaction.atomic():
        CareTask.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        audit_record(
            actor=None,
            action="care.retention_calls_create",
            object_type="care.caretask",
            changes={"rule": rule.pk, "candidates": len(new), "churn_threshold": churn_threshold},
            summary=f"{len(new)} retention calls {source}".strip(),
        )
    return RetentionResult(created=len(new), rule_id=rule.pk)


# --- a care call asked for while serving the customer ----------------------------------------


def request_rule_ensure() -> FollowUpRule:
    """The follow-up rule of calls asked for while serving a customer (the next best action's
    follow-up call): the first with that trigger, or a new one (due in 2 business days)."""
    return _rule_ensure(
        Trigger.AGENT_REQUEST,
        name=_("Follow-up call accepted while serving the customer"),
        due_business_days=2,
        lookback_days=14,
    )


CALL_REQUEST_KINDS = (TaskKind.FIRST, TaskKind.RETENTION)


@transaction.atomic
def care_call_request(
    *,
    actor: User | None,
    customer: Customer,
    kind: str,
    ticket: Ticket | None = None,
    now: datetime | None = None,
) -> tuple[CareTask, bool]:
    """A care call the customer accepted while being served: a follow-up call (``first``, on
    the rule of agent requests, about ``ticket`` when there is one) or a retention call
    (``retention``, on the retention rule). Returns ``(task, created)``.

    Idempotent: while such a call is open (for the ticket, or the customer's open retention
    call / open follow-up without a ticket) it is returned instead of a second one. Assigned
    like the sweep's tasks: a retention call to the customer's active account manager, else
    the least-loaded care agent of the customer's care unit; due within the rule's business
    days on the unit's calendar. Audited (``care.task_request``).
    """
    if kind not in CALL_REQUEST_KINDS:
        raise ValidationFailed(_("Unknown kind of care call: %(k)s") % {"k": kind}, field="kind")
    if ticket is not None and ticket.customer_id != customer.pk:
        raise ValidationFailed(_("The ticket is not this customer's."), field="ticket_id")
    now = now or timezone.now()
    rule = retention_rule_ensure() if kind == TaskKind.RETENTION else request_rule_ensure()
    open_calls = CareTask.objects.select_for_update().filter(
        rule=rule, customer=customer, kind=kind, status=TaskStatus.OPEN
    )
    source_ticket = ticket if kind == TaskKind.FIRST else None
    if source_ticket is not None:
        existing = CareTask.objects.filter(rule=rule, ticket=source_ticket, kind=kind).first()
    else:
        existing = open_calls.filter(ticket__isnull=True, order__isnull=True).first()
    if existing is not None:
        return existing, False
    unit = customer.unit
    owner = customer.owner
    if kind == TaskKind.RETENTION and owner is not None and owner.is_active:
        task = CareTask(
            customer=customer,
            rule=rule,
            kind=kind,
            source_at=now,
            unit_id=customer.unit_id,
            assignee=owner,
            due_at=CalendarBook().due(
                path=unit.path, unit_id=unit.pk, start=now, days=rule.due_business_days
            ),
            status=TaskStatus.OPEN,
        )
    else:
        task = _new_task(
            rule=rule,
            kind=kind,
            customer_id=customer.pk,
            unit_path=unit.path,
            unit_id=unit.pk,
            source_at=now,
            days=rule.due_business_days,
            book=CalendarBook(),
            roster=CareRoster(),
            ticket_id=source_ticket.pk if source_ticket is not None else None,
        )
    task.save()
    audit_record(
        actor=actor,
        action="care.task_request",
        obj=task,
        customer_id=customer.pk,
        changes={
            "kind": task.kind,
            "rule": rule.pk,
            "ticket": task.ticket_id,
            "assignee": task.assignee_id,
            "due_at": task.due_at,
        },
        summary=str(task.get_kind_display()),
    )
    return task, True


# --- attempts --------------------------------------------------------------------------------


def _lock(task: CareTask) -> CareTask:
    return (
        CareTask.objects.select_for_update(of=("self",))
        .select_related("rule", "rule__survey_template", "customer", "customer__unit", "unit")
        .get(pk=task.pk)
    )


def _escalate(*, actor: User | None, task: CareTask, at: datetime, reason: str) -> None:
    task.status = TaskStatus.ESCALATED
    task.escalated_at = at
    task.save(update_fields=["status", "escalated_at", "updated_at"])
    unit = task.unit or task.customer.unit
    managers = managers_for(unit)
    if managers:
        notify(
            users=managers,
            title=_("Follow-up unreached: %(customer)s") % {"customer": task.customer.name},
            body=reason,
            link=reverse("care:task", args=[task.pk]),
            kind="care.escalated",
            email=True,
        )
    audit_record(
        actor=actor,
        action="care.task_escalate",
        obj=task,
        customer_id=task.customer_id,
        changes={"attempts": task.attempts, "notified": [m.pk for m in managers]},
        summary=reason,
    )


def _complete(task: CareTask, at: datetime) -> None:
    task.status = TaskStatus.DONE
    task.completed_at = at
    task.save(update_fields=["status", "completed_at", "updated_at"])
    _second_followup_create(task)


@transaction.atomic
def care_attempt_record(
    *,
    actor: User | None,
    task: CareTask,
    outcome: str,
    note: str = "",
    answers: Answers | None = None,
    at: datetime | None = None,
) -> CareAttempt:
    """Record one call attempt on an open care task.

    reached: the task is done (with the survey answers, if any); refused: done, nothing asked;
    no answer: counted, and the task escalates when the rule's attempts are used up; wrong
    number: escalates at once, as calling again cannot help. Every attempt is on the timeline.
    """
    rules.require_work(actor, task)
    if outcome not in AttemptOutcome.values:
        raise ValidationFailed(_("Unknown outcome."), field="outcome")
    task = _lock(task)
    if task.status != TaskStatus.OPEN:
        raise Conflict(
            _("This follow-up is %(status)s; no more calls are recorded on it.")
            % {"status": task.get_status_display()},
            code="task_closed",
        )
    if answers and outcome != AttemptOutcome.REACHED:
        raise ValidationFailed(
            _("Survey answers need a call that reached the customer."), field="outcome"
        )
    at = at or timezone.now()
    interaction = interaction_record(
        actor=actor,
        customer=task.customer,
        channel=InteractionChannel.CALL,
        direction=Direction.OUTBOUND,
        purpose=InteractionPurpose.CARE,
        outcome=ATTEMPT_OUTCOME_TIMELINE[AttemptOutcome(outcome)],
        subject=_("%(kind)s (attempt %(n)s)")
        % {"kind": task.get_kind_display(), "n": task.attempts + 1},
        body=note,
        occurred_at=at,
        unit=task.unit,
        ticket_id=task.ticket_id,
        check_access=False,
    )
    attempt = CareAttempt.objects.create(
        task=task, at=at, agent=actor, outcome=outcome, note=note, interaction_id=interaction.pk
    )
    task.attempts += 1
    task.last_attempt_at = at
    task.outcome = outcome
    task.save(update_fields=["attempts", "last_attempt_at", "outcome", "updated_at"])
    audit_record(
        actor=actor,
        action="care.attempt",
        obj=attempt,
        customer_id=task.customer_id,
        changes={"task": task.pk, "outcome": outcome, "attempts": task.attempts},
    )
    if outcome == AttemptOutcome.REACHED:
        template = task.rule.survey_template
        if answers:
            if template is None:
                raise ValidationFailed(_("This follow-up has no survey."), field="answers")
            response = SurveyResponse.objects.create(
                customer=task.customer,
                template=template,
                task=task,
                channel=ResponseChannel.CALL,
                recorded_by=actor,
            )
            _answers_store(actor=actor, response=response, answers=answers, at=at)
        _complete(task, at)
    elif outcome == AttemptOutcome.REFUSED:
        _complete(task, at)
    elif outcome == AttemptOutcome.WRONG_NUMBER:
        _escalate(
            actor=actor,
            task=task,
            at=at,
            reason=_("Wrong number: the customer's phone needs correcting."),
        )
    elif task.attempts >= task.rule.max_attempts:
        _escalate(
            actor=actor,
            task=task,
            at=at,
            reason=_("No answer after %(n)s attempts.") % {"n": task.attempts},
        )
    return attempt


@transaction.atomic
def care_task_assign(*, actor: User | None, task: CareTask, assignee: User) -> CareTask:
    rules.require_work(actor, task)
    if not rules.can_work(_access(assignee), task):
        raise ValidationFailed(
            _("%(user)s cannot work this follow-up.") % {"user": assignee}, field="assignee"
        )
    task = _lock(task)
    before = task.assignee_id
    task.assignee = assignee
    task.save(update_fields=["assignee", "updated_at"])
    audit_record(
        actor=actor,
        action="care.task_assign",
        obj=task,
        customer_id=task.customer_id,
        changes={"assignee": [before, assignee.pk]},
    )
    return task


@transaction.atomic
def care_task_cancel(*, actor: User | None, task: CareTask, reason: str) -> CareTask:
    """Cancel an open follow-up (e.g. the customer asked not to be called)."""
    rules.require_work(actor, task)
    if not reason.strip():
        raise ValidationFailed(_("Say why the follow-up is cancelled."), field="reason")
    task = _lock(task)
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("Only an open follow-up can be cancelled."), code="task_closed")
    task.status = TaskStatus.CANCELLED
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "completed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="care.task_cancel",
        obj=task,
        customer_id=task.customer_id,
        summary=reason.strip(),
    )
    return task


def _access(user: User) -> Any:
    from yiti.org.access import access_for

    return access_for(user)


# --- surveys ---------------------------------------------------------------------------------


def _parse_answers(template: SurveyTemplate, answers: Answers) -> list[SurveyAnswer]:
    questions = {q.pk: q for q in template.questions.all()}
    unknown = [key for key in answers if _int_or_none(key) not in questions]
    if unknown:
        raise ValidationFailed(
            _("Unknown question."), field=f"q{unknown[0]}", code="unknown_question"
        )
    rows: list[SurveyAnswer] = []
    for question in sorted(questions.values(), key=lambda q: (q.position, q.pk)):
        raw = answers.get(question.pk, answers.get(str(question.pk)))  # type: ignore[call-overload]
        blank = raw is None or (isinstance(raw, str) and not raw.strip())
        if blank:
            if question.required:
                raise ValidationFailed(
                    _("Please answer: %(q)s") % {"q": question.text},
                    field=f"q{question.pk}",
                    code="answer_required",
                )
            continue
        if question.kind == QuestionKind.TEXT:
            rows.append(SurveyAnswer(question=question, text=str(raw).strip()[:5000]))
            continue
        low, high = SCORE_RANGES[QuestionKind(question.kind)]
        score = _int_or_none(raw)
        if score is None or not low <= score <= high:
            raise ValidationFailed(
                _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high},
                field=f"q{question.pk}",
                code="score_out_of_range",
            )
        rows.append(SurveyAnswer(question=question, score=score))
    if not rows:
        raise ValidationFailed(_("The survey has no answers."), field="answers", code="no_answers")
    return rows


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def complaint_class_for(question: SurveyQuestion, task: CareTask | None) -> str:
    """See the module docstring: the mapping from a dissatisfied question to a complaint class."""
    if question.complaint_class:
        return question.complaint_class
    source = task.ticket if task is not None and task.ticket_id else None
    if source is not None and source.kind == TicketKind.COMPLAINT and source.complaint_class:
        return source.complaint_class
    if task is not None and task.order_id is not None:
        if question.target == QuestionTarget.SALES:
            return ComplaintClass.STAFF_CONDUCT
        return ComplaintClass.FULFILMENT
    if question.target in (QuestionTarget.SALES, QuestionTarget.SERVICE):
        return ComplaintClass.STAFF_CONDUCT
    if task is not None and task.order_id is not None:
        return ComplaintClass.FULFILMENT
    return ComplaintClass.STAFF_CONDUCT


def _staff_concerned(question: SurveyQuestion, task: CareTask | None) -> Any:
    if task is None:
        return None
    if question.target == QuestionTarget.SALES and task.order_id:
        return task.order.sold_by if task.order else None
    if question.target == QuestionTarget.SERVICE and task.ticket_id:
        return task.ticket.assignee if task.ticket else None
    return None


def _answers_store(
    *, actor: User | None, response: SurveyResponse, answers: Answers, at: datetime
) -> SurveyResponse:
    template = response.template
    rows = _parse_answers(template, answers)
    for row in rows:
        row.response = response
    SurveyAnswer.objects.bulk_create(rows)
    threshold = template.dissatisfied_at_or_below
    unhappy = [
        r
        for r in rows
        if r.question.kind == QuestionKind.CSAT and r.score is not None and r.score <= threshold
    ]
    response.submitted_at = at
    response.dissatisfied = bool(unhappy)
    if unhappy:
        response.complaint_ticket = _complaint_open(actor=actor, response=response, unhappy=unhappy)
    response.save(update_fields=["submitted_at", "dissatisfied", "complaint_ticket", "updated_at"])
    audit_record(
        actor=actor,
        action="care.survey_answer",
        obj=response,
        customer_id=response.customer_id,
        changes={
            "answers": {
                str(r.question_id): r.score if r.score is not None else "text" for r in rows
            },
            "dissatisfied": bool(unhappy),
        },
    )
    return response


def _complaint_subject(task: CareTask | None, question: SurveyQuestion, score: Any) -> str:
    """What the complaint is about, in the words of the queue: what the call followed and
    what was rated, not the question's text."""
    what = str(question.get_target_display()) if question.target else _("overall")
    if task is not None and task.ticket_id and task.ticket is not None:
        source = _("ticket “%(subject)s”") % {"subject": task.ticket.subject}
    elif task is not None and task.order_id and task.order is not None:
        source = _("order of %(product)s") % {"product": task.order.product.name}
    else:
        source = _("care call")
    return _("Dissatisfied after %(source)s: %(what)s %(score)s/5") % {
        "source": source,
        "what": what,
        "score": score,
    }


def _complaint_open(
    *, actor: User | None, response: SurveyResponse, unhappy: list[SurveyAnswer]
) -> Ticket:
    """A dissatisfied answer opens a complaint, linked to the follow-up (item 7 of issue 3)."""
    from yiti.service.services import ticket_create

    task = response.task
    worst = min(unhappy, key=lambda r: (r.score or 0, r.question.position))
    question = worst.question
    lines = [
        f"{r.question.text}: {r.score}/5"
        + (f" ({r.question.get_target_display()})" if r.question.target else "")
        for r in unhappy
    ]
    description = "\n".join(
        [
            _("Dissatisfied answer in a follow-up survey (%(channel)s).")
            % {"channel": response.get_channel_display()},
            *lines,
        ]
    )
    ticket = ticket_create(
        actor=actor,
        customer=response.customer,
        kind=TicketKind.COMPLAINT,
        subject=_complaint_subject(task, question, worst.score)[:200],
        description=description,
        priority="high",
        channel="care",
        complaint_class=complaint_class_for(question, task),
        staff_concerned=_staff_concerned(question, task),
        order=task.order if task is not None and task.order_id else None,
        campaign_id=task.ticket.campaign_id if task is not None and task.ticket else None,
        followup_id=task.pk if task is not None else None,
    )
    if task is not None:
        CareTask.objects.filter(pk=task.pk).update(
            complaint_ticket=ticket, updated_at=timezone.now()
        )
        task.complaint_ticket = ticket
    return ticket


@transaction.atomic
def survey_link_create(*, actor: User | None, task: CareTask) -> SurveyResponse:
    """The customer's own survey link for this follow-up (the open one if there is one)."""
    rules.require_work(actor, task)
    template = task.rule.survey_template
    if template is None:
        raise ValidationFailed(_("This follow-up has no survey."), code="no_survey")
    now = timezone.now()
    existing = SurveyResponse.objects.filter(
        task=task, channel=ResponseChannel.LINK, submitted_at__isnull=True, expires_at__gt=now
    ).first()
    if existing is not None:
        return existing
    response = SurveyResponse.objects.create(
        customer=task.customer,
        template=template,
        task=task,
        channel=ResponseChannel.LINK,
        token=secrets.token_urlsafe(24),
        expires_at=now + timedelta(days=template.link_valid_days),
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="care.survey_link",
        obj=response,
        customer_id=task.customer_id,
        changes={"task": task.pk, "expires_at": response.expires_at},
    )
    return response


def survey_response_by_token(token: str) -> SurveyResponse:
    response = (
        SurveyResponse.objects.select_related("template", "customer")
        .filter(token=token, channel=ResponseChannel.LINK)
        .first()
        if token
        else None
    )
    if response is None:
        raise NotFound(_("This survey link is not valid."), code="link_invalid")
    return response


@transaction.atomic
def survey_submit(
    *, response: SurveyResponse, answers: Answers, actor: User | None = None
) -> SurveyResponse:
    """The customer's answers through the survey link: once only, before the link expires."""
    response = (
        SurveyResponse.objects.select_for_update(of=("self",))
        .select_related("template", "customer", "task", "task__rule", "task__order", "task__ticket")
        .get(pk=response.pk)
    )
    if response.submitted_at is not None:
        raise Conflict(
            _("This survey has already been answered. Thank you!"), code="already_submitted"
        )
    now = timezone.now()
    if response.expires_at is not None and response.expires_at <= now:
        raise ValidationFailed(_("This survey link has expired."), code="link_expired")
    customer: Customer = response.customer
    interaction_record(
        actor=actor,
        customer=customer,
        channel=InteractionChannel.PORTAL,
        direction=Direction.INBOUND,
        purpose=InteractionPurpose.CARE,
        outcome=Outcome.RESPONDED,
        subject=_("Survey answered: %(name)s") % {"name": response.template.name},
        occurred_at=now,
        ticket_id=response.task.ticket_id if response.task else None,
        check_access=False,
    )
    _answers_store(actor=actor, response=response, answers=answers, at=now)
    task = response.task
    if task is not None and task.status == TaskStatus.OPEN:
        _complete(_lock(task), now)
    return response


# --- rules and templates ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionInput:
    kind: str
    text: str
    target: str = ""
    complaint_class: str = ""
    required: bool = True
    id: int | None = None  # an existing question of the template (survey_template_save)
    position: int | None = None  # blank: after the previous question


@transaction.atomic
def survey_template_create(
    *,
    actor: User | None,
    name: str,
    code: str,
    questions: list[QuestionInput],
    dissatisfied_at_or_below: int = 2,
    intro: str = "",
    thanks: str = "",
    link_valid_days: int = 14,
) -> SurveyTemplate:
    rules.require_manage(actor)
    if not name.strip():
        raise ValidationFailed(_("Name the survey."), field="name")
    if SurveyTemplate.objects.filter(code=code).exists():
        raise ValidationFailed(_("A survey with this code exists."), field="code")
    if not 1 <= dissatisfied_at_or_below <= 5:
        raise ValidationFailed(
            _("The threshold is a CSAT score from 1 to 5."), field="dissatisfied_at_or_below"
        )
    if not questions:
        raise ValidationFailed(_("A survey needs at least one question."), field="questions")
    for q in questions:
        if q.kind not in QuestionKind.values:
            raise ValidationFailed(_("Unknown question kind."), field="questions")
        if q.target not in QuestionTarget.values:
            raise ValidationFailed(_("Unknown question target."), field="questions")
        if q.complaint_class and q.complaint_class not in ComplaintClass.values:
            raise ValidationFailed(_("Unknown complaint class."), field="questions")
    template = SurveyTemplate.objects.create(
        name=name.strip(),
        code=code,
        intro=intro,
        thanks=thanks,
        dissatisfied_at_or_below=dissatisfied_at_or_below,
        link_valid_days=link_valid_days,
    )
    SurveyQuestion.objects.bulk_create(
        [
            SurveyQuestion(
                template=template,
                position=(i + 1) * 10,
                kind=q.kind,
                text=q.text[:255],
                target=q.target,
                complaint_class=q.complaint_class,
                required=q.required,
            )
            for i, q in enumerate(questions)
        ]
    )
    audit_record(
        actor=actor,
        action="care.survey_template_create",
        obj=template,
        changes={"code": code, "questions": len(questions)},
    )
    return template


@transaction.atomic
def followup_rule_create(
    *,
    actor: User | None,
    name: str,
    trigger: str,
    due_business_days: int = 3,
    second_after_days: int = 0,
    survey_template: SurveyTemplate | None = None,
    max_attempts: int = 3,
    lookback_days: int = 14,
    starts_at: datetime | None = None,
    sample_size: int = 20,
) -> FollowUpRule:
    rules.require_manage(actor)
    if trigger not in Trigger.values:
        raise ValidationFailed(_("Unknown trigger."), field="trigger")
    if second_after_days and trigger != Trigger.COMPLAINT_RESOLVED:
        raise ValidationFailed(
            _("Only complaint follow-ups have a second call."), field="second_after_days"
        )
    if max_attempts < 1:
        raise ValidationFailed(_("At least one attempt."), field="max_attempts")
    if lookback_days < 1:
        raise ValidationFailed(_("Look back at least one day."), field="lookback_days")
    rule = FollowUpRule.objects.create(
        name=name.strip() or str(Trigger(trigger).label),
        trigger=trigger,
        due_business_days=due_business_days,
        second_after_days=second_after_days,
        survey_template=survey_template,
        max_attempts=max_attempts,
        lookback_days=lookback_days,
        starts_at=starts_at or timezone.now(),
        sample_size=_whole(sample_size, field="sample_size", low=1, high=10000),
    )
    audit_record(
        actor=actor,
        action="care.rule_create",
        obj=rule,
        changes={
            "trigger": trigger,
            "due_business_days": due_business_days,
            "second_after_days": second_after_days,
            "max_attempts": max_attempts,
        },
    )
    return rule


# --- editing rules and templates (the settings pages) ------------------------------------------


RULE_FIELDS = [
    "name",
    "trigger",
    "due_business_days",
    "second_after_days",
    "survey_template",
    "max_attempts",
    "starts_at",
    "lookback_days",
    "sample_size",
    "active",
]


def _whole(value: Any, *, field: str, low: int, high: int = 32767) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Enter a whole number."), field=field) from exc
    if not low <= number <= high:
        raise ValidationFailed(
            _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high},
            field=field,
        )
    return number


@transaction.atomic
def followup_rule_save(
    *,
    actor: User | None,
    rule: FollowUpRule | None = None,
    name: str,
    trigger: str,
    due_business_days: Any = 3,
    second_after_days: Any = 0,
    survey_template: SurveyTemplate | None = None,
    max_attempts: Any = 3,
    starts_at: datetime | None = None,
    lookback_days: Any = 14,
    active: bool = True,
    sample_size: Any = 20,
) -> FollowUpRule:
    """Create or change a follow-up rule. Tasks already created keep their due times; the next
    sweep uses the new settings. Switching a rule off stops new tasks, open ones stay."""
    rules.require_manage(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the rule."), field="name", code="required")
    if trigger not in Trigger.values:
        raise ValidationFailed(_("Unknown trigger."), field="trigger")
    due = _whole(due_business_days, field="due_business_days", low=0, high=365)
    second = _whole(second_after_days, field="second_after_days", low=0, high=365)
    if second and trigger != Trigger.COMPLAINT_RESOLVED:
        raise ValidationFailed(
            _("Only complaint follow-ups have a second call."), field="second_after_days"
        )
    attempts = _whole(max_attempts, field="max_attempts", low=1, high=20)
    lookback = _whole(lookback_days, field="lookback_days", low=1, high=365)
    sample = _whole(sample_size, field="sample_size", low=1, high=10000)
    before: dict[str, Any] = {}
    if rule is not None:
        # read the stored values: a form may have changed the instance in memory already
        before = snapshot(FollowUpRule.objects.select_for_update().get(pk=rule.pk), RULE_FIELDS)
    survey_changed = survey_template is not None and (
        before.get("survey_template") != survey_template.pk
    )
    if survey_changed and survey_template is not None and not survey_template.active:
        raise ValidationFailed(_("This survey is switched off."), field="survey_template")
    target = rule or FollowUpRule()
    target.name, target.trigger = name[:120], trigger
    target.due_business_days, target.second_after_days = due, second
    target.survey_template, target.max_attempts, target.lookback_days = (
        survey_template,
        attempts,
        lookback,
    )
    starts = starts_at or (target.starts_at if rule else None) or timezone.now()
    if timezone.is_naive(starts):
        starts = timezone.make_aware(starts)
    target.starts_at = starts.astimezone(UTC)  # as stored, so the audit diff compares like
    target.active = bool(active)
    target.sample_size = sample
    target.save()
    audit_record(
        actor=actor,
        action="care.rule_update" if rule else "care.rule_create",
        obj=target,
        changes=diff(before, snapshot(target, RULE_FIELDS)),
    )
    return target


TEMPLATE_FIELDS = [
    "name",
    "code",
    "intro",
    "thanks",
    "dissatisfied_at_or_below",
    "link_valid_days",
    "active",
]


def _question_rows(template: SurveyTemplate | None) -> list[dict[str, Any]]:
    if template is None:
        return []
    return [
        {
            "id": q.pk,
            "position": q.position,
            "kind": q.kind,
            "text": q.text,
            "target": q.target,
            "complaint_class": q.complaint_class,
            "required": q.required,
        }
        for q in template.questions.order_by("position", "id")
    ]


def _check_questions(template: SurveyTemplate | None, questions: list[QuestionInput]) -> None:
    if not questions:
        raise ValidationFailed(_("A survey needs at least one question."), field="questions")
    existing = (
        {q.pk: q for q in SurveyQuestion.objects.filter(template=template)} if template else {}
    )
    answered = set(
        SurveyAnswer.objects.filter(question_id__in=list(existing))
        .values_list("question_id", flat=True)
        .distinct()
    )
    for number, q in enumerate(questions, start=1):
        where = {"n": number}
        if q.kind not in QuestionKind.values:
            raise ValidationFailed(_("Question %(n)s: unknown kind.") % where, field="questions")
        if not q.text.strip():
            raise ValidationFailed(
                _("Question %(n)s: enter the question.") % where, field="questions"
            )
        if q.target not in QuestionTarget.values:
            raise ValidationFailed(_("Question %(n)s: unknown target.") % where, field="questions")
        if q.complaint_class and q.complaint_class not in ComplaintClass.values:
            raise ValidationFailed(
                _("Question %(n)s: unknown complaint class.") % where, field="questions"
            )
        if q.id is not None and q.id not in existing:
            raise ValidationFailed(
                _("Question %(n)s is not a question of this survey.") % where, field="questions"
            )
        if q.id in answered and existing[q.id].kind != q.kind:
            raise ValidationFailed(
                _("Question %(n)s has answers already; its kind cannot change.") % where,
                field="questions",
                code="answered",
            )
    kept = {q.id for q in questions if q.id is not None}
    if len(kept) != len([q for q in questions if q.id is not None]):
        raise ValidationFailed(_("A question is listed twice."), field="questions")
    if answered - kept:
        raise ValidationFailed(
            _(
                "A question with answers cannot be removed; switch the survey off and "
                "make a new one instead."
            ),
            field="questions",
            code="answered",
        )


@transaction.atomic
def survey_template_save(
    *,
    actor: User | None,
    template: SurveyTemplate | None = None,
    name: str,
    code: str,
    questions: list[QuestionInput],
    dissatisfied_at_or_below: Any = 2,
    intro: str = "",
    thanks: str = "",
    link_valid_days: Any = 14,
    active: bool = True,
) -> SurveyTemplate:
    """Create or change a survey and its questions in one go.

    ``questions`` is the whole list in order: an item with ``id`` changes that question, one
    without adds a question, and questions left out are removed. Questions that have answers
    keep their kind and cannot be removed, so past results stay readable.
    """
    rules.require_manage(actor)
    name, code = (name or "").strip(), (code or "").strip()
    if not name:
        raise ValidationFailed(_("Name the survey."), field="name", code="required")
    if not code:
        raise ValidationFailed(_("Give the survey a code."), field="code", code="required")
    clash = SurveyTemplate.objects.filter(code=code)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise ValidationFailed(_("A survey with this code exists."), field="code", code="duplicate")
    threshold = _whole(dissatisfied_at_or_below, field="dissatisfied_at_or_below", low=1, high=5)
    valid_days = _whole(link_valid_days, field="link_valid_days", low=1, high=365)
    if template is not None:
        template = SurveyTemplate.objects.select_for_update().get(pk=template.pk)
    _check_questions(template, questions)
    before = snapshot(template, TEMPLATE_FIELDS) if template else {}
    questions_before = _question_rows(template)
    target = template or SurveyTemplate()
    target.name, target.code = name[:120], code
    target.intro, target.thanks = intro or "", thanks or ""
    target.dissatisfied_at_or_below, target.link_valid_days = threshold, valid_days
    target.active = bool(active)
    target.save()
    existing = {q.pk: q for q in SurveyQuestion.objects.filter(template=target)}
    kept = {q.id for q in questions if q.id is not None}
    SurveyQuestion.objects.filter(template=target).exclude(pk__in=kept).delete()
    changed: list[SurveyQuestion] = []
    added: list[SurveyQuestion] = []
    for i, q in enumerate(questions):
        row = existing[q.id] if q.id is not None else SurveyQuestion(template=target)
        row.position = q.position if q.position is not None else (i + 1) * 10
        row.kind, row.text, row.target = q.kind, q.text.strip()[:255], q.target
        row.complaint_class, row.required = q.complaint_class, bool(q.required)
        (changed if q.id is not None else added).append(row)
    fields = ["position", "kind", "text", "target", "complaint_class", "required"]
    SurveyQuestion.objects.bulk_update(changed, fields)
    SurveyQuestion.objects.bulk_create(added)
    changes: dict[str, Any] = diff(before, snapshot(target, TEMPLATE_FIELDS))
    questions_after = _question_rows(target)
    if questions_after != questions_before:
        changes["questions"] = [questions_before, questions_after]
    audit_record(
        actor=actor,
        action="care.survey_template_update" if template else "care.survey_template_create",
        obj=target,
        changes=changes,
    )
    return target
