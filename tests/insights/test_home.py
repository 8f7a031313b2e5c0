"""Home pages: each role's counts, that each count is the number of rows of the list it links
to, a bounded number of queries, sections per role, empty states and the first-run path."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.insights.home_book import Book, build_book
from yiti.insights.home import first_run_pending, home_for

pytestmark = pytest.mark.django_db

COUNT = re.compile(r'<a href="([^"]+)" data-count="([^"]+)" data-n="(\d+)"')
# how each list marks one of its rows (each row links to its record)
ROWS = {
    "/service/queue/": re.compile(r'href="/service/tickets/(\d+)/"'),
    "/service/my-orders/": re.compile(r'href="/service/tickets/(\d+)/"'),
    "/care/": re.compile(r'href="/care/tasks/(\d+)/"'),
    "/customers/": re.compile(r'href="/customers/(\d+)/"'),
    "/campaigns/calls/": re.compile(r'data-delivery="(\d+)"'),
    "/campaigns/": re.compile(r'href="/campaigns/(\d+)/"'),
    "/dispatch/": re.compile(r'href="/dispatch/(\d+)/"'),
}


@pytest.fixture
def book(org: Any) -> Book:
    return build_book(org)


@pytest.fixture
def web_as(org: Any) -> Any:
    def make(username: str) -> Client:
        client = Client()
        client.force_login(org.users[username])
        return client

    return make


def counts_on(page: str) -> list[tuple[str, str, int]]:
    return [(unescape(url), key, int(n)) for url, key, n in COUNT.findall(page)]


def rows_of(client: Client, url: str) -> int:
    path = url.split("?")[0]
    pattern = next(p for prefix, p in ROWS.items() if path.startswith(prefix))
    res = client.get(url)
    assert res.status_code == 200, url
    results = res.content.decode()
    return len(set(pattern.findall(results)))


def by_key(page: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for _url, key, n in counts_on(page):
        found[key] = found.get(key, 0) + n
    return found


# --- each role's counts against the hand-built book ------------------------------------------


def test_service_agent_sees_his_open_tickets_by_sla_state_and_those_about_to_breach(book, org):
    home = home_for(org.users["svc_east"], now=book.now)
    assert home.service is not None
    (row,) = home.service.mine
    assert row.unit == "华东片区"
    assert row.total.n == 6  # the resolved one is not open
    assert {t.key: t.n for t in row.ordered} == {"breached": 1, "warning": 2, "ok": 3}
    assert [t.key for t in row.ordered] == ["breached", "warning", "ok"]  # worst first
    assert home.service.breaching_total == 2
    assert len(home.service.breaching) == 2
    assert all(t.sla_state == "warning" for t in home.service.breaching)
    ((unit, new),) = home.service.new_in_queue
    assert (unit, new.n) == ("华东片区", 6)  # 2 questions, 3 complaints, 1 order


def test_care_agent_sees_calls_due_today_overdue_and_escalated(book, org):
    home = home_for(org.users["care_east"], now=book.now)
    assert home.care is not None
    assert {t.key: t.n for t in home.care.team} == {"overdue": 3, "due_today": 1, "escalated": 1}
    assert {t.key: t.n for t in home.care.mine} == {"overdue": 1, "due_today": 0, "escalated": 0}
    # overdue first, then due today; upcoming and escalated calls are not "next"
    assert [t.due_at < book.now for t in home.care.next_calls] == [True, True, True, False]


def test_account_manager_sees_quiet_customers_calls_orders_and_customers_at_risk(book, org):
    home = home_for(org.users["am_hz"], now=book.now)
    account = home.account
    assert account is not None
    assert account.quiet.n == 3
    # never contacted first, then the longest quiet
    assert account.quiet_longest[0].last_contact_at is None
    assert account.at_risk.n == 2
    assert account.churn_threshold == 0.5
    assert (account.calls.n, account.call_count, account.visit_count) == (3, 2, 1)
    assert account.orders.n == 2
    assert {t.key: t.n for t in account.care} == {"overdue": 1, "due_today": 0, "escalated": 0}
    assert home.care is None  # no care role: his retention calls are in his own section


def test_campaign_manager_sees_his_campaigns_blockers_waves_today_and_complaint_rate(book, org):
    home = home_for(org.users["cm"], now=book.now)
    campaigns = home.campaigns
    assert campaigns is not None
    by_status = {t.key: t.n for t in campaigns.by_status}
    assert by_status == {
        "draft": 1,
        "in_review": 1,
        "ready": 0,
        "running": 1,
        "paused": 1,
        "completed": 0,
    }
    blocked = {b.campaign.code: (b.unsigned, b.conflicts, b.waves) for b in campaigns.blocked}
    assert blocked == {"draft": (0, 0, 0), "review": (2, 0, 1)}
    assert [w.name for w in campaigns.waves_today] == ["外呼"]
    running = next(p for p in campaigns.pressure if p.campaign.code == "running")
    assert (running.complaints, running.contacts) == (3, 400)
    assert running.per_mille == pytest.approx(7.5)
    assert running.above and running.counted
    assert campaigns.pressure[0].campaign.code == "running"  # worst against its threshold first
    assert [(r.campaign, r.n) for r in home.signatures] == [("活动review", 1)]  # gift stock


def test_complaint_rate_agrees_with_the_automatic_pause(book, org):
    from yiti.campaigns.outcomes import complaint_rate

    home = home_for(org.users["cm"], now=book.now)
    assert home.campaigns is not None
    for p in home.campaigns.pressure:
        assert (p.complaints, p.contacts) == complaint_rate(p.campaign)


def test_finance_sees_budgets_and_claims_waiting_and_campaign_costs(book, org):
    home = home_for(org.users["fin"], now=book.now)
    finance = home.finance
    assert finance is not None
    assert (finance.budgets.n, finance.budget_total) == (2, Decimal("2000"))
    assert (finance.claims.n, finance.claim_total) == (1, Decimal("650.50"))
    costs = {c.campaign.code: (c.contacts, c.gifts, c.gift_cost) for c in finance.costs}
    assert costs == {"running": (400, 2, Decimal("240")), "paused": (0, 0, Decimal("0"))}
    assert [(r.campaign, r.n) for r in home.signatures] == [("活动review", 1)]


def test_region_manager_sees_his_units_summary_and_the_checklist_he_signs(book, org):
    home = home_for(org.users["rm_east"], now=book.now)
    manager = home.manager
    assert manager is not None and home.cockpit
    ((unit),) = manager.units
    assert (unit.unit, unit.breached.n, unit.warning.n) == ("华东片区", 1, 2)
    assert {t.key: t.n for t in manager.care} == {"overdue": 3, "due_today": 1, "escalated": 1}
    assert manager.running.n == 1
    assert [(r.campaign, r.n) for r in home.signatures] == [("活动review", 1)]
    # the North region manager sees none of it
    north = home_for(org.users["rm_north"], now=book.now).manager
    assert north is not None and north.units == []


def test_analyst_sees_campaigns_and_the_cockpit(book, org):
    home = home_for(org.users["analyst"], now=book.now)
    assert home.analyst is not None and home.cockpit
    assert {t.key: t.n for t in home.analyst.campaigns} == {
        "running": 1,
        "paused": 1,
        "completed": 0,
    }
    assert home.service is None and home.account is None and home.finance is None


def test_a_user_with_several_roles_sees_the_sections_of_each(book, org):
    from yiti.org.services import membership_grant

    user = org.users["svc_east"]
    membership_grant(user=user, unit=org.marketing, role="finance")
    membership_grant(user=user, unit=org.east, role="care_agent")
    home = home_for(user, now=book.now)
    assert home.service is not None and home.finance is not None and home.care is not None
    assert home.account is None and home.campaigns is None


# --- every count is the number of rows of the list it links to -------------------------------


@pytest.mark.parametrize(
    "username", ["svc_east", "care_east", "am_hz", "cm", "fin", "rm_east", "analyst", "eng_east"]
)
def test_every_count_on_the_home_page_agrees_with_the_list_it_links_to(book, web_as, username):
    client = web_as(username)
    res = client.get("/")
    assert res.status_code == 200
    found = counts_on(res.content.decode())
    assert found, "a home page without counts"
    for url, key, n in found:
        assert rows_of(client, url) == n, (key, url)


def test_the_page_shows_the_counts_of_the_book(book, web_as):
    page = web_as("am_hz").get("/").content.decode()
    assert by_key(page) == {
        "account-quiet": 3,
        "account-at-risk": 2,
        "account-calls": 3,
        "account-orders": 2,
        "account-care-overdue": 1,
        "account-care-due_today": 0,
        "account-care-escalated": 0,
    }
    assert 'id="home-service"' not in page and 'id="home-campaigns"' not in page


def test_the_customer_list_filters_added_for_the_home_page(book, web_as):
    client = web_as("am_hz")
    am = book.org.users["am_hz"]
    quiet = client.get(f"/customers/?owner={am.pk}&quiet=30").content.decode()
    assert 'id="f-quiet"' in quiet and '<option value="30" selected>' in quiet
    assert len(set(ROWS["/customers/"].findall(quiet))) == 3
    risky = client.get(f"/customers/?owner={am.pk}&tier=mvc&churn_min=0.5").content.decode()
    assert len(set(ROWS["/customers/"].findall(risky))) == 2
    assert 'id="f-churn"' in risky
    # nonsense is ignored, not a 500
    assert client.get(f"/customers/?owner={am.pk}&quiet=abc&churn_min=nan").status_code == 200


# --- bounded queries ---------------------------------------------------------------------------


def test_the_home_page_costs_a_bounded_number_of_queries_whatever_the_book(
    org, web_as, django_assert_max_num_queries
):
    from yiti.org.services import membership_grant

    user = org.users["am_hz"]
    for unit, role in [
        (org.east, "service_agent"),
        (org.east, "care_agent"),
        (org.marketing, "campaign_manager"),
        (org.marketing, "finance"),
        (org.east, "region_manager"),
        (org.marketing, "analyst"),
    ]:
        membership_grant(user=user, unit=unit, role=role)
    client = web_as("am_hz")
    client.get("/")  # session and access warmed

    def cost() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    empty = cost()
    build_book(org)
    with django_assert_max_num_queries(45):
        assert client.get("/").status_code == 200
    assert cost() == empty  # the same queries for six customers or four hundred


# --- sign-in lands on the home page; the administrator's first run --------------------------


def test_signing_in_lands_every_role_on_the_home_page(book, org):
    for username in ("svc_east", "cm", "fin", "analyst"):
        client = Client()
        res = client.post(reverse("login"), {"username": username, "password": PASSWORD})
        assert res.status_code == 302 and res.url == reverse("home")
        assert 'id="home"' in client.get(res.url).content.decode()


def test_an_administrator_goes_to_the_first_run_checklist_until_the_company_is_set_up(org, web_as):
    from yiti.administration.selectors import checklist_complete

    assert first_run_pending() is not checklist_complete()
    assert web_as("admin").get("/").url == reverse("administration:start")
    assert Client().get("/").url == reverse("login")
    _set_up_company(org)
    assert first_run_pending() is not checklist_complete()
    assert first_run_pending() is False
    page = web_as("admin").get("/")
    assert page.status_code == 200 and 'id="home-manager"' in page.content.decode()


def _set_up_company(org: Any) -> None:
    from yiti.customers.models import Customer, Order, Product
    from yiti.engagement.models import ContactPolicyRule
    from yiti.service.models import BusinessCalendar

    product = Product.objects.create(code="p", name="套餐", category="mobile_plan", price=10)
    customer = Customer.objects.create(name="甲", name_key="甲", unit=org.hz)
    Order.objects.create(
        customer=customer,
        product=product,
        amount=10,
        channel="branch",
        ordered_at="2026-01-05T10:00+08:00",
    )
    ContactPolicyRule.objects.create(name="每周两次", max_contacts=2, window_days=7)
    BusinessCalendar.objects.create(name="默认", weekly_hours={"mon": [["09:00", "18:00"]]})


# --- empty states ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "marker"),
    [
        ("svc_east", "No open ticket is assigned to you."),
        ("care_east", "No care call is due."),
        ("am_hz", "Your customers are looked after."),
        ("cm", "You own no campaign yet."),
        ("rm_east", "No ticket in your units is late or close to it."),
    ],
)
def test_each_section_says_so_when_nothing_waits(org, web_as, username, marker):
    page = web_as(username).get("/").content.decode()
    assert marker in page


# --- the same counts over the API ------------------------------------------------------------


def test_the_api_answers_the_home_page_counts(book, org, web_as):
    from tests.api.conftest import Api
    from yiti.org.services import token_create

    _token, raw = token_create(user=org.users["am_hz"], name="tests")
    res = Api(token=raw).get("/insights/home")
    assert res.status_code == 200
    body = res.json()
    assert body["roles"] == ["account_manager"]
    (account,) = body["sections"]
    counts = {c["key"]: c["n"] for c in account["counts"]}
    assert counts == {
        "quiet": 3,
        "at_risk": 2,
        "calls": 3,
        "orders": 2,
        "care.overdue": 1,
        "care.due_today": 0,
        "care.escalated": 0,
    }
    page = web_as("am_hz").get("/").content.decode()
    web = {url for url, _key, _n in counts_on(page)}
    assert {c["url"] for c in account["counts"]} == web
    assert Api(token=None).get("/insights/home").status_code == 401


@pytest.mark.parametrize("username", ["svc_east", "cm", "fin", "rm_east"])
def test_the_lines_waiting_for_a_signature_are_those_the_campaign_page_lets_him_sign(
    book, web_as, username
):
    client = web_as(username)
    page = client.get("/").content.decode()
    rows = re.findall(r'<a href="(/campaigns/\d+/)" data-sign="(\d+)"', page)
    assert rows, "no line to sign"
    for url, n in rows:
        detail = client.get(url).content.decode()
        assert len(re.findall(r'action="/campaigns/\d+/checklist/\d+/sign/"', detail)) == int(n)
