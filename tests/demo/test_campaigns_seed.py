"""``yiti seed`` campaigns: offers, segments, the contact policy and a month of campaigns in
every status, made through the campaign services (yiti/demo/campaigns.py)."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import F

from yiti.campaigns.choices import CampaignStatus, ChecklistKind, DeliveryStatus, WaveStatus
from yiti.campaigns.errors import NotReady
from yiti.campaigns.models import Campaign, ChecklistItem, Conflict, Delivery, Offer, Segment, Wave
from yiti.campaigns.rules import can_sign
from yiti.campaigns.selectors import campaign_funnel
from yiti.campaigns.services import campaign_launch
from yiti.demo.campaigns import seed_campaigns
from yiti.demo.company import company_load
from yiti.engagement.models import ContactPolicyRule, QuietHours
from yiti.org.models import Notification, User
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket

CUSTOMERS = 2500


@pytest.fixture
def seeded(db, settings, tmp_path) -> str:
    settings.YITI_SMS_FILE_PATH = tmp_path / "outbox" / "sms.jsonl"
    out = io.StringIO()
    call_command("seed", customers=CUSTOMERS, seed=11, tickets=0, stdout=out)
    return out.getvalue()


def _by_code(code: str) -> Campaign:
    return Campaign.objects.get(code=code)


def test_campaigns_exist_in_every_status_with_the_policy_offers_and_segments(seeded):
    statuses = set(Campaign.objects.values_list("status", flat=True))
    assert statuses == set(CampaignStatus.values)
    assert ContactPolicyRule.objects.filter(active=True).count() == 3
    quiet = QuietHours.objects.get()
    assert (quiet.start.hour, quiet.end.hour) == (21, 9)
    assert Segment.objects.count() >= 5
    assert all(s.last_count is not None for s in Segment.objects.all())
    assert Offer.objects.filter(benefit="gift", incompatible_with__isnull=False).count() == 2
    assert "Campaigns: 7 (" in seeded


def test_running_and_completed_campaigns_have_funnels_with_numbers(seeded):
    converted = 0
    for campaign in Campaign.objects.filter(
        status__in=(CampaignStatus.RUNNING, CampaignStatus.COMPLETED)
    ):
        funnels = campaign_funnel(campaign)
        started = [f for f in funnels if f.wave.status != WaveStatus.DRAFT]
        assert started, campaign.code
        for funnel in started:  # every wave that has begun has an audience, all accounted for
            assert funnel.audience > 0, (campaign.code, funnel.wave)
            assert funnel.planned + funnel.excluded == funnel.audience, (campaign.code, funnel)
            if funnel.planned:
                assert funnel.sent > 0, (campaign.code, funnel.wave)
        # each campaign reached somebody (at this small size a late wave's few non-responders
        # may all lack the opt-in its channel needs: which ones depends on the hour of the seed)
        assert sum(f.sent for f in started) > 0, campaign.code
        assert sum(f.responded for f in funnels) > 0, campaign.code
        converted += sum(f.converted for f in funnels)
    assert converted > 0
    # a call list sized by capacity, worked by the demo agents, and visits for the valuable
    calls = Wave.objects.filter(kind="call", campaign__status=CampaignStatus.RUNNING).get()
    assert calls.capacity == calls.agents * calls.hours * calls.calls_per_agent_hour
    worked = Delivery.objects.filter(wave=calls).exclude(outcome="")
    assert worked.exists()
    assert all(d.assignee.username.startswith("svc_") for d in worked.select_related("assignee"))
    visits = Delivery.objects.filter(
        channel="visit", campaign__status=CampaignStatus.COMPLETED
    ).exclude(status=DeliveryStatus.EXCLUDED)
    assert visits.exclude(outcome="").exists()  # the account managers went
    assert not visits.exclude(assignee_id=F("customer__owner_id")).exists()


def test_two_campaigns_compete_and_arbitration_excluded_the_weaker(seeded):
    router, earbuds = _by_code("5g-router"), _by_code("5g-earbuds")
    assert router.segment_id == earbuds.segment_id
    assert router.starts_on <= earbuds.ends_on and earbuds.starts_on <= router.ends_on
    lost = Delivery.objects.filter(campaign=earbuds, reason=f"lost_arbitration:{router.pk}")
    assert lost.exists()
    conflict = Conflict.objects.get()
    assert {conflict.campaign_id, conflict.other_id} == {router.pk, earbuds.pk}
    assert conflict.status == "accepted" and conflict.reason


def test_a_campaign_was_paused_by_its_complaints_and_its_owner_told(seeded):
    paused = Campaign.objects.get(status=CampaignStatus.PAUSED)
    assert "complaints" in paused.pause_reason or "投诉" in paused.pause_reason
    assert Ticket.objects.filter(kind=TicketKind.COMPLAINT, campaign_id=paused.pk).exists()
    assert Notification.objects.filter(user=paused.owner, kind="campaign.auto_pause").exists()
    assert paused.paused_at is not None and paused.paused_at > paused.launched_at


def test_gift_stock_is_never_overbooked(seeded):
    gifts = Offer.objects.filter(benefit="gift")
    assert gifts.exists()
    for offer in gifts:
        assert 0 <= offer.stock_reserved <= offer.stock_total
        assert offer.reservations.filter(status="reserved").count() == offer.stock_reserved


def test_checklists_are_signed_by_users_who_may_sign_them(seeded):
    for campaign in Campaign.objects.filter(
        status__in=(
            CampaignStatus.READY,
            CampaignStatus.RUNNING,
            CampaignStatus.PAUSED,
            CampaignStatus.COMPLETED,
        )
    ):
        items = list(ChecklistItem.objects.filter(campaign=campaign).select_related("unit"))
        assert items, campaign.code
        for item in items:
            assert item.signed_by is not None, (campaign.code, item.kind)
            assert can_sign(item.signed_by, item.kind, item.unit)
            assert item.signed_by.username != "admin"


def test_the_campaign_in_review_is_refused_with_what_is_missing(seeded):
    campaign = Campaign.objects.get(status=CampaignStatus.IN_REVIEW)
    unsigned = ChecklistItem.objects.filter(campaign=campaign, signed_at__isnull=True)
    assert {i.kind for i in unsigned} >= {ChecklistKind.SERVICE_REVIEW, ChecklistKind.TRAINING}
    with pytest.raises(NotReady) as refused:
        campaign_launch(actor=User.objects.get(username="cm"), campaign=campaign)
    assert refused.value.missing
    assert any("Service reviewed" in line for line in refused.value.missing)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW


def test_messages_went_out_through_the_demo_transports(seeded, settings):
    sms = Delivery.objects.filter(channel="sms", status=DeliveryStatus.SENT).count()
    assert sms > 0
    assert settings.YITI_SMS_FILE_PATH.read_text(encoding="utf-8").count("\n") == sms
    emails = Delivery.objects.filter(channel="email", status=DeliveryStatus.DELIVERED).count()
    assert emails > 0
    # the test runner swaps the file backend for the in-memory one: the messages are there,
    # one per contact, with the delivery's idempotency key as their Message-ID
    campaign_mail = [m for m in mail.outbox if "yiti-d" in m.extra_headers.get("Message-ID", "")]
    assert len(campaign_mail) == emails


def test_seeding_again_adds_nothing(seeded):
    counts = (Campaign.objects.count(), Wave.objects.count(), Delivery.objects.count())
    report = seed_campaigns(seed=11, company=company_load())
    assert report.campaigns_total() == 0
    call_command("seed", customers=10, seed=12, tickets=0, force=True, stdout=io.StringIO())
    assert (Campaign.objects.count(), Wave.objects.count(), Delivery.objects.count()) == counts
