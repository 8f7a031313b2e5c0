"""A customer sees only his own records (issue 17, part 4): every portal page and API operation
given another customer's ids answers 404 — the same as an id that does not exist — writes
nothing and shows nothing of the other customer; every form needs its CSRF token."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.portal.conftest import PHONE_0, last_code
from yiti.channels.models import InboxMessage
from yiti.core.models import AuditEvent
from yiti.customers.models import Order
from yiti.portal import services
from yiti.portal.models import TicketMessage
from yiti.service.models import Ticket, TicketEvent
from yiti.service.services import order_take, ticket_resolve

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def theirs(world):
    """Customer 1's request (with a photo), resolved one, order and message."""
    other = world.customers[1]
    ticket = services.ticket_open(
        customer=other,
        kind="repair",
        subject="别人的报修",
        description="秘密描述",
        photo=SimpleUploadedFile("a.png", PNG, content_type="image/png"),
    )
    done = services.ticket_open(customer=other, kind="repair", subject="别人的已解决")
    ticket_resolve(actor=None, ticket=done, resolution="好了")
    order, _ticket = order_take(actor=None, customer=other, product=world.plan)
    message = InboxMessage.objects.create(
        customer_id=other.pk,
        channel="inbox",
        subject="别人的消息",
        body="秘密",
        idempotency_key="k1",
    )
    photo = TicketMessage.objects.get(ticket=ticket)
    return {"ticket": ticket, "done": done, "order": order, "message": message, "photo": photo}


def snapshot() -> tuple:
    return (
        TicketEvent.objects.count(),
        TicketMessage.objects.count(),
        list(Ticket.objects.order_by("pk").values_list("status", flat=True)),
        list(InboxMessage.objects.values_list("read_at", flat=True)),
        AuditEvent.objects.exclude(action__startswith="portal.code").count(),
    )


def test_every_page_with_another_customers_ids_is_404_and_writes_nothing(
    world, portal_client, theirs
):
    client = portal_client(0)
    t, done, m, p = theirs["ticket"], theirs["done"], theirs["message"], theirs["photo"]
    before = snapshot()
    gets = [
        f"/portal/tickets/{t.pk}/",
        f"/portal/tickets/{t.pk}/photos/{p.pk}/",
        f"/portal/tickets/{done.pk}/",
        f"/portal/messages/{m.pk}/",
    ]
    posts = [
        (f"/portal/tickets/{t.pk}/reply/", {"body": "插一句"}),
        (f"/portal/tickets/{done.pk}/reopen/", {"reason": "重开"}),
        (f"/portal/tickets/{done.pk}/rate/", {"q1": "5"}),
    ]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert "别人" not in body and "秘密" not in body
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 404, url
    assert snapshot() == before
    # a photo of my own ticket id with another's photo id is 404 too
    mine = services.ticket_open(customer=world.customers[0], kind="repair", subject="我的")
    assert client.get(f"/portal/tickets/{mine.pk}/photos/{p.pk}/").status_code == 404
    # lists show none of it
    for url in ("/portal/", "/portal/tickets/", "/portal/orders/", "/portal/messages/"):
        body = client.get(url).content.decode()
        assert "别人" not in body and world.plan.name not in body, url


def test_every_api_operation_with_another_customers_ids_is_404(world, theirs, sms_outbox):
    client = Client()
    client.post("/api/v1/portal/auth/code", {"phone": PHONE_0}, content_type="application/json")
    tokens = client.post(
        "/api/v1/portal/auth/token",
        {"phone": PHONE_0, "code": last_code(sms_outbox, PHONE_0)},
        content_type="application/json",
    ).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    t, done, m, p, o = (
        theirs["ticket"],
        theirs["done"],
        theirs["message"],
        theirs["photo"],
        theirs["order"],
    )
    before = snapshot()
    base = "/api/v1/portal"
    calls = [
        ("get", f"{base}/tickets/{t.pk}", None),
        ("get", f"{base}/tickets/{t.pk}/photos/{p.pk}", None),
        ("get", f"{base}/orders/{o.pk}", None),
        ("get", f"{base}/messages/{m.pk}", None),
        ("post", f"{base}/messages/{m.pk}/read", None),
        ("post", f"{base}/tickets/{done.pk}/reopen", {"reason": "重开"}),
        ("post", f"{base}/tickets/{done.pk}/rating", {"answers": {"1": 5}}),
    ]
    for method, url, data in calls:
        kwargs = {"content_type": "application/json"} if data is not None else {}
        response = (
            getattr(client, method)(url, data, **kwargs, **auth)
            if data
            else getattr(client, method)(url, **auth)
        )
        assert response.status_code == 404, (url, response.content)
        assert response.json()["code"] == "not_found"
        assert "别人" not in response.content.decode()
    response = client.post(f"{base}/tickets/{t.pk}/replies", {"body": "插一句"}, **auth)
    assert response.status_code == 404
    assert snapshot() == before
    assert Order.objects.filter(customer=world.customers[0]).count() == 0


def test_every_form_needs_the_csrf_token(world, sms_outbox, theirs):
    # sign in with the token the page gives, as a browser does
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/portal/sign-in/")
    token = browser.cookies["csrftoken"].value
    browser.post("/portal/sign-in/", {"phone": PHONE_0, "csrfmiddlewaretoken": token})
    browser.post(
        "/portal/sign-in/code/",
        {"code": last_code(sms_outbox, PHONE_0), "csrfmiddlewaretoken": token},
    )
    assert browser.get("/portal/").status_code == 200
    mine = services.ticket_open(customer=world.customers[0], kind="repair", subject="我的")
    before = snapshot()
    for url, data in [
        ("/portal/tickets/new/", {"kind": "repair", "subject": "伪造"}),
        (f"/portal/tickets/{mine.pk}/reply/", {"body": "伪造"}),
        (f"/portal/tickets/{mine.pk}/reopen/", {"reason": "伪造"}),
        (f"/portal/tickets/{mine.pk}/rate/", {}),
        ("/portal/consent/", {"channel": "sms", "purpose": "marketing", "granted": "no"}),
        ("/portal/offers/accept/", {"action": f"offer:{world.gift_offer.pk}"}),
        ("/portal/profile/", {"kind": "phone", "value": "13912345678"}),
        ("/portal/profile/confirm/", {"code": "123456"}),
        ("/portal/sign-in/account/", {"account": 1}),
        ("/portal/sign-out/", {}),
    ]:
        assert browser.post(url, data).status_code == 403, url
    assert snapshot() == before
    assert page.status_code == 200
