"""An offer accepted in a campaign — on a call or by the customer's answer to a message — is an
order taken like any other: service gets the order-processing ticket, the agent follows it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.campaigns.conftest import at_ten, consent, first_wave, sign_all
from yiti.campaigns import services
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.outcomes import delivery_respond, delivery_work
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import batch_send, wave_start
from yiti.service.choices import TicketKind, TicketStatus
from yiti.service.models import Ticket
from yiti.service.selectors import tickets_for_orders_sold_by

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(world, make_campaign):
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


def test_an_offer_accepted_on_a_call_opens_the_order_processing_ticket(world, calls):
    agent = world.org.users["svc_east"]
    delivery = Delivery.objects.filter(wave=calls, status="planned").order_by("rank").first()
    # when the customer accepts on the call
    delivery_work(actor=agent, delivery=delivery, outcome="accepted")
    # then the order has its order-processing ticket in service, credited to the agent
    delivery.refresh_from_db()
    order = delivery.order
    ticket = Ticket.objects.get(order=order)
    assert ticket.kind == TicketKind.ORDER_PROCESSING and ticket.customer == delivery.customer
    assert ticket.created_by == agent and order.sold_by == agent
    assert list(tickets_for_orders_sold_by(agent)) == [ticket]
    assert delivery.campaign.name in ticket.description


def test_an_offer_accepted_by_answering_a_message_goes_to_service_too(world, running, smtp_server):
    campaign = running()
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    delivery = Delivery.objects.filter(wave=wave, status="delivered").order_by("pk").first()
    # when the customer accepts through the response link (nobody signed in)
    delivery_respond(actor=None, delivery=delivery, kind="accepted")
    # then the order and its ticket exist, opened by the system, waiting for service
    delivery.refresh_from_db()
    ticket = Ticket.objects.get(order=delivery.order)
    assert ticket.kind == TicketKind.ORDER_PROCESSING and ticket.created_by is None
    assert ticket.status in (TicketStatus.NEW, TicketStatus.ASSIGNED)
    assert campaign.name in ticket.description
    assert delivery.order.channel == "online" and delivery.order.quantity == 1
