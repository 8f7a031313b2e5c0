"""Journey (issue 14): the agent's day in the workspace, at 1440 × 900 and at 390 × 844.

A call comes in: the service agent types the caller's number and lands on the customer
(screen-pop); the next-best-action card shows three actions, each with a plain line and its
expected value; he accepts an offer, fills in the order, confirms it, and undoes it with a
reason. On a ticket he writes an internal note (the default) and sees the public switch say to
whom a reply would go. The care agent reveals the number of a follow-up (a tel: link), records
a dissatisfied answer and follows the link to the complaint it opened, which links back. No
page scrolls sideways at phone width, and no page logs a console error.

Selectors are ids, names and data attributes, never visible text (the interface is Chinese).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.factories import ProductFactory
from yiti.campaigns.models import OfferReservation
from yiti.campaigns.services import offer_create
from yiti.care.models import CareTask
from yiti.care.services import QuestionInput, followup_rule_create, survey_template_create
from yiti.care.services import followups_generate as scheduled_followup_sweep
from yiti.customers.models import Order
from yiti.customers.services import ContactInput, consent_record, customer_create
from yiti.decisions import nba
from yiti.decisions.models import NbaOutcome
from yiti.service.models import Ticket, TicketEvent
from yiti.service.services import routing_rule_save, sla_policy_save, ticket_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13905710088"
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(params=list(VIEWPORTS))
def screen(request, browser, live_server) -> Iterator[tuple[str, object, list[str]]]:  # type: ignore[no-untyped-def]
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.on(
        "response",
        lambda r: errors.append(f"{r.url}: {r.status}") if r.status >= 400 else None,
    )
    yield request.param, page, errors
    context.close()


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click("form[action='/logout/'] button[type=submit]")


def no_sideways_scroll(page, name: str, width: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_load_state("networkidle")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name} scrolls sideways at {width} px: {scroll}"


def world(org):  # type: ignore[no-untyped-def]
    """A Hangzhou customer who takes marketing calls, three offers, a resolved repair with a
    satisfaction call due, and the East desk's SLA and routing."""
    rm = org.users["rm_east"]
    customer = customer_create(
        actor=org.users["am_hz"],
        name="李娜",
        unit=org.hz,
        owner=org.users["am_hz"],
        contacts=[ContactInput("phone", PHONE, primary=True)],
    )
    consent_record(
        actor=org.users["am_hz"],
        customer=customer,
        channel="call",
        purpose="marketing",
        granted=True,
    )
    cm = org.users["cm"]
    offers = []
    for code, name, price, benefit, value, gift in (
        ("bb-1000", "千兆宽带八折", 1200, "discount", 20, ""),
        ("plan-199", "5G套餐送耳机", 199 * 12, "gift", 150, "蓝牙耳机"),
        ("cloud-200", "云盘首月半价", 120, "discount", 50, ""),
        ("tv-box", "电视盒子送会员", 300, "credit", 30, ""),
    ):
        product = ProductFactory(
            code=code, name=name[:4], category="broadband", price=price, margin_rate="0.4000"
        )
        offers.append(
            offer_create(
                actor=cm,
                code=f"o-{code}",
                name=name,
                product=product,
                benefit=benefit,
                benefit_value=value,
                gift_name=gift,
                stock_total=10 if gift else 0,
            )
        )
    for kind in ("repair", "complaint"):
        sla_policy_save(
            actor=rm,
            kind=kind,
            priority="normal",
            first_response_minutes=120,
            resolution_minutes=1440,
        )
        routing_rule_save(actor=rm, target_unit=org.east, kind=kind, territory=org.east)
    survey = survey_template_create(
        actor=rm,
        name="维修回访",
        code="repair-csat",
        questions=[QuestionInput(kind="csat", text="您对维修服务满意吗？")],
    )
    followup_rule_create(
        actor=rm,
        name="维修回访",
        trigger="repair_resolved",
        survey_template=survey,
        starts_at=timezone.now() - timezone.timedelta(days=1),
    )
    repair = ticket_create(
        actor=org.users["svc_east"], customer=customer, kind="repair", subject="光猫指示灯异常"
    )
    return customer, offers, repair, survey


