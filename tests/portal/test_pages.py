"""The portal pages (issue 17, part 2): home, tickets with public replies only, photos checked,
reopening within the allowed days, rating through the care survey, messages that move the
wave's funnel, consent binding the next plan, offers accepted through the order path, and a
new phone confirmed by a code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.campaigns.conftest import first_wave
from tests.portal.conftest import last_code, sms_sent
from yiti.campaigns import exclusions
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import batch_send, wave_start
from yiti.care.services import (
    QuestionInput,
    followup_rule_create,
    followups_generate,
    survey_template_create,
)
from yiti.channels.models import InboxMessage
from yiti.core.models import AuditEvent
from yiti.customers.models import ConsentEvent, ContactPoint, Order
from yiti.engagement.models import Interaction
from yiti.portal.models import TicketMessage
from yiti.service.models import Ticket
from yiti.service.services import ticket_reply, ticket_resolve, ticket_transition

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def png(name: str = "photo.png", data: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def sent_portal_wave(running, world):  # type: ignore[no-untyped-def]
    """A running campaign whose first wave went to the portal inbox of the consenting five."""
    campaign = running(channels=["portal"])
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    return campaign, wave


def test_home_shows_my_open_requests_orders_unread_messages_and_offers(
    world, portal_client, running
):
    sent_portal_wave(running, world)
    client = portal_client(0)
    client.post(
        "/portal/tickets/new/",
        {"kind": "repair", "subject": "宽带断线", "description": "每晚断线"},
    )
    page = client.get("/portal/").content.decode()
    assert "宽带断线" in page
    assert 'data-unread="1"' in page
    assert "客户0，宽带升级好礼" in page
    # another customer's home shows none of it
    other = portal_client(1).get("/portal/").content.decode()
    assert "宽带断线" not in other and "客户0" not in other


def test_a_complaint_about_a_campaign_that_reached_me_with_a_photo(world, portal_client, running):
    campaign, _wave = sent_portal_wave(running, world)
    client = portal_client(0)
    form = client.get("/portal/tickets/new/").content.decode()
    assert campaign.name in form
    response = client.post(
        "/portal/tickets/new/",
        {
            "kind": "complaint",
            "complaint_class": "offer_design",
            "campaign": campaign.pk,
            "subject": "条件不合理",
            "description": "包年才送路由器",
            "photo": png(),
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="条件不合理")
    assert (ticket.customer, ticket.kind, ticket.channel) == (
        world.customers[0],
        "complaint",
        "portal",
    )
    assert ticket.campaign_id == campaign.pk and ticket.complaint_class == "offer_design"
    [message] = TicketMessage.objects.filter(ticket=ticket)
    assert message.photo_type == "image/png"
    photo = client.get(f"/portal/tickets/{ticket.pk}/photos/{message.pk}/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert AuditEvent.objects.filter(
        action="portal.ticket_open", customer_id=ticket.customer_id
    ).exists()
    # staff read the photo on the ticket page
    from django.test import Client

    staff = Client()
    staff.force_login(world.org.users["admin"])
    page = staff.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'id="portal-messages"' in page
    assert staff.get(f"/portal/staff/photos/{message.pk}/").status_code == 200


def test_a_campaign_that_did_not_reach_me_cannot_be_named(world, portal_client, make_campaign):
    campaign = make_campaign(code="never-sent")  # a draft: it reached nobody
    client = portal_client(0)
    response = client.post(
        "/portal/tickets/new/",
        {
            "kind": "complaint",
            "complaint_class": "offer_design",
            "campaign": campaign.pk,
            "subject": "x",
        },
    )
    assert response.status_code == 422
    assert not Ticket.objects.filter(subject="x").exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (png(data=PNG + b"\x00" * (5 * 1024 * 1024)), "larger than 5 MB"),
        (
            SimpleUploadedFile("virus.png", b"MZ\x90\x00 not an image", content_type="image/png"),
            "Only photos",
        ),
        (SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain"), "Only photos"),
    ],
)
def test_an_oversized_or_non_image_attachment_is_refused_and_nothing_written(
    world, portal_client, upload, message
):
    client = portal_client(0)
    response = client.post(
        "/portal/tickets/new/", {"kind": "repair", "subject": "坏了", "photo": upload}
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Ticket.objects.filter(subject="坏了").exists()
    assert TicketMessage.objects.count() == 0


def test_i_follow_public_replies_never_internal_notes_and_answer(world, portal_client):
    client = portal_client(0)
    client.post("/portal/tickets/new/", {"kind": "consultation", "subject": "套餐咨询"})
    ticket = Ticket.objects.get(subject="套餐咨询")
    svc = world.org.users["svc_east"]
    ticket_reply(actor=svc, ticket=ticket, body="内部：此客户难缠", public=False)
    ticket_reply(actor=svc, ticket=ticket, body="您好，129元套餐含30G流量。", public=True)
    ticket_transition(actor=svc, ticket=ticket, to_status="waiting_customer")
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "129元套餐含30G流量" in page
    assert "难缠" not in page
    assert "svc_east" not in page  # no staff names
    response = client.post(f"/portal/tickets/{ticket.pk}/reply/", {"body": "好的，我办理"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"  # waiting on me no more
    assert "好的，我办理" in client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert (
        Interaction.objects.filter(
            customer=world.customers[0], ticket_id=ticket.pk, channel="portal", direction="in"
        ).count()
        == 2
    )  # opened and answered


def test_reopen_within_the_allowed_days_only(world, portal_client, settings):
    settings.YITI_PORTAL_REOPEN_DAYS = 7
    client = portal_client(0)
    client.post("/portal/tickets/new/", {"kind": "repair", "subject": "路由器坏"})
    ticket = Ticket.objects.get(subject="路由器坏")
    ticket_resolve(actor=None, ticket=ticket, resolution="已更换")
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="reopen-form"' in page and "已更换" in page
    response = client.post(f"/portal/tickets/{ticket.pk}/reopen/", {"reason": "又坏了"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "reopened"
    ticket_resolve(actor=None, ticket=ticket, resolution="再次更换")
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=8))
    response = client.post(f"/portal/tickets/{ticket.pk}/reopen/", {"reason": "还是坏"})
    assert response.status_code == 422 and "more than 7 days" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_i_rate_the_resolution_with_the_care_survey(world, portal_client):
    survey = survey_template_create(
        actor=None,
        name="维修回访",
        code="repair-csat",
        questions=[QuestionInput(kind="csat", text="满意吗？")],
    )
    followup_rule_create(
        actor=None,
        name="Repair call",
        trigger="repair_resolved",
        starts_at=timezone.now() - timedelta(days=30),
        survey_template=survey,
    )
    client = portal_client(0)
    client.post("/portal/tickets/new/", {"kind": "repair", "subject": "电视没信号"})
    ticket = Ticket.objects.get(subject="电视没信号")
    ticket_resolve(actor=None, ticket=ticket, resolution="已修复")
    followups_generate()
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "满意吗？" in page
    question = survey.questions.get()
    response = client.post(f"/portal/tickets/{ticket.pk}/rate/", {f"q{question.pk}": "5"})
    assert response.status_code == 302
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="rated"' in page
    response = client.post(f"/portal/tickets/{ticket.pk}/rate/", {f"q{question.pk}": "1"})
    assert response.status_code == 409  # once only


def test_reading_a_campaign_message_counts_as_opened_in_the_funnel(world, portal_client, running):
    _campaign, wave = sent_portal_wave(running, world)
    client = portal_client(0)
    message = InboxMessage.objects.get(customer_id=world.customers[0].pk)
    delivery = Delivery.objects.get(wave=wave, customer=world.customers[0])
    assert delivery.opened_at is None
    page = client.get(f"/portal/messages/{message.pk}/").content.decode()
    assert "客户0您好" in page and "/c/" in page  # the response link
    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.opened_at is not None and message.read_at is not None
    listing = client.get("/portal/messages/").content.decode()
    assert 'data-read="1"' in listing


def test_withdrawing_sms_marketing_binds_the_next_wave_plan(world, portal_client, make_campaign):
    customer = world.customers[0]
    client = portal_client(0)
    page = client.get("/portal/consent/").content.decode()
    assert 'data-consent="sms-marketing" data-state="yes"' in page
    response = client.post(
        "/portal/consent/", {"channel": "sms", "purpose": "marketing", "granted": "no"}
    )
    assert response.status_code == 302
    event = ConsentEvent.objects.filter(customer=customer).latest("at")
    assert (event.channel, event.purpose, event.granted, event.source) == (
        "sms",
        "marketing",
        False,
        "portal",
    )
    page = client.get("/portal/consent/").content.decode()
    assert 'data-consent="sms-marketing" data-state="no"' in page
    from tests.campaigns.conftest import sign_all
    from yiti.campaigns import services

    campaign = make_campaign(code="sms-only", channels=["sms"])
    cm = world.org.users["cm"]
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, world.org)
    services.campaign_launch(actor=cm, campaign=campaign)
    wave = first_wave(campaign)
    wave_plan(actor=cm, wave=wave)
    assert exclusions.decisions(wave.pk).get(customer.pk) == "opted_out"
    assert not Delivery.objects.filter(wave=wave, customer=customer, status="planned").exists()


def test_accepting_an_offer_takes_the_order_through_the_order_path(world, portal_client):
    customer = world.customers[0]
    client = portal_client(0)
    page = client.get("/portal/offers/").content.decode()
    assert world.gift_offer.name in page
    response = client.post("/portal/offers/accept/", {"action": f"offer:{world.gift_offer.pk}"})
    assert response.status_code == 302
    order = Order.objects.get(customer=customer)
    assert order.product == world.broadband and order.channel == "online"
    ticket = Ticket.objects.get(order=order)
    assert ticket.kind == "order_processing"
    orders = client.get("/portal/orders/").content.decode()
    assert world.broadband.name in orders and 'data-step="1"' in orders
    ticket_transition(actor=None, ticket=ticket, to_status="in_progress")
    assert 'data-step="2"' in client.get("/portal/orders/").content.decode()
    # the same offer again is refused with the reason (he holds it now)
    response = client.post("/portal/offers/accept/", {"action": f"offer:{world.gift_offer.pk}"})
    assert response.status_code == 409
    assert Order.objects.filter(customer=customer).count() == 1


def test_a_new_phone_is_confirmed_by_a_code_sent_to_it(world, portal_client, sms_outbox):
    customer = world.customers[0]
    client = portal_client(0)
    response = client.post("/portal/profile/", {"kind": "phone", "value": "13912345678"})
    assert response.status_code == 302
    assert sms_sent(sms_outbox)[-1]["to"] == "+8613912345678"
    response = client.post("/portal/profile/confirm/", {"code": "000000"})
    if response.status_code == 302:  # the code happened to be 000000
        return
    assert response.status_code == 422
    assert not ContactPoint.objects.filter(customer=customer, normalized="+8613912345678").exists()
    response = client.post(
        "/portal/profile/confirm/", {"code": last_code(sms_outbox, "13912345678")}
    )
    assert response.status_code == 302
    phones = list(
        ContactPoint.objects.filter(customer=customer, kind="phone").values_list(
            "normalized", "is_primary"
        )
    )
    assert phones == [("+8613912345678", True)]
    assert AuditEvent.objects.filter(
        action="portal.contact_change", customer_id=customer.pk
    ).exists()


def test_the_page_fits_a_phone(world, portal_client):
    page = portal_client(0).get("/portal/").content.decode()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "portal/portal.css" in page


def test_the_home_page_reads_a_fixed_number_of_queries(world, portal_client, running):
    """However many requests, orders and messages: the home page's query count is fixed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = portal_client(0)
    client.get("/portal/")  # warm: the offer catalogue is compiled once per process
    with CaptureQueriesContext(connection) as few:
        assert client.get("/portal/").status_code == 200
    for i in range(3):
        client.post("/portal/tickets/new/", {"kind": "repair", "subject": f"坏了{i}"})
    sent_portal_wave(running, world)
    client.get("/portal/")  # a new campaign: the catalogue is compiled again, once
    with CaptureQueriesContext(connection) as many:
        assert client.get("/portal/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries) == 6, [
        q["sql"][:80] for q in many.captured_queries
    ]


