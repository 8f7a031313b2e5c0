"""Accounting fixtures: the campaign world of tests/campaigns (the org of tests/conftest.py,
products, offers and eight customers of 华东片区) and helpers to record orders and credit."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api.conftest import api_as  # noqa: F401  (fixture)
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
from yiti.care.models import CareTask, SurveyAnswer, SurveyResponse
from yiti.care.services import QuestionInput, followup_rule_create, survey_template_create
from yiti.customers.models import Customer, Order, Product
from yiti.decisions.models import TierChange, ValueModelFit
from yiti.engagement.models import Interaction
from yiti.service.services import ticket_create


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


NOW = bj(2026, 12, 1, 9)


@pytest.fixture
def scorecard_book(world, make_campaign):  # noqa: F811
    """In November 杭州's am_hz sold two orders (margin 484) and had a complaint and a
    satisfaction answer of 4; am_hz2 sold one (margin 300) and his call earned half of an
    order taken at the counter (192): he ranks first. am_hz owns customers 0–2."""
    org = world.org
    c = world.customers
    am, am2 = org.users["am_hz"], org.users["am_hz2"]
    o1 = order(c[0], world.broadband, amount=960, margin=384, at=bj(2026, 11, 3), sold_by=am)
    order(c[1], world.plan, amount=250, margin=100, at=bj(2026, 11, 4), sold_by=am)
    order(c[3], world.broadband, amount=750, margin=300, at=bj(2026, 11, 5), sold_by=am2)
    counter = order(c[4], world.broadband, amount=960, margin=384, at=bj(2026, 11, 6), unit=org.hz)
    campaign = make_campaign(units=[org.hz])
    touch = Interaction.objects.create(
        customer=c[4],
        occurred_at=bj(2026, 11, 2),
        channel="call",
        direction="out",
        purpose="marketing",
        actor=am2,
        unit=org.hz,
        campaign_id=campaign.pk,
    )
    credit(counter, campaign, org.hz, share=0.5, touch=touch, channel="call")
    credit(counter, campaign, org.marketing, share=0.5)
    # a most valuable customer of am_hz left the tier in November
    fit = ValueModelFit.objects.create(status="done", trigger="scheduled")
    TierChange.objects.create(
        customer=c[1], fit=fit, from_tier="mvc", to_tier="standard", clv=10, at=bj(2026, 11, 20)
    )
    # the care call after his order rated the salesperson 4 of 5
    survey = survey_template_create(
        actor=None,
        name="客服回访",
        code="order-sat",
        questions=[
            QuestionInput(kind="csat", text="The salesperson", target="sales"),
            QuestionInput(kind="csat", text="The service", target="service"),
        ],
    )
    rule = followup_rule_create(
        actor=None, name="Order call", trigger="order_fulfilled", survey_template=survey
    )
    task = CareTask.objects.create(
        customer=c[0],
        rule=rule,
        kind="satisfaction",
        order=o1,
        source_at=bj(2026, 11, 3),
        due_at=bj(2026, 11, 6),
    )
    response = SurveyResponse.objects.create(
        customer=c[0], template=survey, task=task, channel="call", submitted_at=bj(2026, 11, 7)
    )
    sales_q, service_q = survey.questions.order_by("position")
    SurveyAnswer.objects.create(response=response, question=sales_q, score=4)
    SurveyAnswer.objects.create(response=response, question=service_q, score=1)
    ticket_create(
        actor=None,
        customer=c[1],
        kind="complaint",
        complaint_class="staff_conduct",
        subject="态度差",
        staff_concerned=am,
        opened_at=bj(2026, 11, 10),
    )
    # contact coverage (after the complaint, which is a contact too): customer 0 contacted
    # last week, 1 two months ago, 2 never
    Customer.objects.filter(pk=c[0].pk).update(last_contact_at=NOW - timedelta(days=5))
    Customer.objects.filter(pk=c[1].pk).update(last_contact_at=NOW - timedelta(days=60))
    Customer.objects.filter(pk=c[2].pk).update(last_contact_at=None)
    return campaign
