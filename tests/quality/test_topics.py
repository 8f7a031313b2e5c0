"""The topic catalogue: kept by administrators and region managers, chosen on the new-ticket
form, over the API, and changed on the ticket's topic page by whoever works the ticket."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from yiti.core.audit import AuditEvent
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.customers.services import customer_create
from yiti.org.services import token_create
from yiti.service.models import Ticket, TicketEvent, Topic
from yiti.service.services import ticket_create
from yiti.service.topics import ticket_topic_set, topic_save


def login(name):
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


@pytest.fixture
def customer(org):
    return customer_create(actor=None, name="杭州客户", unit=org.hz, owner=org.users["am_hz"])


@pytest.fixture
def gift(org):
    return topic_save(
        actor=org.users["admin"],
        name="赠品未到货",
        applies_to="complaint",
        campaign_id=None,
        keywords="路由器，赠品 到货",
    )


def test_topics_are_kept_by_administrators_and_region_managers(org, gift):
    assert gift.keywords == "路由器 赠品 到货"
    topic_save(actor=org.users["rm_east"], name="资费咨询", applies_to="consultation")
    with pytest.raises(PermissionDenied):
        topic_save(actor=org.users["svc_east"], name="其他")
    with pytest.raises(ValidationFailed) as caught:
        topic_save(actor=org.users["admin"], name="赠品未到货")
    assert caught.value.code == "topic_exists"
    assert AuditEvent.objects.filter(action="topic.create").count() == 2


def test_the_topic_pages(org, gift):
    admin = login("admin")
    assert "赠品未到货" in admin.get("/quality/topics/").content.decode()
    response = admin.post(
        "/quality/topics/new/",
        {"name": "宽带网速", "applies_to": "", "keywords": "网速 卡顿", "active": "on"},
    )
    assert response.status_code == 302
    assert Topic.objects.get(name="宽带网速").active
    retire = admin.post(
        f"/quality/topics/{gift.pk}/",
        {"name": "赠品未到货", "applies_to": "complaint", "keywords": ""},
    )
    assert retire.status_code == 302 and not Topic.objects.get(pk=gift.pk).active
    assert login("svc_east").get("/quality/topics/new/").status_code == 403
    assert login("svc_east").get("/quality/topics/").status_code == 200


def test_a_ticket_is_opened_with_a_topic_of_its_kind(org, customer, gift):
    ticket = ticket_create(
        actor=org.users["svc_east"],
        customer=customer,
        kind="complaint",
        complaint_class="fulfilment",
        subject="路由器没收到",
        topic=gift,
    )
    assert ticket.topic == gift
    with pytest.raises(ValidationFailed) as caught:
        ticket_create(
            actor=org.users["svc_east"],
            customer=customer,
            kind="consultation",
            subject="问",
            topic=gift,
        )
    assert caught.value.code == "topic_wrong_kind"


def test_the_new_ticket_form_offers_the_topics(org, customer, gift):
    agent = login("svc_east")
    form = agent.get("/service/tickets/new/", {"customer": customer.pk}).content.decode()
    assert "赠品未到货" in form
    response = agent.post(
        f"/service/tickets/new/?customer={customer.pk}",
        {
            "customer": customer.pk,
            "kind": "complaint",
            "complaint_class": "fulfilment",
            "priority": "normal",
            "channel": "phone",
            "subject": "赠品没到",
            "topic": gift.pk,
        },
    )
    assert response.status_code == 302
    assert Ticket.objects.get(subject="赠品没到").topic == gift


def test_the_topic_is_changed_on_the_ticket(org, customer, gift):
    ticket = ticket_create(
        actor=None,
        customer=customer,
        kind="complaint",
        complaint_class="fulfilment",
        subject="赠品",
    )
    agent = login("svc_east")
    page = agent.get(f"/service/tickets/{ticket.pk}/topic/")
    assert page.status_code == 200 and "赠品未到货" in page.content.decode()
    assert agent.post(f"/service/tickets/{ticket.pk}/topic/", {"topic": gift.pk}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.topic == gift
    assert TicketEvent.objects.filter(
        ticket=ticket, kind="note", body__contains="赠品未到货"
    ).exists()
    assert "赠品未到货" in agent.get(f"/service/tickets/{ticket.pk}/").content.decode()
    # an account manager sees the ticket but does not work it
    with pytest.raises(PermissionDenied):
        ticket_topic_set(actor=org.users["am_hz"], ticket=ticket, topic=None)
    # a retired topic is not chosen again
    Topic.objects.filter(pk=gift.pk).update(active=False)
    ticket_topic_set(actor=org.users["svc_east"], ticket=ticket, topic=None)
    with pytest.raises(ValidationFailed):
        ticket_topic_set(
            actor=org.users["svc_east"], ticket=ticket, topic=Topic.objects.get(pk=gift.pk)
        )


def test_topics_over_the_api(org, customer, gift):
    _t, raw = token_create(user=org.users["svc_east"], name="t")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()
    listed = client.get("/api/v1/quality/topics", headers=headers).json()
    assert [t["name"] for t in listed] == ["赠品未到货"]
    created = client.post(
        "/api/v1/service/tickets",
        json.dumps(
            {
                "customer": customer.pk,
                "kind": "complaint",
                "complaint_class": "fulfilment",
                "subject": "赠品",
                "topic": gift.pk,
            }
        ),
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 201, created.content
    assert created.json()["topic_id"] == gift.pk
    ticket_id = created.json()["id"]
    cleared = client.post(
        f"/api/v1/quality/tickets/{ticket_id}/topic",
        json.dumps({"topic": None}),
        content_type="application/json",
        headers=headers,
    )
    assert cleared.status_code == 200
    assert Ticket.objects.get(pk=ticket_id).topic is None
    refused = client.post(
        "/api/v1/quality/topics",
        json.dumps({"name": "新话题"}),
        content_type="application/json",
        headers=headers,
    )
    assert refused.status_code == 403
