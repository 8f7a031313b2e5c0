"""Journey (issue 4): a campaign manager builds a segment with the rule editor (the live count
follows), a campaign and its two waves — a broadcast and an outbound call list — in the pages,
submits it and is refused the launch with what is missing; the service agent, the region
manager and the campaign manager sign their lines of the checklist; the campaign launches;
the first wave is planned in the page and sent (to a local SMTP server); the campaign page
shows the funnel with what was sent and delivered; the call wave reaches the agent's call list.

Selectors are names, ids and data attributes, never visible text: the interface is Chinese.
Set ``YITI_SCREENSHOTS=<dir>`` to keep screenshots of the campaign page and the call list.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.browser.test_service_care_journey import sign_in, sign_out
from tests.campaigns.conftest import consent, world  # noqa: F401  (fixture)
from tests.smtp_server import SmtpServer
from yiti.campaigns.models import Campaign, Delivery, SendBatch
from yiti.campaigns.sending import batch_send, wave_start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("YITI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_what_i_may(page, campaign_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Sign every checklist line the signed-in user has a Sign button for."""
    page.goto(f"/campaigns/{campaign_id}/")
    signed = []
    while True:
        line = page.locator("#checklist li[data-signed='0']:has(button[data-action=sign])")
        if line.count() == 0:
            return signed
        first = line.first
        signed.append(first.get_attribute("data-item"))
        first.locator("input[name$='-note']").fill("已核对")
        with page.expect_navigation():
            first.locator("button[data-action=sign]").click()


def settled(page) -> None:
    """Wait until htmx has no request in flight and has processed what it last swapped in: a
    person never chooses in the few milliseconds between a swap and htmx binding the new
    controls, a test can (on PostgreSQL's slower answers the change was then lost)."""
    page.wait_for_function(
        "window.htmx && !document.querySelector("
        "'.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"
    )


