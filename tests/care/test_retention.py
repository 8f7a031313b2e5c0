"""Retention calls: a most valuable customer at risk gets one call from the account manager,
who works it from his care queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from yiti.care.choices import TaskKind, TaskStatus, Trigger
from yiti.care.models import CareTask, FollowUpRule
from yiti.care.services import (
    care_attempt_record,
    followups_generate,
    retention_calls_create,
    retention_rule_ensure,
)
from yiti.core.errors import NotFound, PermissionDenied
from yiti.customers.choices import ValueTier
from yiti.customers.models import CustomerValue


def score(customer, *, tier=ValueTier.MVC, churn=0.8, clv=5000.0):
    return CustomerValue.objects.create(
        customer=customer,
        tier=tier,
        clv=clv,
        expected_purchases=2.0,
        p_alive=1 - churn,
        churn_risk=churn,
        cost_to_serve=10.0,
        net_value=clv - 10,
        purchases=5,
        fit_id=1,
        computed_at=timezone.now(),
    )


@pytest.fixture
def at_risk(org):
    owned = CustomerFactory(unit=org.hz, owner=org.users["am_hz"], name="王总")
    unowned = CustomerFactory(unit=org.hz, owner=None, name="李总")
    safe = CustomerFactory(unit=org.hz, owner=org.users["am_hz"], name="安全")
    growable = CustomerFactory(unit=org.hz, owner=org.users["am_hz"], name="成长")
    score(owned)
    score(unowned)
    score(safe, churn=0.2)
    score(growable, tier=ValueTier.MGC, churn=0.9)
    return owned, unowned


def test_each_most_valuable_customer_at_risk_gets_exactly_one_call(org, at_risk):
    owned, unowned = at_risk
    result = retention_calls_create(churn_threshold=0.5)
    assert result.created == 2
    tasks = {t.customer_id: t for t in CareTask.objects.filter(kind=TaskKind.RETENTION)}
    assert set(tasks) == {owned.pk, unowned.pk}
    # the account manager calls his customer; without one, the region's care agent
    assert tasks[owned.pk].assignee == org.users["am_hz"]
    assert tasks[owned.pk].unit_id == org.hz.pk
    assert tasks[unowned.pk].assignee == org.users["care_east"]
    assert all(t.status == TaskStatus.OPEN and t.due_at > t.source_at for t in tasks.values())
    assert tasks[owned.pk].rule.trigger == Trigger.VALUE_AT_RISK
    # idempotent: again, nothing new
    assert retention_calls_create(churn_threshold=0.5).created == 0
    assert CareTask.objects.filter(kind=TaskKind.RETENTION).count() == 2


def test_a_call_made_is_not_repeated_within_the_rule_look_back(org, at_risk):
    owned, _unowned = at_risk
    retention_calls_create(churn_threshold=0.5)
    task = CareTask.objects.get(customer=owned, kind=TaskKind.RETENTION)
    care_attempt_record(actor=org.users["am_hz"], task=task, outcome="reached", note="已回访")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    # still at risk next week: no second call yet
    assert retention_calls_create(churn_threshold=0.5).created == 0
    # after the look-back window a new call is due
    rule = task.rule
    later = timezone.now() + timedelta(days=rule.lookback_days + 1)
    assert retention_calls_create(churn_threshold=0.5, now=later).created == 1


def test_a_switched_off_rule_creates_no_calls(at_risk):
    rule = retention_rule_ensure()
    rule.active = False
    rule.save()
    assert retention_calls_create(churn_threshold=0.5).created == 0
    assert not CareTask.objects.filter(kind=TaskKind.RETENTION).exists()
    # and the sweep of event-driven follow-ups leaves the value-at-risk rule alone
    rule.active = True
    rule.save()
    assert followups_generate().total == 0


def test_the_account_manager_works_his_retention_calls_from_his_care_queue(org, at_risk, as_user):
    owned, unowned = at_risk
    retention_calls_create(churn_threshold=0.5)
    mine = CareTask.objects.get(customer=owned, kind=TaskKind.RETENTION)
    agents = CareTask.objects.get(customer=unowned, kind=TaskKind.RETENTION)
    # his queue lists the calls assigned to him, not the care agent's
    queue = as_user("am_hz").get("/care/")
    assert queue.status_code == 200
    html = queue.content.decode()
    assert f"/care/tasks/{mine.pk}/" in html and f"/care/tasks/{agents.pk}/" not in html
    # the task page lets him record the call
    page = as_user("am_hz").get(f"/care/tasks/{mine.pk}/").content.decode()
    assert 'name="outcome"' in page
    assert 'id="task-value"' in page and "lifetime value ¥5,000" in page
    # his colleague sees the customer (same branch) but may not work his call
    with pytest.raises(PermissionDenied):
        care_attempt_record(actor=org.users["am_hz2"], task=mine, outcome="reached")
    assert f"/care/tasks/{mine.pk}/" not in as_user("am_hz2").get("/care/").content.decode()
    # an account manager of another branch does not see it at all
    with pytest.raises(NotFound):
        care_attempt_record(actor=org.users["am_bj"], task=mine, outcome="reached")
    attempt = care_attempt_record(actor=org.users["am_hz"], task=mine, outcome="no_answer")
    assert attempt.agent == org.users["am_hz"]


def test_the_customer_page_care_panel_links_the_account_manager_to_his_call(at_risk, as_user):
    owned, _ = at_risk
    retention_calls_create(churn_threshold=0.5)
    task = CareTask.objects.get(customer=owned, kind=TaskKind.RETENTION)
    html = as_user("am_hz").get(f"/customers/{owned.pk}/").content.decode()
    assert f"/care/tasks/{task.pk}/" in html
    assert FollowUpRule.objects.filter(trigger=Trigger.VALUE_AT_RISK).count() == 1
