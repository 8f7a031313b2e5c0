"""``POST /api/v1/orders``: sales takes an order and service gets its order-processing ticket.

The operation lives in the service app because it opens a ticket (``order_take``); it is added
to the catalogue's router (``yiti.customers.api_catalogue``, mounted at /api/v1) by
:func:`register`, called from the service app's ``AppConfig.ready`` like its panels. Retries
with the same ``Idempotency-Key`` replay the first answer (``yiti.api.idempotency``): one order.

Who may take an order: holders of ``order.take`` — account managers, region managers, service
agents (call-centre and counter sales, the next best action) and care agents (offers accepted on
a care or campaign call), and administrators — for a customer they see. Campaign managers,
analysts, finance and field engineers may not.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status
from pydantic import ConfigDict

from yiti.core.errors import NotFound, ValidationFailed
from yiti.customers import selectors as customer_selectors
from yiti.customers.api_catalogue import OrderOut
from yiti.customers.api_catalogue import router as catalogue_router
from yiti.customers.choices import SalesChannel
from yiti.org.models import User
from yiti.service.services import order_take


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer: int = Field(description="The customer (id); one you may see.")
    product: int | str = Field(description="Product id or code; an active product.")
    quantity: int = Field(1, ge=1, le=100_000)
    amount: Decimal | None = Field(
        None, description="What the customer pays; default the price × quantity."
    )
    channel: SalesChannel = SalesChannel.BRANCH
    sold_by: int | None = Field(
        None, description="The salesperson (user id) in the customer's unit scope; default you."
    )
    ordered_at: datetime | None = Field(None, description="Default now; not in the future.")
    external_id: str | None = Field(None, max_length=64, description="Unique order number.")
    note: str = Field("", max_length=2000, description="For service, on the ticket.")


class OrderTakenOut(OrderOut):
    ticket_id: int = Field(description="The order-processing ticket opened in service.")


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def orders_create(request: HttpRequest, payload: OrderIn) -> Status[OrderTakenOut]:
    user = _user(request)
    customer = customer_selectors.customer_get_for(user, payload.customer)
    try:
        product = customer_selectors.product_get(payload.product)
    except NotFound as exc:
        raise ValidationFailed(exc.message, field="product", code="unknown_product") from exc
    if not product.active:
        raise ValidationFailed(
            _("%(product)s is deactivated and no longer sold.") % {"product": product.name},
            field="product",
            code="product_inactive",
        )
    seller: User | None = None
    if payload.sold_by is not None and payload.sold_by != user.pk:
        seller = customer_selectors.sellers_for(customer).filter(pk=payload.sold_by).first()
        if seller is None:
            raise ValidationFailed(
                _("The salesperson must be a colleague serving this customer's unit."),
                field="sold_by",
                code="unknown_seller",
            )
    order, ticket = order_take(
        actor=user,
        customer=customer,
        product=product,
        quantity=payload.quantity,
        amount=payload.amount,
        channel=payload.channel,
        sold_by=seller,
        ordered_at=payload.ordered_at,
        external_id=payload.external_id,
        note=payload.note,
    )
    order = customer_selectors.order_get_for(user, order.pk)
    return Status(201, OrderTakenOut(**OrderOut.fields_of(order), ticket_id=ticket.pk))


def register() -> None:
    """Add ``POST /orders`` to the catalogue's router (once, before the API builds its URLs)."""
    if "/orders" in catalogue_router.path_operations and any(
        "POST" in op.methods for op in catalogue_router.path_operations["/orders"].operations
    ):
        return
    catalogue_router.add_api_operation(
        "/orders",
        ["POST"],
        orders_create,
        response={201: OrderTakenOut},
        summary="Take an order: the order and its order-processing ticket in service",
        tags=["products and orders"],
    )
