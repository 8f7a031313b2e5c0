"""Satisfaction reports: generated for a slot, checked number by number against the records.

The desk below is built through the service and care services with explicit timestamps:

    week Mon 2025-06-09 .. Sun 06-15 (reported on Mon 06-16), June reported on 07-05
    c1 张三  Hangzhou  repair met (06-09), called 06-10: CSAT 5, NPS 10; complaint (offer) open
                        since 06-11
    c2 李四  Ningbo    repair 06-09 → resolved 06-12, SLA missed (breached 06-09);
                        called 06-13: no answer, then CSAT 1, NPS 8 → dissatisfied → complaint
    c3 王五  Beijing   complaint (staff) 06-10 → resolved 06-11; its follow-up unreached three
                        times (06-12..14) → escalated; a repair the week before (06-03, met),
                        called 06-05: CSAT 4, NPS 8
    c1 again: a repair 06-16 (next week, still June); c2: a repair in May, called: CSAT 3, NPS 9
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from ninja import NinjaAPI
from openpyxl import load_workbook

from tests.care.conftest import sh
from yiti.api import errors
from yiti.api.auth import API_AUTH
from yiti.care.choices import TaskStatus
from yiti.care.models import CareAttempt, CareTask, SurveyAnswer, SurveyResponse
from yiti.care.reports import tasks
from yiti.care.reports.api import router
from yiti.care.reports.choices import ReportKind, SnapshotStatus
from yiti.care.reports.models import ReportSnapshot
from yiti.care.reports.periods import period_for
from yiti.care.reports.services import report_generate, report_generation_request
from yiti.care.services import care_attempt_record, followups_generate
from yiti.config.urls import urlpatterns as project_urlpatterns
from yiti.core.errors import Conflict, PermissionDenied
from yiti.core.scheduling import schedules
from yiti.customers.models import Customer
from yiti.customers.services import ContactInput, customer_create
from yiti.org.services import token_create
from yiti.service.models import SlaPolicy, Ticket
from yiti.service.services import ticket_create, ticket_resolve

# the project's URLs plus an API mounting the reports router (the lead mounts it in yiti/api)
_api = NinjaAPI(title="reports test", version="reports-test", urls_namespace="reports_api")
_api.auth = API_AUTH
errors.install(_api)
_api.add_router("/reports", router)
urlpatterns = [path("api/reports-test/", _api.urls), *project_urlpatterns]
API = "/api/reports-test/reports"

MONDAY = "2025-06-16T06:00:00+08:00"  # the weekly slot: reports 2025-06-09 .. 06-15
FIFTH = "2025-07-05T06:00:00+08:00"  # a monthly slot: reports June 2025
DAY_AFTER = "2025-06-12T07:00:00+08:00"  # the daily slot: reports 2025-06-11


@dataclass
class Desk:
    c1: Customer
    c2: Customer
    c3: Customer
    repair_met: Ticket
    repair_missed: Ticket
    complaint_c3: Ticket
    complaint_c1: Ticket
    unhappy_complaint: Ticket
    unreached: CareTask


def _task(ticket):
    return CareTask.objects.get(ticket=ticket, kind="first")


def _call(task, outcome, at, answers=None):
    return care_attempt_record(actor=None, task=task, outcome=outcome, at=at, answers=answers)


def _person(org, name, unit, owner, phone):
    return customer_create(
        actor=None,
        name=name,
        unit=unit,
        owner=org.users[owner],
        contacts=[ContactInput(kind="phone", value=phone, primary=True)],
    )


@pytest.fixture
def desk(org, care, customer, resolved):
    SlaPolicy.objects.create(
        kind="repair", priority="normal", first_response_minutes=120, resolution_minutes=240
    )
    csat = care.survey.questions.get(kind="csat").pk
    nps = care.survey.questions.get(kind="nps").pk
    c1 = customer
    c2 = _person(org, "李四", org.nb, "am_nb", "13900139000")
    c3 = _person(org, "王五", org.bj, "am_bj", "13700137000")

    # May: c2's repair and a content customer
    may = resolved(c2, opened=sh(2025, 5, 20, 9), at=sh(2025, 5, 20, 10))
    followups_generate(now=sh(2025, 5, 20, 16))
    _call(_task(may), "reached", sh(2025, 5, 21, 10), {csat: 3, nps: 9})

    # the week before: c3's repair, met, and a fair rating
    before = resolved(c3, opened=sh(2025, 6, 3, 9), at=sh(2025, 6, 3, 10))
    followups_generate(now=sh(2025, 6, 3, 16))
    _call(_task(before), "reached", sh(2025, 6, 5, 10), {csat: 4, nps: 8})

    # the week reported
    repair_met = resolved(c1, opened=sh(2025, 6, 9, 9), at=sh(2025, 6, 9, 10))
    followups_generate(now=sh(2025, 6, 9, 16))
    _call(_task(repair_met), "reached", sh(2025, 6, 10, 10), {csat: 5, nps: 10})

    repair_missed = ticket_create(
        actor=None, customer=c2, kind="repair", subject="Router dead", opened_at=sh(2025, 6, 9, 9)
    )
    complaint_c3 = ticket_create(
        actor=None,
        customer=c3,
        kind="complaint",
        complaint_class="staff_conduct",
        subject="Rude agent",
        opened_at=sh(2025, 6, 10, 11),
    )
    complaint_c1 = ticket_create(
        actor=None,
        customer=c1,
        kind="complaint",
        complaint_class="offer_design",
        subject="Conditions of the offer",
        opened_at=sh(2025, 6, 11, 9, 30),
    )
    complaint_c3 = ticket_resolve(
        actor=None, ticket=complaint_c3, resolution="Apologised", at=sh(2025, 6, 11, 14)
    )
    followups_generate(now=sh(2025, 6, 11, 15))
    unreached = _task(complaint_c3)
    for day in (12, 13, 14):
        _call(unreached, "no_answer", sh(2025, 6, day, 10))
    repair_missed = ticket_resolve(
        actor=None, ticket=repair_missed, resolution="Replaced", at=sh(2025, 6, 12, 17)
    )
    followups_generate(now=sh(2025, 6, 12, 18))
    _call(_task(repair_missed), "no_answer", sh(2025, 6, 13, 9))
    _call(_task(repair_missed), "reached", sh(2025, 6, 13, 15), {csat: 1, nps: 8})

    # next Monday, still June
    resolved(c1, opened=sh(2025, 6, 16, 9), at=sh(2025, 6, 16, 10))

    unreached.refresh_from_db()
    repair_missed.refresh_from_db()
    assert unreached.status == TaskStatus.ESCALATED
    assert repair_missed.sla_state == "missed" and repair_missed.sla_breached_at < sh(2025, 6, 10)
    unhappy = SurveyResponse.objects.get(dissatisfied=True, customer=c2).complaint_ticket
    return Desk(
        c1=c1,
        c2=c2,
        c3=c3,
        repair_met=repair_met,
        repair_missed=repair_missed,
        complaint_c3=complaint_c3,
        complaint_c1=complaint_c1,
        unhappy_complaint=unhappy,
        unreached=unreached,
    )


def _snapshot(kind, period_start, unit=None):
    return ReportSnapshot.objects.get(kind=kind, period_start=period_start, unit=unit)


def _recount(start, end, unit_ids=None):
    """The same measures counted naively from the records, to hold the report against."""

    def in_scope(customer):
        return unit_ids is None or customer.unit_id in unit_ids

    attempts = [
        a
        for a in CareAttempt.objects.select_related("task__customer")
        if start <= a.at < end and in_scope(a.task.customer)
    ]
    answers = [
        a
        for a in SurveyAnswer.objects.select_related("question", "response__customer")
        if a.response.submitted_at and start <= a.response.submitted_at < end
        if in_scope(a.response.customer)
    ]
    csat = [a.score for a in answers if a.question.kind == "csat"]
    nps = [a.score for a in answers if a.question.kind == "nps"]
    resolved = [
        t
        for t in Ticket.objects.select_related("customer")
        if t.resolved_at and start <= t.resolved_at < end and in_scope(t.customer)
        if t.sla_state in ("met", "missed")
    ]
    late = [t for t in resolved if t.resolution_due_at and t.resolution_due_at <= t.resolved_at]
    return {
        "attempts": len(attempts),
        "reached": sum(1 for a in attempts if a.outcome == "reached"),
        "csat": round(sum(csat) / len(csat), 2) if csat else None,
        "nps": round((sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) * 100 / len(nps), 1)
        if nps
        else None,
        "sla": (len(resolved) - len(late), len(late)),
    }


# --- weekly -----------------------------------------------------------------------------------


def test_the_monday_report_counts_last_week_for_the_company_and_each_unit(org, desk):
    # given the desk's week; when the Monday 06:00 slot runs
    result = tasks.report_generate.call(kind="weekly", slot=MONDAY)
    # then it covers Monday 06-09 to Sunday 06-15
    assert (result["period_start"], result["period_end"]) == ("2025-06-09", "2025-06-15")
    company = _snapshot("weekly", "2025-06-09")
    assert company.status == SnapshotStatus.READY and str(company.period_end) == "2025-06-15"
    s = company.data["summary"]
    assert s["care"] == {"attempts": 6, "reached": 2, "reach_rate": 33.3}
    assert s["surveys"] == {"responses": 2, "dissatisfied": 1}
    assert s["csat"]["average"] == 3.0
    assert s["csat"]["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 1}
    assert s["nps"] == {"count": 2, "promoters": 1, "passives": 1, "detractors": 0, "score": 50.0}
    assert s["complaints"]["opened"] == {"offer_design": 1, "staff_conduct": 1}
    assert s["complaints"]["resolved"] == {"staff_conduct": 1}
    assert s["sla"] == {"met": 1, "missed": 1, "total": 2, "attainment": 50.0}
    # and the numbers agree with a naive count of the records
    start, end = period_for("weekly", MONDAY).bounds
    again = _recount(start, end)
    assert (again["attempts"], again["reached"]) == (6, 2)
    assert again["csat"] == s["csat"]["average"] and again["nps"] == s["nps"]["score"]
    assert again["sla"] == (s["sla"]["met"], s["sla"]["missed"])
    # the trend is against the week before (c3's repair: CSAT 4, NPS 8, SLA met)
    assert company.data["previous"]["period"] == {"start": "2025-06-02", "end": "2025-06-08"}
    assert company.data["trend"] == {
        "care_reached": 1,
        "responses": 1,
        "csat_average": -1.0,
        "nps_score": 50.0,
        "complaints_opened": 2,
        "sla_attainment": -50.0,
    }
    # the units: each region adds up its branches; the company unit and empty units get none
    units = set(
        ReportSnapshot.objects.filter(kind="weekly", unit__isnull=False).values_list(
            "unit__code", flat=True
        )
    )
    assert units == {"east", "hz", "nb", "north", "bj"}
    east = _snapshot("weekly", "2025-06-09", org.east).data["summary"]
    assert east["care"]["attempts"] == 3 and east["csat"]["average"] == 3.0
    assert east["complaints"]["opened"] == {"offer_design": 1}
    assert east["sla"]["attainment"] == 50.0
    assert _recount(start, end, {org.hz.pk, org.nb.pk})["attempts"] == 3
    north = _snapshot("weekly", "2025-06-09", org.north).data["summary"]
    assert north["care"] == {"attempts": 3, "reached": 0, "reach_rate": 0.0}
    assert north["csat"]["average"] is None and north["sla"]["attainment"] is None
    by_unit = {u["unit"]: u for u in company.data["by_unit"]}
    assert set(by_unit) == {"杭州分公司", "宁波分公司", "北京分公司"}
    assert by_unit["宁波分公司"]["csat"]["average"] == 1.0
    assert sum(u["care"]["attempts"] for u in by_unit.values()) == 6


def test_the_weekly_problem_customers_show_their_resolution(org, desk):
    report_generate(kind="weekly", slot=MONDAY)
    data = _snapshot("weekly", "2025-06-09").data
    rows = {r["name"]: r for r in data["problems"]}
    assert set(rows) == {"张三", "李四", "王五"}
    assert data["summary"]["problem_customers"] == 3
    assert data["summary"]["problems_by_type"] == {
        "complaint": 2,
        "sla_breach": 1,
        "dissatisfied": 1,
        "unreached": 1,
    }
    # 张三: the offer complaint, still open
    zhang = rows["张三"]
    assert zhang["phone"] == "138****8000" and zhang["unit"] == "杭州分公司"
    assert zhang["owner"] == "am_hz" and zhang["resolved"] is False
    [item] = zhang["items"]
    assert (item["type"], item["ref"], item["id"]) == ("complaint", "ticket", desk.complaint_c1.pk)
    assert item["status"] == desk.complaint_c1.status and item["resolution"] == ""
    # 李四: the missed SLA (resolved: "Replaced") and the dissatisfied answer, whose complaint
    # is still open
    li = rows["李四"]
    assert li["types"] == ["dissatisfied", "sla_breach"] and li["resolved"] is False
    items = {i["type"]: i for i in li["items"]}
    assert items["sla_breach"]["id"] == desk.repair_missed.pk
    assert items["sla_breach"]["resolution"] == "Replaced" and items["sla_breach"]["resolved"]
    assert items["dissatisfied"]["id"] == desk.unhappy_complaint.pk
    assert items["dissatisfied"]["detail"] == "1" and not items["dissatisfied"]["resolved"]
    # 王五: the staff complaint, resolved, and the follow-up nobody answered
    wang = rows["王五"]
    items = {i["type"]: i for i in wang["items"]}
    assert items["complaint"]["resolution"] == "Apologised" and items["complaint"]["resolved"]
    assert items["unreached"]["id"] == desk.unreached.pk
    assert items["unreached"]["status"] == "escalated" and not items["unreached"]["resolved"]
    # and no full phone number is stored anywhere in the report
    assert "13800138000" not in str(data) and "13900139000" not in str(data)


# --- monthly ----------------------------------------------------------------------------------


def test_the_report_of_the_fifth_counts_last_month_with_the_trend(org, desk):
    # given June's desk; when the slot of 07-05 runs
    tasks.report_generate.call(kind="monthly", slot=FIFTH)
    company = _snapshot("monthly", "2025-06-01")
    assert str(company.period_end) == "2025-06-30"
    s = company.data["summary"]
    # June: the week above plus c3's repair (06-03..05) and c1's repair on 06-16
    assert s["care"]["attempts"] == 7 and s["care"]["reached"] == 3
    assert s["surveys"]["responses"] == 3
    assert s["csat"]["average"] == 3.33  # (4 + 5 + 1) / 3
    assert s["nps"]["score"] == 33.3  # promoters 1 (10), passives 2 (8, 8) of 3
    assert s["sla"] == {"met": 3, "missed": 1, "total": 4, "attainment": 75.0}
    start, end = period_for("monthly", FIFTH).bounds
    again = _recount(start, end)
    assert again["csat"] == s["csat"]["average"] and again["nps"] == s["nps"]["score"]
    assert again["sla"] == (3, 1)
    # and against May (c2's repair: CSAT 3, NPS 9, SLA met)
    assert company.data["previous"]["period"] == {"start": "2025-05-01", "end": "2025-05-31"}
    assert company.data["previous"]["summary"]["csat"]["average"] == 3.0
    trend = company.data["trend"]
    assert trend["csat_average"] == 0.33
    assert trend["nps_score"] == -66.7
    assert trend["sla_attainment"] == -25.0
    assert trend["responses"] == 2
    assert {r["name"] for r in company.data["problems"]} == {"张三", "李四", "王五"}


def test_a_slot_on_the_first_to_the_fifth_reports_the_previous_month():
    for day in (1, 3, 5):
        period = period_for("monthly", f"2025-07-0{day}T06:00:00+08:00")
        assert (str(period.start), str(period.end)) == ("2025-06-01", "2025-06-30")
    january = period_for("monthly", "2025-01-05T06:00:00+08:00")
    assert (str(january.start), str(january.end)) == ("2024-12-01", "2024-12-31")
    week = period_for("weekly", "2025-06-18T10:00:00+08:00")  # a Wednesday: still last week
    assert (str(week.start), str(week.end)) == ("2025-06-09", "2025-06-15")
    # the slot arrives in UTC from some callers: 2025-06-15 22:00 UTC is Monday in Shanghai
    assert str(period_for("weekly", "2025-06-15T22:00:00+00:00").start) == "2025-06-09"


# --- daily ------------------------------------------------------------------------------------


def test_the_daily_list_has_the_days_problems_and_those_still_open(org, desk):
    report_generate(kind="daily", slot=DAY_AFTER)
    data = _snapshot("daily", "2025-06-11").data
    rows = [(r["name"], r["types"], r["resolved"]) for r in data["problems"]]
    # 张三's complaint opened that day (open: listed first); 李四's breached repair was still
    # open that day; 王五's complaint from the day before was resolved that day
    assert rows == [
        ("张三", ["complaint"], False),
        ("王五", ["complaint"], True),
        ("李四", ["sla_breach"], True),
    ]
    s = data["summary"]
    assert s["complaints"]["opened"] == {"offer_design": 1}
    assert s["complaints"]["resolved"] == {"staff_conduct": 1}
    assert s["care"]["attempts"] == 0 and "trend" not in data


# --- idempotency and scheduling ---------------------------------------------------------------


def test_generating_a_period_twice_keeps_one_snapshot_each(org, desk):
    report_generate(kind="weekly", slot=MONDAY)
    first = dict(ReportSnapshot.objects.values_list("unit_id", "pk"))
    # given a complaint of last week recorded late, after the scheduled run
    ticket_create(
        actor=None,
        customer=desk.c1,
        kind="complaint",
        complaint_class="fulfilment",
        subject="Gift late",
        opened_at=sh(2025, 6, 13, 10),
    )
    # when the same period is generated again, the snapshots are updated in place
    report_generate(kind="weekly", slot="2025-06-16T09:30:00+08:00")
    assert dict(ReportSnapshot.objects.values_list("unit_id", "pk")) == first
    company = _snapshot("weekly", "2025-06-09")
    assert company.data["summary"]["complaints"]["opened_total"] == 3
    # a scheduled catch-up run keeps a period that is ready; "Generate now" forces
    assert tasks.report_generate.call(kind="weekly", slot=MONDAY)["skipped"] is True
    assert report_generate(kind="weekly", slot=MONDAY, force=True).skipped is False
    assert ReportSnapshot.objects.filter(kind="weekly", unit__isnull=True).count() == 1


def test_the_schedules_are_registered_with_their_crons():
    registered = {s.name: (s.cron, s.kwargs) for s in schedules()}
    assert registered["care_reports.daily"] == ("0 7 * * *", {"kind": "daily"})
    assert registered["care_reports.weekly"] == ("0 6 * * mon", {"kind": "weekly"})
    assert registered["care_reports.monthly"] == ("0 6 1-5 * *", {"kind": "monthly"})


def test_generation_queries_do_not_grow_with_the_customers(org, care):
    def add(n, start):
        customers = Customer.objects.bulk_create(
            Customer(
                name=f"客户{start + i}",
                name_key=f"客户{start + i}",
                unit=org.hz,
                owner=org.users["am_hz"],
                primary_phone=f"+86138{start + i:08d}",
            )
            for i in range(n)
        )
        opened = sh(2025, 6, 10, 9)
        tickets = Ticket.objects.bulk_create(
            Ticket(
                customer=c,
                kind="complaint",
                complaint_class="fulfilment",
                subject="late",
                unit=org.east,
                opened_at=opened,
                status="resolved" if i % 2 else "assigned",
                resolved_at=opened + timedelta(hours=5) if i % 2 else None,
                sla_state=("missed" if i % 4 == 1 else "met") if i % 2 else "breached",
                sla_breached_at=opened + timedelta(hours=2) if i % 4 != 3 else None,
                resolution_due_at=opened + timedelta(hours=4),
            )
            for i, c in enumerate(customers)
        )
        CareTask.objects.bulk_create(
            CareTask(
                customer=t.customer,
                rule=care.complaint_rule,
                kind="first",
                ticket=t,
                source_at=opened,
                due_at=opened,
                status="escalated",
                attempts=3,
                escalated_at=opened + timedelta(days=1),
            )
            for t in tickets
        )
        responses = SurveyResponse.objects.bulk_create(
            SurveyResponse(
                customer=c,
                template=care.survey,
                channel="call",
                submitted_at=opened,
                dissatisfied=i % 3 == 0,
            )
            for i, c in enumerate(customers)
        )
        csat = care.survey.questions.get(kind="csat")
        nps = care.survey.questions.get(kind="nps")
        SurveyAnswer.objects.bulk_create(
            [
                *(
                    SurveyAnswer(response=r, question=csat, score=1 + i % 5)
                    for i, r in enumerate(responses)
                ),
                *(
                    SurveyAnswer(response=r, question=nps, score=i % 11)
                    for i, r in enumerate(responses)
                ),
            ]
        )

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            report_generate(kind="weekly", slot=MONDAY)
        return len(ctx.captured_queries)

    add(10, 0)
    report_generate(kind="weekly", slot=MONDAY)  # create the snapshots; later runs update them
    few = queries()
    add(90, 10)
    many = queries()
    assert many == few, (few, many)
    assert _snapshot("weekly", "2025-06-09").data["summary"]["problem_customers"] == 100
    assert _snapshot("weekly", "2025-06-09").data["summary"]["surveys"]["responses"] == 100


# --- access, pages, export, API ---------------------------------------------------------------


@pytest.fixture
def weekly(desk):
    report_generate(kind="weekly", slot=MONDAY)
    return _snapshot("weekly", "2025-06-09")


def _web(org, username):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(org.users[username])
    return client


def test_each_reader_sees_the_reports_of_their_scope(org, weekly):
    def listed(username):
        page = _web(org, username).get("/reports/", {"kind": "weekly"})
        assert page.status_code == 200
        return {s.unit.code if s.unit else "company" for s in page.context["page"].items}

    assert listed("am_hz") == {"hz"}
    assert listed("rm_east") == {"company", "east", "hz", "nb"}
    assert listed("analyst") == {"company"}
    assert listed("admin") == {"company", "east", "hz", "nb", "north", "bj"}
    # a unit's report outside the scope is not found
    hz = _snapshot("weekly", "2025-06-09", org.hz)
    assert _web(org, "rm_north").get(f"/reports/{hz.pk}/").status_code == 404
    assert _web(org, "am_hz").get(f"/reports/{weekly.pk}/").status_code == 404


def test_the_company_report_lists_only_the_readers_problem_customers(org, weekly):
    page = _web(org, "rm_east").get(f"/reports/{weekly.pk}/")
    assert page.status_code == 200
    names = {r["name"] for r in page.context["problems"].items}
    assert names == {"张三", "李四"}  # 王五 is a Beijing customer
    html = page.content.decode()
    assert "<svg" in html and "138****8000" in html and "13800138000" not in html
    # everything is served by Yiti itself: no script, style or image from another host
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # an analyst reads the numbers, not the customers
    analyst = _web(org, "analyst").get(f"/reports/{weekly.pk}/")
    assert analyst.context["summary"]["csat"]["average"] == 3.0
    assert analyst.context["problems"].items == []


def test_the_xlsx_export_has_the_numbers_and_the_masked_problem_customers(org, weekly):
    response = _web(org, "admin").get(f"/reports/{weekly.pk}/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(response.content))
    summary, problems = book.worksheets
    values = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert values["CSAT average (1–5)"] == 3.0
    assert values["NPS"] == 50.0
    assert values["SLA attainment (%)"] == 50.0
    assert values["Care calls attempted"] == 6
    assert values["Problem customers"] == 3
    rows = list(problems.iter_rows(values_only=True))
    assert rows[0][:2] == ("Customer", "Phone")
    customers = {(r[0], r[1]) for r in rows[1:]}
    assert ("张三", "138****8000") in customers
    assert not any("13800138000" in str(cell) for r in rows for cell in r)
    assert ("王五", "137****7000") in customers
    assert any(r[0] == "李四" and r[9] == "Replaced" for r in rows[1:])


def _backend(name):
    return {
        "default": {"BACKEND": f"django_tasks.backends.{name}", "QUEUES": ["default", "reports"]}
    }


def test_generate_now_runs_the_task_and_is_for_managers(
    org, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = _backend("immediate.ImmediateBackend")
    # an account manager may not
    with pytest.raises(PermissionDenied):
        report_generation_request(actor=org.users["am_hz"], kind="weekly")
    assert _web(org, "am_hz").post("/reports/generate/", {"kind": "weekly"}).status_code == 403
    # a region manager asks; the run is enqueued after commit and (immediate backend) done
    with django_capture_on_commit_callbacks(execute=True):
        response = _web(org, "rm_east").post("/reports/generate/", {"kind": "weekly"})
    assert response.status_code == 302
    snapshot = ReportSnapshot.objects.get(kind="weekly", unit__isnull=True)
    assert snapshot.status == SnapshotStatus.READY and snapshot.task_id
    assert snapshot.requested_by == org.users["rm_east"]
    status = _web(org, "rm_east").get(f"/reports/{snapshot.pk}/status/")
    assert b"Ready" in status.content


def test_generate_now_refuses_a_second_run_while_one_is_queued(org, settings):
    settings.TASKS = _backend("dummy.DummyBackend")
    first = report_generation_request(actor=org.users["admin"], kind="monthly")
    assert first.status == SnapshotStatus.QUEUED
    with pytest.raises(Conflict):
        report_generation_request(actor=org.users["admin"], kind="monthly")
    page = _web(org, "admin").get(f"/reports/{first.pk}/")
    assert b'hx-trigger="every 2s"' in page.content


@pytest.mark.urls("tests.care.test_reports")
def test_the_api_lists_gets_and_generates(org, weekly, settings):
    settings.TASKS = _backend("dummy.DummyBackend")

    def api(username):
        _token, raw = token_create(user=org.users[username], name="t")
        return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})

    rm = api("rm_east")
    listed = rm.get(f"{API}/snapshots", {"kind": "weekly", "unit": "company"}).json()
    assert [s["id"] for s in listed["items"]] == [weekly.pk]
    one = rm.get(f"{API}/snapshots/{weekly.pk}").json()
    assert one["summary"]["nps"]["score"] == 50.0
    assert {p["name"] for p in one["problems"]} == {"张三", "李四"}
    assert api("am_hz").get(f"{API}/snapshots/{weekly.pk}").status_code == 404
    refused = api("am_hz").post(
        f"{API}/generate", {"kind": "daily"}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    queued = rm.post(
        f"{API}/generate",
        {"kind": "daily", "slot": "2025-06-12T07:00:00+08:00"},
        content_type="application/json",
    )
    assert queued.status_code == 202, queued.content
    assert queued.json()["period_start"] == "2025-06-11"
    assert queued.json()["kind"] == ReportKind.DAILY
