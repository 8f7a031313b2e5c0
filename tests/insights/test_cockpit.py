"""The management cockpit: every figure against the hand-computed answer for the small book of
test_rollups.py, every number agreeing with the list it drills to, the scope of each role, and
a page whose query count does not grow with the data."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.insights.test_rollups import _contacts, bj, build_cockpit_book
from yiti.customers.models import Customer
from yiti.insights.cockpit import Chart, cockpit_figures, cockpit_query
from yiti.insights.rollups import rollups_rebuild
from yiti.service.models import Ticket

PERIOD = {"start": "2026-03-02", "end": "2026-03-15"}


@pytest.fixture
def book(org):
    book = build_cockpit_book(org)
    rollups_rebuild()
    return book


def _client(org: Any, username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def _charts(org: Any, username: str, unit: Any, **period: str) -> dict[str, Chart]:
    q = cockpit_query(org.users[username], unit_id=unit.pk, **(period or PERIOD))
    return {c.key: c for c in cockpit_figures(q)}


def _table(chart: Chart) -> list[list[Any]]:
    return chart.table()[1]


def test_the_figures_of_region_east_are_the_hand_computed_ones(org, book):
    charts = _charts(org, "analyst", org.east)

    # funnel: hz1, hz2 and nb1 were planned; two sent and delivered; hz1 converted for ¥960
    assert _table(charts["funnel"]) == [
        ["春季宽带", 3, 2, 2, 1, 1, 1, 50.0, 960.0, 384.0, 192000.0]
    ]
    # complaints: one of each class; two about the campaign, one about none
    complaints = charts["complaints"]
    by_class = {s.key: sum(v or 0 for v in s.values) for s in complaints.series}
    assert by_class == {"offer_design": 1, "staff_conduct": 1, "fulfilment": 1}
    assert _table(complaints) == [["春季宽带", 1, 0, 1, 2], ["No campaign", 0, 1, 0, 1]]
    # SLA: complaints 3 opened, 1 resolved in time, 1 breached; the repair in time
    assert _table(charts["sla"]) == [
        ["Repair / fault", 1, 1, 1, 0, 100.0],
        ["Complaint", 3, 1, 1, 1, 50.0],
    ]
    # satisfaction: overall CSAT 5 and 3 (one satisfied), NPS 10 and 6 (0); sales 4; service 2
    assert _table(charts["satisfaction"]) == [
        ["Overall", 2, 4.0, 50.0, 2, 0.0],
        ["Sales", 1, 4.0, 100.0, 0, None],
        ["Service", 1, 2.0, 0.0, 0, None],
    ]
    # pressure: 3 customers × 2 whole weeks; week 1 hz1 3, nb1 1; week 2 hz1 1, hz2 2
    pressure = charts["pressure"].series[0].values
    assert list(pressure[:4]) == [2, 2, 1, 1] and sum(pressure) == 6
    # tiers: hz1 new → most valuable, hz2 most growable → standard; hz1 is at risk
    assert sorted(map(tuple, _table(charts["tiers"]))) == [
        ("Most growable → Standard", 1),
        ("New → Most valuable", 1),
    ]
    assert "1 customers are most valuable, 1 of them at risk" in charts["tiers"].note
    # care: two first calls (one on time, one late), one satisfaction call escalated
    assert _table(charts["care"]) == [
        ["Follow-up call", 2, 1, 1, 0, 0, 50.0],
        ["Satisfaction call", 1, 0, 0, 1, 0, 0.0],
    ]


def test_the_company_adds_up_its_regions(org, book):
    company = _charts(org, "analyst", org.company)
    north = _charts(org, "analyst", org.north)
    # Beijing's consultation breached its SLA; its survey answer was a 1
    assert _table(north["sla"]) == [["Consultation", 1, 1, 0, 1, 0.0]]
    assert [row[0] for row in _table(company["sla"])] == [
        "Consultation",
        "Repair / fault",
        "Complaint",
    ]
    assert _table(company["satisfaction"])[0][:2] == ["Overall", 3]
    # bj1 was sent the campaign too: four planned in the company
    assert _table(company["funnel"])[0][1:3] == [4, 3]


def _links(chart: Chart) -> list[tuple[int, str]]:
    """(number, drill link) of every count in a chart: table cells and bars."""
    out = [
        (cell.value, cell.link)
        for row in chart.rows
        for cell in row
        if cell.link and isinstance(cell.value, int) and "/insights/records/" in cell.link
    ]
    for series in chart.series:
        if chart.key in ("complaints", "pressure", "tiers", "care"):
            out += [
                (int(v or 0), link)
                for v, link in zip(series.values, series.links, strict=True)
                if link and v
            ]
    return out


@pytest.mark.parametrize("unit_name", ["east", "company", "hz"])
def test_every_number_agrees_with_the_list_it_drills_to(org, book, unit_name):
    client = _client(org, "analyst")
    charts = _charts(org, "analyst", getattr(org, unit_name))
    checked = 0
    for chart in charts.values():
        for number, link in _links(chart):
            page = client.get(link).content.decode()
            total = re.search(r'id="records-total">(\d+) record', page)
            assert total, link
            assert int(total.group(1)) == number, (chart.key, link)
            checked += 1
    assert checked >= 10


def test_a_bar_drills_to_the_complaints_of_that_day_and_class(org, book):
    complaints = _charts(org, "analyst", org.east)["complaints"]
    staff = next(s for s in complaints.series if s.key == "staff_conduct")
    day = staff.values.index(1)
    page = _client(org, "analyst").get(staff.links[day]).content.decode()
    assert "complaint t2" in page and "complaint t1" not in page
    assert "宁波分公司" in page


def test_a_region_manager_sees_only_his_region(org, book):
    client = _client(org, "rm_north")
    page = client.get("/insights/").content.decode()
    assert "华北片区" in page and "华东片区" not in page
    assert client.get(f"/insights/?unit={org.east.pk}").status_code == 404
    assert client.get(f"/insights/records/tickets/?unit={org.east.pk}").status_code == 404
    north = client.get(f"/insights/?unit={org.north.pk}&start=2026-03-01&end=2026-03-15")
    assert "Consultation" in north.content.decode()


@pytest.mark.parametrize("username", ["am_hz", "svc_east", "cm", "fin"])
def test_other_roles_have_no_cockpit(org, book, username):
    assert _client(org, username).get("/insights/").status_code == 403


def test_the_page_draws_charts_with_the_vendored_library_and_a_table_each(org, book):
    page = _client(org, "analyst").get("/insights/", PERIOD).content.decode()
    assert "/static/vendor/echarts/echarts.min.js" in page
    assert "cdn" not in page.lower()
    assert page.count("data-cockpit-chart=") == 7
    assert page.count('<details class="cockpit-table">') == 7
    assert 'id="nav-cockpit"' in page


def test_changing_the_unit_with_htmx_swaps_the_charts_only(org, book):
    response = _client(org, "analyst").get(
        "/insights/", {"unit": org.north.pk, **PERIOD}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body and 'id="cockpit-filters"' in body
    assert "华北片区 and the units below it, 2026-03-02 to 2026-03-15." in body


def test_a_quick_period_ends_today(org):
    q = cockpit_query(org.users["analyst"], days="7", start="2020-01-01", today=date(2026, 3, 15))
    assert (q.start, q.end, q.grain) == (date(2026, 3, 9), date(2026, 3, 15), "day")
    q = cockpit_query(org.users["analyst"], start="2025-03-16", end="2026-03-15")
    assert q.grain == "month" and len(q.buckets()) == 13


def test_the_page_query_count_does_not_grow_with_the_data(org, book):
    client = _client(org, "analyst")
    client.get("/insights/", PERIOD)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/insights/", PERIOD).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    assert 5 < before < 30  # a handful of small queries over the rollups
    # when the book grows by twenty customers with complaints and contacts on other days
    for i in range(20):
        customer = Customer.objects.create(name=f"温州{i}", unit=org.hz)
        Ticket.objects.create(
            customer=customer,
            kind="complaint",
            complaint_class="fulfilment",
            subject="x",
            unit=org.east,
            opened_at=bj(2026, 3, 5 + i % 7, 10),
        )
        _contacts(customer, bj(2026, 3, 10, 9))
    rollups_rebuild()
    # then the page asks the same number of questions
    assert count() == before


def test_each_chart_exports_its_table_as_xlsx(org, book):
    response = _client(org, "analyst").get(
        "/insights/export/sla.xlsx", {"unit": org.east.pk, **PERIOD}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="yiti-sla-east-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1][:2] == ["Unit", "华东片区"]
    assert ["Complaint", 3, 1, 1, 1, 50] in [row[:6] for row in rows]


def test_the_api_answers_the_same_figures_in_scope(org, book):
    from yiti.org.services import token_create

    _token, raw = token_create(user=org.users["rm_east"], name="cockpit")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get("/api/v1/insights/cockpit/sla", PERIOD)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit"]["name"] == "华东片区"
    assert ["Complaint", 3, 1, 1, 1, 50.0] in body["charts"][0]["rows"]
    assert client.get("/api/v1/insights/cockpit", {"unit": org.north.pk}).status_code == 404
    assert len(client.get("/api/v1/insights/cockpit", PERIOD).json()["charts"]) == 7


def test_drill_links_are_escaped_query_strings(org, book):
    page = _client(org, "analyst").get("/insights/", PERIOD).content.decode()
    links = re.findall(r'href="(/insights/records/[^"]+)"', page)
    assert links and all("&amp;" in link for link in links)
    assert html.unescape(links[0]).count("&") >= 2
