"""Accepting an offer of the next best action takes the order through service's order_take:
the quantity and sales channel the agent confirmed, the order-processing ticket, the panel."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import ProductFactory
from yiti.campaigns.services import offer_create
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.customers.models import Order
from yiti.customers.services import consent_record, customer_create
from yiti.decisions.nba import Context
from yiti.decisions.outcomes import nba_outcome_record
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket
from yiti.service.selectors import tickets_for_orders_sold_by

CALL = Context(channel="call", reason="general")


@pytest.fixture
def offer(org):
    product = ProductFactory(
        code="bb1000",
        name="Gigabit broadband",
        category="broadband",
        price=1000,
        margin_rate="0.4000",
    )
    return offer_create(
        actor=org.users["cm"],
        code="bb-10",
        name="Broadband 10% off",
        product=product,
        benefit="discount",
        benefit_value=10,
    )


@pytest.fixture
def customer(org):
    customer = customer_create(actor=None, name="李娜", unit=org.hz, owner=org.users["am_hz"])
    consent_record(
        actor=None,
        customer=customer,
        channel="call",
        purpose="marketing",
        granted=True,
        check_access=False,
    )
    return customer


def test_an_accepted_offer_is_an_order_taken_with_its_ticket(org, offer, customer):
    agent = org.users["svc_east"]
    # when the agent confirms two units through the call centre
    recorded = nba_outcome_record(
        actor=agent,
        customer=customer,
        action=f"offer:{offer.pk}",
        result="accepted",
        context=CALL,
        quantity=2,
        sales_channel="call_centre",
    )
    # then the order is two at the discounted price, sold by him, with its service ticket
    order = Order.objects.get(customer=customer)
    assert recorded.outcome.order_id == order.pk
    assert (order.quantity, order.amount) == (2, Decimal("1800.00"))
    assert order.margin == Decimal("720.00") and order.sold_by == agent
    assert order.channel == "call_centre" and order.unit_id == org.east.pk
    ticket = Ticket.objects.get(order=order)
    assert ticket.kind == TicketKind.ORDER_PROCESSING and ticket.created_by == agent
    assert list(tickets_for_orders_sold_by(agent)) == [ticket]


def test_a_bad_quantity_records_nothing(org, offer, customer):
    with pytest.raises(ValidationFailed) as exc:
        nba_outcome_record(
            actor=org.users["svc_east"],
            customer=customer,
            action=f"offer:{offer.pk}",
            result="accepted",
            context=CALL,
            quantity="0",
        )
    assert exc.value.field == "quantity"
    assert not Order.objects.exists() and not Ticket.objects.exists()


def test_who_may_not_sell_cannot_accept_an_offer(org, offer, customer):
    with pytest.raises(PermissionDenied):
        nba_outcome_record(
            actor=org.users["eng_east"],
            customer=customer,
            action=f"offer:{offer.pk}",
            result="accepted",
            context=CALL,
        )
    assert not Order.objects.exists()


def test_the_panel_asks_quantity_and_channel_before_confirming(org, offer, customer):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(org.users["am_hz"])
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f"/value/nba/{customer.pk}/accept/?action=offer%3A{offer.pk}" in page
    form = client.get(
        f"/value/nba/{customer.pk}/accept/", {"action": f"offer:{offer.pk}", "channel": "call"}
    ).content.decode()
    assert 'name="quantity"' in form and 'name="sales_channel"' in form
    # when he confirms three from the panel (htmx), sold on a visit after the call
    response = client.post(
        f"/value/nba/{customer.pk}/outcome/",
        {
            "action": f"offer:{offer.pk}",
            "result": "accepted",
            "channel": "call",
            "reason": "general",
            "direction": "out",
            "quantity": "3",
            "sales_channel": "visit",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "service is processing it" in body, re.findall(r"alert[^>]*>([^<]*)<", body)
    order = Order.objects.get(customer=customer)
    assert order.quantity == 3 and order.channel == "visit"
    assert order.sold_by == org.users["am_hz"]
    assert Ticket.objects.filter(order=order, kind=TicketKind.ORDER_PROCESSING).exists()


def test_the_api_takes_quantity_and_sales_channel_of_an_accepted_offer(
    org, api_as, offer, customer
):
    response = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {
            "customer_id": customer.pk,
            "action": f"offer:{offer.pk}",
            "result": "accepted",
            "context": {"channel": "call", "reason": "general"},
            "quantity": 2,
            "sales_channel": "online",
        },
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    assert (order.quantity, order.channel, order.amount) == (2, "online", Decimal("1800.00"))
    assert Ticket.objects.filter(order=order, kind=TicketKind.ORDER_PROCESSING).exists()
    bad = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {
            "customer_id": customer.pk,
            "action": f"offer:{offer.pk}",
            "result": "accepted",
            "quantity": 0,
        },
    )
    assert bad.status_code == 422 and bad.json()["field"] == "quantity"
