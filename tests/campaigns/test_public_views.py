"""The customer's side, without signing in: the response page behind the link in a campaign
message (opened on first view, accept or decline once), the open pixel, bad links; and the
"Campaign contacts" panel on the customer 360 page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.campaigns.conftest import excluded_at_send_time, first_wave
from yiti.campaigns.choices import DeliveryStatus, ResponseKind
from yiti.campaigns.models import Delivery, OfferReservation, SendBatch
from yiti.campaigns.sending import batch_send, delivery_token, wave_start
from yiti.customers.services import customer_create

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def sent(running):
    """A running campaign whose first wave e-mailed the five consenting customers."""
    wave = first_wave(running())
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    return wave


def link_of(message) -> str:
    found = re.search(r"http://[^/\s]+(/c/[^/\s]+/)", message.body)
    assert found is not None, message.body
    return found.group(1)


def test_the_link_in_the_message_shows_the_offer_and_counts_as_opened(world, sent):
    message = next(m for m in mail.outbox if m.to == ["c0@example.com"])
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[0])
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.opened_at is None

    page = Client().get(link_of(message))

    assert page.status_code == 200
    body = html(page)
    assert "宽带送路由器" in body and "千兆路由器" in body
    assert "办理宽带300M包年即送千兆路由器一台。" in body  # the terms
    assert 'id="accept"' in body and 'id="decline"' in body
    assert "csrfmiddlewaretoken" in body
    delivery.refresh_from_db()
    assert delivery.opened_at is not None and delivery.response == ""


def test_the_customer_accepts_once(world, sent):
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[1])
    url = f"/c/{delivery_token(delivery.pk)}/"
    customer = Client()

    accepted = customer.post(url, {"answer": "accepted"})

    assert accepted.status_code == 200
    assert 'id="response-done" data-response="accepted"' in html(accepted)
    delivery.refresh_from_db()
    assert delivery.response == ResponseKind.ACCEPTED and delivery.converted_at is not None
    assert OfferReservation.objects.filter(delivery=delivery, status="reserved").count() == 1

    again = customer.post(url, {"answer": "declined"})
    assert again.status_code == 409
    assert "You have already answered" in html(again)
    delivery.refresh_from_db()
    assert delivery.response == ResponseKind.ACCEPTED
    assert OfferReservation.objects.filter(delivery=delivery).count() == 1
    revisit = html(customer.get(url))
    assert "You have already answered" in revisit and 'id="accept"' not in revisit


def test_the_customer_declines(world, sent):
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[2])
    response = Client().post(f"/c/{delivery_token(delivery.pk)}/", {"answer": "declined"})
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.response == ResponseKind.DECLINED and delivery.converted_at is None
    assert not OfferReservation.objects.filter(delivery=delivery).exists()


def test_an_unknown_answer_changes_nothing(world, sent):
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[2])
    response = Client().post(f"/c/{delivery_token(delivery.pk)}/", {"answer": "replied"})
    assert response.status_code == 422
    delivery.refresh_from_db()
    assert delivery.response == ""


def test_the_answer_needs_the_pages_csrf_token(world, sent):
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[3])
    strict = Client(enforce_csrf_checks=True)
    assert (
        strict.post(f"/c/{delivery_token(delivery.pk)}/", {"answer": "accepted"}).status_code == 403
    )
    delivery.refresh_from_db()
    assert delivery.response == ""


@pytest.mark.parametrize("kind", ["garbage", "tampered", "excluded", "gone"])
def test_a_bad_link_gets_a_friendly_page_with_404(world, sent, kind):
    excluded = excluded_at_send_time(sent, "客户4")
    good = delivery_token(Delivery.objects.filter(wave=sent, status="delivered").first().pk)
    token = {
        "garbage": "not-a-token",
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "excluded": delivery_token(excluded.pk),
        "gone": delivery_token(999_999),
    }[kind]

    page = Client().get(f"/c/{token}/")

    assert page.status_code == 404
    assert 'id="response-invalid"' in html(page)
    assert Client().post(f"/c/{token}/", {"answer": "accepted"}).status_code == 404


def test_the_open_pixel_records_the_open_and_always_answers_a_gif(world, sent):
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[4])

    pixel = Client().get(f"/c/{delivery_token(delivery.pk)}/o.gif")

    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    assert pixel.content.startswith(b"GIF89a")
    delivery.refresh_from_db()
    first_open = delivery.opened_at
    assert first_open is not None
    Client().get(f"/c/{delivery_token(delivery.pk)}/o.gif")
    delivery.refresh_from_db()
    assert delivery.opened_at == first_open  # the first open counts
    bad = Client().get("/c/not-a-token/o.gif")
    assert bad.status_code == 200 and bad["Content-Type"] == "image/gif"


# --- the customer 360 panel ------------------------------------------------------------------


def test_the_360_page_shows_the_customers_campaign_contacts(world, sent, as_user):
    delivery = Delivery.objects.get(wave=sent, customer=world.customers[0])
    Client().post(f"/c/{delivery_token(delivery.pk)}/", {"answer": "accepted"})

    page = html(as_user("svc_east").get(f"/customers/{world.customers[0].pk}/"))

    panel = page[page.index('id="campaign-contacts"') :]
    panel = panel[: panel.index("</section>")]
    assert f'data-delivery="{delivery.pk}"' in panel
    assert "活动 bb-winter" in panel and "第一波：短信与邮件" in panel
    assert "Delivered" in panel and "Accepted" in panel and "converted" in panel
    # an excluded customer sees the reason in words
    excluded = html(as_user("svc_east").get(f"/customers/{world.customers[6].pk}/"))
    assert "No consent (opted out)" in excluded
    # a customer never contacted gets the empty state
    fresh = customer_create(actor=None, name="新客户", unit=world.org.hz)
    assert "No campaign contacts." in html(as_user("svc_east").get(f"/customers/{fresh.pk}/"))
