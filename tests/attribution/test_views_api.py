"""The attribution pages and API: credit per unit under the chosen model and the agreement,
the plan form (refusals shown next to the form), explained orders for those who may see
them."""

# ruff: noqa: F811  (pytest fixtures are parameters here)
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.api.conftest import api_as  # noqa: F401 (fixture)
from tests.attribution.conftest import bj, launch, order, touch
from yiti.attribution import services
from yiti.attribution.models import AttributionPlan

pytestmark = pytest.mark.django_db


@pytest.fixture
def credited(world, joint):
    org, c = world.org, world.customers[0]
    touch(joint, c, "sms", bj(2026, 12, 1, 10))
    touch(joint, c, "call", bj(2026, 12, 3, 15), actor=org.users["am_hz"], outcome="accepted")
    placed = order(world, c, bj(2026, 12, 6, 9), amount="900.00", margin="300.00")
    services.credit_attribute(
        campaign=joint, start=bj(2026, 12, 6), end=bj(2026, 12, 7), now=bj(2026, 12, 7, 1)
    )
    return placed


def test_campaign_page_links_to_the_credit_page_which_shows_units_models_and_orders(
    world, joint, credited, as_user
):
    client = as_user("am_hz")
    campaign_page = client.get(reverse("campaigns:detail", args=[joint.pk]))
    assert campaign_page.status_code == 200
    html = campaign_page.content.decode()
    assert 'data-panel="attribution"' in html  # the "campaign" slot of the campaign page
    assert reverse("attribution:campaign", args=[joint.pk]) in html
    page = client.get(reverse("attribution:campaign", args=[joint.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-revenue="450.00"' in body  # linear: half each to 市场部 and 杭州分公司
    assert "杭州分公司" in body and "市场部" in body
    assert reverse("attribution:models", args=[joint.pk]) in body  # loaded by htmx
    models = client.get(reverse("attribution:models", args=[joint.pk]), HTTP_HX_REQUEST="true")
    split = models.content.decode()
    assert "<html" not in split and 'data-model="shapley"' in split
    assert "¥900.00" in split  # first touch: all to 市场部's SMS
    assert "<html" in client.get(reverse("attribution:models", args=[joint.pk])).content.decode()
    assert 'data-channel="call"' in body and 'data-channel="sms"' in body
    assert "50 % 杭州分公司 — Phone call on 12-03" in body
    assert f"/customers/{world.customers[0].pk}/" in body
    # the marketing department sees the aggregates but not the Hangzhou customer's order
    other = as_user("cm").get(reverse("attribution:campaign", args=[joint.pk])).content.decode()
    assert 'data-revenue="450.00"' in other
    assert "Phone call on 12-03" not in other


def test_plan_form_saves_and_refuses_shares_that_do_not_add_up(world, joint, as_user):
    org = world.org
    url = reverse("attribution:plan_edit", args=[joint.pk])
    client = as_user("cm")
    assert client.get(url).status_code == 200
    form = {
        "model": "shapley",
        "basis": "fixed",
        "touch_percent": "50",
        "lookback_days": "30",
        "half_life_days": "7",
        f"share_{org.marketing.pk}": "30",
        f"share_{org.hz.pk}": "30",
        f"share_{org.nb.pk}": "30",
    }
    refused = client.post(url, form)
    assert refused.status_code == 422
    assert "add up to 90 %; they must add up to 100 %" in refused.content.decode()
    assert not AttributionPlan.objects.filter(campaign=joint).exists()
    form[f"share_{org.nb.pk}"] = "40"
    saved = client.post(url, form)
    assert saved.status_code == 302
    plan = AttributionPlan.objects.get(campaign=joint)
    assert plan.model == "shapley" and plan.basis == "fixed"
    assert {s.unit_id: s.percent for s in plan.shares.all()} == {
        org.marketing.pk: Decimal("30.00"),
        org.hz.pk: Decimal("30.00"),
        org.nb.pk: Decimal("40.00"),
    }
    # an account manager may look, not change
    assert as_user("am_hz").get(url).status_code == 403


def test_after_launch_the_form_asks_for_a_reason(world, joint, as_user):
    launch(joint)
    client = as_user("cm")
    url = reverse("attribution:plan_edit", args=[joint.pk])
    form = {
        "model": "markov",
        "basis": "touches",
        "touch_percent": "50",
        "lookback_days": "30",
        "half_life_days": "7",
    }
    refused = client.post(url, form)
    assert refused.status_code == 422
    assert "give the reason" in refused.content.decode()
    assert client.post(url, {**form, "reason": "总部统一口径"}).status_code == 302


def test_api_credit_orders_and_plan(world, joint, credited, api_as):
    org = world.org
    credit = api_as("analyst").get(f"/attribution/campaigns/{joint.pk}/credit")
    assert credit.status_code == 200, credit.content
    body = credit.json()
    assert body["plan"]["model"] == "linear" and body["plan"]["saved"] is False
    revenue = {u["unit"]["code"]: Decimal(u["revenue"]) for u in body["units"]}
    assert revenue == {"mkt": Decimal("450.00"), "hz": Decimal("450.00"), "nb": Decimal(0)}
    assert Decimal(body["total_revenue"]) == Decimal("900.00")
    channels = {c["channel"]: Decimal(c["revenue"]) for c in body["channels"]}
    assert channels == {"sms": Decimal("450.00"), "call": Decimal("450.00")}

    hidden = api_as("cm").get(f"/attribution/campaigns/{joint.pk}/orders")
    assert hidden.json()["items"] == []
    orders = api_as("am_hz").get(f"/attribution/campaigns/{joint.pk}/orders")
    [item] = orders.json()["items"]
    assert item["order"]["id"] == credited.pk
    assert item["explanation"].startswith("50 %")
    assert sum(Decimal(c["margin"]) for c in item["credits"]) == Decimal("300.00")
    one = api_as("am_hz").get(f"/attribution/orders/{credited.pk}")
    assert one.json()[0]["explanation"] == item["explanation"]
    assert api_as("am_nb").get(f"/attribution/orders/{credited.pk}").status_code == 404

    models = api_as("analyst").get(f"/attribution/campaigns/{joint.pk}/models").json()
    assert models[0]["model"] == "first_touch"
    first = models[0]["units"]
    assert [(u["unit_id"], Decimal(u["revenue"])) for u in first] == [
        (org.marketing.pk, Decimal("900.00"))
    ]

    path = f"/attribution/campaigns/{joint.pk}/plan"
    bad = api_as("cm")._send(
        "put",
        path,
        {"model": "linear", "basis": "fixed", "shares": [{"unit": "hz", "percent": 60}]},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "shares_not_100"
    ok = api_as("cm")._send(
        "put",
        path,
        {
            "model": "last_touch",
            "basis": "mix",
            "touch_weight": "0.5",
            "shares": [{"unit": "hz", "percent": 60}, {"unit": "mkt", "percent": 40}],
        },
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["basis"] == "mix"
    denied = api_as("am_hz")._send("put", path, {"model": "linear"})
    assert denied.status_code == 403
