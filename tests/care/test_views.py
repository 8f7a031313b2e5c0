"""Care pages: the queue, the task page with the call form, the public survey link, the 360
panel, and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.care.conftest import sh
from yiti.care.models import CareTask, SurveyResponse
from yiti.care.services import followups_generate, survey_link_create
from yiti.customers.services import customer_create
from yiti.service.models import Ticket


@pytest.fixture
def task(customer, care, resolved):
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    followups_generate(now=sh(2025, 6, 9, 16))
    return CareTask.objects.get(ticket=ticket)


def test_the_queue_shows_overdue_calls_with_their_attempts(as_user, task):
    page = as_user("care_east").get("/care/", {"bucket": "overdue"})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/care/tasks/{task.pk}/" in html and "张三" in html
    assert "138****8000" in html  # the phone is masked in the list
    # the upcoming tab does not list it, and htmx gets only the results
    upcoming = as_user("care_east").get("/care/", {"bucket": "upcoming"}, HTTP_HX_REQUEST="true")
    assert f"/care/tasks/{task.pk}/" not in upcoming.content.decode()
    assert "<html" not in upcoming.content.decode()


def test_a_care_agent_sees_only_tasks_of_customers_in_scope(org, as_user, care, resolved, task):
    # given a customer in Beijing (North region) with a follow-up of her own
    north = customer_create(actor=None, name="李四", unit=org.bj)
    ticket = resolved(north, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    followups_generate(now=sh(2025, 6, 9, 16))
    north_task = CareTask.objects.get(ticket=ticket)
    # then the East care agent's queue lists only the Hangzhou task
    html = as_user("care_east").get("/care/", {"bucket": "open"}).content.decode()
    assert f"/care/tasks/{task.pk}/" in html
    assert f"/care/tasks/{north_task.pk}/" not in html
    # and opening the other task is a 404
    assert as_user("care_east").get(f"/care/tasks/{north_task.pk}/").status_code == 404
    # while the North region manager sees his own
    assert as_user("rm_north").get(f"/care/tasks/{north_task.pk}/").status_code == 200


def test_roles_without_care_work_do_not_get_the_queue(as_user, task):
    assert as_user("cm").get("/care/").status_code == 403
    # an account manager sees the task of his customer but has no call form
    page = as_user("am_hz").get(f"/care/tasks/{task.pk}/")
    assert page.status_code == 200
    assert f"/care/tasks/{task.pk}/attempt/" not in page.content.decode()


def test_the_task_page_shows_the_masked_phone_with_a_reveal_and_the_survey(as_user, task):
    html = as_user("care_east").get(f"/care/tasks/{task.pk}/").content.decode()
    assert "138****8000" in html and "13800138000" not in html
    assert f"/customers/{task.customer_id}/contacts/reveal/" in html
    assert 'name="outcome"' in html
    csat = task.rule.survey_template.questions.get(kind="csat")
    assert f'name="q{csat.pk}"' in html and 'value="5"' in html


def test_recording_a_dissatisfied_answer_on_the_page_opens_a_complaint(as_user, task):
    csat = task.rule.survey_template.questions.get(kind="csat")
    response = as_user("care_east").post(
        f"/care/tasks/{task.pk}/attempt/",
        {"outcome": "reached", f"q{csat.pk}": "1", "note": "unhappy with the engineer"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "done"
    assert Ticket.objects.get(kind="complaint").pk == task.complaint_ticket_id
    page = as_user("care_east").get(response["Location"]).content.decode()
    assert f"#{task.complaint_ticket_id}" in page


def test_an_invalid_score_is_shown_next_to_the_question(as_user, task):
    csat = task.rule.survey_template.questions.get(kind="csat")
    response = as_user("care_east").post(
        f"/care/tasks/{task.pk}/attempt/", {"outcome": "reached", f"q{csat.pk}": "9"}
    )
    assert response.status_code == 422
    task.refresh_from_db()
    assert task.attempts == 0


def test_the_customer_answers_through_the_link_once(org, task):
    link = survey_link_create(actor=org.users["care_east"], task=task)
    csat = task.rule.survey_template.questions.get(kind="csat")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # no sign-in
    url = f"/care/s/{link.token}/"
    form = client.get(url)
    assert form.status_code == 200 and f'name="q{csat.pk}"' in form.content.decode()
    # a missing required answer is explained
    missing = client.post(url, {})
    assert missing.status_code == 422 and "errorlist" in missing.content.decode()
    done = client.post(url, {f"q{csat.pk}": "5"})
    assert done.status_code == 200 and "Thank you" in done.content.decode()
    again = client.post(url, {f"q{csat.pk}": "1"})
    assert again.status_code == 410 and "already been answered" in again.content.decode()
    assert SurveyResponse.objects.get(pk=link.pk).answers.get().score == 5


def test_expired_and_unknown_links_get_a_clear_page(org, task):
    link = survey_link_create(actor=org.users["care_east"], task=task)
    SurveyResponse.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(days=1))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    expired = client.get(f"/care/s/{link.token}/")
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    unknown = client.get("/care/s/not-a-token/")
    assert unknown.status_code == 404 and "not valid" in unknown.content.decode()


def test_the_customer_360_page_has_a_care_panel(as_user, task):
    html = as_user("care_east").get(f"/customers/{task.customer_id}/").content.decode()
    assert 'data-panel="care"' in html
    assert f"/care/tasks/{task.pk}/" in html


def test_the_navigation_offers_care_to_care_roles_and_account_managers(as_user, task):
    assert 'href="/care/"' in as_user("care_east").get("/customers/").content.decode()
    # account managers make the retention calls of their most valuable customers at risk
    assert 'href="/care/"' in as_user("am_hz").get("/customers/").content.decode()
    assert 'href="/care/"' not in as_user("svc_east").get("/customers/").content.decode()
