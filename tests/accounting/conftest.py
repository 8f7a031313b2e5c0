"""Accounting fixtures: the campaign world of tests/campaigns (the org of tests/conftest.py,
products, offers and eight customers of 华东片区) and helpers to record orders and credit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from tests.campaigns.conftest import (  # noqa: F401  (fixtures)
    BJ,
    as_user,
    at_ten,
    bj,
    first_wave,
    launched,
    make_campaign,
    running,
    sign_all,
    world,
)
from yiti.customers.models import Customer, Order, Product


def order(
    customer: Customer,
    product: Product,
    *,
    amount: str | int,
    margin: str | int,
    at: datetime,
    unit=None,
    sold_by=None,
    status: str = "fulfilled",
) -> Order:
    """An order as the order services record it (set-up only)."""
    return Order.objects.create(
        customer=customer,
        product=product,
        amount=Decimal(str(amount)),
        margin=Decimal(str(margin)),
        ordered_at=at,
        channel="branch",
        unit=unit,
        sold_by=sold_by,
        status=status,
    )


def credit(order_: Order, campaign, unit, *, share: float, touch=None, channel: str = "") -> None:
    """A stored attribution credit row (what the attribution run writes)."""
    from yiti.attribution.models import Credit

    Credit.objects.create(
        order=order_,
        campaign=campaign,
        unit=unit,
        basis="touch" if touch else "agreement",
        channel=channel,
        touch=touch,
        touched_at=touch.occurred_at if touch else None,
        model="linear",
        share=share,
        revenue=(order_.amount * Decimal(str(share))).quantize(Decimal("0.01")),
        margin=(order_.margin * Decimal(str(share))).quantize(Decimal("0.01")),
        ordered_at=order_.ordered_at,
        computed_at=timezone.now(),
    )
