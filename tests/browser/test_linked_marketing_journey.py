"""Journey (scenario 8, issue 16): two branches and the marketing department run one campaign.

Marketing owns the broadband campaign, 杭州 and 宁波 take part. Wave 1 holds out a quarter of
the audience as a control group. Marketing's SMS broadcast reaches the others, 杭州's account
manager calls three of them, 宁波's visits two; four customers buy (one of them held out).
In Chromium: the campaign manager sees on the campaign page the credit per unit under the
linear model by touches, the cost, ROI and the uplift against the holdout; he switches the
model to last touch before the launch and the split changes; finance finds each unit's
result in unit × product accounting; each account manager finds his profit on his
scorecard; the pages fit a 390 px wide phone without sideways scrolling.

Set-up that the product does elsewhere (touches written by the channels, orders taken by
sales, the nightly attribution run) is done server-side here; everything the journey is
about is read and changed in the browser. Selectors are ids and data attributes: the
interface is Chinese.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_service_care_journey import sign_in, sign_out
from tests.campaigns.conftest import make_campaign, sign_all, world  # noqa: F401  (fixtures)
from yiti.accounting import services as accounting
from yiti.attribution.services import credit_recompute, plan_set
from yiti.campaigns import exclusions
from yiti.campaigns import services as campaigns
from yiti.campaigns.models import Campaign, Delivery, Wave
from yiti.campaigns.planning import wave_plan
from yiti.customers.models import Order
from yiti.engagement.models import Interaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BJ = ZoneInfo("Asia/Shanghai")
PERIOD = "start=2026-12-01&end=2026-12-31"


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)  # type: ignore[misc]


def _touch(campaign, customer, channel, at, actor=None):  # type: ignore[no-untyped-def]
    return Interaction.objects.create(
        customer=customer,
        occurred_at=at,
        channel=channel,
        direction="out",
        purpose="marketing",
        outcome="delivered" if actor is None else "reached",
        actor=actor,
        unit=customer.unit if actor is not None else None,
        campaign_id=campaign.pk,
    )


def _order(w, customer, at, *, sold_by=None, unit=None):  # type: ignore[no-untyped-def]
    return Order.objects.create(
        customer=customer,
        product=w.broadband,
        amount=Decimal("960.00"),
        margin=Decimal("384.00"),
        ordered_at=at,
        channel="visit" if sold_by else "online",
        sold_by=sold_by,
        unit=unit,
        status="fulfilled",
    )


def _units_text(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = page.locator("#attribution-panel tr[data-unit]")
    return {
        rows.nth(i).get_attribute("data-unit"): rows.nth(i).inner_text()
        for i in range(rows.count())
    }


def _fits(page, width: int = 390) -> bool:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": width, "height": 800})
    return page.evaluate("document.scrollingElement.scrollWidth") <= width


def test_two_branches_and_marketing_share_one_campaign(page, world, make_campaign):  # noqa: F811
    org = world.org
    cm = org.users["cm"]
    c = world.customers
    for customer in c[6:]:
        customer.owner = org.users["am_nb"]
        customer.save(update_fields=["owner"])

    # the campaign: marketing owns it, 杭州 and 宁波 take part; wave 1 holds out a quarter
    campaign = make_campaign("joint-bb", units=[org.hz, org.nb], channels=["sms", "email"])
    wave = campaign.waves.get(number=1)
    campaigns.wave_update(actor=cm, wave=wave, holdout_share="0.25")
    Wave.objects.filter(pk=wave.pk).update(holdout_seed=20261208)
    campaigns.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, org)
    wave_plan(actor=cm, wave=wave)
    Campaign.objects.filter(pk=campaign.pk).update(
        starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 31)
    )
    Wave.objects.filter(pk=wave.pk).update(scheduled_at=bj(2026, 12, 2, 10))
    Delivery.objects.filter(wave=wave, status="planned").update(
        status="sent", sent_at=bj(2026, 12, 2, 10), planned_for=bj(2026, 12, 2, 10)
    )
    held = set(dict(exclusions.customers_of(wave))["holdout"].tolist())
    assert len(held) == 2
    treated = [x for x in c if x.pk not in held]
    held_out = [x for x in c if x.pk in held]

    # touches: marketing's SMS to everyone treated, 杭州's calls, 宁波's visits
    for customer in treated:
        _touch(campaign, customer, "sms", bj(2026, 12, 2, 10))
    hz_treated = [x for x in treated if x.unit_id == org.hz.pk]
    nb_treated = [x for x in treated if x.unit_id == org.nb.pk]
    for customer in hz_treated[:3]:
        _touch(campaign, customer, "call", bj(2026, 12, 3, 15), actor=org.users["am_hz"])
    for customer in nb_treated[:2]:
        _touch(campaign, customer, "visit", bj(2026, 12, 4, 11), actor=org.users["am_nb"])
    # orders: two called 杭州 customers (one sold by his account manager), a visited 宁波
    # customer, and one of the held-out customers on his own
    _order(world, hz_treated[0], bj(2026, 12, 5, 10), sold_by=org.users["am_hz"], unit=org.hz)
    _order(world, hz_treated[1], bj(2026, 12, 5, 11))
    assert nb_treated
    _order(world, nb_treated[0], bj(2026, 12, 6, 10), sold_by=org.users["am_nb"], unit=org.nb)
    _order(world, held_out[0], bj(2026, 12, 6, 12))

    # the money: each unit's budget and the materials marketing paid for
    for unit, amount in ((org.marketing, "5000"), (org.hz, "2000"), (org.nb, "1000")):
        accounting.budget_set(actor=cm, campaign=campaign, unit=unit, amount=amount)
    accounting.cost_line_add(
        actor=cm,
        campaign=campaign,
        unit=org.marketing,
        kind="materials",
        description="海报与单页",
        unit_cost="800",
        incurred_on=date(2026, 12, 1),
    )
    # the owner's choice: linear over the touches; the nightly run attributes the orders
    plan_set(actor=cm, campaign=campaign, model="linear", basis="touches")
    credit_recompute(campaign=campaign, now=bj(2026, 12, 7, 2))

    # the campaign page: credit per unit, cost, ROI and the uplift against the holdout
    sign_in(page, "cm")
    page.goto(f"/campaigns/{campaign.pk}/")
    page.wait_for_selector("#attribution-panel")
    linear = _units_text(page)
    assert {"mkt", "hz"} <= set(linear)
    assert page.locator("#economics [data-econ='cost']").inner_text().startswith("¥")
    assert page.locator("#economics [data-econ='roi']").inner_text() != "—"
    assert page.locator("#econ-units tr[data-unit='mkt']").count() == 1
    uplift = page.locator("#economics [data-uplift-wave='1'] [data-uplift]")
    assert uplift.count() == 1
    # 3 of 6 treated bought against 1 of 2 held out: +0.0 points
    assert float(uplift.get_attribute("data-uplift")) == pytest.approx(3 / 6 - 1 / 2, abs=1e-4)
    assert page.locator("#economics").inner_text().count("95") >= 1

    # switching the model before the launch changes the split
    page.click("#attribution-panel a[href$='/plan/']")
    page.wait_for_selector("#plan-form")
    page.select_option("#plan-form select[name$='model']", "last_touch")
    with page.expect_navigation():
        page.click("#plan-form button[type=submit]")
    credit_recompute(campaign=campaign, now=bj(2026, 12, 7, 2, 5))  # the queued re-run
    page.goto(f"/campaigns/{campaign.pk}/")
    page.wait_for_selector("#attribution-panel")
    last = _units_text(page)
    assert last != linear
    assert _fits(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_out(page)

    # finance: each unit's result in unit × product accounting
    sign_in(page, "fin")
    page.goto(f"/accounting/?{PERIOD}")
    page.wait_for_selector("#unit-results")
    # under last touch the calls and visits of the branches earn the credit
    for unit in ("hz", "nb", "east"):
        credit = page.locator(f"#unit-results tr[data-unit='{unit}'] [data-col='credit']")
        assert credit.inner_text() not in ("¥0.00", "—"), unit
    cost = page.locator("#unit-results tr[data-unit='mkt'] [data-col='campaign_cost']")
    assert cost.inner_text() != "¥0.00"
    assert page.locator("#product-results tr[data-product='bb-300m']").count() == 1
    assert _fits(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_out(page)

    # each account manager's profit-based scorecard
    sign_in(page, "am_hz")
    page.goto(f"/accounting/scorecards/?{PERIOD}")
    row = page.locator("#scorecards tr[data-user='am_hz']")
    assert row.count() == 1
    assert row.locator("[data-col='sold']").inner_text().startswith("¥384.00")
    assert page.locator("#scorecards tr[data-user='am_hz2']").count() == 0
    assert _fits(page)
