"""A campaign's life: draft, review with its checklist, ready, launch refused with what is
missing, running, paused, completed (seed 000: service, training, material and gifts must be
ready before the launch, with time for the front line to learn the offer)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.campaigns.conftest import sign_all
from yiti.campaigns import services
from yiti.campaigns.choices import CampaignStatus, ChecklistKind
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.org.models import Notification

pytestmark = pytest.mark.django_db


def test_submitting_draws_up_the_checklist_for_the_responsible_units(world, make_campaign):
    campaign = make_campaign(units=[world.org.hz, world.org.nb])

    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW
    items = sorted((i.kind, i.unit.code) for i in campaign.checklist.select_related("unit"))
    assert items == sorted(
        [
            (ChecklistKind.SERVICE_REVIEW, "csc"),
            (ChecklistKind.TRAINING, "hz"),
            (ChecklistKind.TRAINING, "nb"),
            (ChecklistKind.MATERIALS, "mkt"),
            (ChecklistKind.GIFT_STOCK, "mkt"),
            (ChecklistKind.CONFLICT_CHECK, "mkt"),
        ]
    )
    # and the people who sign are told
    told = set(
        Notification.objects.filter(kind="campaign.review").values_list("user__username", flat=True)
    )
    assert {"svc_east", "rm_east", "cm"} <= told


def test_launch_is_refused_with_the_list_of_what_is_missing_until_all_is_signed(
    world, make_campaign
):
    org = world.org
    campaign = make_campaign()
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)

    with pytest.raises(ValidationFailed) as refused:
        services.campaign_launch(actor=org.users["cm"], campaign=campaign)
    assert refused.value.code == "not_ready"
    message = refused.value.message
    assert "Service reviewed the offer terms and FAQ" in message
    assert "Front-line staff trained" in message and "华东片区" in message
    assert "Advertising material ready" in message
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW

    sign_all(campaign, org)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.READY
    services.campaign_launch(actor=org.users["cm"], campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING and campaign.launched_at is not None
    assert AuditEvent.objects.filter(action="campaign.launch", object_id=str(campaign.pk)).exists()


def test_only_a_signer_of_the_responsible_unit_may_sign(world, make_campaign):
    org = world.org
    campaign = make_campaign()
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)
    review = campaign.checklist.get(kind=ChecklistKind.SERVICE_REVIEW)
    training = campaign.checklist.get(kind=ChecklistKind.TRAINING)

    for outsider in ("am_hz", "rm_north", "analyst"):
        with pytest.raises(PermissionDenied):
            services.checklist_sign(actor=org.users[outsider], item=review)
    with pytest.raises(PermissionDenied):  # service does not confirm the branches' training
        services.checklist_sign(actor=org.users["cm"], item=training)

    services.checklist_sign(actor=org.users["svc_east"], item=review, note="条款与FAQ已审")
    review.refresh_from_db()
    assert review.signed_by == org.users["svc_east"] and review.note == "条款与FAQ已审"


def test_gift_stock_must_cover_the_expected_take_up(world, make_campaign):
    org = world.org
    services.offer_update(actor=org.users["cm"], offer=world.gift_offer, stock_total=2)
    campaign = make_campaign(expected_take_up="0.5")  # 8 customers × 50% = 4 gifts
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)
    stock = campaign.checklist.get(kind=ChecklistKind.GIFT_STOCK)

    with pytest.raises(ValidationFailed) as short:
        services.checklist_sign(actor=org.users["cm"], item=stock)

    assert short.value.code == "stock_short"
    assert "2 left" in short.value.message and "4 acceptances" in short.value.message
    services.offer_update(actor=org.users["cm"], offer=world.gift_offer, stock_total=10)
    services.checklist_sign(actor=org.users["cm"], item=stock)


def test_the_front_line_needs_its_lead_time_before_the_start(world, make_campaign):
    org = world.org
    campaign = make_campaign(start_in=1, lead_days=3)
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)
    sign_all(campaign, org)

    with pytest.raises(ValidationFailed) as refused:
        services.campaign_launch(actor=org.users["cm"], campaign=campaign)

    earliest = timezone.localdate() + timedelta(days=3)
    assert f"move the start to {earliest}" in refused.value.message


def test_a_draft_is_edited_and_a_submitted_campaign_must_return_to_draft_first(
    world, make_campaign
):
    cm = world.org.users["cm"]
    campaign = make_campaign()
    services.campaign_update(actor=cm, campaign=campaign, priority=8, goal="新增宽带 500 户")
    services.campaign_submit(actor=cm, campaign=campaign)

    with pytest.raises(ValidationFailed):
        services.campaign_update(actor=cm, campaign=campaign, priority=9)
    services.checklist_sign(actor=cm, item=campaign.checklist.get(kind=ChecklistKind.MATERIALS))
    services.campaign_return_to_draft(actor=cm, campaign=campaign, reason="换赠品")

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and not campaign.checklist.exists()
    services.campaign_update(actor=cm, campaign=campaign, priority=9)
    campaign.refresh_from_db()
    assert campaign.priority == 9


def test_pause_resume_complete(world, make_campaign):
    org, cm = world.org, world.org.users["cm"]
    campaign = make_campaign()
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, org)
    services.campaign_launch(actor=cm, campaign=campaign)

    services.campaign_pause(actor=cm, campaign=campaign, reason="赠品到货延迟")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED and campaign.pause_reason == "赠品到货延迟"
    services.campaign_resume(actor=cm, campaign=campaign)
    services.campaign_complete(actor=cm, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_only_campaign_managers_of_the_owner_unit_manage(world, make_campaign):
    campaign = make_campaign()
    for outsider in ("rm_east", "svc_east", "analyst", "am_hz"):
        with pytest.raises(PermissionDenied):
            services.campaign_submit(actor=world.org.users[outsider], campaign=campaign)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "has space"}, "code"),
        ({"priority": 11}, "priority"),
        ({"expected_take_up": "1.5"}, "expected_take_up"),
        ({"starts_on": "2026-13-01"}, "starts_on"),
    ],
)
def test_bad_campaign_input_names_the_field(world, make_campaign, changes, field):
    campaign = make_campaign()
    with pytest.raises(ValidationFailed) as bad:
        services.campaign_update(actor=world.org.users["cm"], campaign=campaign, **changes)
    assert bad.value.field == field


def test_a_campaign_cannot_end_before_it_starts(world, make_campaign):
    campaign = make_campaign()
    with pytest.raises(ValidationFailed) as bad:
        services.campaign_update(
            actor=world.org.users["cm"],
            campaign=campaign,
            ends_on=campaign.starts_on - timedelta(days=1),
        )
    assert bad.value.field == "ends_on"
