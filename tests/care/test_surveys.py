"""Survey links: the customer answers once, before the link expires; unhappy answers complain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.care.conftest import sh
from yiti.care.choices import TaskStatus
from yiti.care.models import CareTask, SurveyResponse
from yiti.care.services import followups_generate, survey_link_create, survey_submit
from yiti.core.errors import Conflict, ValidationFailed
from yiti.engagement.models import Interaction
from yiti.service.models import Ticket


@pytest.fixture
def task(customer, care, resolved):
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    followups_generate(now=sh(2025, 6, 9, 16))
    return CareTask.objects.get(ticket=ticket)


def _csat(template):
    return template.questions.get(kind="csat").pk


def test_a_link_takes_one_submission_only(org, care, task):
    # given a survey link sent to the customer
    link = survey_link_create(actor=org.users["care_east"], task=task)
    assert link.token and link.expires_at > timezone.now()
    # the same open link is handed out again rather than a second one
    assert survey_link_create(actor=org.users["care_east"], task=task).pk == link.pk
    # when the customer answers
    survey_submit(response=link, answers={_csat(care.survey): 4})
    # then the answer is stored, the follow-up is done and the answer is on the timeline
    link.refresh_from_db()
    task.refresh_from_db()
    assert link.submitted_at is not None and link.answers.get().score == 4
    assert task.status == TaskStatus.DONE
    assert Interaction.objects.filter(
        customer=task.customer, purpose="care", outcome="responded"
    ).exists()
    # and a second submission is refused
    with pytest.raises(Conflict) as err:
        survey_submit(response=link, answers={_csat(care.survey): 1})
    assert err.value.code == "already_submitted"
    assert link.answers.count() == 1


def test_an_expired_link_is_refused(org, care, task):
    link = survey_link_create(actor=org.users["care_east"], task=task)
    SurveyResponse.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    link.refresh_from_db()
    with pytest.raises(ValidationFailed) as err:
        survey_submit(response=link, answers={_csat(care.survey): 5})
    assert err.value.code == "link_expired"


def test_a_dissatisfied_link_answer_opens_a_complaint(org, care, task):
    link = survey_link_create(actor=org.users["care_east"], task=task)
    survey_submit(response=link, answers={_csat(care.survey): 2})
    complaint = Ticket.objects.get(kind="complaint")
    task.refresh_from_db()
    assert task.complaint_ticket == complaint and complaint.followup_id == task.pk


def test_the_threshold_is_data_on_the_template(org, care, task):
    # given a stricter template: 3 of 5 already counts as dissatisfied
    care.survey.dissatisfied_at_or_below = 3
    care.survey.save(update_fields=["dissatisfied_at_or_below"])
    link = survey_link_create(actor=org.users["care_east"], task=task)
    survey_submit(response=link, answers={_csat(care.survey): 3})
    assert Ticket.objects.filter(kind="complaint").count() == 1