def test_the_agents_day(screen, org):  # type: ignore[no-untyped-def]
    name, page, errors = screen
    width = VIEWPORTS[name][0]
    nba.caches_clear()
    customer, _offers, repair, survey = world(org)

    # --- screen-pop: the agent types the caller's number in the global search -------------
    sign_in(page, "svc_east")
    page.goto("/customers/")
    no_sideways_scroll(page, "customer list", width)
    search = page.locator("#topbar-q")
    assert search.is_visible()  # reachable at phone width too
    search.fill(PHONE)
    with page.expect_navigation():
        search.press("Enter")
    page.wait_for_url(re.compile(rf"/customers/{customer.pk}/$"))

    # --- the compact card: three actions, a plain line and an expected value each ---------
    card = page.locator("#nba")
    card.wait_for()
    actions = card.locator("li.nba-action")
    assert actions.count() == 3
    for i in range(3):
        action = actions.nth(i)
        assert action.locator(".nba-summary").inner_text().strip()
        assert action.locator("[data-expected]").count() == 1
        assert not action.locator(".nba-why-body").is_visible()  # the arithmetic waits
    actions.first.locator(".nba-why summary").click()
    assert actions.first.locator(".nba-why-body").is_visible()
    no_sideways_scroll(page, "customer page", width)

    # --- accept → order form → confirm → undo ---------------------------------------------
    offer_action = card.locator("li.nba-action[data-kind='offer']").first
    key = offer_action.get_attribute("data-action-key")
    offer_action.locator("a.nba-accept").click()
    page.wait_for_url(re.compile(rf"/value/nba/{customer.pk}/accept/"))
    page.fill("input[name=quantity]", "2")
    page.click("#nba-review")
    page.locator("#confirm-order").wait_for()
    assert Order.objects.filter(customer=customer).count() == 0  # nothing before confirming
    with page.expect_navigation():
        page.click("#confirm-order")
    order = Order.objects.get(customer=customer)
    assert order.quantity == 2 and NbaOutcome.objects.get(action=key).order_id == order.pk
    undo = page.locator("#nba .nba-undo").first
    undo.locator("summary").click()
    undo.locator("input[name=reason]").fill("客户改主意了")
    with page.expect_navigation():
        undo.locator("button[type=submit]").click()
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert NbaOutcome.objects.get(action=key).undo_reason == "客户改主意了"
    assert not OfferReservation.objects.filter(customer=customer, status="reserved").exists()
    assert page.locator("#nba .nba-undo").count() == 0

    # --- the ticket reply is an internal note unless switched ---------------------------------
    page.goto(f"/service/tickets/{repair.pk}/")
    no_sideways_scroll(page, "ticket page", width)
    assert not page.is_checked("#reply-public")
    internal_label = page.inner_text("#reply-submit")
    page.check("#reply-public")
    assert "李娜" in page.inner_text("#reply-audience")  # says to whom it goes
    assert page.inner_text("#reply-submit") != internal_label
    page.uncheck("#reply-public")
    page.fill("#reply-body", "内部：已派工程师上门。")
    with page.expect_navigation():
        page.click("#reply-submit")
    note = TicketEvent.objects.get(ticket=repair, body="内部：已派工程师上门。")
    assert note.kind == "note" and not note.public

    # the repair is resolved; the follow-up sweep gives care the satisfaction call
    page.fill("#transition-body", "已更换光猫。")
    with page.expect_navigation():
        page.click("#actions button[name=to_status][value=resolved]")
    scheduled_followup_sweep()
    task = CareTask.objects.get(ticket=repair)
    sign_out(page)

    # --- the care call: a tel: link, a dissatisfied answer, the complaint linked -------------
    sign_in(page, "care_east")
    page.goto(f"/care/tasks/{task.pk}/")
    no_sideways_scroll(page, "care task", width)
    assert page.locator("#attempt input[name=outcome]:checked").count() == 0
    page.click("#contacts form[action$='/contacts/reveal/'] button[type=submit]")
    tel = page.locator(f"#contacts a[href='tel:{PHONE}']")
    tel.wait_for()
    assert page.locator("#contacts [data-copy]").count() >= 1
    csat = survey.questions.get()
    page.check("#attempt input[name=outcome][value=reached]")
    page.check(f"#attempt input[name=q{csat.pk}][value='1']")
    with page.expect_navigation():
        page.click("#attempt button[type=submit]")
    task.refresh_from_db()
    complaint = Ticket.objects.get(pk=task.complaint_ticket_id)
    assert page.locator(f"a#task-source-ticket[href='/service/tickets/{repair.pk}/']").count() == 1
    with page.expect_navigation():
        page.click("#task-complaint")
    page.wait_for_url(re.compile(rf"/service/tickets/{complaint.pk}/$"))
    assert page.locator(f"#opened-by-care a[href='/care/tasks/{task.pk}/']").count() == 1
    no_sideways_scroll(page, "complaint ticket", width)

    # --- no console errors anywhere on the way ---------------------------------------------
    assert errors == []
