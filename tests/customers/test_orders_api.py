"""/api/v1/orders: taking an order hands it to service; the list is scoped like customers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.api.conftest import Api
from tests.factories import ProductFactory
from yiti.customers.models import Order
from yiti.customers.services import customer_create
from yiti.org.services import token_create
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket
from yiti.service.services import order_take

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def api_as(org):
    def make(username: str) -> Api:
        _token, raw = token_create(user=org.users[username], name="tests")
        return Api(token=raw)

    return make


@pytest.fixture
def shop(org):
    return {
        "plan": ProductFactory(code="plan-129", name="5G plan", price=129, margin_rate="0.4000"),
        "bb": ProductFactory(code="bb-300m", name="Broadband", price=960, margin_rate="0.5000"),
        "old": ProductFactory(code="old", name="Old plan", price=10, active=False),
    }


@pytest.fixture
def people(org):
    u = org.users
    return {
        "hz": customer_create(actor=None, name="杭州客户", unit=org.hz, owner=u["am_hz"]),
        "bj": customer_create(actor=None, name="北京客户", unit=org.bj, owner=u["am_bj"]),
    }


def test_an_account_manager_takes_an_order_and_service_gets_its_ticket(org, api_as, shop, people):
    # when am_hz posts an order of two plans by product code
    response = api_as("am_hz").post(
        "/orders",
        {"customer": people["hz"].pk, "product": "plan-129", "quantity": 2, "channel": "visit"},
    )
    # then the order is 2 × 129 at the product's margin rate, sold by him, with its ticket
    assert response.status_code == 201
    out = response.json()
    assert out["quantity"] == 2 and Decimal(out["amount"]) == Decimal("258.00")
    assert Decimal(out["margin"]) == Decimal("103.20")
    assert out["sold_by"]["username"] == "am_hz" and out["channel"] == "visit"
    assert out["product"]["code"] == "plan-129" and out["customer"]["name"] == "杭州客户"
    ticket = Ticket.objects.get(pk=out["ticket_id"])
    assert ticket.kind == TicketKind.ORDER_PROCESSING and ticket.order_id == out["id"]


def test_a_given_amount_seller_and_time_are_kept(org, api_as, shop, people):
    at = datetime(2026, 3, 2, 10, tzinfo=SH)
    response = api_as("rm_east").post(
        "/orders",
        {
            "customer": people["hz"].pk,
            "product": shop["bb"].pk,
            "amount": "800",
            "sold_by": org.users["am_hz2"].pk,
            "ordered_at": at.isoformat(),
            "external_id": "ERP-1",
        },
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])
    assert order.amount == Decimal("800.00") and order.margin == Decimal("400.00")
    assert order.sold_by == org.users["am_hz2"] and order.ordered_at == at
    assert order.external_id == "ERP-1"


def test_the_same_idempotency_key_twice_makes_one_order(org, api_as, shop, people):
    api = api_as("am_hz")
    body = {"customer": people["hz"].pk, "product": "plan-129"}
    headers = {"Idempotency-Key": "order-7f3a"}
    first = api.post("/orders", body, headers=headers)
    second = api.post("/orders", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert Ticket.objects.filter(kind=TicketKind.ORDER_PROCESSING).count() == 1


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"product": "nope"}, 422, "product"),
        ({"product": "old"}, 422, "product"),
        ({"quantity": 0}, 422, "quantity"),
        ({"amount": "-1"}, 422, "amount"),
        ({"channel": "pigeon"}, 422, "channel"),
        ({"sold_by": "__am_bj__"}, 422, "sold_by"),
        ({"ordered_at": "2999-01-01T00:00:00+08:00"}, 422, "ordered_at"),
    ],
)
def test_bad_orders_are_refused_with_the_field(org, api_as, shop, people, changes, status, field):
    if changes.get("sold_by") == "__am_bj__":
        changes = {"sold_by": org.users["am_bj"].pk}  # not serving Hangzhou
    body = {"customer": people["hz"].pk, "product": "plan-129", **changes}
    response = api_as("am_hz").post("/orders", body)
    assert response.status_code == status
    assert response.json()["field"] == field
    assert not Order.objects.exists()


def test_orders_for_customers_one_cannot_see_or_without_the_permission_are_refused(
    org, api_as, shop, people
):
    # am_hz does not see Beijing's customer
    assert (
        api_as("am_hz")
        .post("/orders", {"customer": people["bj"].pk, "product": "plan-129"})
        .status_code
        == 404
    )
    # the field engineer sees Hangzhou but does not sell
    refused = api_as("eng_east").post(
        "/orders", {"customer": people["hz"].pk, "product": "plan-129"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert not Order.objects.exists()


def test_the_list_is_scoped_like_customers_and_filters(org, api_as, shop, people):
    u = org.users
    hz_order, _ = order_take(actor=u["am_hz"], customer=people["hz"], product=shop["plan"])
    bj_order, _ = order_take(actor=u["am_bj"], customer=people["bj"], product=shop["bb"])
    old, _ = order_take(
        actor=u["am_hz"],
        customer=people["hz"],
        product=shop["bb"],
        ordered_at=datetime(2025, 1, 5, 9, tzinfo=SH),
    )
    # am_hz sees his branch's orders, not Beijing's
    mine = api_as("am_hz").get("/orders").json()
    assert {o["id"] for o in mine["items"]} == {hz_order.pk, old.pk}
    assert api_as("am_hz").get(f"/orders/{bj_order.pk}").status_code == 404
    # the North region manager sees only Beijing's; the administrator all
    assert [o["id"] for o in api_as("rm_north").get("/orders").json()["items"]] == [bj_order.pk]
    assert len(api_as("admin").get("/orders").json()["items"]) == 3
    # filters: product, customer, since/until, seller, status
    api = api_as("rm_east")
    assert [o["id"] for o in api.get("/orders", {"product": "bb-300m"}).json()["items"]] == [old.pk]
    assert [
        o["id"] for o in api.get("/orders", {"until": "2025-12-31T00:00:00+08:00"}).json()["items"]
    ] == [old.pk]
    assert [
        o["id"] for o in api.get("/orders", {"since": "2025-12-31T00:00:00+08:00"}).json()["items"]
    ] == [hz_order.pk]
    assert len(api.get("/orders", {"sold_by": u["am_hz"].pk}).json()["items"]) == 2
    assert len(api.get("/orders", {"customer": people["bj"].pk}).json()["items"]) == 0
    assert len(api.get("/orders", {"status": "fulfilled"}).json()["items"]) == 0
    paged = api.get("/orders", {"page_size": 1}).json()
    assert len(paged["items"]) == 1 and paged["has_next"]
    assert api.get("/orders", {"product": "nope"}).json()["field"] == "product"


def test_the_openapi_documents_taking_and_listing_orders(org, api_as):
    schema = api_as("am_hz").get("/openapi.json").json()
    orders = schema["paths"]["/api/v1/orders"]
    assert {"get", "post"} <= set(orders)
    assert "Idempotency-Key" in {p["name"] for p in orders["post"]["parameters"]}
    assert "201" in orders["post"]["responses"]
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/products"])
    assert {"get", "patch"} <= set(schema["paths"]["/api/v1/products/{ref}"])
