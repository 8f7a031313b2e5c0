"""API of the product catalogue and orders (mounted at /api/v1: /products, /orders).

Products are read by every signed-in caller and changed by holders of ``product.manage``
(administrators, campaign managers). Orders are listed scoped like customers (the caller sees
the orders of the customers he sees). Taking an order (``POST /orders``) opens the service's
order-processing ticket, so that operation belongs to the service app: it adds itself to this
router in its ``AppConfig.ready`` (``yiti.service.api_orders``), as it adds its panel to the
customer page, because this app may not import service (the layer rule).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.core.schema_types import QueryDateTime
from yiti.customers import selectors, services
from yiti.customers.choices import OrderStatus, ProductCategory
from yiti.customers.models import Order, Product
from yiti.org.api import UnitRef, UserRef

router = Router(tags=["products and orders"])


# --- schemas --------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    code: str
    name: str
    category: str
    price: Decimal
    margin_rate: Decimal = Field(description="Share of the price that is margin (0..1).")
    unit_margin: Decimal = Field(description="Margin of one unit in yuan: price × margin rate.")
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(
            id=product.pk,
            code=product.code,
            name=product.name,
            category=product.category,
            price=product.price,
            margin_rate=product.margin_rate,
            unit_margin=product.unit_margin,
            active=product.active,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )


class ProductPage(Schema):
    items: list[ProductOut]
    page: int
    page_size: int
    has_next: bool


class ProductQuery(Schema):
    q: str = Field("", max_length=100, description="Code or name contains.")
    category: ProductCategory | None = None
    active: Literal["true", "false", "all"] = Field(
        "true", description="true (on sale, the default), false (deactivated) or all."
    )
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ProductIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40, description="Lowercase letters, digits, - and _; unique.")
    name: str = Field(max_length=120)
    category: ProductCategory
    price: Decimal = Field(description="List price of one unit in yuan, at least 0.")
    margin_rate: Decimal | None = Field(None, description="0..1; or give unit_margin.")
    unit_margin: Decimal | None = Field(None, description="Margin of one unit, at most the price.")
    active: bool = True


class ProductPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=120)
    category: ProductCategory | None = None
    price: Decimal | None = None
    margin_rate: Decimal | None = None
    unit_margin: Decimal | None = None
    active: bool | None = Field(None, description="false deactivates: no longer offered.")


class CustomerRef(Schema):
    id: int
    name: str


class ProductRef(Schema):
    id: int
    code: str
    name: str


class OrderOut(Schema):
    id: int
    customer: CustomerRef
    product: ProductRef
    quantity: int
    amount: Decimal
    margin: Decimal
    channel: str
    status: str
    ordered_at: datetime
    sold_by: UserRef | None
    unit: UnitRef | None
    external_id: str | None
    created_at: datetime

    @classmethod
    def fields_of(cls, order: Order) -> dict[str, Any]:
        return {
            "id": order.pk,
            "customer": CustomerRef(id=order.customer_id, name=order.customer.name),
            "product": ProductRef(
                id=order.product_id, code=order.product.code, name=order.product.name
            ),
            "quantity": order.quantity,
            "amount": order.amount,
            "margin": order.margin,
            "channel": order.channel,
            "status": order.status,
            "ordered_at": order.ordered_at,
            "sold_by": UserRef.of(order.sold_by),
            "unit": UnitRef.of(order.unit) if order.unit else None,
            "external_id": order.external_id,
            "created_at": order.created_at,
        }

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(**cls.fields_of(order))


class OrderPage(Schema):
    items: list[OrderOut]
    page: int
    page_size: int
    has_next: bool


class OrderQuery(Schema):
    customer: int | None = Field(None, description="Only this customer's orders (id).")
    product: str | None = Field(None, max_length=40, description="Product id or code.")
    status: OrderStatus | None = None
    since: QueryDateTime | None = Field(None, description="Ordered at or after.")
    until: QueryDateTime | None = Field(None, description="Ordered before.")
    sold_by: int | None = Field(None, description="Sold by this user (id).")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


# --- helpers --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# --- products -------------------------------------------------------------------------------


@router.get("/products", response=ProductPage, summary="The product catalogue")
def products_list(request: HttpRequest, query: Query[ProductQuery]) -> ProductPage:
    filters = selectors.ProductFilters.from_mapping(
        {"q": query.q, "category": query.category or "", "active": query.active}
    )
    page = paginate(selectors.product_list(filters), page=query.page, size=query.page_size)
    return ProductPage(
        items=[ProductOut.of(p) for p in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post("/products", response={201: ProductOut}, summary="Add a product to the catalogue")
def products_create(request: HttpRequest, payload: ProductIn) -> Status[ProductOut]:
    product = services.product_create(
        actor=_user(request),
        code=payload.code,
        name=payload.name,
        category=payload.category,
        price=payload.price,
        margin_rate=payload.margin_rate,
        unit_margin=payload.unit_margin,
        active=payload.active,
    )
    return Status(201, ProductOut.of(product))


@router.get("/products/{ref}", response=ProductOut, summary="One product, by id or code")
def products_detail(request: HttpRequest, ref: str) -> ProductOut:
    return ProductOut.of(selectors.product_get(ref))


@router.patch("/products/{ref}", response=ProductOut, summary="Change or deactivate a product")
def products_update(request: HttpRequest, ref: str, payload: ProductPatch) -> ProductOut:
    product = selectors.product_get(ref)
    changes = payload.model_dump(exclude_unset=True)
    for required in ("code", "name", "category", "price"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(
                _("This field cannot be empty."), field=required, code="required"
            )
    product = services.product_update(actor=_user(request), product=product, **changes)
    return ProductOut.of(product)


# --- orders ---------------------------------------------------------------------------------


@router.get("/orders", response=OrderPage, summary="Orders of the customers you may see")
def orders_list(request: HttpRequest, query: Query[OrderQuery]) -> OrderPage:
    product_id = None
    if query.product:
        try:
            product_id = selectors.product_get(query.product).pk
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="product", code="unknown_product") from exc
    filters = selectors.OrderFilters(
        customer_id=query.customer,
        product_id=product_id,
        status=query.status or "",
        since=query.since,
        until=query.until,
        sold_by_id=query.sold_by,
    )
    page = paginate(
        selectors.order_list(_user(request), filters), page=query.page, size=query.page_size
    )
    return OrderPage(
        items=[OrderOut.of(o) for o in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.get("/orders/{order_id}", response=OrderOut, summary="One order")
def orders_detail(request: HttpRequest, order_id: int) -> OrderOut:
    return OrderOut.of(selectors.order_get_for(_user(request), order_id))
