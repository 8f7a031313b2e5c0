"""Campaign fixtures on top of the shared ``org`` (tests/conftest.py).

``world`` adds the customer-service centre 客户服务中心 (svc_east reviews offers there), the
broadband and mobile products, a gift offer (broadband with a router, 100 in stock) and a
discount offer, and eight customers: six in Hangzhou, two in Ningbo, all with e-mail and
phone, the first five consenting to marketing e-mail and SMS. ``make_campaign`` builds a
draft campaign for the East region with one broadcast wave three days from now.
Times are Beijing time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from yiti.campaigns import services
from yiti.campaigns.choices import DeliveryStatus
from yiti.campaigns.models import Campaign, Delivery, Offer, Segment, Wave
from yiti.customers.models import Customer, Product
from yiti.customers.services import ContactInput, consent_record, customer_create, product_create
from yiti.org.services import membership_grant, unit_create

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)  # type: ignore[misc]


def at_ten(days_from_now: int) -> datetime:
    """10:00 Beijing time, ``days_from_now`` days from today (outside the quiet hours)."""
    day = timezone.localdate() + timedelta(days=days_from_now)
    return datetime(day.year, day.month, day.day, 10, tzinfo=BJ)


@dataclass
class World:
    org: object
    csc: object
    broadband: Product
    plan: Product
    gift_offer: Offer
    discount_offer: Offer
    everyone: Segment
    customers: list[Customer] = field(default_factory=list)


def consent(customer: Customer, channel: str, granted: bool = True) -> None:
    consent_record(
        actor=None,
        customer=customer,
        channel=channel,
        purpose="marketing",
        granted=granted,
        check_access=False,
    )


@pytest.fixture
def world(org) -> World:
    csc = unit_create(name="客户服务中心", code="csc", kind="department", parent=org.company)
    membership_grant(user=org.users["svc_east"], unit=csc, role="service_agent")
    broadband = product_create(
        actor=None,
        code="bb-300m",
        name="宽带300M",
        category="broadband",
        price=960,
        margin_rate="0.4",
    )
    plan = product_create(
        actor=None,
        code="plan-129",
        name="5G套餐129",
        category="mobile_plan",
        price=129,
        margin_rate="0.4",
    )
    cm = org.users["cm"]
    gift_offer = services.offer_create(
        actor=cm,
        code="bb-router",
        name="宽带送路由器",
        product=broadband,
        benefit="gift",
        benefit_value=199,
        gift_name="千兆路由器",
        stock_total=100,
        terms="办理宽带300M包年即送千兆路由器一台。",
        faq="问：路由器何时送达？答：开通后7日内上门安装。",
    )
    discount_offer = services.offer_create(
        actor=cm,
        code="plan-20off",
        name="套餐八折",
        product=plan,
        benefit="discount",
        benefit_value=20,
    )
    everyone = services.segment_create(actor=cm, name="全部客户", rules={}, unit=org.marketing)
    w = World(org, csc, broadband, plan, gift_offer, discount_offer, everyone)
    for i in range(8):
        unit = org.hz if i < 6 else org.nb
        customer = customer_create(
            actor=None,
            name=f"客户{i}",
            unit=unit,
            owner=org.users["am_hz"] if i < 3 else None,
            contacts=[
                ContactInput("phone", f"1390571{i:04d}", primary=True),
                ContactInput("email", f"c{i}@example.com", primary=True),
            ],
        )
        if i < 5:
            consent(customer, "email")
            consent(customer, "sms")
        w.customers.append(customer)
    return w


@pytest.fixture
def make_campaign(world):
    """``make_campaign(code=..., offers=[...], priority=..., start_in=..., waves=...)``."""

    def build(
        code: str = "bb-winter",
        *,
        offers: list[Offer] | None = None,
        priority: int = 5,
        start_in: int = 5,
        days: int = 30,
        segment: Segment | None = None,
        units: list | None = None,
        wave_in: int | None = None,
        channels: list[str] | None = None,
        lead_days: int = 3,
        **options,
    ) -> Campaign:
        org = world.org
        start = timezone.localdate() + timedelta(days=start_in)
        campaign = services.campaign_create(
            actor=org.users["cm"],
            code=code,
            name=f"活动 {code}",
            owner_unit=org.marketing,
            segment=segment or world.everyone,
            offers=offers or [world.gift_offer],
            participating_units=units or [org.east],
            service_unit=world.csc,
            starts_on=start,
            ends_on=start + timedelta(days=days),
            priority=priority,
            lead_days=lead_days,
            **options,
        )
        services.wave_create(
            actor=org.users["cm"],
            campaign=campaign,
            name="第一波：短信与邮件",
            kind="broadcast",
            channels=channels or ["email", "sms"],
            scheduled_at=at_ten(wave_in if wave_in is not None else start_in),
            subject="{name}，宽带升级好礼",
            message="{name}您好：办理宽带300M包年送{gift}。",
        )
        return campaign

    return build


def sign_all(campaign: Campaign, org) -> None:
    """Every checklist line signed by a user who may sign it."""
    signer = {
        "service_review": org.users["svc_east"],
        "training": org.users["rm_east"],
        "materials": org.users["cm"],
        "gift_stock": org.users["cm"],
        "conflict_check": org.users["cm"],
    }
    for item in campaign.checklist.filter(signed_at__isnull=True):
        services.checklist_sign(actor=signer[item.kind], item=item)


def first_wave(campaign: Campaign) -> Wave:
    return campaign.waves.order_by("number").first()


@pytest.fixture
def as_user(org):
    """``as_user("cm")`` -> a test client signed in as that user (for the page tests)."""
    from django.test import Client

    def client_for(username: str):
        client = Client()
        client.force_login(org.users[username])
        return client

    return client_for


def launched(campaign: Campaign, org) -> Campaign:
    """Submitted, signed by everyone and running."""
    services.campaign_submit(actor=org.users["cm"], campaign=campaign)
    sign_all(campaign, org)
    services.campaign_launch(actor=org.users["cm"], campaign=campaign)
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def smtp_server(settings):
    """A running loopback SMTP server, with Django's SMTP backend pointed at it."""
    from tests.smtp_server import SmtpServer

    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield smtp


