"""order_create and the order selectors: quantity, defaults, one-time keys, sellers in scope."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import ProductFactory
from yiti.core.errors import Conflict, ValidationFailed
from yiti.customers.models import Order
from yiti.customers.selectors import sellers_for
from yiti.customers.services import customer_create, order_by_key, order_create
from yiti.org.services import membership_end, membership_grant, user_create


@pytest.fixture
def customer(org):
    return customer_create(actor=None, name="张三", unit=org.hz, owner=org.users["am_hz"])


def test_the_amount_defaults_to_price_times_quantity_and_the_margin_to_its_rate(org, customer):
    product = ProductFactory(price="99.90", margin_rate="0.2500")
    order = order_create(actor=org.users["am_hz"], customer=customer, product=product, quantity=3)
    assert (order.quantity, order.amount, order.margin) == (3, Decimal("299.70"), Decimal("74.93"))
    assert order.sold_by == org.users["am_hz"] and order.unit == org.hz


@pytest.mark.parametrize("quantity", [0, -1, "two", 100_001])
def test_a_quantity_out_of_range_is_refused(org, customer, quantity):
    with pytest.raises(ValidationFailed) as exc:
        order_create(actor=None, customer=customer, product=ProductFactory(), quantity=quantity)
    assert exc.value.field == "quantity"
    assert not Order.objects.exists()


def test_a_one_time_key_records_one_order_even_when_two_calls_race(org, customer):
    product = ProductFactory()
    first = order_create(actor=None, customer=customer, product=product, idempotency_key="k1")
    assert order_by_key("k1") == first
    # a second insert with the same key (the pre-check of the other request passed already)
    with pytest.raises(Conflict) as exc:
        order_create(actor=None, customer=customer, product=product, idempotency_key="k1")
    assert exc.value.code == "order_already_taken"
    assert Order.objects.count() == 1


def test_sellers_are_the_people_who_sell_in_the_customers_units(org, customer):
    names = {u.username for u in sellers_for(customer)}
    # account managers of the branch, the region's managers and agents, the administrator
    assert names == {"am_hz", "am_hz2", "rm_east", "svc_east", "care_east", "admin"}
    # an account manager of another branch who owns the customer is his seller too
    customer.owner = org.users["am_nb"]
    assert "am_nb" in {u.username for u in sellers_for(customer)}


def test_a_seller_whose_membership_ended_is_not_offered(org, customer):
    seller = user_create(username="am_hz3", password=None, display_name="am_hz3")
    membership = membership_grant(user=seller, unit=org.hz, role="account_manager")
    assert "am_hz3" in {u.username for u in sellers_for(customer)}
    membership_end(actor=None, membership=membership)
    assert "am_hz3" not in {u.username for u in sellers_for(customer)}
