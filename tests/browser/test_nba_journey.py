"""Journey (issue 5, scenario 7): serving and selling at the counter.

A service agent serving a customer's complaint sees only service actions beside the ticket
(never a sales offer to a customer with an open complaint); after he resolves the complaint,
the same customer's 360 page proposes the broadband offer, which the agent accepts: the gift
is reserved, the sale is credited to the agent's unit, and the timeline shows the acceptance.

Selectors are names, ids and data attributes, never visible text (the interface is Chinese).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_service_care_journey import sign_in
from tests.factories import ProductFactory
from yiti.campaigns.models import OfferReservation
from yiti.campaigns.services import offer_create
from yiti.customers.models import Order
from yiti.customers.services import ContactInput, consent_record, customer_create
from yiti.decisions import nba
from yiti.engagement.selectors import is_suppressed
from yiti.service.models import Ticket
from yiti.service.services import routing_rule_save, ticket_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_complaint_gets_service_actions_and_after_it_an_offer_is_accepted(page, org):
    nba.caches_clear()
    # given a Hangzhou customer who agreed to marketing calls, a broadband offer with a gift,
    # and complaints of the East territory routed to the East service desk
    customer = customer_create(
        actor=org.users["am_hz"],
        name="陈静",
        unit=org.hz,
        owner=org.users["am_hz"],
        contacts=[ContactInput("phone", "13905710002")],
    )
    consent_record(
        actor=org.users["am_hz"],
        customer=customer,
        channel="call",
        purpose="marketing",
        granted=True,
    )
    product = ProductFactory(
        code="bb-1000", name="千兆宽带", category="broadband", price=1200, margin_rate="0.4000"
    )
    offer = offer_create(
        actor=org.users["cm"],
        code="bb-router",
        name="千兆宽带送路由器",
        product=product,
        benefit="gift",
        benefit_value=80,
        gift_name="路由器",
        stock_total=10,
    )
    routing_rule_save(
        actor=org.users["rm_east"], target_unit=org.east, kind="complaint", territory=org.east
    )
    ticket = ticket_create(
        actor=org.users["svc_east"],
        customer=customer,
        kind="complaint",
        subject="账单扣费有误",
        complaint_class="fulfilment",
    )
    assert is_suppressed(customer)

    # when the service agent opens the complaint
    sign_in(page, "svc_east")
    page.goto(f"/service/tickets/{ticket.pk}/")
    panel = page.locator("#nba")
    panel.wait_for()

    # then the panel beside the ticket proposes service (care) actions only
    assert panel.locator("li.nba-action[data-kind='care']").count() >= 1
    assert panel.locator("li.nba-action[data-kind='offer']").count() == 0
    # and the offer is listed as dropped because of the open complaint
    assert (
        panel.locator(
            f"li.nba-drop[data-action-key='offer:{offer.pk}'][data-code='suppressed']"
        ).count()
        == 1
    )
    assert panel.locator("#nba-blocked").count() == 1

    # when the agent resolves the complaint
    page.fill("#transition-body", "已核实并退还多扣费用。")
    with page.expect_navigation():
        page.click("#actions button[name=to_status][value=resolved]")
    assert not is_suppressed(customer)

    # then the customer's 360 page proposes the offer
    page.goto(f"/customers/{customer.pk}/")
    action = page.locator(f"#nba li.nba-action[data-action-key='offer:{offer.pk}']")
    action.wait_for()
    assert (
        page.locator("#nba li.nba-action").first.get_attribute("data-action-key")
        == f"offer:{offer.pk}"
    )
    assert action.locator(".nba-reasons li").count() == 4

    # when the agent accepts: the order form (quantity, channel), its summary, confirm
    action.locator("a.nba-accept").click()
    page.wait_for_url(re.compile(rf"/value/nba/{customer.pk}/accept/"))
    assert page.locator("input[name=quantity]").input_value() == "1"
    page.click("#nba-review")
    page.locator("#confirm-order").wait_for()
    with page.expect_navigation():
        page.click("#confirm-order")
    page.locator("#nba .nba-undo").wait_for()

    # then the gift is reserved and the sale is credited to the agent's unit
    reservation = OfferReservation.objects.get(offer=offer, customer=customer)
    assert reservation.status == "reserved" and reservation.unit_id == org.east.pk
    order = Order.objects.get(customer=customer, product=product)
    assert order.unit_id == org.east.pk and order.sold_by_id == org.users["svc_east"].pk
    # and service has the order to process, as for any order sales takes
    assert Ticket.objects.filter(order=order, kind="order_processing").exists()
    # and the offer is no longer proposed (he holds it now)
    assert page.locator(f"#nba li.nba-action[data-action-key='offer:{offer.pk}']").count() == 0
    assert (
        page.locator(
            f"#nba li.nba-drop[data-action-key='offer:{offer.pk}'][data-code='conflict']"
        ).count()
        == 1
    )

    # and the timeline shows the acceptance
    page.reload()
    timeline = page.locator("#timeline")
    timeline.wait_for()
    assert re.search("千兆宽带送路由器", timeline.inner_text())
