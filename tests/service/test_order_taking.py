"""Taking an order on the customer page: form, summary, confirm — then service processes it,
the seller follows it under "My orders in service", and care calls after it is fulfilled."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from tests.factories import ProductFactory
from yiti.care.choices import TaskKind
from yiti.care.models import CareTask
from yiti.care.services import (
    QuestionInput,
    followup_rule_create,
    followups_generate,
    survey_template_create,
)
from yiti.customers.models import Order
from yiti.customers.services import customer_create
from yiti.service.choices import TicketKind, TicketStatus
from yiti.service.models import Ticket
from yiti.service.services import ticket_resolve, ticket_transition

SH = ZoneInfo("Asia/Shanghai")


def _client(org, username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(org.users[username])
    return client


@pytest.fixture
def plan(db):
    return ProductFactory(code="plan-129", name="5G plan", price=129, margin_rate="0.4000")


@pytest.fixture
def customer(org):
    return customer_create(actor=None, name="张三", unit=org.hz, owner=org.users["am_hz"])


@pytest.fixture
def order_rule(db):
    survey = survey_template_create(
        actor=None,
        name="客服回访",
        code="order-sat",
        questions=[
            QuestionInput(kind="csat", text="The salesperson", target="sales"),
            QuestionInput(kind="csat", text="The service", target="service"),
        ],
    )
    return followup_rule_create(
        actor=None,
        name="Order satisfaction",
        trigger="order_fulfilled",
        starts_at=datetime(2024, 1, 1, tzinfo=SH),
        survey_template=survey,
    )


def _order_form(plan, seller, **over):
    data = {
        "step": "review",
        "product": plan.pk,
        "quantity": "2",
        "amount": "",
        "channel": "visit",
        "sold_by": seller.pk,
        "note": "Deliver the SIM on Monday",
    }
    data.update(over)
    return data


def _options(body: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert select is not None
    return set(re.findall(r">([^<]+)</option>", select.group(1)))


def test_an_order_taken_on_the_customer_page_goes_to_service_and_care(
    org, plan, customer, order_rule
):
    am = _client(org, "am_hz")
    url = f"/service/orders/take/{customer.pk}/"
    # given the customer page shows the order form: products on sale, sellers of his scope
    page = am.get(f"/customers/{customer.pk}/").content.decode()
    assert "Take an order" in page and f'action="{url}"' in page
    assert "5G plan · ¥129.00" in _options(page, "product")
    sellers = _options(page, "sold_by")
    assert {"am_hz", "am_hz2", "rm_east", "svc_east", "care_east", "admin"} <= sellers
    assert not sellers & {"am_bj", "am_nb", "cm", "eng_east", "rm_north"}
    # when he reviews two plans: a summary with price × quantity, nothing recorded yet
    review = am.post(url, _order_form(plan, org.users["am_hz"]))
    assert review.status_code == 200
    body = review.content.decode()
    assert "Confirm the order (¥258.00)" in body
    token = re.search(r'name="token" value="([0-9a-f]{32})"', body)
    assert token is not None and not Order.objects.exists()
    # and confirms (twice: a double click)
    confirm = _order_form(plan, org.users["am_hz"], step="confirm", token=token.group(1))
    done = am.post(url, confirm)
    again = am.post(url, confirm)
    # then one order of 2 × ¥129 sold by him, and one order-processing ticket in service
    assert done.status_code == again.status_code == 302
    assert done["Location"] == f"/customers/{customer.pk}/#orders"
    order = Order.objects.get()
    assert (order.quantity, order.amount, order.margin) == (2, Decimal("258.00"), Decimal("103.20"))
    assert order.sold_by == org.users["am_hz"] and order.channel == "visit"
    ticket = Ticket.objects.get(order=order)
    assert ticket.kind == TicketKind.ORDER_PROCESSING and ticket.unit_id == org.east.pk
    assert ticket.description == "Deliver the SIM on Monday"
    assert "already recorded" in am.get(f"/customers/{customer.pk}/").content.decode()
    # the seller follows it under "My orders in service"
    mine = am.get("/service/my-orders/").content.decode()
    assert "张三" in mine and "5G plan" in mine and f"/service/tickets/{ticket.pk}/" in mine
    # when service works and resolves the ticket, the order is fulfilled
    ticket_transition(actor=None, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)
    ticket_resolve(actor=None, ticket=ticket, resolution="SIM delivered")
    order.refresh_from_db()
    assert order.status == "fulfilled"
    # and care's sweep makes the satisfaction call the order rule asks for
    followups_generate()
    task = CareTask.objects.get(order=order)
    assert task.kind == TaskKind.SATISFACTION and task.rule == order_rule
    assert task.assignee == org.users["care_east"]


def test_the_seller_can_be_a_colleague_and_the_amount_given(org, plan, customer):
    am = _client(org, "svc_east")
    url = f"/service/orders/take/{customer.pk}/"
    form = _order_form(plan, org.users["am_hz2"], amount="200", quantity="1")
    review = am.post(url, form).content.decode()
    token = re.search(r'name="token" value="([0-9a-f]{32})"', review)
    assert token is not None and "Confirm the order (¥200.00)" in review
    am.post(url, {**form, "step": "confirm", "token": token.group(1)})
    order = Order.objects.get()
    assert order.sold_by == org.users["am_hz2"] and order.amount == Decimal("200.00")
    assert order.margin == Decimal("80.00")
    # the order shows in am_hz2's "my orders in service", not in the agent's
    assert "张三" in _client(org, "am_hz2").get("/service/my-orders/").content.decode()
    assert "张三" not in am.get("/service/my-orders/").content.decode()


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "x"}, "quantity"),
        ({"amount": "-3"}, "amount"),
        ({"product": ""}, "product"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_errors_show_next_to_the_field_and_record_nothing(org, plan, customer, over, field):
    response = _client(org, "am_hz").post(
        f"/service/orders/take/{customer.pk}/", _order_form(plan, org.users["am_hz"], **over)
    )
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not Order.objects.exists()


def test_a_seller_outside_the_customers_units_and_inactive_products_are_refused(
    org, plan, customer
):
    retired = ProductFactory(code="retired", name="Retired", active=False)
    client = _client(org, "am_hz")
    url = f"/service/orders/take/{customer.pk}/"
    foreign = client.post(url, _order_form(plan, org.users["am_bj"]))
    assert foreign.status_code == 422 and "sold_by" in foreign.context["form"].errors
    old = client.post(url, _order_form(retired, org.users["am_hz"]))
    assert old.status_code == 422 and "product" in old.context["form"].errors
    # a confirm without a token from the summary records nothing either
    bare = client.post(url, _order_form(plan, org.users["am_hz"], step="confirm"))
    assert bare.status_code == 422 and not Order.objects.exists()


def test_change_goes_back_to_the_filled_in_form(org, plan, customer):
    response = _client(org, "am_hz").post(
        f"/service/orders/take/{customer.pk}/",
        _order_form(plan, org.users["am_hz"], step="edit", quantity="3"),
    )
    assert response.status_code == 200
    assert response.context["form"]["quantity"].value() == "3"
    assert not response.context["form"].errors


def test_who_may_not_sell_sees_no_form_and_is_refused(org, plan, customer):
    engineer = _client(org, "eng_east")
    assert "Take an order" not in engineer.get(f"/customers/{customer.pk}/").content.decode()
    response = engineer.post(
        f"/service/orders/take/{customer.pk}/", _order_form(plan, org.users["eng_east"])
    )
    assert response.status_code == 403
    # and a customer of another branch is not found
    other = customer_create(actor=None, name="李四", unit=org.bj)
    assert _client(org, "am_hz").get(f"/service/orders/take/{other.pk}/").status_code == 404
    assert not Order.objects.exists()


def test_with_no_product_on_sale_the_page_says_who_adds_them(org, customer):
    page = _client(org, "am_hz").get(f"/customers/{customer.pk}/").content.decode()
    assert "No product is on sale yet" in page
