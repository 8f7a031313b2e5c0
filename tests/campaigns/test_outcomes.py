"""The closed loop: call outcomes and responses, gifts reserved on acceptance and released on
cancellation, conversions (acceptances and attributed orders), and the campaign that pauses
itself when complaints about it pass its threshold (seed 000)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.campaigns.conftest import at_ten, consent, first_wave, sign_all
from yiti.campaigns import services
from yiti.campaigns.choices import CampaignStatus, DeliveryStatus, ReservationStatus
from yiti.campaigns.models import Delivery, Offer, OfferReservation, SendBatch
from yiti.campaigns.outcomes import (
    complaint_rate_check,
    conversions_attribute,
    delivery_respond,
    delivery_work,
)
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.selectors import campaign_complaints, campaign_funnel
from yiti.campaigns.sending import batch_send, wave_start
from yiti.core.errors import Conflict, PermissionDenied, ValidationFailed
from yiti.customers.models import Order
from yiti.customers.services import order_create
from yiti.engagement.models import Interaction
from yiti.org.models import Notification
from yiti.service.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(world, make_campaign):
    """A running campaign with an open call wave worked by the East service agent."""
    cm = world.org.users["cm"]
    for customer in world.customers:
        consent(customer, "call")
    campaign = make_campaign()
    wave = services.wave_create(
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
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, world.org)
    services.campaign_launch(actor=cm, campaign=campaign)
    wave_plan(actor=cm, wave=wave)
    wave_start(wave=wave)
    return wave


def test_an_accepted_call_reserves_the_gift_and_records_the_sale_for_the_agents_unit(world, calls):
    agent = world.org.users["svc_east"]
    delivery = Delivery.objects.filter(wave=calls, status="planned").order_by("rank").first()

    delivery_work(actor=agent, delivery=delivery, outcome="accepted", note="客户同意办理")

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DONE and delivery.response == "accepted"
    assert delivery.converted_at is not None
    order = delivery.order
    assert (
        order.product == world.broadband and order.sold_by == agent and order.unit == world.org.east
    )
    reservation = OfferReservation.objects.get(delivery=delivery)
    assert reservation.status == ReservationStatus.RESERVED and reservation.unit == world.org.east
    world.gift_offer.refresh_from_db()
    assert world.gift_offer.stock_reserved == 1
    call = Interaction.objects.get(wave_id=calls.pk, customer=delivery.customer)
    assert (call.channel, call.direction, call.purpose, call.outcome) == (
        "call",
        "out",
        "marketing",
        "accepted",
    )


def test_three_unanswered_attempts_close_a_call(world, calls):
    agent = world.org.users["svc_east"]
    delivery = Delivery.objects.filter(wave=calls, status="planned").first()
    for attempt in (1, 2, 3):
        delivery_work(actor=agent, delivery=delivery, outcome="no_answer")
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert delivery.status == (DeliveryStatus.PLANNED if attempt < 3 else DeliveryStatus.DONE)
    with pytest.raises(ValidationFailed):
        delivery_work(actor=agent, delivery=delivery, outcome="reached")


def test_an_agent_works_only_calls_of_customers_he_may_see(world, calls):
    delivery = Delivery.objects.filter(wave=calls, status="planned").first()
    for outsider in ("am_bj", "rm_north", "cm"):
        with pytest.raises(PermissionDenied):
            delivery_work(actor=world.org.users[outsider], delivery=delivery, outcome="reached")


def test_the_last_gift_cannot_be_given_twice(world, calls):
    agent = world.org.users["svc_east"]
    Offer.objects.filter(pk=world.gift_offer.pk).update(stock_total=1)
    first, second = Delivery.objects.filter(wave=calls, status="planned").order_by("rank")[:2]

    delivery_work(actor=agent, delivery=first, outcome="accepted")
    with pytest.raises(Conflict) as out:
        delivery_work(actor=agent, delivery=second, outcome="accepted")

    assert out.value.code == "out_of_stock"
    second.refresh_from_db()
    assert second.status == DeliveryStatus.PLANNED and second.order is None  # nothing half-written
    assert Order.objects.filter(customer=second.customer).count() == 0


def test_a_released_reservation_returns_the_gift_to_the_stock(world, calls):
    agent = world.org.users["svc_east"]
    delivery = Delivery.objects.filter(wave=calls, status="planned").first()
    delivery_work(actor=agent, delivery=delivery, outcome="accepted")
    reservation = OfferReservation.objects.get(delivery=delivery)

    services.reservation_release(actor=agent, reservation=reservation, reason="客户退订")

    world.gift_offer.refresh_from_db()
    assert world.gift_offer.stock_reserved == 0
    with pytest.raises(ValidationFailed):
        services.reservation_release(actor=agent, reservation=reservation)


def test_responses_to_messages_and_the_funnel(world, running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    d0, d1, d2 = Delivery.objects.filter(wave=wave, status="delivered").order_by("pk")[:3]

    delivery_respond(actor=None, delivery=d0, kind="opened")
    delivery_respond(actor=None, delivery=d1, kind="accepted")
    delivery_respond(actor=None, delivery=d2, kind="declined")
    with pytest.raises(ValidationFailed):  # one answer per contact
        delivery_respond(actor=None, delivery=d2, kind="accepted")

    [funnel] = campaign_funnel(campaign)
    assert (funnel.audience, funnel.planned, funnel.sent, funnel.delivered) == (8, 5, 5, 5)
    assert (funnel.opened, funnel.responded, funnel.accepted, funnel.converted) == (3, 2, 1, 1)
    assert funnel.reasons == [("opted_out", 3)]
    d1.refresh_from_db()
    assert d1.order.product == world.broadband and d1.order.channel == "online"


def test_an_order_of_the_offered_product_after_a_contact_converts_it(world, running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    d0, d1 = Delivery.objects.filter(wave=wave, status="delivered").order_by("pk")[:2]
    order_create(actor=None, customer=d0.customer, product=world.broadband)  # the offered product
    order_create(actor=None, customer=d1.customer, product=world.plan)  # another product

    assert conversions_attribute() == 1
    d0.refresh_from_db()
    d1.refresh_from_db()
    assert d0.converted_at is not None and d0.order.product == world.broadband
    assert d1.converted_at is None
    assert conversions_attribute() == 0  # once


def test_a_campaign_pauses_itself_when_complaints_pass_the_threshold(world, running, smtp_server):
    org = world.org
    campaign = running(complaint_threshold=100, complaint_min_contacts=5)  # 100 per 1,000
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    assert not complaint_rate_check(campaign_id=campaign.pk)  # 0 complaints in 5 contacts

    ticket_create(
        actor=org.users["svc_east"],
        customer=world.customers[0],
        kind="complaint",
        subject="赠品迟迟未到",
        complaint_class="fulfilment",
        complaint_reason="gift_late",
        campaign_id=campaign.pk,
    )

    assert complaint_rate_check(campaign_id=campaign.pk)  # 1 in 5 = 200 per 1,000
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "200.0 per 1,000" in campaign.pause_reason
    assert Notification.objects.filter(user=campaign.owner, kind="campaign.auto_pause").exists()
    assert ("fulfilment", "Fulfilment", 1) in campaign_complaints(campaign)