def test_not_interested_is_recorded_as_a_decline(world, portal_client):
    from yiti.decisions.models import NbaOutcome

    client = portal_client(0)
    response = client.post("/portal/offers/decline/", {"action": f"offer:{world.gift_offer.pk}"})
    assert response.status_code == 302
    outcome = NbaOutcome.objects.get(customer=world.customers[0])
    assert (outcome.result, outcome.channel) == ("declined", "portal")
    assert not Order.objects.filter(customer=world.customers[0]).exists()


def test_web_push_messages_show_in_the_inbox_too(world, portal_client):
    InboxMessage.objects.create(
        customer_id=world.customers[0].pk,
        channel="push",
        subject="账单已出",
        body="您本月账单已出。",
        idempotency_key="push-1",
    )
    client = portal_client(0)
    assert "账单已出" in client.get("/portal/messages/").content.decode()


def test_a_reply_may_be_a_photo_alone(world, portal_client):
    client = portal_client(0)
    client.post("/portal/tickets/new/", {"kind": "repair", "subject": "光猫红灯"})
    ticket = Ticket.objects.get(subject="光猫红灯")
    response = client.post(f"/portal/tickets/{ticket.pk}/reply/", {"body": "", "photo": png()})
    assert response.status_code == 302
    [message] = TicketMessage.objects.filter(ticket=ticket)
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert f"/portal/tickets/{ticket.pk}/photos/{message.pk}/" in page
    empty = client.post(f"/portal/tickets/{ticket.pk}/reply/", {"body": "  "})
    assert empty.status_code == 422 and TicketMessage.objects.filter(ticket=ticket).count() == 1
