"""The Python evaluator of the segment rule language agrees with the SQL segments.

A random book of customers (profiles, orders, value scores, consent, contacts) is written
once per test; hypothesis draws random rules; for each rule the audience SQL selects
(``campaigns.segments.audience``) must be exactly the customers the Python predicate (over
the profiles ``nba.profile_load`` reads) accepts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ProductFactory
from yiti.campaigns import segments
from yiti.customers.models import ConsentState, Customer, CustomerValue, Order
from yiti.decisions import nba
from yiti.decisions.eligibility import compile_rule, unit_ids_of

CITIES = ["杭州", "宁波", "北京", ""]
INDUSTRIES = ["retail", "finance", ""]
TIERS = ["mvc", "mgc", "standard", "bz"]
CHANNELS = ["sms", "email", "call"]


@pytest.fixture
def population(org):
    rng = random.Random(7)
    products = [
        ProductFactory(code="p-plan", category="mobile_plan", price=100),
        ProductFactory(code="p-bb", category="broadband", price=600),
        ProductFactory(code="p-tv", category="value_added", price=50),
    ]
    units = [org.hz, org.nb, org.bj]
    owners = [org.users["am_hz"], org.users["am_nb"], None]
    now = timezone.now()
    today = timezone.localdate()
    people = []
    for i in range(48):
        c = Customer.objects.create(
            kind=rng.choice(["person", "organisation"]),
            name=f"c{i}",
            name_key=f"c{i}",
            status="active" if rng.random() < 0.9 else "inactive",
            unit=rng.choice(units),
            owner=rng.choice(owners),
            city=rng.choice(CITIES),
            industry=rng.choice(INDUSTRIES),
            primary_email=rng.choice(["", f"c{i}@example.com"]),
            primary_phone=rng.choice(["", f"1380000{i:04d}"]),
            since=rng.choice([None, today - timedelta(days=rng.randint(0, 2000))]),
            birth_date=rng.choice(
                [None, date(1950 + rng.randint(0, 55), rng.randint(1, 12), rng.randint(1, 28))]
            ),
            last_contact_at=rng.choice([None, now - timedelta(days=rng.uniform(0, 400))]),
        )
        for _ in range(rng.randint(0, 5)):
            Order.objects.create(
                customer=c,
                product=rng.choice(products),
                amount=Decimal(rng.randint(1, 20) * 50),
                ordered_at=now - timedelta(days=rng.uniform(0, 700)),
                channel="branch",
                status=rng.choice(["fulfilled", "fulfilled", "pending", "cancelled"]),
            )
        if rng.random() < 0.8:
            churn = round(rng.random(), 2)
            CustomerValue.objects.create(
                customer=c,
                tier=rng.choice(TIERS),
                clv=float(rng.randint(0, 20) * 100),
                expected_purchases=1,
                p_alive=1 - churn,
                churn_risk=churn,
                cost_to_serve=0,
                net_value=0,
                fit_id=1,
                computed_at=now,
            )
        for ch in CHANNELS:
            if rng.random() < 0.5:
                ConsentState.objects.create(
                    customer=c,
                    channel=ch,
                    purpose=rng.choice(["marketing", "service"]),
                    granted=rng.random() < 0.7,
                    since=now,
                )
        people.append(c.pk)
    return {
        "ids": people,
        "products": [p.pk for p in products],
        "units": [u.pk for u in units],
        "owners": [o.pk for o in owners if o],
        "now": now,
    }


def _condition(draw, ctx):
    field = draw(st.sampled_from(sorted(segments.FIELDS)))
    spec = segments.FIELDS[field]
    op = draw(st.sampled_from(spec.op_codes()))
    cond = {"field": field, "op": op}
    if field == "kind":
        cond["value"] = draw(
            st.lists(
                st.sampled_from(["person", "organisation"]), min_size=1, max_size=2, unique=True
            )
        )
    elif field == "city":
        cond["value"] = draw(
            st.lists(st.sampled_from(CITIES[:3]), min_size=1, max_size=3, unique=True)
        )
    elif field == "industry":
        cond["value"] = draw(
            st.lists(st.sampled_from(INDUSTRIES[:2]), min_size=1, max_size=2, unique=True)
        )
    elif field == "unit":
        cond["value"] = [
            str(v)
            for v in draw(
                st.lists(
                    st.sampled_from(ctx["units"] + [ctx["units"][0]]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        ]
    elif field == "owner":
        cond["value"] = [
            str(v)
            for v in draw(
                st.lists(st.sampled_from(ctx["owners"]), min_size=1, max_size=2, unique=True)
            )
        ]
    elif field == "holds_product":
        cond["value"] = [
            str(v)
            for v in draw(
                st.lists(st.sampled_from(ctx["products"]), min_size=1, max_size=2, unique=True)
            )
        ]
    elif field == "holds_category":
        cond["value"] = draw(
            st.lists(
                st.sampled_from(["mobile_plan", "broadband", "value_added", "device"]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
    elif field == "value_tier":
        cond["value"] = draw(st.lists(st.sampled_from(TIERS), min_size=1, max_size=3, unique=True))
    elif field == "consent":
        cond["value"] = draw(
            st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True)
        )
    elif field in ("has_email", "has_phone"):
        cond["value"] = draw(st.booleans())
    elif field == "churn_risk":
        cond["value"] = draw(st.sampled_from([0, 0.25, 0.5, 0.75, 1]))
    elif field == "clv":
        cond["value"] = draw(st.integers(0, 2000).map(lambda x: x // 50 * 50))
    elif field == "age":
        cond["value"] = draw(st.integers(18, 80))
    elif field in ("order_count",):
        cond["value"] = draw(st.integers(0, 4))
        cond["days"] = draw(st.sampled_from([30, 90, 365, 730]))
    elif field == "spend":
        cond["value"] = draw(st.integers(0, 40).map(lambda x: x * 50 + 25))  # never a tie
        cond["days"] = draw(st.sampled_from([30, 90, 365, 730]))
    else:  # days since order / contact, tenure: whole days (no tie at the second)
        cond["value"] = draw(st.integers(0, 2000))
    return cond


@st.composite
def rules(draw, ctx):
    n = draw(st.integers(0, 4))
    return {
        "match": draw(st.sampled_from(["all", "any"])),
        "conditions": [_condition(draw, ctx) for _ in range(n)],
    }


@pytest.mark.django_db
def test_python_eligibility_agrees_with_the_sql_segments(population):
    from django.db.models import Q  # noqa: F401  (the SQL side builds Qs)

    now = timezone.now()
    today = timezone.localdate()
    loaded = {cid: nba.profile_load(cid, now=now, longest_days=31) for cid in population["ids"]}
    from yiti.org.models import OrgUnit

    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rules(population))
    def check(rule):
        clean = segments.rules_clean(rule)
        paths = dict(OrgUnit.objects.filter(pk__in=unit_ids_of(clean)).values_list("pk", "path"))
        predicate = compile_rule(clean, paths)
        sql = set(
            segments.audience(clean).filter(pk__in=population["ids"]).values_list("pk", flat=True)
        )
        mine = {
            cid
            for cid, got in loaded.items()
            if got is not None and predicate(got.profile, now, today)
        }
        assert mine == sql, (clean, sorted(mine ^ sql))

    check()
