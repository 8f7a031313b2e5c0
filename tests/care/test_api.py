"""The care API: tasks in scope, attempts with answers, survey templates and responses."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.care.conftest import sh
from yiti.care.models import CareTask
from yiti.care.services import followups_generate
from yiti.org.services import token_create

pytestmark = pytest.mark.urls("tests.care.api_urls")
PREFIX = "/api/care-test/care"


def _client(user):
    _token, raw = token_create(user=user, name="test")
    return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})


@pytest.fixture
def task(customer, care, resolved):
    ticket = resolved(customer, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 15))
    followups_generate(now=sh(2025, 6, 9, 16))
    return CareTask.objects.get(ticket=ticket)


def test_the_care_agent_lists_gets_and_works_a_task(org, care, task):
    api = _client(org.users["care_east"])
    listed = api.get(f"{PREFIX}/tasks", {"bucket": "open"}).json()
    assert [t["id"] for t in listed["items"]] == [task.pk]
    assert api.get(f"{PREFIX}/tasks/{task.pk}").json()["status"] == "open"
    csat = care.survey.questions.get(kind="csat").pk
    answer = api.post(
        f"{PREFIX}/tasks/{task.pk}/attempts",
        {"outcome": "reached", "answers": [{"question_id": csat, "score": 1}]},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["task"]["status"] == "done"
    assert body["task"]["complaint_ticket_id"] is not None
    responses = api.get(f"{PREFIX}/surveys/responses", {"dissatisfied": True}).json()["items"]
    assert len(responses) == 1 and responses[0]["answers"][0]["score"] == 1


def test_errors_are_json_with_a_code(org, care, task):
    api = _client(org.users["care_east"])
    bad = api.post(
        f"{PREFIX}/tasks/{task.pk}/attempts",
        {"outcome": "no_answer", "answers": [{"question_id": 999999, "score": 1}]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["code"]
    other = _client(org.users["rm_north"])
    assert other.get(f"{PREFIX}/tasks/{task.pk}").status_code == 404
    assert other.get(f"{PREFIX}/tasks").json()["items"] == []


def test_survey_templates_and_link_submission(org, care, task):
    api = _client(org.users["care_east"])
    templates = api.get(f"{PREFIX}/surveys/templates").json()
    assert {t["code"] for t in templates} == {"repair-csat", "order-sat"}
    link = api.post(f"{PREFIX}/tasks/{task.pk}/survey-link").json()
    csat = care.survey.questions.get(kind="csat").pk
    path = f"{PREFIX}/surveys/responses/{link['id']}/submit"
    payload = {"answers": [{"question_id": csat, "score": 5}]}
    ok = api.post(path, payload, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["submitted_at"]
    again = api.post(path, payload, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_submitted"
