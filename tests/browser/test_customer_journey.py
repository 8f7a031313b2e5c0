"""Journey: an account manager finds a customer by phone, opens the 360 page, reads the timeline,
and switches the interface to English and back to Chinese."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD
from yiti.customers.services import ContactInput, customer_create
from yiti.engagement.services import interaction_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_account_manager_finds_customer_by_phone_and_reads_timeline(page, org):
    # given a customer of Hangzhou with contacts from sales and service on the timeline
    am = org.users["am_hz"]
    customer = customer_create(
        actor=am,
        name="陈晓东",
        unit=org.hz,
        owner=am,
        contacts=[ContactInput("phone", "13912345678")],
    )
    customer_create(
        actor=am, name="陈一", unit=org.hz, contacts=[ContactInput("phone", "13800000001")]
    )
    interaction_record(
        actor=am,
        customer=customer,
        channel="visit",
        direction="out",
        purpose="sales",
        subject="上门推荐千兆宽带",
        occurred_at=timezone.now() - timezone.timedelta(days=2),
    )
    interaction_record(
        actor=org.users["svc_east"],
        customer=customer,
        channel="call",
        direction="in",
        purpose="service",
        subject="来电咨询账单",
    )

    # when the account manager signs in
    page.goto("/login/")
    page.fill("input[name=username]", "am_hz")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#home-account")  # his home page first
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.goto("/customers/")

    # and searches by the leading digits of the phone
    page.fill("#q", "1391234")
    page.wait_for_url(re.compile(r"q=1391234"))
    page.wait_for_function("!document.querySelector('#results').innerText.includes('陈一')")
    assert page.locator("#results").get_by_text("陈一").count() == 0
    # the list masks the phone
    assert "139****5678" in page.inner_text("#results")
    assert "13912345678" not in page.content()

    # and opens the 360 page
    page.click("#results >> text=陈晓东")
    page.wait_for_url(re.compile(rf"/customers/{customer.pk}/"))
    timeline = page.locator("#timeline")
    items = timeline.locator("li .subject").all_inner_texts()
    # then the timeline shows both contacts, newest first
    assert items[:2] == ["来电咨询账单", "上门推荐千兆宽带"]

    # when the timeline is filtered to sales
    page.select_option("#tl-purpose", "sales")
    page.wait_for_function(
        "!document.querySelector('#timeline').innerText.includes('来电咨询账单')"
    )
    assert page.locator("#timeline li .subject").all_inner_texts() == ["上门推荐千兆宽带"]

    # when the language is switched to English
    page.select_option("#lang-select", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.get_by_role("heading", name="Ownership").count() == 1
    # and back to Chinese
    page.select_option("#lang-select", "zh-hans")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    assert page.get_by_role("heading", name="Ownership").count() == 0
