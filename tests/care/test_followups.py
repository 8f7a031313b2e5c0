"""The follow-up sweep: rules as data create care tasks, once, due in business days."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.care.conftest import sh
from yiti.care.choices import TaskKind, TaskStatus
from yiti.care.models import CareTask
from yiti.care.services import care_attempt_record, followups_generate
from yiti.customers.services import order_set_status
from yiti.service.services import order_take


def test_a_resolved_repair_creates_one_task_due_within_three_business_days(
    org, customer, care, resolved
):
    # given a repair resolved on Monday 2025-06-09 at 15:00
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    # when the sweep runs twice
    first = followups_generate(now=sh(2025, 6, 9, 15, 10))
    second = followups_generate(now=sh(2025, 6, 9, 15, 20))
    # then exactly one follow-up call exists, for the care agent of the region
    tasks = list(CareTask.objects.filter(ticket=ticket))
    assert len(tasks) == 1
    task = tasks[0]
    assert first.total == 1 and second.total == 0
    assert task.kind == TaskKind.FIRST and task.status == TaskStatus.OPEN
    assert task.rule == care.repair_rule
    assert task.assignee == org.users["care_east"]
    assert task.unit == org.east
    # due by the close of Thursday, the third working day after Monday
    assert task.due_at == sh(2025, 6, 12, 18)


def test_the_due_date_skips_the_national_day_holiday(customer, care, resolved):
    # given a repair resolved on Tuesday 30 September 2025, the eve of the 1–8 October holiday
    ticket = resolved(customer, opened=sh(2025, 9, 30, 9), at=sh(2025, 9, 30, 16))
    # when the sweep runs
    followups_generate(now=sh(2025, 9, 30, 17))
    # then the three business days are 9, 10 and the adjusted working Saturday 11 October
    task = CareTask.objects.get(ticket=ticket)
    assert task.due_at == sh(2025, 10, 11, 18)


def test_a_resolved_complaint_gets_a_first_call_then_a_second_one_after_it_is_done(
    org, customer, care, resolved
):
    # given a complaint resolved on Monday 2025-06-09
    ticket = resolved(customer, kind="complaint", opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 11))
    followups_generate(now=sh(2025, 6, 9, 12))
    first = CareTask.objects.get(ticket=ticket)
    assert first.kind == TaskKind.FIRST and first.rule == care.complaint_rule
    assert not CareTask.objects.filter(ticket=ticket, kind=TaskKind.SECOND).exists()
    # when the care agent reaches the customer on Wednesday
    care_attempt_record(
        actor=org.users["care_east"], task=first, outcome="reached", at=sh(2025, 6, 11, 10)
    )
    # then the second follow-up is due five business days later (close of Wednesday 18 June)
    second = CareTask.objects.get(ticket=ticket, kind=TaskKind.SECOND)
    assert second.parent == first
    assert second.due_at == sh(2025, 6, 18, 18)
    # and the sweep does not make another one
    assert followups_generate(now=sh(2025, 6, 11, 11)).total == 0
    assert CareTask.objects.filter(ticket=ticket).count() == 2


def test_the_sweep_creates_a_missing_second_follow_up(org, customer, care, resolved):
    # given a first complaint call marked done without its second follow-up (e.g. older data)
    ticket = resolved(customer, kind="complaint", opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 11))
    followups_generate(now=sh(2025, 6, 9, 12))
    CareTask.objects.filter(ticket=ticket).update(
        status=TaskStatus.DONE, completed_at=sh(2025, 6, 10, 10)
    )
    # when the sweep runs
    result = followups_generate(now=sh(2025, 6, 10, 11))
    # then it adds the second follow-up
    assert result.total == 1
    assert CareTask.objects.get(ticket=ticket, kind=TaskKind.SECOND).due_at == sh(2025, 6, 17, 18)


def test_a_fulfilled_order_gets_a_satisfaction_call(org, customer, care):
    # given an order taken by sales whose hand-over ticket is resolved (order fulfilled)
    product = _product()
    order, _ticket = order_take(actor=org.users["am_hz"], customer=customer, product=product)
    order_set_status(actor=None, order=order, status="fulfilled")
    # when the sweep runs
    followups_generate()
    # then one satisfaction call exists for the order, with the sales-and-service survey
    task = CareTask.objects.get(order=order)
    assert task.kind == TaskKind.SATISFACTION
    assert task.rule.survey_template == care.order_survey
    followups_generate()
    assert CareTask.objects.filter(order=order).count() == 1


def test_events_outside_the_look_back_window_and_other_kinds_make_no_task(customer, care, resolved):
    old = resolved(customer, opened=sh(2025, 1, 6, 9), at=sh(2025, 1, 6, 10))
    consult = resolved(
        customer, kind="consultation", opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 10)
    )
    followups_generate(now=sh(2025, 6, 9, 12))
    assert not CareTask.objects.filter(ticket__in=[old, consult]).exists()


def test_inactive_rules_create_nothing(customer, care, resolved):
    care.repair_rule.active = False
    care.repair_rule.save(update_fields=["active"])
    resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 10))
    assert followups_generate(now=sh(2025, 6, 9, 12)).total == 0


def test_tasks_go_to_the_least_loaded_care_agent(org, customer, care, resolved):
    # given a second care agent in the East region
    from yiti.org.services import membership_grant, user_create

    other = user_create(username="care_east2", password=None, display_name="care 2")
    membership_grant(user=other, unit=org.east, role="care_agent")
    for day in (9, 10, 11, 12):
        resolved(customer, opened=sh(2025, 6, day, 9), at=sh(2025, 6, day, 10))
    # when the sweep assigns four calls
    followups_generate(now=sh(2025, 6, 12, 12))
    # then each agent gets two
    counts = sorted(
        CareTask.objects.values_list("assignee__username", flat=True).order_by("assignee__username")
    )
    assert counts == ["care_east", "care_east", "care_east2", "care_east2"]


def _product():
    from tests.factories import ProductFactory

    return ProductFactory()


def _sweep_queries(customer, resolved, n: int, day: int) -> tuple[int, int]:
    start = sh(2025, 6, day, 9)
    for i in range(n):
        resolved(customer, opened=start, at=start + timedelta(minutes=i + 1))
    with CaptureQueriesContext(connection) as ctx:
        result = followups_generate(now=start + timedelta(hours=3))
    assert result.total == n
    inserts = [q for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    return len(ctx.captured_queries) - len(inserts), len(inserts)


def test_the_sweep_query_count_does_not_grow_with_the_tickets(org, customer, care, resolved):
    # given 10 resolved repairs, then 100 more on another day
    small_reads, small_inserts = _sweep_queries(customer, resolved, 10, 9)
    large_reads, large_inserts = _sweep_queries(customer, resolved, 100, 16)
    # then reading, assigning and scheduling costs the same number of queries
    assert large_reads == small_reads
    # and the tasks are inserted in bulk: only the database's parameter limit splits the batch
    limit = connection.features.max_query_params  # None on PostgreSQL, 999 on SQLite
    extra = 0 if limit is None else 100 // max(1, limit // 20) + 1
    assert large_inserts <= small_inserts + extra


def test_a_rule_ignores_events_before_it_applies(customer, care, resolved):
    # given the repair rule applies only from Wednesday on
    care.repair_rule.starts_at = sh(2025, 6, 11, 0)
    care.repair_rule.save(update_fields=["starts_at"])
    before = resolved(customer, opened=sh(2025, 6, 10, 9), at=sh(2025, 6, 10, 10))
    after = resolved(customer, opened=sh(2025, 6, 11, 9), at=sh(2025, 6, 11, 10))
    # when the sweep runs
    followups_generate(now=sh(2025, 6, 11, 12))
    # then only the repair resolved since then gets a call
    assert list(CareTask.objects.values_list("ticket_id", flat=True)) == [after.pk]
    assert before.pk != after.pk


def test_the_sweep_is_scheduled_every_ten_minutes_and_runs_as_a_task(customer, care, resolved):
    from yiti.care.tasks import followups_sweep
    from yiti.core.scheduling import schedules

    schedule = {s.name: s for s in schedules()}["care.followups"]
    assert schedule.cron == "*/10 * * * *" and schedule.task is followups_sweep
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 10))
    created = followups_sweep.call(slot=sh(2025, 6, 9, 10, 10).isoformat())
    assert sum(created.values()) == 1 and CareTask.objects.filter(ticket=ticket).exists()
