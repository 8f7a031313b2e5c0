"""From the real contact flows to stored credit: a broadcast e-mail sent by the marketing
department's campaign and a call worked by an agent for a Hangzhou customer, who accepts;
the order is shared between 市场部 (the e-mail) and 杭州分公司 (the call)."""

# ruff: noqa: F811  (pytest fixtures are parameters here)
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.campaigns.conftest import at_ten, consent, first_wave, sign_all, smtp_server  # noqa: F401
from yiti.attribution import selectors, services
from yiti.attribution.models import Credit
from yiti.campaigns import services as campaign_services
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.outcomes import delivery_work
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import batch_send, wave_start

pytestmark = pytest.mark.django_db


def test_a_broadcast_and_a_call_share_the_order(world, make_campaign, smtp_server):
    org, cm = world.org, world.org.users["cm"]
    for customer in world.customers:
        consent(customer, "call")
    campaign = make_campaign("joint-flow", units=[org.hz, org.nb])
    call_wave = campaign_services.wave_create(
        actor=cm,
        campaign=campaign,
        name="外呼",
        kind="call",
        scheduled_at=at_ten(5),
        ends_at=at_ten(5) + timedelta(hours=8),
        agents=1,
        hours=8,
        calls_per_agent_hour=10,
    )
    campaign_services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, org)
    campaign_services.campaign_launch(actor=cm, campaign=campaign)
    broadcast = first_wave(campaign)
    wave_plan(actor=cm, wave=broadcast)
    wave_start(wave=broadcast)
    for batch in SendBatch.objects.filter(wave=broadcast):
        batch_send(batch.pk)
    mailed = set(
        Delivery.objects.filter(wave=broadcast, status="delivered").values_list(
            "customer_id", flat=True
        )
    )
    wave_plan(actor=cm, wave=call_wave)
    wave_start(wave=call_wave)
    delivery = (
        Delivery.objects.filter(wave=call_wave, status="planned", customer_id__in=mailed)
        .order_by("rank")
        .first()
    )
    assert delivery is not None and delivery.customer.unit == org.hz
    delivery_work(actor=org.users["svc_east"], delivery=delivery, outcome="accepted")
    delivery.refresh_from_db()
    order = delivery.order

    today = timezone.localdate()
    start, end = services.day_bounds(today)
    result = services.credit_attribute(campaign=campaign, start=start, end=end)

    assert result.orders == 1
    rows = {
        (r.unit.code, r.channel): r.revenue
        for r in Credit.objects.filter(order=order).select_related("unit")
    }
    half = (order.amount / 2).quantize(Decimal("0.01"))
    assert rows == {("mkt", "email"): half, ("hz", "call"): order.amount - half}
    [allocation] = selectors.order_allocation(org.users["admin"], order.pk)
    assert "50 % 杭州分公司 — Phone call on" in allocation.explanation
    assert "50 % 市场部 — E-mail on" in allocation.explanation
