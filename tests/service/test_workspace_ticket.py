"""The ticket page of the agent's workspace (issue 14 item 2): the reply box is an internal
note unless the agent switches to a public reply, which says to whom it goes; a complaint
names its campaign through a picker of names and shows the name, never the id; the care
calls around a ticket link both ways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from yiti.campaigns import services as campaigns
from yiti.customers.services import product_create
from yiti.service.models import Ticket, TicketEvent


def make_campaign(org, code: str = "bb-winter", name: str = "宽带冬季促销"):  # type: ignore[no-untyped-def]
    cm = org.users["cm"]
    product = product_create(
        actor=None,
        code=f"p-{code}",
        name="宽带300M",
        category="broadband",
        price=960,
        margin_rate="0.4",
    )
    offer = campaigns.offer_create(
        actor=cm,
        code=f"o-{code}",
        name="宽带八折",
        product=product,
        benefit="discount",
        benefit_value=20,
    )
    segment = campaigns.segment_create(actor=cm, name=f"全部 {code}", rules={}, unit=org.marketing)
    start = timezone.localdate() + timedelta(days=5)
    return campaigns.campaign_create(
        actor=cm,
        code=code,
        name=name,
        owner_unit=org.marketing,
        segment=segment,
        offers=[offer],
        participating_units=[org.east],
        service_unit=org.east,
        starts_on=start,
        ends_on=start + timedelta(days=30),
    )


@pytest.fixture
def agent(client: Client, org) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(org.users["svc_east"])
    return client


def test_the_reply_box_is_an_internal_note_unless_switched(agent, org, customers, policies):
    customer = customers["hz"]
    created = agent.post(
        f"/service/tickets/new/?customer={customer.pk}",
        {"kind": "consultation", "priority": "normal", "channel": "phone", "subject": "话费疑问"},
    )
    ticket = Ticket.objects.get(subject="话费疑问")
    assert created.status_code == 302
    page = agent.get(f"/service/tickets/{ticket.pk}/").content.decode()
    box = page[page.index('id="reply-form"') : page.index("</form>", page.index('id="reply-form"'))]
    assert 'id="reply-public"' in box and "checked" not in box.split('id="reply-public"')[1][:40]
    assert customer.name in box  # the switch says to whom a public reply goes
    # when the agent writes without touching the switch, it is an internal note
    agent.post(f"/service/tickets/{ticket.pk}/reply/", {"body": "内部：需查账单"})
    note = TicketEvent.objects.get(ticket=ticket, body="内部：需查账单")
    assert note.kind == "note" and not note.public
    # only the switch makes it public
    agent.post(f"/service/tickets/{ticket.pk}/reply/", {"body": "您好，已核实", "public": "on"})
    reply = TicketEvent.objects.get(ticket=ticket, body="您好，已核实")
    assert reply.kind == "reply" and reply.public


def test_a_complaint_names_its_campaign_by_a_picker_and_shows_its_name(
    agent, org, customers, policies
):
    campaign = make_campaign(org)
    customer = customers["hz"]
    form = agent.get(f"/service/tickets/new/?customer={customer.pk}").content.decode()
    assert f'<option value="{campaign.pk}">宽带冬季促销' in form
    assert 'name="campaign_id"' in form and "data-search" in form
    agent.post(
        f"/service/tickets/new/?customer={customer.pk}",
        {
            "kind": "complaint",
            "complaint_class": "offer_design",
            "complaint_reason": "conflicting_campaigns",
            "campaign_id": str(campaign.pk),
            "priority": "normal",
            "channel": "phone",
            "subject": "两个活动两个价",
        },
    )
    ticket = Ticket.objects.get(subject="两个活动两个价")
    assert ticket.campaign_id == campaign.pk
    page = agent.get(f"/service/tickets/{ticket.pk}/").content.decode()
    shown = page[page.index('id="ticket-campaign"') :][:200]
    assert "宽带冬季促销" in shown
    # a campaign that does not exist is refused next to the field
    response = agent.post(
        f"/service/tickets/new/?customer={customer.pk}",
        {
            "kind": "complaint",
            "complaint_class": "offer_design",
            "campaign_id": "999999",
            "priority": "normal",
            "channel": "phone",
            "subject": "无此活动",
        },
    )
    assert response.status_code == 422 and not Ticket.objects.filter(subject="无此活动").exists()


def test_the_queue_counts_its_tickets_and_names_the_campaign(agent, org, customers, policies):
    from yiti.service.services import routing_rule_save, ticket_create

    campaign = make_campaign(org, code="video", name="视频会员赠话费")
    routing_rule_save(actor=org.users["rm_east"], target_unit=org.east, territory=org.east)
    ticket_create(
        actor=org.users["svc_east"],
        customer=customers["hz"],
        kind="complaint",
        subject="赠送话费未到账",
        complaint_class="fulfilment",
        campaign_id=campaign.pk,
    )
    page = agent.get(f"/service/queue/{org.east.pk}/").content.decode()
    assert "1 ticket in all" in page
    assert "视频会员赠话费" in page and f"campaign {campaign.pk}" not in page
    assert "from:(#filters select)" in page and 'id="saved-filters"' in page


def test_a_ticket_routed_to_the_desk_opens_even_when_its_customer_is_out_of_scope(
    agent, org, policies
):
    from yiti.customers.services import customer_create
    from yiti.service.services import routing_rule_save, ticket_create

    # given every complaint routed to the East desk, and a Beijing customer's complaint
    routing_rule_save(actor=org.users["admin"], target_unit=org.east, kind="complaint")
    beijing = customer_create(actor=None, name="北京客户", unit=org.bj)
    ticket = ticket_create(
        actor=org.users["admin"],
        customer=beijing,
        kind="complaint",
        subject="北京的投诉",
        complaint_class="fulfilment",
    )
    assert ticket.unit_id == org.east.pk
    # the East agent works it: the page opens, without a next best action for that customer
    page = agent.get(f"/service/tickets/{ticket.pk}/")
    assert page.status_code == 200
    assert 'id="nba"' not in page.content.decode()
