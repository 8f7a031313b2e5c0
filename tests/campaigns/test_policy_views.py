"""The contact policy's pages (/policy/): rules with their impact before saving, quiet hours,
the do-not-disturb list. Signed in as the fixture users of tests/conftest.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.campaigns.conftest import first_wave
from tests.factories import CustomerFactory, PhoneFactory
from yiti.campaigns import services
from yiti.campaigns.models import Delivery
from yiti.campaigns.planning import wave_plan
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.services import contact_rule_create, suppression_add

pytestmark = pytest.mark.django_db

RULE_FORM = {
    "name": "每周营销",
    "max_contacts": "3",
    "window_days": "7",
    "purposes": ["marketing"],
    "weight_marketing": "1",
    "weight_service": "0.5",
    "active": "on",
}


def test_the_index_shows_rules_and_quiet_hours_by_name_or_empty_states(org, as_user):
    cm = as_user("cm")
    page = cm.get(reverse("policy:index"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "No contact caps yet." in text and "No quiet hours yet." in text
    contact_rule_create(
        actor=None,
        name="每周营销",
        max_contacts=2,
        window_days=7,
        purposes=["marketing"],
        weights={"service": 0.5},
    )
    text = cm.get(reverse("policy:index")).content.decode()
    assert "每周营销" in text and "Marketing" in text and "Service ×0.5" in text
    assert as_user("analyst").get(reverse("policy:index")).status_code == 403
    assert as_user("am_hz").get(reverse("policy:index")).status_code == 403


def test_a_rule_is_created_when_no_wave_is_planned(org, as_user):
    response = as_user("cm").post(reverse("policy:rule_create"), RULE_FORM)
    assert response.status_code == 302 and response["Location"] == reverse("policy:index")
    rule = ContactPolicyRule.objects.get()
    assert (rule.max_contacts, rule.purposes, rule.weights) == (
        3,
        ["marketing"],
        {"marketing": 1.0, "service": 0.5},
    )


def test_errors_show_next_to_their_field(org, as_user):
    cm = as_user("cm")
    response = cm.post(
        reverse("policy:rule_create"), {**RULE_FORM, "weight_care": "0.1234", "max_contacts": "0"}
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors["weight_care"] and form.errors["max_contacts"]
    contact_rule_create(actor=None, name="已有", max_contacts=1, window_days=1)
    response = cm.post(reverse("policy:rule_create"), {**RULE_FORM, "name": "已有"})
    assert response.status_code == 422 and response.context["form"].errors["name"]
    assert ContactPolicyRule.objects.count() == 1


@pytest.fixture
def planned_wave(world, make_campaign):
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
    wave_plan(actor=world.org.users["cm"], wave=wave)
    return campaign, wave


def test_saving_a_rule_with_planned_waves_shows_the_impact_and_asks_to_confirm(
    planned_wave, as_user
):
    campaign, wave = planned_wave
    rule = ContactPolicyRule.objects.get()
    url = reverse("policy:rule_edit", args=[rule.pk])
    cm = as_user("cm")
    assert "preview-impact" in cm.get(url).content.decode()
    deliveries = sorted(Delivery.objects.values_list("customer_id", "status"))

    first = cm.post(url, {**RULE_FORM, "max_contacts": "1"})

    assert first.status_code == 422
    text = first.content.decode()
    assert campaign.name in text and wave.name in text
    impact = first.context["impact"]
    assert (impact.waves[0].planned_now, impact.waves[0].planned_after) == (5, 3)
    assert "Contact cap: 每周营销" in text
    assert first.context["form"].errors["confirm"]
    rule.refresh_from_db()
    assert rule.max_contacts == 3  # not saved yet
    assert sorted(Delivery.objects.values_list("customer_id", "status")) == deliveries

    confirmed = cm.post(url, {**RULE_FORM, "max_contacts": "1", "confirm": "on"})
    assert confirmed.status_code == 302
    rule.refresh_from_db()
    assert rule.max_contacts == 1
    # saving does not re-plan: the plan stays until the wave is planned again
    assert sorted(Delivery.objects.values_list("customer_id", "status")) == deliveries


def test_the_preview_button_answers_the_impact_as_a_fragment(planned_wave, as_user):
    rule = ContactPolicyRule.objects.get()
    cm = as_user("cm")
    response = cm.post(
        reverse("policy:rule_impact", args=[rule.pk]),
        {**RULE_FORM, "max_contacts": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text and 'id="impact-table"' in text
    assert "2 customers planned now would be excluded." in text
    bad = cm.post(
        reverse("policy:rule_create_impact"),
        {**RULE_FORM, "name": "新规则", "window_days": "0"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "Correct the rule above" in bad.content.decode()
    assert ContactPolicyRule.objects.count() == 1


def test_quiet_hours_are_created_with_weekday_checkboxes_and_changed(org, as_user):
    cm = as_user("cm")
    response = cm.post(
        reverse("policy:quiet_create"),
        {"name": "周末夜间", "days": ["5", "6"], "start": "20:00", "end": "10:00", "active": "on"},
    )
    assert response.status_code == 302
    quiet = QuietHours.objects.get()
    assert (quiet.days, quiet.start.hour, quiet.end.hour) == ([5, 6], 20, 10)
    edit = reverse("policy:quiet_edit", args=[quiet.pk])
    assert 'value="20:00"' in cm.get(edit).content.decode()
    refused = cm.post(edit, {"name": "周末夜间", "start": "20:00", "end": "10:00"})
    assert refused.status_code == 422 and refused.context["form"].errors["days"]
    cm.post(edit, {"name": "周末夜间", "days": ["6"], "start": "20:00", "end": "10:00"})
    quiet.refresh_from_db()
    assert (quiet.days, quiet.active) == ([6], False)


def test_an_account_manager_keeps_the_do_not_disturb_list_of_his_customers(org, as_user):
    mine = CustomerFactory(unit=org.hz, name="张三")
    PhoneFactory(customer=mine, value="13812345678")
    CustomerFactory(unit=org.bj, name="李四")
    am = as_user("am_hz")
    page = am.get(reverse("policy:dnd"))
    assert (
        page.status_code == 200 and "Nobody is on the do-not-disturb list." in page.content.decode()
    )

    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    added = am.post(
        reverse("policy:dnd_add"),
        {"customer": "13812345678", "reason": "do_not_disturb", "expires_at": until},
    )
    assert added.status_code == 302
    row = Suppression.objects.get()
    assert row.customer == mine and row.expires_at is not None

    unknown = am.post(reverse("policy:dnd_add"), {"customer": "李四", "reason": "do_not_disturb"})
    assert unknown.status_code == 422
    assert unknown.context["add_form"].errors["customer"]
    legal = am.post(reverse("policy:dnd_add"), {"customer": "张三", "reason": "legal"})
    assert legal.status_code == 403

    listed = am.get(reverse("policy:dnd"), {"q": "张三"}).content.decode()
    assert "张三" in listed and "in force" in listed
    lifted = am.post(reverse("policy:dnd_lift", args=[row.pk]))
    assert lifted.status_code == 302
    row.refresh_from_db()
    assert row.lifted_at is not None
    assert "Nobody is on" in am.get(reverse("policy:dnd")).content.decode()
    assert as_user("analyst").get(reverse("policy:dnd")).status_code == 403


def test_the_do_not_disturb_list_filters_as_a_fragment_and_hides_other_units(org, as_user):
    for i in range(3):
        suppression_add(actor=None, customer=CustomerFactory(unit=org.hz, name=f"杭州{i}"))
    suppression_add(actor=None, customer=CustomerFactory(unit=org.bj, name="北京客户"))
    response = as_user("am_hz").get(
        reverse("policy:dnd"), {"state": "all"}, headers={"HX-Request": "true"}
    )
    text = response.content.decode()
    assert "<html" not in text
    assert all(f"杭州{i}" in text for i in range(3)) and "北京客户" not in text


def test_the_index_warns_of_planned_waves_and_lists_quiet_hours_in_words(planned_wave, as_user):
    from datetime import time

    from yiti.engagement.services import quiet_hours_create

    quiet_hours_create(
        actor=None, name="夜间", start=time(21), end=time(9), days=[5, 6], channels=["call"]
    )
    text = as_user("admin").get(reverse("policy:index")).content.decode()
    assert "1 wave of a campaign under way is planned" in text
    assert "Saturday, Sunday" in text and "Phone call" in text and "21:00" in text


def test_ended_entries_show_when_they_were_lifted(org, as_user):
    customer = CustomerFactory(unit=org.hz, name="王五")
    row = suppression_add(actor=org.users["admin"], customer=customer)
    as_user("admin").post(reverse("policy:dnd_lift", args=[row.pk]))
    text = as_user("admin").get(reverse("policy:dnd"), {"state": "ended"}).content.decode()
    assert "王五" in text and "lifted " in text and "Lift</button>" not in text
