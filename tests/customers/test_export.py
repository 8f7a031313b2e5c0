"""Exporting customers: only what the user sees, masked unless revealed, always audited."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, PhoneFactory
from yiti.core.models import AuditEvent
from yiti.customers.imports import customers_import
from yiti.customers.models import ContactPoint
from yiti.customers.services import consent_record


@pytest.fixture(autouse=True)
def _english(settings):
    """Headers and messages are asserted in their English source text."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def book(org):
    """Two Hangzhou customers (one owned by am_hz, with contacts and consent), one in Beijing."""
    zhang = CustomerFactory(
        name="张伟",
        unit=org.hz,
        owner=org.users["am_hz"],
        external_id="EX-1",
        city="杭州",
        address="西湖区文三路1号",
        primary_email="zhang.wei@example.com",
    )
    PhoneFactory(customer=zhang, value="13812345678")
    zhang.primary_phone = "13812345678"
    zhang.save(update_fields=["primary_phone"])
    for kind, value in (("email", "zhang.wei@example.com"), ("wechat", "zhangwei88")):
        ContactPoint.objects.create(
            customer=zhang,
            kind=kind,
            value=value,
            normalized=value,
            search_key=value,
            is_primary=True,
        )
    consent_record(actor=None, customer=zhang, channel="sms", purpose="marketing", granted=True)
    li = CustomerFactory(name="李娜", unit=org.hz, external_id="EX-2")
    wang = CustomerFactory(
        name="王强", unit=org.bj, external_id="EX-3", primary_phone="13900001111"
    )
    return {"zhang": zhang, "li": li, "wang": wang}


@pytest.fixture
def web(client, org):
    def login(username: str):
        assert client.login(username=username, password=PASSWORD)
        return client

    return login


def export(client, **params):
    return client.get(reverse("customers_io:export"), params)


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


def read_xlsx(response) -> list[dict[str, object]]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_csv_export_is_scoped_to_what_the_user_sees(web, book):
    # the North region manager sees Beijing only
    rows = read_csv(export(web("rm_north"), format="csv"))
    assert [r["External id"] for r in rows] == ["EX-3"]
    # the East region manager sees both Hangzhou customers, none of Beijing
    rows = read_csv(export(web("rm_east"), format="csv"))
    assert sorted(r["External id"] for r in rows) == ["EX-1", "EX-2"]


def test_export_needs_the_export_permission(web, book):
    response = export(web("am_hz"), format="csv")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="customer.export").exists()


def test_personal_data_is_masked_by_default(web, book):
    [zhang] = [
        r for r in read_csv(export(web("rm_east"), format="csv")) if r["External id"] == "EX-1"
    ]

    assert zhang["Phone"] == "138****5678"
    assert zhang["E-mail"] == "z***@example.com"
    assert zhang["WeChat"] == "z********8"
    assert "文三路" not in zhang["Address"]
    # what is not personal contact data stays readable
    assert (zhang["Name"], zhang["City"], zhang["Unit"], zhang["Account manager"]) == (
        "张伟",
        "杭州",
        "hz",
        "am_hz",
    )
    assert (zhang["Kind"], zhang["SMS marketing consent"]) == ("Person", "yes")


def test_reveal_shows_full_data_only_to_those_allowed(web, book):
    rows = read_csv(export(web("rm_east"), format="csv", reveal="1"))
    zhang = next(r for r in rows if r["External id"] == "EX-1")
    assert (zhang["Phone"], zhang["E-mail"], zhang["WeChat"]) == (
        "13812345678",
        "zhang.wei@example.com",
        "zhangwei88",
    )
    assert zhang["Address"] == "西湖区文三路1号"


def test_reveal_is_ignored_without_the_reveal_permission(web, org):
    # given the campaign manager, who may export but not reveal personal data
    CustomerFactory(unit=org.marketing, primary_phone="13700001111")
    rows = read_csv(export(web("cm"), format="csv", reveal="1"))
    assert [r["Phone"] for r in rows] == ["137****1111"]
    assert AuditEvent.objects.get(action="customer.export").changes["revealed"] is False


def test_every_export_is_audited_with_filters_and_row_count(web, org, book):
    export(web("rm_east"), format="xlsx", unit=org.hz.pk, q="张", reveal="1")

    event = AuditEvent.objects.get(action="customer.export")
    assert event.actor == org.users["rm_east"]
    assert event.changes["rows"] == 1
    assert event.changes["format"] == "xlsx"
    assert event.changes["revealed"] is True
    assert event.changes["filters"]["unit_id"] == org.hz.pk
    assert event.changes["filters"]["q"] == "张"


def test_filters_are_the_customer_list_filters(web, org, book):
    client = web("admin")
    assert [r["Name"] for r in read_csv(export(client, format="csv", unit=org.bj.pk))] == ["王强"]
    assert [r["Name"] for r in read_csv(export(client, format="csv", q="EX-2"))] == ["李娜"]
    unassigned = read_csv(export(client, format="csv", unassigned="1"))
    assert sorted(r["Name"] for r in unassigned) == ["李娜", "王强"]


def test_xlsx_export_parses_back(web, book):
    response = export(web("rm_east"), format="xlsx")

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="customers-' in response["Content-Disposition"]
    rows = read_xlsx(response)
    assert sorted(r["Name"] for r in rows) == ["张伟", "李娜"]
    zhang = next(r for r in rows if r["External id"] == "EX-1")
    assert zhang["Phone"] == "138****5678"
    assert zhang["Account manager"] == "am_hz"


def test_xlsx_refuses_more_rows_than_a_sheet_holds(web, book, monkeypatch):
    monkeypatch.setattr("yiti.customers.exports.XLSX_MAX_ROWS", 1)

    response = export(web("rm_east"), format="xlsx")

    assert response.status_code == 422
    assert "more than one Excel sheet holds" in response.content.decode()
    # CSV has no such limit
    assert len(read_csv(export(web("rm_east"), format="csv"))) == 2


def test_cells_that_look_like_formulas_are_defused(web, org):
    CustomerFactory(name='=HYPERLINK("http://x")', unit=org.hz)
    rows = read_csv(export(web("rm_east"), format="csv"))
    assert rows[0]["Name"] == '\'=HYPERLINK("http://x")'


def test_export_queries_do_not_grow_with_rows(web, org):
    client = web("rm_east")
    CustomerFactory.create_batch(5, unit=org.hz)
    with CaptureQueriesContext(connection) as few:
        read_csv(export(client, format="csv"))
    CustomerFactory.create_batch(200, unit=org.nb)
    with CaptureQueriesContext(connection) as many:
        rows = read_csv(export(client, format="csv"))
    assert len(rows) == 205
    assert len(many) == len(few)


def test_without_a_format_the_export_form_is_shown(web):
    response = export(web("rm_east"))
    assert response.status_code == 200
    assert "Export CSV" in response.content.decode()
    assert not AuditEvent.objects.filter(action="customer.export").exists()


def test_an_unmasked_export_can_be_imported_again_unchanged(web, org, book):
    # given an export with personal data revealed
    client = web("rm_east")
    body = b"".join(export(client, format="csv", reveal="1").streaming_content)

    # when it is imported again by the same manager
    result = customers_import(actor=org.users["rm_east"], file_name="export.csv", data=body)

    # then the columns are understood and nothing changes
    assert result.job.error_count == 0, result.job.errors
    assert (result.job.created_count, result.job.updated_count) == (0, 0)
    assert result.job.unchanged_count == 2
