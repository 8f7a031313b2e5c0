"""The cockpit's rollups: the incremental refresh and the rebuild from scratch agree, days are
Beijing days, and the work does not grow into one query per row.

``cockpit_book`` is a small book with a hand-computed answer for every figure (see
test_cockpit.py). Rows are written straight through the models: the services that make them
are tested in their own apps. Times are Beijing time, in March 2026.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiti.campaigns.models import Campaign, Delivery, Segment, Wave
from yiti.care.models import (
    CareTask,
    FollowUpRule,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyTemplate,
)
from yiti.customers.models import Customer, CustomerValue, Order, Product
from yiti.decisions.models import TierChange, ValueModelFit
from yiti.engagement.models import Interaction
from yiti.insights import sql
from yiti.insights.models import (
    CareDay,
    FunnelDay,
    PressureWeek,
    RollupWatermark,
    SatisfactionDay,
    TicketDay,
    TierMoveDay,
    UnitCustomers,
)
from yiti.insights.rollups import rollups_rebuild, rollups_refresh
from yiti.service.models import Ticket

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)  # type: ignore[misc]


@dataclass
class CockpitBook:
    org: Any
    customers: dict[str, Customer]
    campaign: Campaign
    wave: Wave
    rule: FollowUpRule
    questions: dict[str, SurveyQuestion]
    fit: ValueModelFit
    tickets: dict[str, Ticket] = field(default_factory=dict)
    tasks: dict[str, CareTask] = field(default_factory=dict)


def _ticket(
    book: CockpitBook, name: str, customer: str, kind: str, opened: datetime, **kw: Any
) -> Ticket:
    ticket = Ticket.objects.create(
        customer=book.customers[customer],
        kind=kind,
        subject=f"{kind} {name}",
        unit=book.org.east,
        opened_at=opened,
        **kw,
    )
    book.tickets[name] = ticket
    return ticket


def _task(
    book: CockpitBook, name: str, source: str, customer: str, kind: str, due: datetime, **kw: Any
) -> CareTask:
    task = CareTask.objects.create(
        customer=book.customers[customer],
        rule=book.rule,
        kind=kind,
        source_at=due - timedelta(days=3),
        due_at=due,
        unit=book.org.east,
        ticket=book.tickets[source],
        **kw,
    )
    book.tasks[name] = task
    return task


def _response(book: CockpitBook, customer: str, at: datetime, scores: dict[str, int]) -> None:
    response = SurveyResponse.objects.create(
        customer=book.customers[customer],
        template=book.questions["csat"].template,
        channel="call",
        submitted_at=at,
    )
    for key, score in scores.items():
        SurveyAnswer.objects.create(response=response, question=book.questions[key], score=score)


def _contacts(customer: Customer, *days: datetime) -> None:
    for at in days:
        Interaction.objects.create(
            customer=customer, occurred_at=at, channel="call", direction="out", purpose="service"
        )


def build_cockpit_book(org: Any) -> CockpitBook:
    """East: hz1, hz2 (Hangzhou), nb1 (Ningbo); North: bj1 (Beijing)."""
    customers = {
        "hz1": Customer.objects.create(name="杭州一", unit=org.hz, owner=org.users["am_hz"]),
        "hz2": Customer.objects.create(name="杭州二", unit=org.hz),
        "nb1": Customer.objects.create(name="宁波一", unit=org.nb),
        "bj1": Customer.objects.create(name="北京一", unit=org.bj),
    }
    segment = Segment.objects.create(name="全部", rules={}, unit=org.marketing)
    campaign = Campaign.objects.create(
        code="spring",
        name="春季宽带",
        status="running",
        owner_unit=org.marketing,
        owner=org.users["cm"],
        service_unit=org.east,
        segment=segment,
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 3, 31),
        launched_at=bj(2026, 3, 1, 9),
    )
    wave = Wave.objects.create(
        campaign=campaign, number=1, name="短信", kind="broadcast", scheduled_at=bj(2026, 3, 2, 10)
    )
    rule = FollowUpRule.objects.create(name="回访", trigger="repair_resolved")
    template = SurveyTemplate.objects.create(name="满意度", code="csat")
    questions = {
        "csat": SurveyQuestion.objects.create(template=template, kind="csat", text="总体"),
        "nps": SurveyQuestion.objects.create(template=template, kind="nps", text="推荐"),
        "sales": SurveyQuestion.objects.create(
            template=template, kind="csat", text="销售", target="sales"
        ),
        "service": SurveyQuestion.objects.create(
            template=template, kind="csat", text="服务", target="service"
        ),
    }
    fit = ValueModelFit.objects.create(status="done")
    book = CockpitBook(org, customers, campaign, wave, rule, questions, fit)

    # tickets: three complaints, a repair and (in the North) a consultation
    _ticket(
        book,
        "t1",
        "hz1",
        "complaint",
        bj(2026, 3, 2, 10),
        complaint_class="offer_design",
        campaign_id=campaign.pk,
        status="resolved",
        resolved_at=bj(2026, 3, 2, 15),
        sla_state="met",
    )
    _ticket(
        book,
        "t2",
        "nb1",
        "complaint",
        bj(2026, 3, 3, 23, 30),  # 15:30 UTC: still 3 March in Beijing
        complaint_class="staff_conduct",
        status="in_progress",
        sla_state="breached",
        sla_breached_at=bj(2026, 3, 4, 8),
    )
    _ticket(
        book,
        "t3",
        "hz2",
        "repair",
        bj(2026, 3, 9, 0, 10),  # 8 March 16:10 UTC: 9 March in Beijing
        status="closed",
        resolved_at=bj(2026, 3, 9, 11),
        sla_state="met",
    )
    _ticket(
        book,
        "t4",
        "bj1",
        "consultation",
        bj(2026, 3, 5, 9),
        status="closed",
        resolved_at=bj(2026, 3, 6, 9),
        sla_state="missed",
    )
    _ticket(
        book,
        "t5",
        "hz1",
        "complaint",
        bj(2026, 3, 10, 14),
        complaint_class="fulfilment",
        campaign_id=campaign.pk,
        status="new",
        sla_state="ok",
    )

    # care calls
    _task(
        book,
        "k1",
        "t1",
        "hz1",
        "first",
        bj(2026, 3, 4, 10),
        status="done",
        completed_at=bj(2026, 3, 4, 9),
    )
    _task(
        book,
        "k2",
        "t2",
        "nb1",
        "first",
        bj(2026, 3, 5, 10),
        status="done",
        completed_at=bj(2026, 3, 6, 9),
    )
    _task(book, "k3", "t4", "bj1", "second", bj(2026, 3, 6, 10), status="open")
    _task(
        book,
        "k4",
        "t3",
        "hz2",
        "satisfaction",
        bj(2026, 3, 10, 10),
        status="escalated",
        escalated_at=bj(2026, 3, 11, 10),
    )

    # survey answers
    _response(book, "hz1", bj(2026, 3, 4, 16), {"csat": 5, "nps": 10, "sales": 4, "service": 2})
    _response(book, "nb1", bj(2026, 3, 5, 16), {"csat": 3, "nps": 6})
    _response(book, "bj1", bj(2026, 3, 5, 17), {"csat": 1})

    # contacts: week of 2 March hz1 ×3, nb1 ×1, bj1 ×4; week of 9 March hz1 ×1, hz2 ×2
    c = customers
    _contacts(c["hz1"], bj(2026, 3, 2, 9), bj(2026, 3, 4, 9), bj(2026, 3, 8, 23, 50))
    _contacts(c["nb1"], bj(2026, 3, 3, 9))
    _contacts(c["bj1"], *[bj(2026, 3, 3, h) for h in (9, 10, 11, 12)])
    _contacts(c["hz1"], bj(2026, 3, 9, 0, 5))
    _contacts(c["hz2"], bj(2026, 3, 10, 9), bj(2026, 3, 12, 9))

    # the campaign's deliveries, planned for 2 March: hz1 converts, hz2 is delivered, nb1 only
    # planned, bj1 (North) sent
    product = Product.objects.create(code="bb", name="宽带", category="broadband", price=960)
    order = Order.objects.create(
        customer=c["hz1"],
        product=product,
        amount=Decimal("960.00"),
        margin=Decimal("384.00"),
        ordered_at=bj(2026, 3, 3, 10),
        channel="online",
        unit=org.hz,
    )
    planned = bj(2026, 3, 2, 10)
    common = {"wave": wave, "campaign": campaign, "channel": "sms", "planned_for": planned}
    Delivery.objects.create(
        customer=c["hz1"],
        status="delivered",
        sent_at=planned,
        delivered_at=planned,
        opened_at=bj(2026, 3, 2, 11),
        responded_at=bj(2026, 3, 2, 12),
        converted_at=bj(2026, 3, 3, 10),
        order=order,
        **common,
    )
    Delivery.objects.create(
        customer=c["hz2"], status="delivered", sent_at=planned, delivered_at=planned, **common
    )
    Delivery.objects.create(customer=c["nb1"], status="planned", **common)
    Delivery.objects.create(customer=c["bj1"], status="sent", sent_at=planned, **common)

    # value: hz1 became most valuable on 3 March (and is at risk), hz2 fell to standard
    TierChange.objects.create(
        customer=c["hz1"], fit=fit, from_tier="", to_tier="mvc", clv=9000, at=bj(2026, 3, 3, 2)
    )
    TierChange.objects.create(
        customer=c["hz2"],
        fit=fit,
        from_tier="mgc",
        to_tier="standard",
        clv=300,
        at=bj(2026, 3, 10, 2),
    )
    for key, tier, churn in (("hz1", "mvc", 0.7), ("hz2", "standard", 0.2), ("bj1", "mvc", 0.1)):
        CustomerValue.objects.create(
            customer=c[key],
            tier=tier,
            clv=1000,
            expected_purchases=1,
            p_alive=1 - churn,
            churn_risk=churn,
            cost_to_serve=10,
            net_value=990,
            fit_id=fit.pk,
            computed_at=bj(2026, 3, 3, 2),
        )
    return book


@pytest.fixture
def cockpit_book(org) -> CockpitBook:
    return build_cockpit_book(org)


ROLLUPS = (FunnelDay, TicketDay, CareDay, SatisfactionDay, PressureWeek, TierMoveDay, UnitCustomers)
SKIP = {"id", "created_at", "updated_at"}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for model in ROLLUPS:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in SKIP]
        out[model.__name__] = sorted(
            tuple(str(v) for v in row) for row in model.objects.values_list(*names)
        )
    return out


def _change_things(book: CockpitBook) -> None:
    """What a day of work changes: a complaint resolved, a ticket backdated, a call done, a late
    contact recorded in an old week, a conversion, a tier move, a new customer."""
    t2 = book.tickets["t2"]
    t2.status = "resolved"
    t2.resolved_at = bj(2026, 3, 12, 9)
    t2.save()
    _ticket(
        book,
        "t6",
        "nb1",
        "complaint",
        bj(2026, 3, 4, 9),
        complaint_class="fulfilment",
        campaign_id=book.campaign.pk,
    )
    k3 = book.tasks["k3"]
    k3.status = "done"
    k3.completed_at = bj(2026, 3, 6, 9)
    k3.save()
    _contacts(book.customers["nb1"], bj(2026, 3, 5, 9), bj(2026, 3, 6, 9))
    d = Delivery.objects.get(customer=book.customers["hz2"])
    d.responded_at = bj(2026, 3, 4, 9)
    d.save()
    _response(book, "hz2", bj(2026, 3, 11, 10), {"csat": 4, "service": 5})
    TierChange.objects.create(
        customer=book.customers["nb1"],
        fit=book.fit,
        from_tier="",
        to_tier="mgc",
        clv=2000,
        at=bj(2026, 3, 11, 2),
    )
    Customer.objects.create(name="宁波二", unit=book.org.nb)


def _as_if_half_an_hour_ago() -> None:
    """Move the last run, and the rows it read, half an hour back (past the overlap)."""
    now = timezone.now()
    RollupWatermark.objects.update(changed_until=now - timedelta(minutes=30))
    for model in (Ticket, CareTask, SurveyResponse, Campaign):
        model.objects.update(updated_at=now - timedelta(minutes=40))


def test_the_incremental_refresh_and_the_rebuild_agree(cockpit_book):
    # given rollups brought up to date incrementally
    first = rollups_refresh()
    assert first["tickets"] == 5 and first["pressure"] == 2 and first["funnel"] == 1
    _as_if_half_an_hour_ago()
    # when a day of work changes old and new days, and the refresh runs again
    _change_things(cockpit_book)
    second = rollups_refresh()
    incremental = snapshot()
    # then only the touched days were recomputed ...
    assert second["tickets"] == 2  # 3 March (t2 resolved) and 4 March (t6)
    assert second["care"] == 1 and second["pressure"] == 1 and second["tiers"] == 1
    # ... and the result is what a rebuild from scratch computes
    rollups_rebuild()
    assert snapshot() == incremental
    # and a refresh with nothing changed since the rebuild changes nothing
    rollups_refresh()
    assert snapshot() == incremental


def test_a_refresh_with_nothing_new_recomputes_nothing(cockpit_book):
    rollups_rebuild()
    _as_if_half_an_hour_ago()
    done = rollups_refresh()
    # the running campaign is recomputed every time: answers and conversions keep arriving
    assert done == {**dict.fromkeys(done, 0), "funnel": 1}


def test_days_are_beijing_days(cockpit_book):
    rollups_rebuild()
    # opened 23:30 on 3 March and 00:10 on 9 March, Beijing time
    assert TicketDay.objects.get(kind="complaint", complaint_class="staff_conduct").day == date(
        2026, 3, 3
    )
    assert TicketDay.objects.get(kind="repair").day == date(2026, 3, 9)
    # a contact at 23:50 on Sunday 8 March is in the week of 2 March
    hz1_week1 = PressureWeek.objects.get(
        week=date(2026, 3, 2), unit=cockpit_book.org.hz, contacts=3
    )
    assert hz1_week1.customers == 1


def test_the_funnel_only_narrows_and_counts_the_conversion_revenue(cockpit_book):
    rollups_rebuild()
    hz = FunnelDay.objects.get(unit=cockpit_book.org.hz)
    assert (hz.planned, hz.sent, hz.delivered, hz.opened, hz.responded, hz.converted) == (
        2,
        2,
        2,
        1,
        1,
        1,
    )
    assert hz.revenue == Decimal("960.00") and hz.margin == Decimal("384.00")
    nb = FunnelDay.objects.get(unit=cockpit_book.org.nb)
    assert (nb.planned, nb.sent) == (1, 0)


def test_the_cockpit_funnel_is_the_campaign_pages_funnel(cockpit_book):
    """The cockpit and the campaign page count a campaign's funnel by the same rule."""
    from yiti.campaigns.models import Campaign
    from yiti.campaigns.selectors import campaign_funnel

    rollups_rebuild()
    steps = ("planned", "sent", "delivered", "opened", "responded", "converted")
    campaigns = Campaign.objects.filter(pk__in=FunnelDay.objects.values("campaign_id"))
    assert campaigns.exists()
    for campaign in campaigns:
        page = [sum(getattr(f, step) for f in campaign_funnel(campaign)) for step in steps]
        rows = FunnelDay.objects.filter(campaign=campaign)
        cockpit = [sum(getattr(r, step) for r in rows) for step in steps]
        assert cockpit == page, campaign.code


