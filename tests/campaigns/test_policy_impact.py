"""The impact of a contact-rule change on the planned waves: a dry run through the planner that
counts the customers planned now and newly excluded, and changes nothing in the database.

World (tests/campaigns/conftest.py): eight customers, 客户0–4 consent to marketing e-mail; a
submitted campaign's first wave (e-mail and SMS, three days from now) plans those five.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.campaigns.conftest import first_wave
from yiti.campaigns import services
from yiti.campaigns.choices import WaveStatus
from yiti.campaigns.impact import planned_waves, rule_change_impact, rules_with
from yiti.campaigns.models import Delivery, PlanExclusion, Wave
from yiti.campaigns.planning import wave_plan
from yiti.core.models import AuditEvent
from yiti.engagement.models import ContactPolicyRule, Interaction
from yiti.engagement.policy_data import rules_active
from yiti.engagement.services import contact_rule_clean, contact_rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(world, make_campaign):
    """A submitted campaign whose first wave is planned under a weekly cap of three marketing
    contacts; 客户0 and 客户1 had a marketing SMS yesterday."""
    contact_rule_create(
        actor=None, name="每周营销", max_contacts=3, window_days=7, purposes=["marketing"]
    )
    for customer in world.customers[:2]:
        Interaction.objects.create(
            customer=customer,
            occurred_at=timezone.now() - timedelta(days=1),
            channel="sms",
            direction="out",
            purpose="marketing",
        )
    campaign = make_campaign()
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    wave = first_wave(campaign)
    result = wave_plan(actor=world.org.users["cm"], wave=wave)
    assert result.planned == 5
    return campaign, wave


def _snapshot():
    return (
        sorted(Delivery.objects.values_list("customer_id", "status", "reason")),
        sorted(PlanExclusion.objects.values_list("reason", "count")),
        list(Wave.objects.values_list("status", "plan_summary")),
        list(ContactPolicyRule.objects.values_list("name", "max_contacts", "active")),
        AuditEvent.objects.count(),
    )


def test_tightening_the_cap_excludes_the_customers_already_contacted(planned):
    campaign, wave = planned
    rule = ContactPolicyRule.objects.get()
    before = _snapshot()
    values = contact_rule_clean(
        name=rule.name, max_contacts=1, window_days=7, purposes=["marketing"], exclude=rule.pk
    )

    impact = rule_change_impact(rules_with({**values, "active": True}, replacing=rule))

    assert impact.planned_waves == 1
    (w,) = impact.waves
    assert (w.campaign, w.wave) == (campaign.name, wave.name)
    assert (w.planned_now, w.planned_after, w.newly_excluded) == (5, 3, 2)
    assert w.reasons == {"cap:每周营销": 2}
    assert impact.newly_excluded == 2 and impact.newly_planned == 0
    # a dry run: nothing changed, and the stored rules apply again afterwards
    assert _snapshot() == before
    assert [r.max_contacts for r in rules_active()] == [3]


def test_a_new_rule_and_a_loosening_change_are_counted_too(planned):
    rule = ContactPolicyRule.objects.get()
    new = contact_rule_clean(name="一天一次", max_contacts=1, window_days=1)
    added = rule_change_impact(rules_with({**new, "active": True}))
    # yesterday's SMS is outside a one-day window: nobody is excluded
    assert added.newly_excluded == 0 and added.waves[0].planned_after == 5

    contact_rule_create(actor=None, name="每月一次", max_contacts=1, window_days=30)
    assert wave_plan(actor=None, wave=Wave.objects.get(), dry_run=True).planned == 3
    monthly = ContactPolicyRule.objects.get(name="每月一次")
    switched_off = rule_change_impact(rules_with({"active": False}, replacing=monthly))
    assert (switched_off.waves[0].planned_now, switched_off.waves[0].planned_after) == (3, 5)
    assert switched_off.newly_planned == 2 and switched_off.newly_excluded == 0
    assert ContactPolicyRule.objects.filter(active=True).count() == 2
    assert rule.pk  # untouched


def test_only_planned_waves_of_campaigns_under_way_are_dry_run(planned, world, make_campaign):
    _campaign, wave = planned
    make_campaign(code="draft-only")  # a draft's wave is not planned
    assert [w.pk for w in planned_waves()] == [wave.pk]
    Wave.objects.filter(pk=wave.pk).update(status=WaveStatus.DONE)
    assert planned_waves() == []
    assert rule_change_impact(rules_with(None)).waves == []
