"""The bulk reads of attribution, as integer arrays (``core.arrays.int_rows``: one query,
one string parsed by numpy, whatever the number of rows).

* ``touch_rows``: a campaign's touches — its contacts on the timeline that reached the
  customer (sent, delivered, opened, answered, a call or visit with its outcome, a
  next-best-action proposal accepted or declined, a portal view or a counter contact tied to
  the campaign), without failed sends and unanswered calls.
* ``order_rows``: the orders that may convert for a campaign (not cancelled, of its offers'
  products when it has offers).

Times are seconds since the epoch (``Epoch``, the one expression that differs between SQLite
and PostgreSQL); money is in cents.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Case, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Round

from yiti.core.arrays import int_rows
from yiti.customers.choices import OrderStatus
from yiti.customers.models import Order
from yiti.engagement.choices import Direction, InteractionChannel, Outcome
from yiti.engagement.models import Interaction

CHANNELS: tuple[str, ...] = tuple(InteractionChannel.values)
NOT_A_TOUCH = (Outcome.FAILED, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER, Outcome.REFUSED)

# columns of touch_rows and order_rows
T_ID, T_CUSTOMER, T_AT, T_CHANNEL, T_UNIT, T_ACTOR = range(6)
O_ID, O_CUSTOMER, O_AT, O_PRODUCT, O_AMOUNT, O_MARGIN = range(6)


class Epoch(Func):
    """Seconds since the epoch of a datetime column, as an integer."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "unixepoch(%(expressions)s)"
            if sqlite3.sqlite_version_info >= (3, 38)
            else "CAST(strftime('%%s', %(expressions)s) AS INTEGER)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint",
            **extra,
        )


def _channel_code() -> Case:
    return Case(
        *[When(channel=c, then=Value(i)) for i, c in enumerate(CHANNELS)],
        default=Value(len(CHANNELS)),
        output_field=IntegerField(),
    )


def _made_by() -> Case:
    """The unit recorded as making the contact: none for the customer's own answers and
    visits without a user (a reply by link, a portal view) — they follow the campaign, and
    the timeline records the customer's unit there, not the sender's."""
    return Case(
        When(direction=Direction.INBOUND, actor__isnull=True, then=Value(None)),
        default=F("unit_id"),
        output_field=IntegerField(),
    )


def touches_qs(
    campaign_id: int, *, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[Interaction]:
    qs = Interaction.objects.filter(campaign_id=campaign_id).exclude(outcome__in=NOT_A_TOUCH)
    if start is not None:
        qs = qs.filter(occurred_at__gte=start)
    if end is not None:
        qs = qs.filter(occurred_at__lt=end)
    return qs


def touch_rows(
    campaign_id: int, *, start: datetime | None = None, end: datetime | None = None
) -> np.ndarray:
    """``(n, 6)``: id, customer, epoch, channel code (``CHANNELS``), unit that made it (0:
    none, see ``_made_by``), actor (0: none), in no particular order."""
    qs = (
        touches_qs(campaign_id, start=start, end=end)
        .order_by()
        .annotate(at=Epoch(F("occurred_at")), ch=_channel_code(), made_by=_made_by())
        .values_list("id", "customer_id", "at", "ch", "made_by", "actor_id")
    )
    return int_rows(qs, 6)


def order_rows(
    *,
    products: Sequence[int],
    start: datetime,
    end: datetime,
    customers_of_campaign: int | None = None,
) -> np.ndarray:
    """``(n, 6)``: id, customer, epoch, product, amount and margin in cents, of the orders
    placed in ``[start, end)`` that are not cancelled (of ``products`` unless empty; of the
    customers the campaign touched when ``customers_of_campaign`` is given)."""
    qs = Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end).exclude(
        status=OrderStatus.CANCELLED
    )
    if products:
        qs = qs.filter(product_id__in=list(products))
    if customers_of_campaign is not None:
        qs = qs.filter(
            customer_id__in=touches_qs(customers_of_campaign).values("customer_id").distinct()
        )
    rows = (
        qs.order_by()
        .annotate(
            at=Epoch(F("ordered_at")),
            cents=Round(F("amount") * 100),
            margin_cents=Round(F("margin") * 100),
        )
        .values_list("id", "customer_id", "at", "product_id", "cents", "margin_cents")
    )
    return int_rows(rows, 6)
