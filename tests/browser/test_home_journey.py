"""Journey (issue 15 item 1): each role signs in and lands on its home page with the counts of
the test book (tests/insights/home_book.py); a count opens the list with exactly that many
rows; the page fits a 390 px phone without sideways scrolling and logs no console error.

Selectors are ids and data attributes, never visible text (the interface is Chinese).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.insights.home_book import build_book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED = {
    "svc_east": {"service-total": 6, "service-breached": 1, "service-warning": 2, "service-new": 6},
    "care_east": {"care-overdue": 3, "care-due_today": 1, "care-escalated": 1},
    "am_hz": {"account-quiet": 3, "account-at-risk": 2, "account-calls": 3, "account-orders": 2},
    "cm": {"campaigns-draft": 1, "campaigns-in_review": 1, "campaigns-running": 1},
    "fin": {"finance-budgets": 2, "finance-claims": 1},
    "rm_east": {"manager-breached": 1, "manager-warning": 2, "manager-running": 1},
    "analyst": {"analyst-running": 1, "analyst-paused": 1},
}


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click("form[action='/logout/'] button[type=submit]")


def count(page, key: str) -> int:  # type: ignore[no-untyped-def]
    return int(page.get_attribute(f"[data-count='{key}']", "data-n"))


def test_each_role_lands_on_its_home_page_with_the_right_counts(page, org, live_server):
    build_book(org)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for username, expected in EXPECTED.items():
        sign_in(page, username)
        assert re.search(r"/$", page.url), (username, page.url)
        page.wait_for_selector("#home")
        assert {key: count(page, key) for key in expected} == expected, username
        if username in ("rm_east", "analyst"):
            assert page.get_attribute("#cockpit-link", "href") == "/insights/"
        sign_out(page)
    assert errors == []


def test_a_count_opens_the_list_with_as_many_rows(page, org, live_server):
    build_book(org)
    sign_in(page, "am_hz")
    page.wait_for_selector("#home-account")
    page.click("[data-count='account-quiet']")
    page.wait_for_url(re.compile(r"/customers/\?.*quiet=30"))
    rows = page.locator("#results a[href^='/customers/']").evaluate_all(
        "els => new Set(els.map(e => e.getAttribute('href')).filter(h => /^\\/customers\\/\\d+\\/$/.test(h))).size"
    )
    assert rows == 3
    assert page.locator("#f-quiet").input_value() == "30"


@pytest.mark.parametrize("username", ["am_hz", "cm", "rm_east"])
def test_the_home_page_fits_a_phone(browser, live_server, org, username):
    build_book(org)
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport={"width": 390, "height": 844}
    )
    phone = context.new_page()
    try:
        sign_in(phone, username)
        phone.wait_for_selector("#home")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
    finally:
        context.close()
