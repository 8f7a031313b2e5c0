"""/api/v1/products: read by every caller, changed by administrators and campaign managers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.conftest import Api
from tests.factories import ProductFactory
from yiti.customers.models import Product
from yiti.org.services import token_create


@pytest.fixture
def api_as(org):
    def make(username: str) -> Api:
        _token, raw = token_create(user=org.users[username], name="tests")
        return Api(token=raw)

    return make


BODY = {"code": "bb-300m", "name": "宽带300M", "category": "broadband", "price": "960"}


def test_a_campaign_manager_adds_a_product_and_anyone_reads_it(org, api_as):
    # when the campaign manager posts a product with a unit margin
    created = api_as("cm").post("/products", {**BODY, "unit_margin": "384"})
    assert created.status_code == 201
    out = created.json()
    assert out["code"] == "bb-300m" and out["active"] is True
    assert Decimal(out["margin_rate"]) == Decimal("0.4") and Decimal(out["unit_margin"]) == 384
    # then an account manager reads it by code and by id
    am = api_as("am_hz")
    assert am.get("/products/bb-300m").json()["id"] == out["id"]
    assert am.get(f"/products/{out['id']}").json()["code"] == "bb-300m"
    assert am.get("/products/nope").status_code == 404


def test_the_list_filters_and_pages(org, api_as):
    for n in range(3):
        ProductFactory(code=f"plan-{n}", name=f"Plan {n}")
    ProductFactory(code="router", name="Router", category="device")
    ProductFactory(code="retired", name="Retired", active=False)
    api = api_as("am_bj")
    first = api.get("/products", {"page_size": 2}).json()
    assert [p["code"] for p in first["items"]] == ["router", "plan-0"] and first["has_next"]
    assert [p["code"] for p in api.get("/products", {"category": "device"}).json()["items"]] == [
        "router"
    ]
    assert [p["code"] for p in api.get("/products", {"q": "PLAN-2"}).json()["items"]] == ["plan-2"]
    inactive = api.get("/products", {"active": "false"}).json()["items"]
    assert [p["code"] for p in inactive] == ["retired"]
    assert len(api.get("/products", {"active": "all"}).json()["items"]) == 5
    assert api.get("/products", {"category": "spaceship"}).status_code == 422


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "Not a slug!"}, "code"),
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"margin_rate": "1.5"}, "margin_rate"),
        ({"unit_margin": "961"}, "unit_margin"),
        ({"category": "spaceship"}, "category"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_products_answer_422_with_the_field(org, api_as, changes, field):
    response = api_as("admin").post("/products", {**BODY, **changes})
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not Product.objects.exists()


def test_a_duplicate_code_is_a_422_on_code(org, api_as):
    ProductFactory(code="bb-300m")
    response = api_as("admin").post("/products", BODY)
    assert response.status_code == 422
    assert response.json() == {
        "code": "duplicate_code",
        "message": "A product with code bb-300m exists.",
        "field": "code",
    }


def test_patch_changes_and_deactivates_by_code(org, api_as):
    ProductFactory(code="bb-300m", price=960, margin_rate="0.4000")
    api = api_as("cm")
    changed = api.patch("/products/bb-300m", {"price": "1000", "name": "宽带300M(新)"})
    assert changed.status_code == 200
    assert Decimal(changed.json()["unit_margin"]) == 400
    off = api.patch("/products/bb-300m", {"active": False})
    assert off.json()["active"] is False
    assert api.patch("/products/bb-300m", {"price": None}).json()["field"] == "price"
    assert api.patch("/products/bb-300m", {"unit_margin": "2000"}).json()["field"] == (
        "unit_margin"
    )


@pytest.mark.parametrize("username", ["am_hz", "rm_east", "svc_east", "analyst"])
def test_others_are_refused_403(org, api_as, username):
    ProductFactory(code="bb-300m")
    api = api_as(username)
    assert api.post("/products", {**BODY, "code": "new-one"}).status_code == 403
    response = api.patch("/products/bb-300m", {"active": False})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Product.objects.get(code="bb-300m").active


def test_an_unknown_active_filter_is_a_422(org, api_as):
    response = api_as("am_hz").get("/products", {"active": "maybe"})
    assert response.status_code == 422 and response.json()["field"] == "active"