def test_a_campaign_is_built_reviewed_launched_and_its_first_wave_sent(page, world, settings):  # noqa: F811
    org = world.org
    for customer in world.customers[:6]:
        consent(customer, "call")
    start = timezone.localdate() + timedelta(days=5)

    # the campaign manager builds a segment of the East region with the rule editor
    sign_in(page, "cm")
    page.goto("/campaigns/segments/new/")
    page.fill("#id_name", "华东宽带客户")
    page.click("#rule-add")
    page.wait_for_selector("select[name='rule-0-field']")
    settled(page)
    page.select_option("select[name='rule-0-field']", "unit")
    page.wait_for_selector("select[name='rule-0-value']")
    settled(page)
    page.select_option("select[name='rule-0-value']", [str(org.east.pk)])
    # the live count follows the rule: eight customers in the East
    page.wait_for_selector("#rule-count [data-count='8']")
    page.click("#rule-add")
    page.wait_for_selector("select[name='rule-1-field']")
    settled(page)
    page.select_option("select[name='rule-1-field']", "unit")
    page.wait_for_selector("select[name='rule-1-value']")
    settled(page)
    page.select_option("select[name='rule-1-value']", [str(org.nb.pk)])
    page.wait_for_selector("#rule-count [data-count='2']")  # East and Ningbo: two
    shot(page, "segment-editor")
    page.click("li[data-row='1'] button[data-action=remove-condition]")
    page.wait_for_selector("#rule-count [data-count='8']")
    with page.expect_navigation():
        page.click("#save-segment")
    assert page.locator("#segment-table tr[data-segment]").count() == 2

    # and the campaign, in the form
    page.goto("/campaigns/")
    with page.expect_navigation():
        page.click("#new-campaign")
    page.fill("#id_code", "bb-east")
    page.fill("#id_name", "华东宽带升级")
    page.select_option("#id_owner_unit", str(org.marketing.pk))
    page.select_option("#id_participating_units", [str(org.east.pk)])
    page.select_option("#id_service_unit", str(world.csc.pk))
    page.select_option("#id_segment", label="华东宽带客户")
    page.select_option("#id_offers", [str(world.gift_offer.pk)])
    page.fill("#id_starts_on", start.isoformat())
    page.fill("#id_ends_on", (start + timedelta(days=30)).isoformat())
    page.fill("#id_goal", "新增宽带 300 户")
    page.fill("#id_goal_conversions", "300")
    with page.expect_navigation():
        page.click("#campaign-form button[type=submit]")
    campaign = Campaign.objects.get(code="bb-east")
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")
    assert page.get_attribute("#campaign-status", "data-status") == "draft"

    # wave 1: a broadcast, e-mail first, SMS otherwise
    with page.expect_navigation():
        page.click("#add-wave")
    page.fill("#id_name", "第一波：邮件与短信")
    page.select_option("#id_kind", "broadcast")
    assert page.is_hidden("#id_agents")  # call fields are for call waves
    page.fill("#id_scheduled_at", f"{start.isoformat()}T10:00")
    page.select_option("#id_channel_1", "email")
    page.select_option("#id_channel_2", "sms")
    page.fill("#id_subject", "{name}，宽带升级好礼")
    page.fill("#id_message", "{name}您好：办理宽带300M包年送{gift}。")
    with page.expect_navigation():
        page.click("#wave-form button[type=submit]")

    # wave 2: the outbound call list, sized by the agents' capacity
    with page.expect_navigation():
        page.click("#add-wave")
    page.fill("#id_name", "第二波：外呼")
    page.select_option("#id_kind", "call")
    assert page.is_hidden("#id_channel_1") and page.is_visible("#id_agents")
    page.fill("#id_scheduled_at", f"{(start + timedelta(days=2)).isoformat()}T10:00")
    page.fill("#id_ends_at", f"{(start + timedelta(days=2)).isoformat()}T18:00")
    page.fill("#id_agents", "1")
    page.fill("#id_hours", "2")
    page.fill("#id_calls_per_agent_hour", "2")
    assert page.inner_text("#capacity") == "4"
    shot(page, "wave-form")
    with page.expect_navigation():
        page.click("#wave-form button[type=submit]")
    assert page.locator("#waves article[data-wave]").count() == 2
    assert [w.kind for w in campaign.waves.order_by("number")] == ["broadcast", "call"]

    # the campaign is submitted, and the launch is refused with what is missing
    with page.expect_navigation():
        page.click("#submit-campaign")
    assert page.get_attribute("#campaign-status", "data-status") == "in_review"
    assert page.locator("#readiness li[data-missing]").count() == 5
    with page.expect_navigation():
        page.click("#launch-campaign")
    missing = page.locator("#launch-refused li[data-missing]")
    assert missing.count() == 5  # the five checklist lines
    assert "华东片区" in " ".join(missing.all_inner_texts())
    assert page.get_attribute("#campaign-status", "data-status") == "in_review"

    # each signer signs his lines: service reviews the offer, the region its training,
    # marketing the material, the stock and the conflict check
    sign_out(page)
    sign_in(page, "svc_east")
    assert sign_what_i_may(page, campaign.pk) == ["service_review"]
    sign_out(page)
    sign_in(page, "rm_east")
    assert sign_what_i_may(page, campaign.pk) == ["training"]
    sign_out(page)
    sign_in(page, "cm")
    assert sorted(sign_what_i_may(page, campaign.pk)) == [
        "conflict_check",
        "gift_stock",
        "materials",
    ]
    assert page.get_attribute("#campaign-status", "data-status") == "ready"
    assert page.locator("#readiness li[data-missing]").count() == 0

    # the campaign manager launches; it runs
    with page.expect_navigation():
        page.click("#launch-campaign")
    assert page.get_attribute("#campaign-status", "data-status") == "running"

    # wave 1 is previewed and planned in the page
    first = page.locator("#waves article[data-wave='1']")
    first.locator("button[data-action=preview]").click()
    page.wait_for_selector(
        "#waves article[data-wave='1'] [data-plan-result] td[data-count='planned']"
    )
    assert first.locator("td[data-count='planned']").inner_text() == "5"
    with page.expect_navigation():
        first.locator("button[data-action=plan]").click()
    first = page.locator("#waves article[data-wave='1']")
    assert first.locator("[data-wave-status]").get_attribute("data-wave-status") == "planned"
    assert first.locator("td[data-step='planned']").inner_text() == "5"
    assert first.locator("td[data-reason='opted_out']").inner_text() == "3"

    # and sent by the background batches, e-mail over SMTP
    wave1 = campaign.waves.get(number=1)
    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        wave_start(wave=wave1)
        for batch in SendBatch.objects.filter(wave=wave1):
            batch_send(batch.pk)
        assert sorted(m.rcpt_to[0] for m in smtp.messages) == [
            f"c{i}@example.com" for i in range(5)
        ]
        assert "/c/" in smtp.messages[0].body  # the response link

    # the campaign manager sees the funnel: sent and delivered
    page.reload()
    first = page.locator("#waves article[data-wave='1']")
    assert first.locator("td[data-step='sent']").inner_text() == "5"
    assert first.locator("td[data-step='delivered']").inner_text() == "5"
    assert first.locator("svg g[data-step='sent'] rect").count() == 1
    shot(page, "campaign-page")

    # wave 2 is planned too and its calls reach the agent's list
    second = page.locator("#waves article[data-wave='2']")
    with page.expect_navigation():
        second.locator("button[data-action=plan]").click()
    wave_start(wave=campaign.waves.get(number=2))
    calls = Delivery.objects.filter(wave__number=2, wave__campaign=campaign, status="planned")
    assert calls.count() == 4  # the capacity
    sign_out(page)
    sign_in(page, "svc_east")
    page.goto("/campaigns/calls/")
    cards = page.locator("#call-list article[data-delivery]")
    assert cards.count() == 4
    shot(page, "call-list")
    top = cards.first
    delivery_id = int(top.get_attribute("data-delivery"))
    top.locator("input[value=interested]").check()
    top.locator("button[data-action=record]").click()
    page.wait_for_selector(f"#call-{delivery_id}[data-status='done']")
    assert re.search(r"\S", page.inner_text(f"#call-{delivery_id} .call-result"))
