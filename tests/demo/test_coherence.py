"""The demo tells one story: every page that counts the same thing agrees, so a new user who
tours it is not misled — complaints name only campaigns that reached the customer, every
wave's funnel only narrows, gift stock matches its reservations, and the worker does not refit
right after the seed's own fit (issue 14, item 8)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from yiti.campaigns.choices import CONTACTED_STATUSES
from yiti.campaigns.models import Campaign, Delivery, Offer
from yiti.campaigns.selectors import campaign_funnel
from yiti.core.scheduling import scheduler_tick
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket


@pytest.fixture
def seeded(db, settings, tmp_path) -> str:
    settings.YITI_SMS_FILE_PATH = tmp_path / "outbox" / "sms.jsonl"
    out = io.StringIO()
    call_command("seed", customers=2500, seed=11, tickets=120, stdout=out)
    return out.getvalue()


def _complaints_name_only_campaigns_that_reached_the_customer_before() -> None:
    complaints = Ticket.objects.filter(kind=TicketKind.COMPLAINT, campaign_id__isnull=False)
    assert complaints.exists()  # the paused campaign's complaints
    for ticket in complaints:
        reached = Delivery.objects.filter(
            campaign_id=ticket.campaign_id,
            customer_id=ticket.customer_id,
            status__in=CONTACTED_STATUSES,
            sent_at__lte=ticket.opened_at,
        )
        assert reached.exists(), (ticket.pk, ticket.campaign_id)
    never_ran = Campaign.objects.filter(launched_at__isnull=True).values_list("pk", flat=True)
    assert not complaints.filter(campaign_id__in=list(never_ran)).exists()


def _every_wave_funnel_only_narrows() -> None:
    for campaign in Campaign.objects.all():
        for funnel in campaign_funnel(campaign):
            chain = [
                funnel.audience,
                funnel.planned,
                funnel.sent,
                funnel.delivered,
                funnel.opened,
                funnel.responded,
                funnel.converted,
            ]
            assert chain == sorted(chain, reverse=True), (campaign.code, funnel.wave.number, chain)


def _gift_stock_follows_its_reservations() -> None:
    for offer in Offer.objects.filter(benefit="gift"):
        held = offer.reservations.filter(status="reserved").count()
        assert offer.stock_reserved == held, offer.code
        assert offer.stock_available == offer.stock_total - held


def _the_worker_does_not_refit_right_after_the_seeds_own_fit() -> None:
    fired = scheduler_tick(now=timezone.now() + timedelta(seconds=1))
    assert "decisions.value_refit" not in fired


def test_the_demo_tells_one_story(seeded):
    """One seed (it takes a while), four stories checked on it."""
    _complaints_name_only_campaigns_that_reached_the_customer_before()
    _every_wave_funnel_only_narrows()
    _gift_stock_follows_its_reservations()
    _the_worker_does_not_refit_right_after_the_seeds_own_fit()
