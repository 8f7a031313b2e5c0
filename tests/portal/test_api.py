"""The portal API (issue 17, part 3): bearer tokens from the code flow, short-lived with a
rotating refresh, the same operations as the pages, its own OpenAPI, staff tokens refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.campaigns.conftest import first_wave
from tests.portal.conftest import PHONE_0, SHARED, UNKNOWN, last_code, sms_sent
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.sending import batch_send, wave_start
from yiti.channels.models import InboxMessage
from yiti.customers.models import ConsentState, Order
from yiti.org.services import token_create
from yiti.portal.models import PortalSession
from yiti.service.models import Ticket
from yiti.service.services import ticket_reply

pytestmark = pytest.mark.django_db
BASE = "/api/v1/portal"


def api_tokens(client: Client, outbox, phone: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(f"{BASE}/auth/code", {"phone": phone}, content_type="application/json")
    assert response.status_code == 202, response.content
    response = client.post(
        f"{BASE}/auth/token",
        {"phone": phone, "code": last_code(outbox, phone)},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_code_flow_gives_short_lived_tokens_that_refresh_and_rotate(world, sms_outbox):
    client = Client()
    tokens = api_tokens(client, sms_outbox, PHONE_0)
    assert tokens["access_token"].startswith("yp_") and tokens["expires_in"] == 900
    assert tokens["accounts"] is None
    home = client.get(f"{BASE}/home", **bearer(tokens["access_token"]))
    assert home.status_code == 200 and home.json()["name"] == world.customers[0].name
    # the access token dies after 15 minutes; the refresh token gives a new pair, once
    PortalSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"{BASE}/home", **bearer(tokens["access_token"])).status_code == 401
    fresh = client.post(
        f"{BASE}/auth/refresh",
        {"refresh_token": tokens["refresh_token"]},
        content_type="application/json",
    )
    assert fresh.status_code == 200
    assert client.get(f"{BASE}/home", **bearer(fresh.json()["access_token"])).status_code == 200
    again = client.post(
        f"{BASE}/auth/refresh",
        {"refresh_token": tokens["refresh_token"]},
        content_type="application/json",
    )
    assert again.status_code == 401 and again.json()["code"] == "token_invalid"
    # signing out ends it
    client.post(f"{BASE}/auth/sign-out", **bearer(fresh.json()["access_token"]))
    assert client.get(f"{BASE}/home", **bearer(fresh.json()["access_token"])).status_code == 401


def test_bad_codes_and_limits_are_clear_json_errors(world, sms_outbox):
    client = Client()
    client.post(f"{BASE}/auth/code", {"phone": PHONE_0}, content_type="application/json")
    code = last_code(sms_outbox, PHONE_0)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(
        f"{BASE}/auth/token", {"phone": PHONE_0, "code": wrong}, content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["code"] == "code_wrong"
    response = client.post(f"{BASE}/auth/code", {"phone": PHONE_0}, content_type="application/json")
    assert response.status_code == 429 and response.json()["code"] == "too_soon"
    assert int(response["Retry-After"]) > 0
    unknown = client.post(f"{BASE}/auth/code", {"phone": UNKNOWN}, content_type="application/json")
    assert unknown.status_code == 202  # the same answer as a customer's number
    assert len(sms_sent(sms_outbox)) == 1
    bad = client.post(f"{BASE}/auth/code", {"phone": "12"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_phone"


def test_a_shared_phone_picks_the_account_before_anything_opens(family, sms_outbox):
    father, firm = family
    client = Client()
    tokens = api_tokens(client, sms_outbox, SHARED)
    assert [a["name"] for a in tokens["accounts"]] == [father.name, firm.name]
    assert client.get(f"{BASE}/home", **bearer(tokens["access_token"])).status_code == 401
    response = client.post(
        f"{BASE}/auth/account",
        {"account": 1},
        content_type="application/json",
        **bearer(tokens["access_token"]),
    )
    assert response.status_code == 200
    home = client.get(f"{BASE}/home", **bearer(tokens["access_token"]))
    assert home.json()["name"] == father.name


def test_staff_tokens_are_refused_here_and_portal_tokens_by_the_staff_api(world, sms_outbox):
    client = Client()
    _token, raw = token_create(user=world.org.users["admin"], name="script")
    assert client.get(f"{BASE}/home", **bearer(raw)).status_code == 401
    staff = Client()
    staff.force_login(world.org.users["admin"])
    assert staff.get(f"{BASE}/home").status_code == 401
    tokens = api_tokens(client, sms_outbox, PHONE_0)
    assert client.get("/api/v1/customers", **bearer(tokens["access_token"])).status_code == 401


def test_its_own_openapi_document_holds_no_staff_operation(world):
    schema = Client().get(f"{BASE}/openapi.json").json()
    assert schema["info"]["title"] == "Yiti portal API"
    paths = set(schema["paths"])
    assert "/api/v1/portal/auth/token" in paths and "/api/v1/portal/tickets" in paths
    assert all(p.startswith("/api/v1/portal/") for p in paths)
    staff = Client().get("/api/v1/openapi.json").json()
    assert not any(p.startswith("/api/v1/portal/") for p in staff["paths"])


def test_tickets_messages_consent_and_offers_over_the_api(world, sms_outbox, running):
    campaign = running(channels=["portal"])
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    client = Client()
    auth = bearer(api_tokens(client, sms_outbox, PHONE_0)["access_token"])
    assert [c["name"] for c in client.get(f"{BASE}/campaigns", **auth).json()] == [campaign.name]
    photo = SimpleUploadedFile("p.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, content_type="image/png")
    response = client.post(
        f"{BASE}/tickets",
        {
            "kind": "complaint",
            "complaint_class": "fulfilment",
            "campaign_id": campaign.pk,
            "subject": "路由器没送到",
            "photo": photo,
        },
        **auth,
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.campaign_id == campaign.pk and ticket.channel == "portal"
    ticket_reply(actor=world.org.users["svc_east"], ticket=ticket, body="内部备注", public=False)
    ticket_reply(actor=world.org.users["svc_east"], ticket=ticket, body="明天送达", public=True)
    detail = client.get(f"{BASE}/tickets/{ticket.pk}", **auth).json()
    texts = [i["text"] for i in detail["thread"]]
    assert "明天送达" in texts and "内部备注" not in texts
    assert (
        client.post(f"{BASE}/tickets/{ticket.pk}/replies", {"body": "谢谢"}, **auth).status_code
        == 201
    )
    # messages: reading moves the funnel
    message = InboxMessage.objects.get(customer_id=world.customers[0].pk)
    listed = client.get(f"{BASE}/messages", **auth).json()
    assert listed[0]["read"] is False and "/c/" in listed[0]["response_link"]
    assert client.post(f"{BASE}/messages/{message.pk}/read", **auth).json()["read"] is True
    assert Delivery.objects.get(wave=wave, customer=world.customers[0]).opened_at is not None
    # consent
    response = client.put(
        f"{BASE}/consent",
        {"channel": "sms", "purpose": "marketing", "granted": False},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200
    assert not ConsentState.objects.get(
        customer=world.customers[0], channel="sms", purpose="marketing"
    ).granted


def test_an_offer_accepted_over_the_api_is_an_order(world, sms_outbox):
    client = Client()
    auth = bearer(api_tokens(client, sms_outbox, PHONE_0)["access_token"])
    offers = client.get(f"{BASE}/offers", **auth).json()
    action = next(o["action"] for o in offers if o["name"] == world.gift_offer.name)
    response = client.post(
        f"{BASE}/offers/accept", {"action": action}, content_type="application/json", **auth
    )
    assert response.status_code == 201, response.content
    assert response.json()["product"] == world.broadband.name
    assert Order.objects.filter(customer=world.customers[0]).count() == 1
