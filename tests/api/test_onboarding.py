"""A company sets Yiti up from an empty database through the API only (issue 12).

Given nothing but a superuser made with ``yiti createsuperuser`` and his token from
``yiti token create``, the administrator builds the organisation, its people, the catalogue,
the customers with their orders and earlier contacts, and the contact policy over the API;
the weekly refit scores the customers on those orders; a campaign manager plans a wave that
the imported contact history caps; and an account manager's token sees exactly his branch.
"""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.api.conftest import Api
from yiti.customers.models import Customer, CustomerValue, Order
from yiti.org.models import OrgUnit

PASSWORD = "Onboard-2026-pw"


def _token(username: str) -> str:
    out = io.StringIO()
    call_command("token", "create", username, stdout=out)
    return out.getvalue().strip()


def _at(days: int, hour: int = 10):
    """``hour``:00 Beijing time, ``days`` from today (negative: in the past)."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, hour))


def _created(response):
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_a_company_is_built_from_an_empty_database_through_the_api(monkeypatch):
    assert not OrgUnit.objects.exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", username="root", email="root@example.cn")
    admin = Api(_token("root"))

    # the organisation: a company, a region with two branches, the marketing department
    _created(admin.post("/org/units", {"name": "示例电信", "code": "hq", "kind": "company"}))
    _created(
        admin.post(
            "/org/units", {"name": "华东片区", "code": "east", "kind": "region", "parent": "hq"}
        )
    )
    for code, name in (("hz", "杭州分公司"), ("nb", "宁波分公司")):
        _created(
            admin.post(
                "/org/units", {"name": name, "code": code, "kind": "branch", "parent": "east"}
            )
        )
    _created(
        admin.post(
            "/org/units", {"name": "市场部", "code": "mkt", "kind": "department", "parent": "hq"}
        )
    )
    units = admin.get("/org/units").json()["items"]
    assert [u["code"] for u in units] == ["hq", "east", "hz", "nb", "mkt"]

    # people with roles
    for username, unit, role in (
        ("am_hz", "hz", "account_manager"),
        ("am_nb", "nb", "account_manager"),
        ("rm_east", "east", "region_manager"),
        ("cm", "mkt", "campaign_manager"),
    ):
        user = _created(
            admin.post(
                "/org/users",
                {
                    "username": username,
                    "display_name": username,
                    "password": PASSWORD,
                    "memberships": [{"unit": unit, "role": role}],
                },
            )
        )
        assert [(m["unit"]["code"], m["role"]) for m in user["memberships"]] == [(unit, role)]

    # the catalogue
    for code, name, price in (("plan-129", "畅享套餐129元", "129"), ("bb-300", "宽带300M", "99")):
        _created(
            admin.post(
                "/products",
                {
                    "code": code,
                    "name": name,
                    "category": "mobile_plan",
                    "price": price,
                    "margin_rate": "0.4",
                },
            )
        )

    # customers: six in Hangzhou, four in Ningbo, each with a phone and SMS marketing consent
    rng = random.Random(12)
    customers: dict[str, list[int]] = {"hz": [], "nb": []}
    for n in range(10):
        unit = "hz" if n < 6 else "nb"
        body = _created(
            admin.post(
                "/customers",
                {
                    "name": f"客户{n}",
                    "unit": unit,
                    "external_id": f"CRM-{n}",
                    "contacts": [{"kind": "phone", "value": f"1391234{n:04d}"}],
                },
            )
        )
        customers[unit].append(body["id"])
        _created(
            admin.post(
                f"/customers/{body['id']}/consent",
                {"channel": "sms", "purpose": "marketing", "granted": True},
            )
        )
        # a year of orders: between one and six purchases each, taken through the API
        for k in range(1 + n % 6):
            _created(
                admin.post(
                    "/orders",
                    {
                        "customer": body["id"],
                        "product": "plan-129" if k % 2 else "bb-300",
                        "quantity": 1 + rng.randrange(2),
                        "channel": "branch",
                        "ordered_at": _at(-rng.randrange(5, 360)).isoformat(),
                    },
                )
            )
    assert Order.objects.count() == sum(1 + n % 6 for n in range(10))

    # a contact made before Yiti: a marketing SMS two days ago to the first Hangzhou customer
    capped = customers["hz"][0]
    _created(
        admin.post(
            f"/customers/{capped}/interactions",
            {
                "channel": "sms",
                "direction": "out",
                "purpose": "marketing",
                "occurred_at": _at(-2).isoformat(),
                "external_ref": "legacy-1",
            },
        )
    )

    # the contact policy: one marketing contact a week, quiet from 21:00 to 09:00
    rule = _created(
        admin.post(
            "/engagement/contact-rules",
            {
                "name": "每周营销一次",
                "max_contacts": 1,
                "window_days": 7,
                "purposes": ["marketing"],
            },
        )
    )
    _created(
        admin.post(
            "/engagement/quiet-hours", {"name": "夜间免打扰", "start": "21:00", "end": "09:00"}
        )
    )

    # the weekly refit scores every customer on the orders taken above
    call_command("value", "refit", stdout=io.StringIO())
    assert CustomerValue.objects.count() == Customer.objects.count() == 10

    # the campaign manager plans an SMS wave to Hangzhou: the earlier contact caps one customer
    cm = Api(_token("cm"))
    _created(
        cm.post(
            "/campaigns/offers",
            {"code": "plan-up", "name": "套餐升级", "product": "plan-129", "benefit": "discount"},
        )
    )
    hz_id = next(u["id"] for u in units if u["code"] == "hz")
    rules = {"conditions": [{"field": "unit", "op": "in", "value": [str(hz_id)]}]}
    segment = _created(
        cm.post("/campaigns/segments", {"name": "杭州客户", "rules": rules, "unit": "mkt"})
    )
    campaign = _created(
        cm.post(
            "/campaigns",
            {
                "code": "hz-up",
                "name": "杭州套餐升级",
                "owner_unit": "mkt",
                "segment": segment["id"],
                "offers": ["plan-up"],
                "participating_units": ["hz"],
                "service_unit": "east",
                "starts_on": _at(1).date().isoformat(),
                "ends_on": _at(20).date().isoformat(),
                "priority": 5,
            },
        )
    )
    wave = _created(
        cm.post(
            f"/campaigns/{campaign['id']}/waves",
            {
                "name": "短信",
                "kind": "broadcast",
                "channels": ["sms"],
                "scheduled_at": _at(3).isoformat(),
                "message": "{name}您好，套餐升级优惠。",
            },
        )
    )
    plan = cm.post(f"/campaigns/waves/{wave['id']}/plan", {"dry_run": True})
    assert plan.status_code == 200, plan.content
    assert plan.json()["audience"] == 6
    assert plan.json()["outcomes"] == {"planned": 5, "excluded": 1}
    assert plan.json()["excluded"] == {f"cap:{rule['name']}": 1}

    # the account manager of Hangzhou sees exactly his branch's customers, and no other's
    am = Api(_token("am_hz"))
    seen = am.get("/customers", {"page_size": 200}).json()["items"]
    assert sorted(c["id"] for c in seen) == sorted(customers["hz"])
    assert am.get(f"/customers/{customers['nb'][0]}").status_code == 404
    orders = am.get("/orders", {"page_size": 200}).json()["items"]
    assert {o["customer"]["id"] for o in orders} == set(customers["hz"])
