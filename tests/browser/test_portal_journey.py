"""Journey 9 (issue 17): the customer helps himself on his phone (390 × 844, Debian's Chromium).

He asks for a code, reads it from the SMS outbox, signs in, opens a complaint about a campaign
that reached him, sees the agent's public reply (never the internal note), withdraws marketing
SMS — and the next wave plan leaves him out as ``opted_out`` — and reads the running campaign's
portal message, which moves the wave's funnel. No page scrolls sideways at 390 px.

Selectors are ids and data attributes, never visible text: the interface is Chinese.
Set ``YITI_SCREENSHOTS=<dir>`` to keep screenshots of the pages.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.campaigns.conftest import (  # noqa: F401  (fixtures)
    first_wave,
    make_campaign,
    running,
    sign_all,
    world,
)
from yiti.campaigns import exclusions, services
from yiti.campaigns.models import Delivery, SendBatch
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import batch_send, wave_start
from yiti.customers.models import ConsentEvent
from yiti.service.models import Ticket
from yiti.service.services import ticket_reply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("YITI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"portal-{name}.png"), full_page=True)


def fits(page) -> None:  # type: ignore[no-untyped-def]
    """Nothing wider than the phone: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide"


def code_from(outbox: Path, phone: str) -> str:
    for line in reversed(outbox.read_text(encoding="utf-8").splitlines()):
        message = json.loads(line)
        if message["to"].endswith(phone):
            return re.search(r"\b(\d{6})\b", message["text"]).group(1)  # type: ignore[union-attr]
    raise AssertionError("no SMS")


@pytest.fixture
def phone_page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        locale="zh-CN",
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


def test_the_customer_helps_himself_on_his_phone(
    phone_page,
    world,  # noqa: F811
    running,  # noqa: F811
    make_campaign,  # noqa: F811
    settings,
    tmp_path,
):
    page = phone_page
    outbox = tmp_path / "sms.jsonl"
    settings.YITI_SMS_BACKEND = "file"
    settings.YITI_SMS_FILE_PATH = outbox
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = world.customers[0]  # consents to marketing SMS and e-mail
    campaign = running(channels=["portal"])  # wave 1 to the portal inbox
    wave = first_wave(campaign)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)

    # he asks for a code, reads the SMS, signs in
    page.goto("/portal/")
    page.wait_for_selector("#phone-form")
    fits(page)
    page.fill("#id_phone", "139 0571 0000")
    with page.expect_navigation():
        page.click("#send-code")
    page.wait_for_selector("#code-form")
    page.fill("#id_code", code_from(outbox, "13905710000"))
    with page.expect_navigation():
        page.click("#verify-code")
    page.wait_for_selector("#home-tickets")
    assert page.locator("#stat-unread [data-unread='1']").count() == 1
    fits(page)
    shot(page, "home")

    # he complains about the campaign that reached him
    page.click("#new-ticket")
    page.wait_for_selector("#ticket-form")
    page.select_option("#id_kind", "complaint")
    page.select_option("#id_complaint_class", "offer_design")
    page.select_option("#id_campaign", str(campaign.pk))
    page.fill("#id_subject", "送路由器要包年，条件不合理")
    page.fill("#id_description", "短信没说要包年。")
    fits(page)
    with page.expect_navigation():
        page.click("#submit-ticket")
    page.wait_for_selector("#thread")
    ticket = Ticket.objects.get(customer=customer, kind="complaint")
    assert ticket.campaign_id == campaign.pk and ticket.channel == "portal"

    # the agent writes an internal note and a public reply; he sees only the reply
    agent = world.org.users["svc_east"]
    ticket_reply(actor=agent, ticket=ticket, body="内部：按活动条款处理", public=False)
    ticket_reply(
        actor=agent, ticket=ticket, body="您好，已为您申请按月办理也送路由器。", public=True
    )
    page.reload()
    theirs = page.locator("#thread li[data-from='service']")
    assert theirs.count() == 1
    assert "按月办理也送路由器" in theirs.first.inner_text()
    assert "内部" not in page.content() and "svc_east" not in page.content()
    fits(page)
    shot(page, "ticket")

    # he turns off marketing SMS
    page.click("#pnav-me")
    page.wait_for_selector("#link-consent")
    fits(page)
    page.click("#link-consent")
    page.wait_for_selector("#consent-grid")
    cell = "td[data-consent='sms-marketing']"
    assert page.get_attribute(cell, "data-state") == "yes"
    fits(page)
    with page.expect_navigation():
        page.click(f"{cell} button")
    page.wait_for_selector("#consent-saved")
    assert page.get_attribute(cell, "data-state") == "no"
    shot(page, "consent")
    event = ConsentEvent.objects.filter(customer=customer).latest("at")
    assert (event.channel, event.granted, event.source) == ("sms", False, "portal")

    # the next wave plan leaves him out as opted_out
    cm = world.org.users["cm"]
    sms = make_campaign(code="sms-next", channels=["sms"], offers=[world.discount_offer])
    services.campaign_submit(actor=cm, campaign=sms)
    sign_all(sms, world.org)
    services.campaign_launch(actor=cm, campaign=sms)
    next_wave = first_wave(sms)
    wave_plan(actor=cm, wave=next_wave)
    assert exclusions.decisions(next_wave.pk).get(customer.pk) == "opted_out"

    # the running campaign's portal message is in his inbox; reading it moves the funnel
    delivery = Delivery.objects.get(wave=wave, customer=customer)
    assert delivery.opened_at is None
    page.click("#pnav-messages")
    page.wait_for_selector("#message-list")
    fits(page)
    assert page.locator("#message-list li[data-read='0']").count() == 1
    with page.expect_navigation():
        page.click("#message-list li a")
    page.wait_for_selector("#message-body")
    assert "客户0您好" in page.inner_text("#message-body")
    assert page.locator("#message-respond").count() == 1
    fits(page)
    shot(page, "message")
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    page.click("#pnav-messages")
    page.wait_for_selector("#message-list li[data-read='1']")

    # the other pages fit the phone too
    for url in ("/portal/offers/", "/portal/orders/", "/portal/tickets/", "/portal/profile/"):
        page.goto(url)
        fits(page)
    assert page.console_errors == []
