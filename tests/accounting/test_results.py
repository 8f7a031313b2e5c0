"""Unit × product accounting: revenue and margin per unit and product, attributed campaign
credit, campaign cost and cost to serve, rolled up the org tree, scoped, exported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.accounting.conftest import bj, credit, order
from yiti.accounting import selectors, services
from yiti.accounting.errors import AccountingErrorCode
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.service.services import ticket_create

DEC = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def book(world, make_campaign):
    """November: 杭州 sold broadband twice and a plan once, 宁波 broadband once; a campaign
    credit splits one 杭州 order with marketing; a materials line of 宁波; a repair ticket
    about a 杭州 broadband order and a consultation in 宁波."""
    org = world.org
    c = world.customers
    o1 = order(c[0], world.broadband, amount=960, margin=384, at=bj(2026, 11, 3, 10), unit=org.hz)
    order(c[1], world.broadband, amount=960, margin=384, at=bj(2026, 11, 4, 10), unit=org.hz)
    order(c[2], world.plan, amount=129, margin=51.6, at=bj(2026, 11, 5, 10), unit=org.hz)
    order(c[6], world.broadband, amount=960, margin=384, at=bj(2026, 11, 6, 10))  # 宁波's customer
    order(c[3], world.broadband, amount=960, margin=384, at=bj(2026, 10, 31, 10), unit=org.hz)
    order(
        c[4],
        world.broadband,
        amount=960,
        margin=384,
        at=bj(2026, 11, 7),
        unit=org.hz,
        status="cancelled",
    )
    campaign = make_campaign(units=[org.hz, org.nb])
    credit(o1, campaign, org.hz, share=0.5)
    credit(o1, campaign, org.marketing, share=0.5)
    services.cost_line_add(
        actor=org.users["cm"],
        campaign=campaign,
        unit=org.nb,
        kind="materials",
        description="海报",
        unit_cost="300",
        incurred_on=date(2026, 11, 2),
    )
    ticket_create(
        actor=None,
        customer=c[0],
        kind="repair",
        subject="断网",
        order=o1,
        opened_at=bj(2026, 11, 8),
    )
    ticket_create(
        actor=None, customer=c[7], kind="consultation", subject="咨询", opened_at=bj(2026, 11, 9)
    )
    return campaign


def _row(results, unit):
    return next(r for r in results.units if r.unit == unit)


def test_units_roll_up_and_products_add_up(world, book):
    org = world.org
    r = selectors.results_for(org.users["admin"], start=DEC[0], end=DEC[1])
    hz, nb, east = _row(r, org.hz), _row(r, org.nb), _row(r, org.east)
    assert hz.own.revenue == Decimal("2049.00") and hz.own.orders == 3
    assert hz.own.margin == Decimal("819.60")
    assert hz.own.credit_margin == Decimal("192.00")
    assert hz.own.cost_to_serve == Decimal("40.00")  # one repair ticket at the default 40
    assert nb.own.revenue == Decimal("960.00")  # the order without a unit: its customer's unit
    assert nb.own.campaign_cost == Decimal("300.00")
    assert nb.own.cost_to_serve == Decimal("5.00")  # a consultation
    # the region is the sum of its branches; the company of everything
    assert east.total.revenue == Decimal("3009.00")
    assert east.total.contribution == east.total.margin - Decimal("345.00")
    company = _row(r, org.company)
    assert company.total.credit_margin == Decimal("384.00")  # 杭州 192 + 市场部 192
    assert r.total.revenue == Decimal("3009.00")
    products = {p.code if p else None: f for p, f in r.products}
    assert products["bb-300m"].revenue == Decimal("2880.00")
    assert products["bb-300m"].campaign_cost == Decimal("300.00")  # the campaign's product
    assert products["bb-300m"].cost_to_serve == Decimal("40.00")
    assert products[None].cost_to_serve == Decimal("5.00")  # not about an order
    assert hz.products[world.plan.pk].revenue == Decimal("129.00")


def test_region_manager_sees_his_region_only(world, book):
    org = world.org
    east = selectors.results_for(org.users["rm_east"], start=DEC[0], end=DEC[1])
    assert {r.unit.code for r in east.units} == {"east", "hz", "nb"}
    assert east.total.revenue == Decimal("3009.00")
    north = selectors.results_for(org.users["rm_north"], start=DEC[0], end=DEC[1])
    assert north.total.revenue == 0
    with pytest.raises(Exception) as exc:
        selectors.results_for(org.users["rm_north"], start=DEC[0], end=DEC[1], unit=org.hz)
    assert getattr(exc.value, "code", "") == AccountingErrorCode.UNIT_NOT_VISIBLE
    fin = selectors.results_for(org.users["fin"], start=DEC[0], end=DEC[1])
    assert len(fin.units) == 8  # the whole tree, the service centre included
    for username in ("am_hz", "cm", "svc_east"):
        with pytest.raises(PermissionDenied):
            selectors.results_for(org.users[username], start=DEC[0], end=DEC[1])


def test_period_is_validated(world):
    admin = world.org.users["admin"]
    with pytest.raises(ValidationFailed) as exc:
        selectors.results_for(admin, start=date(2026, 11, 2), end=date(2026, 11, 1))
    assert exc.value.code == AccountingErrorCode.INVALID_PERIOD
    with pytest.raises(ValidationFailed) as exc:
        selectors.results_for(admin, start=date(2020, 1, 1), end=date(2026, 1, 1))
    assert exc.value.code == AccountingErrorCode.PERIOD_TOO_LONG


def test_page_and_xlsx_export(world, book, as_user):
    rm = as_user("rm_east")
    page = rm.get("/accounting/", {"start": "2026-11-01", "end": "2026-11-30"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "杭州分公司" in html and "北京分公司" not in html and "¥3,009.00" in html
    export = rm.get("/accounting/export.xlsx", {"start": "2026-11-01", "end": "2026-11-30"})
    assert export.status_code == 200
    wb = load_workbook(BytesIO(export.content))
    units = wb.worksheets[0]
    names = [row[0].value for row in units.iter_rows(min_row=3)]
    assert names == ["华东片区", "杭州分公司", "宁波分公司"]
    assert units.cell(row=3, column=3).value == pytest.approx(3009.0)
    assert len(wb.worksheets) == 3
    # an account manager lands on his scorecard instead
    assert as_user("am_hz").get("/accounting/").url.endswith("/accounting/scorecards/")
    bad = rm.get("/accounting/", {"start": "2026-11-30", "end": "2026-11-01"})
    assert bad.status_code == 422


def test_query_count_does_not_grow_with_the_book(world, book):
    """Set-based: the same number of queries for twice the orders, tickets and units."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yiti.org.services import unit_create

    admin = world.org.users["admin"]
    selectors.results_for(admin, start=DEC[0], end=DEC[1])  # the user's scope cached
    with CaptureQueriesContext(connection) as first:
        selectors.results_for(admin, start=DEC[0], end=DEC[1])
    sz = unit_create(name="苏州分公司", code="sz", kind="branch", parent=world.org.east)
    for i, c in enumerate(world.customers):
        order(c, world.plan, amount=129, margin=50, at=bj(2026, 11, 10 + i), unit=sz)
        ticket_create(
            actor=None, customer=c, kind="consultation", subject="问", opened_at=bj(2026, 11, 20)
        )
    with CaptureQueriesContext(connection) as second:
        r = selectors.results_for(admin, start=DEC[0], end=DEC[1])
    assert len(second.captured_queries) == len(first.captured_queries)
    assert next(u for u in r.units if u.unit == sz).own.orders == 8


