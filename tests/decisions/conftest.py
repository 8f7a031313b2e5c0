"""A small book of customers with orders in the database, for the refit tests.

``book(n, ...)`` creates ``n`` customers spread over Hangzhou (owned by am_hz) and Beijing
(owned by am_bj, every fifth without an account manager), and orders simulated from the
BG/NBD and Gamma-Gamma story with known parameters (days), over the two years before END.
Rows are written with ``yiti.core.bulk.insert_rows``: these are fixtures, not the behaviour
under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from tests.api.conftest import Api
from tests.decisions.simulation import simulate
from tests.factories import ProductFactory
from yiti.core.bulk import insert_rows
from yiti.core.search import search_key
from yiti.customers.models import Customer, CustomerValue, Order
from yiti.decisions import nba
from yiti.org.services import token_create

SH = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 6, 30, 23, 59, 59, tzinfo=SH)
WINDOW_DAYS = 730
TRUE_BGNBD = {"r": 1.5, "alpha": 60.0, "a": 1.2, "b": 6.0}  # alpha in days
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 300.0}  # spend per order ~ ¥100 on average
MARGIN_RATE = 0.3


@dataclass
class Book:
    customers: list[Customer]
    products: list[object]
    orders: int

    @property
    def ids(self) -> list[int]:
        return [c.pk for c in self.customers]


@pytest.fixture
def products(db):
    return [
        ProductFactory(code="plan", category="mobile_plan", price=100, margin_rate="0.3000"),
        ProductFactory(code="bb", category="broadband", price=600, margin_rate="0.3000"),
    ]


@pytest.fixture
def book(org, products):
    def make(n: int, *, seed: int = 1, without_orders: int = 0) -> Book:
        """``n`` customers with simulated orders and ``without_orders`` more with none."""
        total = n + without_orders
        start_id = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        rows = []
        for i in range(total):
            in_hz = i % 2 == 0
            unit = org.hz if in_hz else org.bj
            owner = org.users["am_hz"] if in_hz else (None if i % 5 == 1 else org.users["am_bj"])
            name = f"客户{start_id + i:05d}"
            rows.append(
                (start_id + i, name, search_key(name), unit.pk, owner.pk if owner else None)
            )
        insert_rows(Customer, ("id", "name", "name_key", "unit", "owner"), rows)
        customers = list(Customer.objects.filter(pk__gte=start_id).order_by("pk"))
        birth = np.random.default_rng(seed).uniform(0, WINDOW_DAYS - 1, n)
        sim = simulate(
            n, **TRUE_BGNBD, birth=birth, until=WINDOW_DAYS - 1, spend=TRUE_GG, seed=seed
        )
        first_day = END - timedelta(days=WINDOW_DAYS - 1)
        noon = first_day.replace(hour=12, minute=0, second=0)
        order_rows = []
        for c, t, amount in zip(
            sim.customer.tolist(), sim.time.tolist(), sim.amount.tolist(), strict=True
        ):
            at = noon + timedelta(days=int(t))
            product = products[c % 2]
            amount = round(max(amount, 0.01), 2)
            order_rows.append(
                (
                    customers[c].pk,
                    product.pk,
                    amount,
                    round(amount * MARGIN_RATE, 2),
                    at,
                    "branch",
                    "fulfilled",
                )
            )
        insert_rows(
            Order,
            ("customer", "product", "amount", "margin", "ordered_at", "channel", "status"),
            order_rows,
        )
        return Book(customers=customers, products=products, orders=len(order_rows))

    return make


@pytest.fixture(autouse=True)
def _fresh_nba_caches():
    """Each test starts and ends with the next best action's per-process caches empty."""
    nba.caches_clear()
    yield
    nba.caches_clear()


@pytest.fixture
def api_as(org):
    """``api_as("svc_east")``: an API client with a fresh token of that fixture user."""

    def make(username: str) -> Api:
        _token, raw = token_create(user=org.users[username], name="tests")
        return Api(token=raw)

    return make


def most_valuable_at_risk(customer: Customer) -> CustomerValue:
    """Scores ``customer`` most valuable (lifetime value 5,000) with a churn risk of 0.7."""
    return CustomerValue.objects.create(
        customer=customer,
        tier="mvc",
        clv=5000,
        expected_purchases=2,
        p_alive=0.3,
        churn_risk=0.7,
        cost_to_serve=100,
        net_value=4900,
        fit_id=1,
        computed_at=timezone.now(),
    )
