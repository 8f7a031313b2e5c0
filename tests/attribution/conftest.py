"""A joint campaign run by the marketing department (owner) with the Hangzhou and Ningbo
branches, on top of the campaigns fixtures (``world``: broadband offer, eight customers).

``touch`` records a contact of the campaign on the timeline as the channels do: a broadcast
by the system (no user, no unit), a call or visit by an account manager. Times are Beijing
time; the campaign starts on 2026-12-01 and the clock is set explicitly.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests/campaigns are parameters here)
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.campaigns.conftest import as_user, make_campaign, world  # noqa: F401 (fixtures)
from yiti.campaigns.models import Campaign
from yiti.customers.models import Order
from yiti.engagement.models import Interaction

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)  # type: ignore[misc]


@pytest.fixture
def joint(world, make_campaign) -> Campaign:
    org = world.org
    campaign = make_campaign("joint-bb", units=[org.hz, org.nb])
    Campaign.objects.filter(pk=campaign.pk).update(
        starts_on=bj(2026, 12, 1).date(), ends_on=bj(2026, 12, 31).date()
    )
    campaign.refresh_from_db()
    return campaign


def launch(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status="running", launched_at=bj(2026, 12, 1, 9))
    campaign.refresh_from_db()


def touch(
    campaign,
    customer,
    channel: str,
    at: datetime,
    *,
    actor=None,
    outcome="delivered",
    inbound=False,
):
    """As the channels record it: a send by the system has no user and no unit; a call,
    visit or the customer's own answer carries the customer's unit."""
    return Interaction.objects.create(
        customer=customer,
        occurred_at=at,
        channel=channel,
        direction="in" if inbound else "out",
        purpose="marketing",
        outcome=outcome,
        actor=actor,
        unit=customer.unit if actor is not None or inbound else None,
        campaign_id=campaign.pk,
    )


def order(world, customer, at: datetime, *, amount="960.00", margin="384.00", product=None):
    return Order.objects.create(
        customer=customer,
        product=product or world.broadband,
        amount=Decimal(amount),
        margin=Decimal(margin),
        ordered_at=at,
        channel="online",
        status="fulfilled",
    )