@pytest.fixture
def sms_gateway(settings):
    """A running loopback SMS gateway (one SMS per Idempotency-Key, like a real provider)."""
    from tests.channels.conftest import SmsGateway

    with SmsGateway() as gateway:
        settings.YITI_SMS_BACKEND = "http"
        settings.YITI_SMS_GATEWAY_URL = gateway.url
        settings.YITI_SMS_GATEWAY_TOKEN = gateway.token
        settings.YITI_SMS_TIMEOUT = 1
        yield gateway


@pytest.fixture
def running(world, make_campaign):
    """A launched campaign whose first wave (e-mail, then SMS) is planned: 5 e-mails."""
    from yiti.campaigns.planning import wave_plan

    def build(**kwargs) -> Campaign:
        cm = world.org.users["cm"]
        campaign = make_campaign(**kwargs)
        services.campaign_submit(actor=cm, campaign=campaign)
        sign_all(campaign, world.org)
        services.campaign_launch(actor=cm, campaign=campaign)
        wave_plan(actor=cm, wave=first_wave(campaign))
        return campaign

    return build


def excluded_at_send_time(wave, name: str) -> Delivery:
    """The customer's contact as sending leaves one it excludes (the customer suppressed
    since the plan): a delivery row with the status ``excluded``, never sent. The plan's own
    final exclusions have no delivery row (they are packed)."""
    delivery = Delivery.objects.get(wave=wave, customer__name=name)
    delivery.status, delivery.reason = DeliveryStatus.EXCLUDED, "suppressed:do_not_disturb"
    delivery.sent_at = delivery.delivered_at = None
    delivery.save(update_fields=["status", "reason", "sent_at", "delivered_at"])
    return delivery