def test_customers_per_tier_and_at_risk(cockpit_book):
    rollups_rebuild()
    hz = {r.tier: r for r in UnitCustomers.objects.filter(unit=cockpit_book.org.hz)}
    assert hz["mvc"].customers == 1 and hz["mvc"].at_risk == 1
    assert hz["standard"].customers == 1 and hz["standard"].at_risk == 0
    nb = UnitCustomers.objects.get(unit=cockpit_book.org.nb)
    assert nb.tier == "" and nb.customers == 1


def test_the_refresh_does_not_grow_into_one_query_per_row(org):
    # given a small book and a book with three times as much on the same days
    def queries() -> int:
        rollups_rebuild()
        with CaptureQueriesContext(connection) as ctx:
            rollups_refresh()
        return len(ctx.captured_queries)

    build_cockpit_book(org)
    small = queries()
    for i in range(30):
        customer = Customer.objects.create(name=f"客户{i}", unit=org.hz)
        Ticket.objects.create(
            customer=customer,
            kind="repair",
            subject="x",
            unit=org.east,
            opened_at=bj(2026, 3, 9, 10),
        )
        _contacts(customer, bj(2026, 3, 10, 9), bj(2026, 3, 11, 9))
    assert queries() == small


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (
            [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5)],
            [(date(2026, 3, 2), date(2026, 3, 4)), (date(2026, 3, 5), date(2026, 3, 6))],
        ),
        ([], []),
    ],
)
def test_day_ranges_join_contiguous_days(days, expected):
    assert sql.day_ranges(days) == expected


def test_the_rebuild_command(cockpit_book, capsys):
    from django.core.management import call_command

    call_command("insights", "rebuild")
    assert '"tickets": ' in capsys.readouterr().out
    assert TicketDay.objects.exists()
    call_command("insights", "status")
    assert "tickets" in capsys.readouterr().out
