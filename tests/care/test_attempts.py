"""Care calls: every attempt on the timeline, escalation when unreached, dissatisfied answers
open a complaint linked to the follow-up."""

from __future__ import annotations

import pytest

from tests.care.conftest import sh
from yiti.care.choices import TaskStatus
from yiti.care.models import CareTask, SurveyResponse
from yiti.care.services import care_attempt_record, care_task_cancel, followups_generate
from yiti.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiti.customers.services import order_set_status
from yiti.engagement.models import Interaction
from yiti.engagement.selectors import is_suppressed
from yiti.org.models import Notification
from yiti.service.models import Ticket
from yiti.service.services import order_take


@pytest.fixture
def task(customer, care, resolved):
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    followups_generate(now=sh(2025, 6, 9, 16))
    return CareTask.objects.get(ticket=ticket)


def _questions(template):
    return {q.text: q.pk for q in template.questions.all()}


def test_three_unanswered_calls_escalate_to_the_region_manager(org, task):
    agent = org.users["care_east"]
    # when the customer does not answer twice
    for hour in (10, 14):
        care_attempt_record(actor=agent, task=task, outcome="no_answer", at=sh(2025, 6, 10, hour))
    task.refresh_from_db()
    # then the task is still open, with two attempts
    assert task.status == TaskStatus.OPEN and task.attempts == 2
    assert not Notification.objects.filter(kind="care.escalated").exists()
    # when the third call is not answered either
    care_attempt_record(actor=agent, task=task, outcome="no_answer", at=sh(2025, 6, 11, 10))
    task.refresh_from_db()
    # then it is escalated and the East region manager is notified
    assert task.status == TaskStatus.ESCALATED and task.escalated_at is not None
    note = Notification.objects.get(kind="care.escalated")
    assert note.user == org.users["rm_east"]
    assert f"/care/tasks/{task.pk}/" in note.link
    # and every attempt is on the customer's timeline as a care call
    calls = Interaction.objects.filter(customer=task.customer, purpose="care", channel="call")
    assert sorted(calls.values_list("outcome", flat=True)) == ["no_answer"] * 3
    # and no further call can be recorded on it
    with pytest.raises(Conflict):
        care_attempt_record(actor=agent, task=task, outcome="no_answer")


def test_a_wrong_number_escalates_at_once(org, task):
    care_attempt_record(actor=org.users["care_east"], task=task, outcome="wrong_number")
    task.refresh_from_db()
    assert task.status == TaskStatus.ESCALATED and task.attempts == 1
    assert Notification.objects.filter(kind="care.escalated", user=org.users["rm_east"]).exists()


def test_a_refusal_closes_the_follow_up_without_a_survey(org, task):
    care_attempt_record(actor=org.users["care_east"], task=task, outcome="refused", note="busy")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.outcome == "refused"
    assert not SurveyResponse.objects.exists()


def test_a_satisfied_answer_closes_the_task_and_opens_no_complaint(org, care, task):
    q = _questions(care.survey)
    care_attempt_record(
        actor=org.users["care_east"],
        task=task,
        outcome="reached",
        answers={q["How satisfied are you with the repair?"]: 5, q["Would you recommend us?"]: 9},
    )
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.complaint_ticket is None
    response = SurveyResponse.objects.get(task=task)
    assert response.channel == "call" and not response.dissatisfied
    assert sorted(response.answers.values_list("score", flat=True)) == [5, 9]
    assert not Ticket.objects.filter(kind="complaint").exists()


def test_a_dissatisfied_answer_opens_a_linked_complaint_and_suppresses_marketing(
    org, care, task, customer
):
    assert not is_suppressed(customer)
    q = _questions(care.survey)
    # when the customer rates the repair 1 of 5 in the call
    care_attempt_record(
        actor=org.users["care_east"],
        task=task,
        outcome="reached",
        answers={
            q["How satisfied are you with the repair?"]: 1,
            q["Anything else?"]: "Still broken",
        },
    )
    task.refresh_from_db()
    # then a complaint exists, linked both ways to the follow-up
    complaint = Ticket.objects.get(kind="complaint")
    assert task.complaint_ticket == complaint
    assert complaint.followup_id == task.pk
    assert complaint.channel == "care"
    assert complaint.complaint_class == "staff_conduct"
    assert SurveyResponse.objects.get(task=task).complaint_ticket == complaint
    # and the customer is on the marketing suppression list while the complaint is open
    assert is_suppressed(customer)


def test_the_order_call_rates_sales_and_service_apart(org, care, customer):
    # given a fulfilled order sold by the account manager
    from tests.factories import ProductFactory

    order, _ = order_take(actor=org.users["am_hz"], customer=customer, product=ProductFactory())
    order_set_status(actor=None, order=order, status="fulfilled")
    followups_generate()
    task = CareTask.objects.get(order=order)
    q = _questions(care.order_survey)
    # when the customer rates the salesperson 2 and the service 5
    care_attempt_record(
        actor=org.users["care_east"],
        task=task,
        outcome="reached",
        answers={q["The salesperson's explanation"]: 2, q["The service after the sale"]: 5},
    )
    # then both ratings are stored against their targets
    response = SurveyResponse.objects.get(task=task)
    by_target = {a.question.target: a.score for a in response.answers.select_related("question")}
    assert by_target == {"sales": 2, "service": 5}
    # and the low sales rating opens a staff-conduct complaint naming the salesperson
    complaint = Ticket.objects.get(kind="complaint")
    assert complaint.complaint_class == "staff_conduct"
    assert complaint.staff_concerned == org.users["am_hz"]
    assert complaint.order == order


def test_answers_need_a_reached_call_and_valid_scores(org, care, task):
    q = _questions(care.survey)
    agent = org.users["care_east"]
    with pytest.raises(ValidationFailed):
        care_attempt_record(
            actor=agent,
            task=task,
            outcome="no_answer",
            answers={q["How satisfied are you with the repair?"]: 4},
        )
    with pytest.raises(ValidationFailed) as err:
        care_attempt_record(
            actor=agent,
            task=task,
            outcome="reached",
            answers={q["How satisfied are you with the repair?"]: 6},
        )
    assert err.value.field == f"q{q['How satisfied are you with the repair?']}"
    with pytest.raises(ValidationFailed):  # the CSAT question is required
        care_attempt_record(
            actor=agent, task=task, outcome="reached", answers={q["Would you recommend us?"]: 3}
        )
    task.refresh_from_db()
    assert task.attempts == 0 and task.status == TaskStatus.OPEN


def test_only_care_roles_in_scope_record_calls(org, task):
    with pytest.raises(NotFound):  # the North region manager does not see the customer
        care_attempt_record(actor=org.users["rm_north"], task=task, outcome="reached")
    with pytest.raises(PermissionDenied):  # the account manager sees him but is no care agent
        care_attempt_record(actor=org.users["am_hz"], task=task, outcome="reached")
    care_attempt_record(actor=org.users["rm_east"], task=task, outcome="reached")


def test_cancelling_needs_a_reason(org, task):
    with pytest.raises(ValidationFailed):
        care_task_cancel(actor=org.users["care_east"], task=task, reason=" ")
    care_task_cancel(actor=org.users["care_east"], task=task, reason="customer moved abroad")
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
