"""The product catalogue: services, pages and permissions.

Administrators and campaign managers change the catalogue; everyone signed in reads it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import ProductFactory
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.models import Product
from yiti.customers.services import product_create, product_update


def _client(org, username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(org.users[username])
    return client


def _form(**over):
    data = {
        "code": "plan-5g-129",
        "name": "5G plan 129",
        "category": "mobile_plan",
        "price": "129.00",
        "margin_rate": "0.42",
        "unit_margin": "",
        "active": "on",
    }
    data.update(over)
    return data


# --- services -------------------------------------------------------------------------------


def test_a_campaign_manager_creates_a_product_with_a_unit_margin_kept_as_a_rate(org):
    # when the campaign manager gives the unit margin in yuan instead of a rate
    product = product_create(
        actor=org.users["cm"],
        code="BB-300M",
        name="  Broadband   300M ",
        category="broadband",
        price="960",
        unit_margin="384",
    )
    # then the code is lower-cased, the name tidied and the rate worked out from the margin
    assert product.code == "bb-300m" and product.name == "Broadband 300M"
    assert product.margin_rate == Decimal("0.4000")
    assert product.unit_margin == Decimal("384.00")
    event = AuditEvent.objects.get(action="product.create")
    assert event.actor == org.users["cm"] and event.changes["code"] == "bb-300m"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "5G plan!"}, "code"),
        ({"code": ""}, "code"),
        ({"name": "  "}, "name"),
        ({"category": "spaceship"}, "category"),
        ({"price": "-1"}, "price"),
        ({"price": "ten"}, "price"),
        ({"margin_rate": "1.2"}, "margin_rate"),
        ({"margin_rate": "-0.1"}, "margin_rate"),
        ({"margin_rate": None, "unit_margin": "130"}, "unit_margin"),
    ],
)
def test_invalid_products_are_refused_with_the_field_at_fault(org, changes, field):
    args = {
        "code": "plan-129",
        "name": "Plan",
        "category": "mobile_plan",
        "price": "129",
        "margin_rate": "0.4",
    }
    args.update(changes)
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=org.users["admin"], **args)
    assert exc.value.field == field
    assert not Product.objects.exists()


def test_a_code_is_unique(org):
    ProductFactory(code="plan-129")
    with pytest.raises(ValidationFailed) as exc:
        product_create(
            actor=org.users["admin"], code="PLAN-129", name="x", category="other", price=1
        )
    assert exc.value.field == "code" and exc.value.code == "duplicate_code"


@pytest.mark.parametrize("username", ["am_hz", "rm_east", "svc_east", "analyst", "fin"])
def test_only_administrators_and_campaign_managers_change_the_catalogue(org, username):
    product = ProductFactory()
    with pytest.raises(PermissionDenied):
        product_create(actor=org.users[username], code="x-1", name="x", category="other", price=1)
    with pytest.raises(PermissionDenied):
        product_update(actor=org.users[username], product=product, active=False)


def test_deactivating_a_product_is_audited_and_a_new_price_keeps_the_rate(org):
    product = ProductFactory(price=100, margin_rate="0.3000")
    product_update(actor=org.users["admin"], product=product, price="200")
    product.refresh_from_db()
    assert product.price == Decimal("200.00") and product.unit_margin == Decimal("60.00")
    product_update(actor=org.users["admin"], product=product, active=False)
    product.refresh_from_db()
    assert not product.active
    event = AuditEvent.objects.filter(object_id=str(product.pk)).order_by("-id").first()
    assert event is not None and event.action == "product.deactivate"
    assert event.changes == {"active": [True, False]}


# --- pages ----------------------------------------------------------------------------------


def _codes(body: str) -> set[str]:
    import re

    return set(re.findall(r'data-code="([^"]+)"', body))


def test_everyone_reads_the_list_with_search_filters_and_unit_margin(org):
    ProductFactory(code="plan-5g-129", name="5G plan", price=129, margin_rate="0.4000")
    ProductFactory(code="bb-300m", name="Gigabit", category="broadband", price=960)
    ProductFactory(code="old-plan", name="Old plan", active=False)
    client = _client(org, "am_hz")
    # the active products by default, with price and unit margin, no edit links for him
    page = client.get("/products/")
    body = page.content.decode()
    assert page.status_code == 200
    assert _codes(body) == {"plan-5g-129", "bb-300m"}
    assert "¥51.60" in body  # 129 × 0.4
    assert "/products/new/" not in body and ">Deactivate</button>" not in body
    # search by code, filter by category, show the deactivated ones
    assert _codes(client.get("/products/", {"q": "5g"}).content.decode()) == {"plan-5g-129"}
    assert _codes(client.get("/products/", {"q": "GIGA"}).content.decode()) == {"bb-300m"}
    only_bb = client.get("/products/", {"category": "broadband"}).content.decode()
    assert _codes(only_bb) == {"bb-300m"}
    assert _codes(client.get("/products/", {"active": "false"}).content.decode()) == {"old-plan"}
    assert len(_codes(client.get("/products/", {"active": "all"}).content.decode())) == 3
    # htmx asks for the results only
    partial = client.get("/products/", {"q": "bb"}, HTTP_HX_REQUEST="true").content.decode()
    assert _codes(partial) == {"bb-300m"} and "<html" not in partial


def test_the_list_is_paginated(org, settings):
    settings.YITI_PAGE_SIZE = 2
    for n in range(5):
        ProductFactory(code=f"p-{n}", name=f"Product {n}")
    client = _client(org, "cm")
    first = client.get("/products/").content.decode()
    third = client.get("/products/", {"page": 3}).content.decode()
    assert "Product 0" in first and "Product 2" not in first and 'rel="next"' in first
    assert "Product 4" in third and 'rel="next"' not in third


def test_an_empty_catalogue_says_what_to_do(org):
    body = _client(org, "admin").get("/products/").content.decode()
    assert "The catalogue is empty." in body and "/products/new/" in body


def test_the_campaign_manager_creates_and_edits_a_product_on_the_pages(org):
    client = _client(org, "cm")
    response = client.post("/products/new/", _form())
    assert response.status_code == 302 and response["Location"] == "/products/"
    product = Product.objects.get(code="plan-5g-129")
    assert product.margin_rate == Decimal("0.4200")
    # edit: the unit margin typed wins over the unchanged rate
    response = client.post(
        "/products/plan-5g-129/", _form(name="5G plan 129 (new)", unit_margin="64.50")
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "5G plan 129 (new)" and product.margin_rate == Decimal("0.5000")


def test_errors_show_next_to_the_field(org):
    ProductFactory(code="plan-5g-129")
    client = _client(org, "admin")
    duplicate = client.post("/products/new/", _form())
    assert duplicate.status_code == 422
    assert duplicate.context["form"].errors["code"] == ["A product with code plan-5g-129 exists."]
    too_much = client.post("/products/new/", _form(code="x", margin_rate="", unit_margin="500"))
    assert too_much.status_code == 422
    assert "unit_margin" in too_much.context["form"].errors
    negative = client.post("/products/new/", _form(code="y", price="-5"))
    assert negative.status_code == 422 and "price" in negative.context["form"].errors
    rate = client.post("/products/new/", _form(code="z", margin_rate="1.5"))
    assert rate.status_code == 422 and "margin_rate" in rate.context["form"].errors
    assert Product.objects.count() == 1


def test_the_pages_refuse_users_who_may_not_change_the_catalogue(org):
    product = ProductFactory(code="plan-1")
    client = _client(org, "am_hz")
    assert client.get("/products/new/").status_code == 403
    assert client.post("/products/new/", _form()).status_code == 403
    assert client.get("/products/plan-1/").status_code == 403
    assert client.post("/products/plan-1/active/", {"active": "0"}).status_code == 403
    product.refresh_from_db()
    assert product.active


def test_deactivated_products_leave_the_order_form(org):
    from yiti.customers.services import customer_create

    on_sale = ProductFactory(code="plan-1", name="On sale plan")
    ProductFactory(code="plan-2", name="Retired plan")
    admin = _client(org, "admin")
    response = admin.post("/products/plan-2/active/", {"active": "0"})
    assert response.status_code == 302
    customer = customer_create(actor=None, name="张三", unit=org.hz, owner=org.users["am_hz"])
    page = _client(org, "am_hz").get(f"/customers/{customer.pk}/").content.decode()
    assert "On sale plan" in page and "Retired plan" not in page
    assert on_sale.active
    # and back on sale
    admin.post("/products/plan-2/active/", {"active": "1"})
    page = _client(org, "am_hz").get(f"/customers/{customer.pk}/").content.decode()
    assert "Retired plan" in page