def test_stored_days_give_the_same_results_and_a_new_cost_unbuilds_its_day(world, book):
    """Given November built day by day (as the nightly job does), the page's figures are the
    same as computed live; a cost line entered for a built day counts at once."""
    from yiti.accounting import daily
    from yiti.accounting.models import DailyResult, ResultDay

    admin = world.org.users["admin"]
    live = selectors.results_for(admin, start=DEC[0], end=DEC[1])
    assert daily.days_build(start=DEC[0], end=DEC[1]) == 30
    assert ResultDay.objects.count() == 30 and DailyResult.objects.exists()
    stored = selectors.results_for(admin, start=DEC[0], end=DEC[1])
    assert stored.total.as_dict() == live.total.as_dict()
    assert {r.unit.code: r.total.as_dict() for r in stored.units} == {
        r.unit.code: r.total.as_dict() for r in live.units
    }
    services.cost_line_add(
        actor=world.org.users["cm"],
        campaign=book,
        unit=world.org.hz,
        kind="other",
        description="补录",
        unit_cost="50",
        incurred_on=date(2026, 11, 15),
    )
    assert not ResultDay.objects.filter(day=date(2026, 11, 15)).exists()
    after = selectors.results_for(admin, start=DEC[0], end=DEC[1])
    assert after.total.campaign_cost == live.total.campaign_cost + Decimal("50.00")
    # the nightly job builds the last week again, today never
    assert daily.nightly(now=bj(2026, 11, 20, 2, 40)) == 7
    assert ResultDay.objects.filter(day=date(2026, 11, 15)).exists()
    assert selectors.results_for(admin, start=DEC[0], end=DEC[1]).total.as_dict() == (
        after.total.as_dict()
    )
