"""Official holiday schedules as data (issue 12 item 7).

An administrator loads a year the ``chinesecalendar`` package does not know (or corrects one
it knows) from a file, the command line, the API or typed dates; SLA clocks use it; from
1 November the calendar page and the administrators' notifications warn when next year is
missing; until then a ticket whose clock reaches that year says it counts weekly hours only.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from tests.service.conftest import bj
from tests.service.test_api import Api
from yiti.core.business_time import DayKind, cn_holiday_data_covers, day_kind
from yiti.core.errors import PermissionDenied
from yiti.core.models import AuditEvent
from yiti.org.models import Notification
from yiti.service import holidays
from yiti.service.calendars import spec_for_unit
from yiti.service.models import HolidayDate, HolidaySchedule
from yiti.service.services import sla_policy_save, ticket_create
from yiti.service.sla import sla_notes

SH = ZoneInfo("Asia/Shanghai")
needs_2027_unknown = pytest.mark.skipif(
    cn_holiday_data_covers(date(2027, 6, 1)), reason="the installed package knows 2027"
)

# An illustrative 2027 schedule (not the official one): New Year, Spring Festival, two
# adjusted working weekend days.
CSV_2027_CN = (
    "日期,类型,名称\n"
    "2027-01-01,假,元旦\n"
    "2027-02-06,假,春节\n"
    "2027-02-07,假,春节\n"
    "2027-02-08,假,春节\n"
    "2027-02-09,假,春节\n"
    "2027-02-10,假,春节\n"
    "2027-02-11,假,春节\n"
    "2027-02-12,假,春节\n"
    "2027-02-14,班,春节调休\n"
    "2027-02-20,班,春节调休\n"
)
TEXT_2027 = "\n".join(
    [
        "# date type name",
        "2027-01-01 holiday 元旦",
        "2027-02-08 holiday Spring Festival",
        "2027-02-14 workday 春节调休",
    ]
)


def _load(text: str, *, actor=None, name: str = "2027.csv") -> HolidaySchedule:
    rows = holidays.read_schedule_file(file_name=name, data=text.encode())
    return holidays.holiday_schedule_load(actor=actor, rows=rows, source=name)


def test_a_csv_with_chinese_headers_loads_a_year_and_the_clock_uses_it(org):
    # Given the package does not know 2027, when the administrator loads the file
    schedule = _load(CSV_2027_CN, actor=org.users["admin"])
    # then the year is stored with its holidays and adjusted working days
    assert schedule.year == 2027
    assert HolidayDate.objects.filter(schedule=schedule, kind="holiday").count() == 8
    assert [d.date for d in schedule.dates.filter(kind="workday")] == [
        date(2027, 2, 14),
        date(2027, 2, 20),
    ]
    # and every unit's calendar follows it
    spec = spec_for_unit(org.hz)
    assert day_kind(spec, date(2027, 2, 8)) is DayKind.HOLIDAY  # a Monday, closed
    assert day_kind(spec, date(2027, 2, 14)) is DayKind.ADJUSTED_WORKDAY  # a Sunday, worked
    assert day_kind(spec, date(2027, 2, 15)) is DayKind.WORKDAY


def test_gbk_text_xlsx_and_typed_lines_are_read_alike(org):
    expected = [
        (date(2027, 1, 1), "holiday", "元旦"),
        (date(2027, 2, 8), "holiday", "Spring Festival"),
        (date(2027, 2, 14), "workday", "春节调休"),
    ]

    def triples(rows):
        return [(r.day, r.kind, r.name) for r in rows]

    assert triples(holidays.read_schedule_text(TEXT_2027)) == expected
    gbk = "日期\t类型\t名称\n2027年1月1日\t放假\t元旦\n2027/02/08\t休\tSpring Festival\n"
    gbk += "2027-02-14\t补班\t春节调休\n"
    assert triples(holidays.read_schedule_file(file_name="x.txt", data=gbk.encode("gbk"))) == (
        expected
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Type", "Name"])
    sheet.append([datetime(2027, 1, 1), "holiday", "元旦"])
    sheet.append(["2027-02-08", "holiday", "Spring Festival"])
    sheet.append([date(2027, 2, 14), "workday", "春节调休"])
    buffer = io.BytesIO()
    book.save(buffer)
    rows = holidays.read_schedule_file(file_name="2027.xlsx", data=buffer.getvalue())
    assert triples(rows) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2027-01-01,holiday,元旦\n2028-01-01,holiday,元旦",
            "Line 2, date: 2028-01-01 is not in 2027",
        ),
        (
            "2027-02-13,holiday,春节\n2027-02-13,workday,调休",
            "Line 2, date: 2027-02-13 is both a holiday and a working day (line 1)",
        ),
        ("2027-01-01,holiday,元旦\n2027-02-15,workday,x", "Line 2, type: 2027-02-15 is a weekday"),
        ("2027-01-01,vacation,元旦", "Line 1, type: “vacation” is neither holiday"),
        (
            "2027-01-01,holiday,元旦\n2027-13-01,holiday,x",
            "Line 2, date: “2027-13-01” is not a date",
        ),
        ("2027-01-01,holiday,", "Line 1, name: a holiday needs its name"),
        ("2027-02-14,workday,调休", "The schedule lists no holiday."),
        ("when,what\n2027-01-01,holiday", "Line 1, header"),
    ],
)
def test_bad_rows_are_refused_with_line_and_column_and_nothing_is_written(org, text, expected):
    with pytest.raises(holidays.ScheduleInvalid) as caught:
        _load(text, actor=org.users["admin"])
    assert expected in caught.value.message
    assert not HolidaySchedule.objects.exists()


def test_loading_is_audited_and_replaces_the_year(org):
    admin = org.users["admin"]
    _load(CSV_2027_CN, actor=admin)
    _load(TEXT_2027, actor=admin, name="fix.txt")
    schedule = HolidaySchedule.objects.get()
    assert schedule.dates.count() == 3 and schedule.source == "fix.txt"
    events = list(AuditEvent.objects.filter(action__startswith="holiday_schedule.").order_by("pk"))
    assert [e.action for e in events] == ["holiday_schedule.create", "holiday_schedule.update"]
    assert events[0].actor_id == admin.pk
    assert "2027-02-08 holiday 春节" in events[1].changes["removed"]
    assert "2027-02-08 holiday Spring Festival" in events[1].changes["added"]
    holidays.holiday_schedule_delete(actor=admin, year=2027)
    assert not HolidaySchedule.objects.exists()
    assert AuditEvent.objects.filter(action="holiday_schedule.delete").count() == 1


def test_only_administrators_change_the_national_schedule(org):
    with pytest.raises(PermissionDenied):
        _load(CSV_2027_CN, actor=org.users["rm_east"])
    assert not HolidaySchedule.objects.exists()


def test_a_loaded_year_overrides_the_package_for_that_year(org, customers, policies):
    # Given a corrected 2025 schedule without the National Day holiday (for the test's sake)
    _load("2025-01-01,holiday,元旦\n2025-10-04,workday,test", actor=None, name="2025.csv")
    # When a ticket is opened the evening of 30 September 2025
    ticket = ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="consultation",
        subject="t",
        opened_at=bj(2025, 9, 30, 19),
    )
    # then 1 October is a working day: 120 minutes from 09:00 (the package would say 9 Oct)
    assert ticket.first_response_due_at == bj(2025, 10, 1, 11)


def test_the_cli_loads_a_year_and_reports_row_errors(org, tmp_path):
    good = tmp_path / "2027.csv"
    good.write_text(CSV_2027_CN, encoding="utf-8")
    out = io.StringIO()
    call_command("calendar", "load-year", str(good), "--dry-run", stdout=out)
    assert "dry run" in out.getvalue() and not HolidaySchedule.objects.exists()
    call_command("calendar", "load-year", str(good), stdout=out)
    assert HolidaySchedule.objects.get().year == 2027
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-01-01,holiday,元旦\n2027-01-01,workday,x\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing loaded"):
        call_command("calendar", "load-year", str(bad), stderr=err)
    assert "Line 2" in err.getvalue()
    with pytest.raises(CommandError, match="nothing loaded"):
        call_command("calendar", "load-year", str(good), "--year", "2028", stderr=err)
    assert "2027-01-01 is not in 2028" in err.getvalue()


@needs_2027_unknown
def test_from_1_november_the_administrators_are_told_once(org):
    assert holidays.holiday_schedule_check(now=datetime(2026, 10, 31, 9, tzinfo=SH)) == []
    assert holidays.holiday_schedule_check(now=datetime(2026, 11, 1, 9, tzinfo=SH)) == [2027]
    told = Notification.objects.filter(kind=holidays.REMINDER_KIND)
    assert [n.user_id for n in told] == [org.users["admin"].pk]
    assert "2027" in told[0].title
    # the next day's run tells nobody again
    assert holidays.holiday_schedule_check(now=datetime(2026, 11, 2, 9, tzinfo=SH)) == []
    assert told.count() == 1


def test_a_loaded_next_year_needs_no_reminder(org):
    _load(CSV_2027_CN, actor=None)
    assert holidays.missing_years(datetime(2026, 11, 15, tzinfo=SH)) == []
    assert holidays.holiday_schedule_check(now=datetime(2026, 11, 15, tzinfo=SH)) == []


@needs_2027_unknown
def test_the_calendar_page_warns_from_1_november(client, org, monkeypatch):
    client.force_login(org.users["admin"])
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 10, 31, 12, tzinfo=SH))
    assert "holiday-warning-2027" not in client.get("/service/calendars/").content.decode()
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 11, 1, 8, tzinfo=SH))
    html = client.get("/service/calendars/").content.decode()
    assert "holiday-warning-2027" in html and "/service/calendars/holidays/new/?year=2027" in html


def test_the_administrator_types_the_dates_on_the_page(client, org):
    client.force_login(org.users["admin"])
    page = client.get("/service/calendars/holidays/new/?year=2027")
    assert page.status_code == 200
    response = client.post("/service/calendars/holidays/new/?year=2027", {"dates": TEXT_2027})
    assert response.status_code == 302, response.content.decode()[:1500]
    assert HolidaySchedule.objects.get().dates.count() == 3
    edit = client.get("/service/calendars/holidays/2027/").content.decode()
    assert "2027-02-14, workday, 春节调休" in edit
    bad = client.post(
        "/service/calendars/holidays/2027/",
        {"dates": "2027-01-01,holiday,元旦\n2026-12-31,holiday,x"},
    )
    assert bad.status_code == 422
    assert "Line 2, date: 2026-12-31 is not in 2027" in bad.content.decode()
    assert HolidaySchedule.objects.get().dates.count() == 3
    client.force_login(org.users["rm_east"])
    assert client.get("/service/calendars/holidays/new/").status_code == 403


def test_the_administrator_uploads_a_file_on_the_page(client, org):
    client.force_login(org.users["admin"])
    upload = io.BytesIO(CSV_2027_CN.encode())
    upload.name = "2027.csv"
    response = client.post("/service/calendars/holidays/new/", {"file": upload})
    assert response.status_code == 302
    listing = client.get("/service/calendars/").content.decode()
    assert "2027.csv" in listing


@needs_2027_unknown
def test_a_ticket_whose_clock_reaches_an_unknown_year_says_so(client, org, customers):
    # Given a 30-business-day target on tickets opened on 1 December 2026 (due in 2027)
    sla_policy_save(
        actor=None,
        kind="repair",
        priority="normal",
        first_response_minutes=60,
        resolution_minutes=30 * 450,
    )
    ticket = ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="repair",
        subject="t",
        opened_at=bj(2026, 12, 1, 9),
    )
    assert ticket.resolution_due_at.year == 2027
    note = "2027 holiday schedule not loaded: counted on weekly hours only"
    assert sla_notes(ticket, now=bj(2026, 12, 1, 10)) == [note]
    client.force_login(org.users["svc_east"])
    assert note in client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    # once loaded, the note goes
    _load(CSV_2027_CN, actor=None)
    assert sla_notes(ticket, now=bj(2026, 12, 1, 10)) == []


@pytest.mark.urls("tests.service.urls_api")
def test_the_api_loads_lists_and_removes_a_year(org):
    admin, rm = Api(org.users["admin"]), Api(org.users["rm_east"])
    body = {
        "dates": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-02-14", "kind": "workday", "name": "春节调休"},
        ]
    }
    assert rm.post("/holiday-schedules/2027", body, method="put").status_code == 403
    response = admin.post("/holiday-schedules/2027", body, method="put")
    assert response.status_code == 200, response.content
    assert response.json()["year"] == 2027 and len(response.json()["dates"]) == 2
    assert [s["year"] for s in rm.get("/holiday-schedules").json()] == [2027]
    bad = admin.post("/holiday-schedules/2028", body, method="put")
    assert bad.status_code == 422 and bad.json()["field"] == "dates"
    assert "not in 2028" in bad.json()["message"]
    huge = admin.post("/holiday-schedules/99999999999999999999", body, method="put")
    assert huge.status_code == 422
    assert (
        admin.client.delete(
            "/api/test-service/service/holiday-schedules/2027", headers=admin.headers
        ).status_code
        == 204
    )
    assert not HolidaySchedule.objects.exists()


def test_missing_years_counts_this_year_always_and_next_year_from_november(db):
    assert holidays.missing_years(datetime(2024, 11, 1, tzinfo=SH)) == []  # package knows 2025
    first_unknown = next(y for y in range(2026, 2100) if not cn_holiday_data_covers(date(y, 6, 1)))
    october = datetime(first_unknown - 1, 10, 31, 23, 59, tzinfo=SH)
    assert holidays.missing_years(october) == []
    assert holidays.missing_years(october + timedelta(minutes=1)) == [first_unknown]


def test_an_xlsx_that_unzips_to_a_huge_sheet_is_refused_before_parsing(db):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>" + b" " * 30_000_000)
    with pytest.raises(holidays.ScheduleInvalid, match="too large"):
        holidays.read_schedule_file(file_name="bomb.xlsx", data=buffer.getvalue())
