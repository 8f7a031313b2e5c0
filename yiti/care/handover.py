"""Handover calls (seed 002, scenario 3): after a bulk reassignment, the care line calls a
sample of the handed-over customers to rate their new account manager, and the result is
reported per reassignment.

A follow-up rule with the trigger ``handover`` samples ``sample_size`` customers of every
bulk reassignment (the ``batch`` of ``customers.Assignment``) made in its look-back window
and not sampled by it yet; the follow-up sweep (``services.followups_generate``) turns them
into care calls, each carrying the batch. The sample is random but repeatable (seeded by the
rule and the batch), so a second sweep picks nobody new. The report reads the calls and the
satisfaction answers (CSAT) of their surveys, per reassignment and new account manager.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from yiti.care.choices import QuestionKind, TaskKind, TaskStatus
from yiti.care.models import CareTask, FollowUpRule, SurveyAnswer
from yiti.core.errors import NotFound
from yiti.customers.models import Assignment, Customer
from yiti.org.models import User


def handover_candidates(rule: FollowUpRule, since: datetime, now: datetime) -> list[dict[str, Any]]:
    """The customers to call for every bulk reassignment since ``since`` that the rule has
    not sampled yet: ``customer_id``, ``customer__unit_id``, ``customer__unit__path``,
    ``at`` (when he was handed over) and ``batch``."""
    batches = list(
        Assignment.objects.filter(at__gte=since, at__lte=now)
        .exclude(batch="")
        .values_list("batch", flat=True)
        .distinct()
    )
    if not batches:
        return []
    done = set(
        CareTask.objects.filter(rule=rule, batch__in=batches)
        .values_list("batch", flat=True)
        .distinct()
    )
    todo = [b for b in batches if b not in done]
    if not todo:
        return []
    moved: dict[str, dict[int, datetime]] = defaultdict(dict)
    for batch, customer_id, at in Assignment.objects.filter(batch__in=todo).values_list(
        "batch", "customer_id", "at"
    ):
        moved[batch][customer_id] = at
    picked: dict[int, tuple[str, datetime]] = {}
    for batch in sorted(moved):
        ids = sorted(moved[batch])
        sample = random.Random(f"{rule.pk}:{batch}").sample(ids, min(rule.sample_size, len(ids)))
        for customer_id in sample:
            picked[customer_id] = (batch, moved[batch][customer_id])
    rows = Customer.objects.filter(pk__in=list(picked)).values_list("pk", "unit_id", "unit__path")
    return [
        {
            "customer_id": pk,
            "customer__unit_id": unit_id,
            "customer__unit__path": path,
            "at": picked[pk][1],
            "batch": picked[pk][0],
        }
        for pk, unit_id, path in rows
    ]


@dataclass
class HandoverRating:
    """The handover calls of one reassignment for one new account manager."""

    new_manager: User | None
    handed_over: int = 0
    sampled: int = 0
    done: int = 0
    answers: int = 0
    csat: float | None = None  # average satisfaction (1–5) with the new account manager


@dataclass
class HandoverReport:
    """One bulk reassignment: who left, when, and how the customers rate their new manager."""

    batch: str
    at: datetime
    from_manager: User | None
    reason: str
    rows: list[HandoverRating] = field(default_factory=list)

    @property
    def handed_over(self) -> int:
        return sum(r.handed_over for r in self.rows)

    @property
    def sampled(self) -> int:
        return sum(r.sampled for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows)


def _new_manager_of_task() -> Subquery:
    return Subquery(
        Assignment.objects.filter(batch=OuterRef("batch"), customer_id=OuterRef("customer_id"))
        .order_by("-at", "-id")
        .values("to_user_id")[:1]
    )


def handover_reports(*, limit: int = 20, batch: str | None = None) -> list[HandoverReport]:
    """The latest bulk reassignments (newest first), each with its handover calls and the
    customers' rating of each new account manager. A few grouped queries, whatever the size
    of the reassignments."""
    heads = (
        Assignment.objects.exclude(batch="")
        .values("batch")
        .annotate(at=Max("at"), from_user=Max("from_user_id"), reason=Max("reason"))
        .order_by("-at")
    )
    if batch is not None:
        heads = heads.filter(batch=batch)
    heads_list = list(heads[:limit])
    if batch is not None and not heads_list:
        raise NotFound(_("Reassignment not found."))
    batches = [h["batch"] for h in heads_list]
    moved = (
        Assignment.objects.filter(batch__in=batches)
        .values("batch", "to_user_id")
        .annotate(n=Count("id"))
    )
    tasks = (
        CareTask.objects.filter(batch__in=batches, kind=TaskKind.HANDOVER)
        .annotate(new_manager=_new_manager_of_task())
        .values("batch", "new_manager")
        .annotate(n=Count("id"), done=Count("id", filter=Q(status=TaskStatus.DONE)))
    )
    scores = (
        SurveyAnswer.objects.filter(
            response__task__batch__in=batches,
            response__task__kind=TaskKind.HANDOVER,
            question__kind=QuestionKind.CSAT,
            score__isnull=False,
        )
        .annotate(
            new_manager=Subquery(
                Assignment.objects.filter(
                    batch=OuterRef("response__task__batch"),
                    customer_id=OuterRef("response__task__customer_id"),
                )
                .order_by("-at", "-id")
                .values("to_user_id")[:1]
            )
        )
        .values("response__task__batch", "new_manager")
        .annotate(n=Count("id"), avg=Avg("score"))
    )
    user_ids = {h["from_user"] for h in heads_list} | {m["to_user_id"] for m in moved}
    users = {u.pk: u for u in User.objects.filter(pk__in=[i for i in user_ids if i])}
    table: dict[tuple[str, int | None], HandoverRating] = {}

    def row(b: str, user_id: int | None) -> HandoverRating:
        key = (b, user_id)
        if key not in table:
            table[key] = HandoverRating(users.get(user_id) if user_id else None)
        return table[key]

    for m in moved:
        row(m["batch"], m["to_user_id"]).handed_over = m["n"]
    for t in tasks:
        r = row(t["batch"], t["new_manager"])
        r.sampled, r.done = t["n"], t["done"]
    for s in scores:
        r = row(s["response__task__batch"], s["new_manager"])
        r.answers, r.csat = s["n"], float(s["avg"])
    reports = []
    for h in heads_list:
        rows = [r for (b, _u), r in table.items() if b == h["batch"]]
        rows.sort(key=lambda r: str(r.new_manager or ""))
        reports.append(
            HandoverReport(
                batch=h["batch"],
                at=h["at"],
                from_manager=users.get(h["from_user"]) if h["from_user"] else None,
                reason=h["reason"],
                rows=rows,
            )
        )
    return reports
