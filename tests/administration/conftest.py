"""Administration test helpers: API clients per fixture user, signed-in web clients, an SMTP
server, the worker run in-process, and the things a unit can hold (customer, ticket, campaign)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.conftest import Api
from yiti.org.services import token_create


@pytest.fixture
def api_as(org):
    """``api_as("admin")``: a JSON client with a fresh bearer token of that fixture user."""
    cache: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in cache:
            _token, raw = token_create(user=org.users[username], name="tests")
            cache[username] = Api(token=raw)
        return cache[username]

    return make


@pytest.fixture
def web_as(org):
    """``web_as("admin")``: a test client signed in as that fixture user."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(org.users[username])
        return client

    return make


@pytest.fixture
def smtp_server(settings):
    """A loopback SMTP server with Django's SMTP backend pointed at it."""
    from tests.smtp_server import SmtpServer

    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield smtp


@pytest.fixture
def worker_inline(settings):
    """Tasks run when enqueued (after commit), as the worker would run them."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }


def a_customer(unit, name: str = "李娜"):
    from yiti.customers.services import customer_create

    return customer_create(actor=None, name=name, unit=unit)


def an_open_ticket(unit):
    from yiti.service.services import ticket_create

    customer = a_customer(unit, name="王强")
    return ticket_create(actor=None, customer=customer, kind="consultation", subject="宽带咨询")


def a_running_campaign(org, *, units):
    """A campaign with ``units`` participating, set running (its launch is tested elsewhere)."""
    from yiti.campaigns.models import Campaign
    from yiti.campaigns.services import campaign_create, offer_create, segment_create
    from yiti.customers.services import product_create

    cm = org.users["cm"]
    product = product_create(
        actor=None, code="bb", name="宽带", category="broadband", price=960, margin_rate="0.4"
    )
    offer = offer_create(
        actor=cm,
        code="bb-20",
        name="宽带八折",
        product=product,
        benefit="discount",
        benefit_value=20,
    )
    segment = segment_create(actor=cm, name="全部", rules={}, unit=org.marketing)
    start = timezone.localdate() + timedelta(days=1)
    campaign = campaign_create(
        actor=cm,
        code="winter",
        name="冬季宽带",
        owner_unit=org.marketing,
        segment=segment,
        offers=[offer],
        participating_units=units,
        service_unit=org.east,
        starts_on=start,
        ends_on=start + timedelta(days=30),
    )
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    campaign.refresh_from_db()
    return campaign
