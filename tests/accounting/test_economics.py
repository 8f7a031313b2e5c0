"""Campaign economics: costs per unit from the records and lines entered by hand, revenue and
margin from attributed credit, ROI, cost per conversion, and the uplift against a holdout."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.accounting.conftest import credit, first_wave, order
from yiti.accounting import services
from yiti.accounting.economics import (
    campaign_costs,
    campaign_economics,
    uplift,
    wave_uplifts,
)
from yiti.accounting.errors import AccountingErrorCode
from yiti.campaigns import services as campaign_services
from yiti.campaigns.models import Delivery, OfferReservation
from yiti.campaigns.planning import wave_plan
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent


def test_uplift_hand_computed():
    """120 of 1,000 contacted and 80 of 1,000 held out bought: uplift 4 points,
    se = sqrt(.12·.88/1000 + .08·.92/1000) = 0.0133866, interval 4 ± 2.6237 points."""
    u = uplift(treated=1000, treated_converted=120, held_out=1000, held_out_converted=80)
    assert u is not None
    assert u.rate_treated == pytest.approx(0.12)
    assert u.rate_held_out == pytest.approx(0.08)
    assert u.diff == pytest.approx(0.04)
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.08 * 0.92 / 1000)
    assert se == pytest.approx(0.0133866, abs=1e-7)
    assert u.low == pytest.approx(0.04 - 1.959964 * se, abs=1e-6)
    assert u.high == pytest.approx(0.0662372, abs=1e-6)
    assert u.low == pytest.approx(0.0137628, abs=1e-6)
    assert u.significant
    small = uplift(treated=10, treated_converted=2, held_out=10, held_out_converted=1)
    assert small is not None and not small.significant
    assert uplift(treated=0, treated_converted=0, held_out=5, held_out_converted=1) is None


def _contacted(wave, *, at, channel=None, attempts=0):
    qs = Delivery.objects.filter(wave=wave, status="planned")
    fields = {"status": "sent", "sent_at": at}
    if channel:
        fields.update(channel=channel, status="done", attempts=attempts)
    return qs.update(**fields)


@pytest.fixture
def joint(world, make_campaign, settings):
    """A campaign of marketing (owner) with 杭州 and 宁波 taking part; wave 1 holds out half
    of the eight customers, the other four are e-mailed."""
    org = world.org
    cm = org.users["cm"]
    campaign = make_campaign(units=[org.hz, org.nb])
    wave = first_wave(campaign)
    campaign_services.wave_update(actor=cm, wave=wave, holdout_share="0.5")
    campaign_services.campaign_submit(actor=cm, campaign=campaign)
    wave_plan(actor=cm, wave=wave)
    wave.refresh_from_db()
    return campaign, wave


def test_costs_per_unit_from_the_records(world, joint):
    """E-mails are borne by marketing; a call to a 杭州 customer by 杭州; a gift reservation by
    the unit credited with the sale; lines entered by hand by their unit."""
    org = world.org
    campaign, wave = joint
    sent_at = wave.scheduled_at
    n = _contacted(wave, at=sent_at)
    assert n > 0
    # one of the contacts was a call worked twice (an outbound call of the branch)
    d = Delivery.objects.filter(wave=wave, customer__unit=org.hz).first()
    Delivery.objects.filter(pk=d.pk).update(channel="call", status="done", attempts=2)
    OfferReservation.objects.create(
        offer=world.gift_offer,
        customer=d.customer,
        unit=org.hz,
        status="reserved",
        source=f"campaign:{campaign.pk}",
    )
    services.cost_line_add(
        actor=org.users["cm"],
        campaign=campaign,
        unit=org.marketing,
        kind="materials",
        description="海报印刷",
        quantity=10,
        unit_cost="12.50",
        incurred_on=timezone.localdate(),
    )
    rows = {(r.unit_id, r.kind): r.amount for r in campaign_costs(campaign_ids=[campaign.pk])}
    emails = n - 1
    assert rows[(org.marketing.pk, "contacts")] == (Decimal("0.005") * emails).quantize(
        Decimal("0.01")
    )
    assert rows[(org.hz.pk, "contacts")] == Decimal("0.60")  # 2 attempts × 0.30
    assert rows[(org.hz.pk, "agent_time")] == Decimal("8.00")  # 2 × 4 min at 60/h
    assert rows[(org.hz.pk, "gifts")] == Decimal("199.00")
    assert rows[(org.marketing.pk, "materials")] == Decimal("125.00")


def test_revenue_roi_and_cost_per_conversion_from_credit(world, joint):
    org = world.org
    campaign, wave = joint
    services.budget_set(actor=org.users["cm"], campaign=campaign, unit=org.hz, amount="500")
    services.cost_line_add(
        actor=org.users["fin"],
        campaign=campaign,
        unit=org.hz,
        kind="other",
        description="上门礼品包装",
        unit_cost="100",
        incurred_on=timezone.localdate(),
    )
    customer = world.customers[0]
    o = order(customer, world.broadband, amount=960, margin=384, at=wave.scheduled_at, unit=org.hz)
    e = campaign_economics(campaign)
    assert e.provisional  # nothing attributed yet: no revenue from converted contacts either
    assert e.total.margin == 0
    credit(o, campaign, org.hz, share=0.75)
    credit(o, campaign, org.marketing, share=0.25)
    e = campaign_economics(campaign)
    assert not e.provisional
    hz = next(u for u in e.units if u.unit == org.hz)
    assert hz.budget == Decimal("500.00")
    assert hz.cost == Decimal("100.00")
    assert hz.margin == Decimal("288.00")
    assert hz.conversions == pytest.approx(0.75)
    assert hz.roi == pytest.approx((288 - 100) / 100)
    assert hz.cost_per_conversion == Decimal("133.33")
    assert e.total.margin == Decimal("384.00")
    assert e.total.budget_left == Decimal("400.00")


def test_provisional_revenue_from_converted_contacts(world, joint):
    org = world.org
    campaign, wave = joint
    _contacted(wave, at=wave.scheduled_at)
    d = Delivery.objects.filter(wave=wave).first()
    o = order(
        d.customer, world.broadband, amount=960, margin=384, at=wave.scheduled_at, unit=org.nb
    )
    Delivery.objects.filter(pk=d.pk).update(order=o, converted_at=o.ordered_at)
    e = campaign_economics(campaign)
    assert e.provisional
    nb = next(u for u in e.units if u.unit == org.nb)
    assert nb.margin == Decimal("384.00") and nb.conversions == 1


def test_uplift_of_the_wave_against_its_holdout(world, joint):
    """Half of the four assigned a contact bought, one of the four held out did: 50 % − 25 %."""
    from yiti.campaigns import exclusions

    campaign, wave = joint
    _contacted(wave, at=wave.scheduled_at)
    held = dict(exclusions.customers_of(wave))["holdout"].tolist()
    # intent to treat: the four not held out, also those the contact policy then excluded
    treated = [c.pk for c in world.customers if c.pk not in held]
    assert len(held) == 4 and len(treated) == 4
    by_id = {c.pk: c for c in world.customers}
    later = wave.scheduled_at + timedelta(days=2)
    for cid in treated[:2] + held[:1]:
        order(by_id[cid], world.broadband, amount=960, margin=384, at=later)
    # an order of another product or after the window does not count
    order(by_id[held[1]], world.plan, amount=129, margin=50, at=later)
    order(by_id[held[2]], world.broadband, amount=960, margin=384, at=later + timedelta(days=30))
    (w,) = wave_uplifts(campaign)
    assert w.result is not None
    assert (w.result.treated, w.result.treated_converted) == (4, 2)
    assert (w.result.held_out, w.result.held_out_converted) == (4, 1)
    assert w.result.diff == pytest.approx(0.25)


def test_budget_and_line_validation_and_audit(world, joint):
    org = world.org
    campaign, _wave = joint
    cm = org.users["cm"]
    with pytest.raises(ValidationFailed) as exc:
        services.budget_set(actor=cm, campaign=campaign, unit=org.bj, amount="10")
    assert exc.value.code == AccountingErrorCode.UNIT_NOT_IN_CAMPAIGN
    with pytest.raises(ValidationFailed) as exc:
        services.budget_set(actor=cm, campaign=campaign, unit=org.hz, amount="-1")
    assert exc.value.code == AccountingErrorCode.INVALID_AMOUNT
    with pytest.raises(ValidationFailed) as exc:
        services.cost_line_add(
            actor=cm,
            campaign=campaign,
            unit=org.hz,
            kind="materials",
            description=" ",
            unit_cost="1",
            incurred_on=timezone.localdate(),
        )
    assert exc.value.field == "description"
    with pytest.raises(PermissionDenied):
        services.budget_set(actor=org.users["am_hz"], campaign=campaign, unit=org.hz, amount="1")
    services.budget_set(actor=cm, campaign=campaign, unit=org.hz, amount="10")
    services.budget_set(actor=cm, campaign=campaign, unit=org.hz, amount="20", note="追加")
    event = AuditEvent.objects.filter(action="campaign.budget_set").latest("id")
    assert event.changes["amount"] == ["10.00", "20.00"]


def test_campaign_page_shows_economics_and_the_costs_page_edits(world, joint, as_user):
    org = world.org
    campaign, _wave = joint
    cm = as_user("cm")
    page = cm.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="economics"' in page and "Uplift against the control group" in page
    response = cm.post(
        f"/accounting/campaigns/{campaign.pk}/costs/",
        {
            "action": "line",
            "line-unit": org.nb.pk,
            "line-kind": "materials",
            "line-description": "易拉宝",
            "line-quantity": "2",
            "line-unit_cost": "80",
            "line-incurred_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    response = cm.post(
        f"/accounting/campaigns/{campaign.pk}/costs/",
        {"action": "budget", "budget-unit": org.bj.pk, "budget-amount": "5"},
    )
    assert response.status_code == 422  # 北京 is not in the campaign: not offered
    page = cm.get(f"/accounting/campaigns/{campaign.pk}/costs/").content.decode()
    assert "易拉宝" in page and "¥160.00" in page
    assert as_user("am_hz").get(f"/accounting/campaigns/{campaign.pk}/costs/").status_code == 403
