"""Cockpit reports delivered: a subscription of region East's managers gets, each Monday, an
e-mail over real (loopback) SMTP with the XLSX and PDF attached and the key figures in the
body, and a notification; an SMTP outage is retried and visible."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.insights.test_rollups import bj, build_cockpit_book
from tests.smtp_server import SmtpServer
from yiti.channels.models import OutboxMessage
from yiti.channels.outbox import outbox_deliver_due
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.insights.cockpit_pdf import text_pdf
from yiti.insights.cockpit_reports import (
    cockpit_reports_generate,
    cockpit_subscription_save,
    due_period,
)
from yiti.insights.models import CockpitReport
from yiti.insights.rollups import rollups_rebuild
from yiti.org.models import Notification


@pytest.fixture
def east_weekly(org, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    build_cockpit_book(org)
    rollups_rebuild()
    rm = org.users["rm_east"]
    rm.email = "rm_east@example.com"
    rm.save(update_fields=["email"])
    return cockpit_subscription_save(
        actor=rm, unit=org.east, role="region_manager", cadence="weekly"
    )


def test_due_periods():
    assert due_period("weekly", date(2026, 3, 16)) == (date(2026, 3, 9), date(2026, 3, 15))
    assert due_period("weekly", date(2026, 3, 17)) is None
    assert due_period("monthly", date(2026, 4, 5)) == (date(2026, 3, 1), date(2026, 3, 31))
    assert due_period("monthly", date(2026, 4, 6)) is None


def test_the_monday_report_is_mailed_with_xlsx_and_pdf_and_notified(org, east_weekly, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_TIMEOUT = 60  # a loaded machine must not turn into a failed send
    with SmtpServer() as smtp:
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        # when the morning job runs on Monday 16 March (the week of 9 March has closed)
        assert cockpit_reports_generate(now=bj(2026, 3, 16, 7, 30)) == 1
        outbox_deliver_due(now=timezone.now() + timedelta(minutes=1))
        # then the region manager has the e-mail with both files and the key figures
        assert len(smtp.messages) == 1
        message = smtp.messages[0]
        assert message.rcpt_to == ["rm_east@example.com"]
        text = message.message.as_string()
        names = [part.get_filename() for part in message.message.walk() if part.get_filename()]
        assert sorted(n.rsplit(".", 1)[1] for n in names) == ["pdf", "xlsx"]
        body = next(
            part.get_payload(decode=True).decode()
            for part in message.message.walk()
            if part.get_content_type() == "text/plain" and not part.get_filename()
        )
        assert "2026-03-09" in body and "Complaints: 1" in body  # t5, 10 March
        assert "SLA attainment: 100.0%" in body  # the repair of 9 March, in time
        assert text
    # and a notification with the same figures and a link to the cockpit for that week
    note = Notification.objects.get(user=org.users["rm_east"], kind="cockpit_report")
    assert "Complaints: 1" in note.body and "start=2026-03-09" in note.link
    report = CockpitReport.objects.get()
    sheet = load_workbook(report.xlsx_path)["sla"]
    assert ["Repair / fault", 1, 1, 1, 0, 100] in [
        list(r)[:6] for r in sheet.iter_rows(values_only=True)
    ]
    assert Path(report.pdf_path).read_bytes().startswith(b"%PDF-1.4")
    # and the job run again the same day writes nothing twice
    assert cockpit_reports_generate(now=bj(2026, 3, 16, 9)) == 0


def test_a_failed_send_is_retried_and_visible(org, east_weekly, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: refused
    cockpit_reports_generate(now=bj(2026, 3, 16, 7, 30))
    outbox_deliver_due(now=timezone.now() + timedelta(minutes=1))
    row = OutboxMessage.objects.get(kind="cockpit_report")
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    client = Client()
    assert client.login(username="rm_east", password=PASSWORD)
    page = client.get("/insights/reports/").content.decode()
    assert 'data-status="pending"' in page and "rm_east@example.com" in page
    assert "Complaints: 1" in page
    # when the SMTP server is back, the retry sends it once
    with SmtpServer() as smtp:
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        outbox_deliver_due(now=timezone.now() + timedelta(hours=1))
        assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert row.status == "sent"


def test_subscriptions_are_for_managers_of_the_unit_and_cockpit_roles(org):
    with pytest.raises(PermissionDenied):
        cockpit_subscription_save(
            actor=org.users["rm_north"], unit=org.east, role="region_manager", cadence="weekly"
        )
    with pytest.raises(ValidationFailed):
        cockpit_subscription_save(
            actor=org.users["admin"], unit=org.east, role="account_manager", cadence="weekly"
        )
    client = Client()
    assert client.login(username="rm_east", password=PASSWORD)
    response = client.post(
        "/insights/reports/",
        {"unit": org.east.pk, "role": "region_manager", "cadence": "monthly"},
    )
    assert response.status_code == 302
    assert "华东片区" in client.get("/insights/reports/").content.decode()
    assert Client().get("/insights/reports/").status_code == 302  # sign in first
    am = Client()
    assert am.login(username="am_hz", password=PASSWORD)
    assert am.get("/insights/reports/").status_code == 403


def test_the_pdf_writes_chinese_text_on_pages():
    pdf = text_pdf([("华东片区 管理驾驶舱", 14)] + [(f"行 {i}", 9) for i in range(120)])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/STSong-Light" in pdf and b"/Count 3" in pdf  # 121 lines, 46 a page
    assert b"534E4E1C7247533A" in pdf  # 华东片区 as UCS-2
    # the cross-reference table points at each object
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    entries = pdf[xref:].split(b"\n")[3:]
    offsets = [int(line[:10]) for line in entries if line.endswith(b" n ")]
    assert offsets and all(
        pdf[offset:].startswith(f"{n} 0 obj".encode()) for n, offset in enumerate(offsets, 1)
    )


def test_the_xlsx_attachment_has_a_sheet_per_chart(org, east_weekly):
    cockpit_reports_generate(now=bj(2026, 3, 16, 7, 30))
    report = CockpitReport.objects.get()
    book = load_workbook(io.BytesIO(Path(report.xlsx_path).read_bytes()))
    assert book.sheetnames == [
        "funnel",
        "complaints",
        "sla",
        "satisfaction",
        "pressure",
        "tiers",
        "care",
    ]


def test_the_api_lists_the_reports_and_their_e_mails(org, east_weekly):
    from yiti.org.services import token_create

    cockpit_reports_generate(now=bj(2026, 3, 16, 7, 30))
    _token, raw = token_create(user=org.users["rm_east"], name="reports")
    body = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/insights/reports").json()
    assert [(r["unit"]["name"], r["period_start"], r["cadence"]) for r in body] == [
        ("华东片区", "2026-03-09", "weekly")
    ]
    assert body[0]["figures"]["complaints"] == "1"
    assert body[0]["deliveries"][0]["to"] == "rm_east@example.com"
    _token, raw = token_create(user=org.users["rm_north"], name="reports")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/insights/reports").json() == []
