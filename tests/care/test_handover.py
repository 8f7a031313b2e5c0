"""Handover calls (issue 15 item 5, seed 002 scenario 3): after a bulk reassignment, a care
rule samples the handed-over customers for a call that rates the new account manager, and
the result is reported per reassignment."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from yiti.care.handover import handover_reports
from yiti.care.models import CareTask, SurveyAnswer, SurveyResponse
from yiti.care.services import (
    QuestionInput,
    followup_rule_create,
    followups_generate,
    survey_template_create,
)
from yiti.customers.models import Customer
from yiti.customers.services import customers_reassign_bulk

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def handover(org):
    survey = survey_template_create(
        actor=None,
        name="交接回访",
        code="handover",
        questions=[
            QuestionInput(kind="csat", text="您对新的客户经理满意吗？", target="sales"),
            QuestionInput(kind="text", text="还有什么建议？", required=False),
        ],
    )
    rule = followup_rule_create(
        actor=None,
        name="客户经理交接回访",
        trigger="handover",
        survey_template=survey,
        starts_at=START,
    )
    rule.sample_size = 5
    rule.save(update_fields=["sample_size"])
    for i in range(30):
        Customer.objects.create(
            name=f"客户{i}", name_key=f"客户{i}", unit=org.hz, owner=org.users["am_hz"]
        )
    return rule


def reassign(org):
    return customers_reassign_bulk(
        actor=org.users["rm_east"],
        from_user=org.users["am_hz"],
        to_users=[org.users["am_hz2"]],
        reason="客户经理离职",
    )


def test_a_bulk_reassignment_gets_a_sample_of_handover_calls_once(org, handover):
    # given am_hz leaves and his 30 customers go to am_hz2 in one action
    result = reassign(org)
    assert result.moved == 30
    # when the follow-up sweep runs (twice)
    followups_generate(now=timezone.now())
    followups_generate(now=timezone.now() + timedelta(minutes=10))
    # then 5 of them get one handover call each, for the East care centre, carrying the batch
    tasks = list(CareTask.objects.filter(rule=handover))
    assert len(tasks) == 5
    assert {t.kind for t in tasks} == {"handover"}
    assert {t.batch for t in tasks} == {result.batch}
    assert {t.assignee.username for t in tasks} == {"care_east"}
    assert len({t.customer_id for t in tasks}) == 5
    assert all(t.customer.owner == org.users["am_hz2"] for t in tasks)


def test_the_report_rates_the_new_account_manager_per_reassignment(org, handover):
    result = reassign(org)
    followups_generate(now=timezone.now())
    tasks = list(CareTask.objects.filter(rule=handover).order_by("id"))
    question = handover.survey_template.questions.get(kind="csat")
    for task, score in zip(tasks[:3], [4, 5, 2], strict=True):
        task.status = "done"
        task.completed_at = timezone.now()
        task.save(update_fields=["status", "completed_at"])
        response = SurveyResponse.objects.create(
            customer=task.customer,
            template=handover.survey_template,
            task=task,
            channel="call",
            submitted_at=timezone.now(),
        )
        SurveyAnswer.objects.create(response=response, question=question, score=score)
    (report,) = handover_reports()
    assert report.batch == result.batch
    assert report.from_manager == org.users["am_hz"]
    assert report.reason == "客户经理离职"
    (row,) = report.rows
    assert row.new_manager == org.users["am_hz2"]
    assert (row.handed_over, row.sampled, row.done, row.answers) == (30, 5, 3, 3)
    assert row.csat == pytest.approx(11 / 3)


def test_the_report_page_is_for_care_and_its_managers(org, handover):
    reassign(org)
    followups_generate(now=timezone.now())
    rm = Client()
    rm.force_login(org.users["rm_east"])
    page = rm.get("/care/handovers/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-cell="handed">30<' in html and 'data-cell="sampled">5<' in html
    am = Client()
    am.force_login(org.users["am_hz"])
    assert am.get("/care/handovers/").status_code == 403


def test_no_reassignment_no_call(org, handover):
    followups_generate(now=timezone.now())
    assert not CareTask.objects.filter(rule=handover).exists()
    assert handover_reports() == []


def test_a_region_manager_sets_up_the_handover_rule_on_the_rules_page(org):
    from yiti.care.models import FollowUpRule

    client = Client()
    client.force_login(org.users["rm_east"])
    form = client.get("/care/rules/new/").content.decode()
    assert 'name="sample_size"' in form and 'value="handover"' in form
    res = client.post(
        "/care/rules/new/",
        {
            "name": "交接回访",
            "trigger": "handover",
            "due_business_days": 5,
            "second_after_days": 0,
            "max_attempts": 3,
            "lookback_days": 30,
            "sample_size": 7,
            "active": "on",
        },
    )
    assert res.status_code == 302
    rule = FollowUpRule.objects.get(name="交接回访")
    assert (rule.trigger, rule.sample_size) == ("handover", 7)
