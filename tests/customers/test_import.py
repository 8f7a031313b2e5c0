"""Importing customers from CSV/XLSX: every row validated first, all or nothing, no duplicates."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from tests.conftest import PASSWORD
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.choices import ImportStatus
from yiti.customers.contacts import normalize_email, normalize_phone
from yiti.customers.imports import _email, _phone, customers_import
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    ImportJob,
)
from yiti.customers.services import customer_merge

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are asserted in their English source text."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def run(name: str, *, actor=None, data: bytes | None = None, **options):
    payload = (DATA / name).read_bytes() if data is None else data
    return customers_import(actor=actor, file_name=name, data=payload, **options)


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_of(result) -> list[tuple[int, str, str]]:
    return [(row, column, value) for row, column, value, _reason in result.job.errors]


# --- happy paths ----------------------------------------------------------------------------


def test_csv_import_creates_customers_with_contacts_consent_owner_and_audit(org):
    # given a CSV with three customers (one with two phones, one with only an e-mail)
    result = run("customers.csv", actor=org.users["rm_east"])

    # then all three exist with their units, owners and kinds
    job = result.job
    assert job.status == ImportStatus.COMPLETED
    assert (job.created_count, job.updated_count, job.error_count) == (3, 0, 0)
    zhang = Customer.objects.get(external_id="CRM-001")
    assert (zhang.name, zhang.unit, zhang.owner) == ("Zhang Wei", org.hz, org.users["am_hz"])
    assert zhang.primary_phone == "13812345678"
    assert zhang.primary_email == "zhang.wei@example.com"
    port = Customer.objects.get(external_id="CRM-003")
    assert (port.kind, port.unit, port.primary_phone) == ("organisation", org.nb, "")
    # and the first of several phones is the primary one
    li = Customer.objects.get(external_id="CRM-002")
    phones = list(
        ContactPoint.objects.filter(customer=li, kind="phone").order_by("-is_primary", "id")
    )
    assert [(p.normalized, p.is_primary) for p in phones] == [
        ("+8613912345678", True),
        ("+8657188886666", False),
    ]
    # and consent is in the ledger and in the derived state
    assert (
        ConsentState.objects.get(customer=zhang, channel="sms", purpose="marketing").granted is True
    )
    assert (
        ConsentState.objects.get(customer=li, channel="sms", purpose="marketing").granted is False
    )
    assert not ConsentState.objects.filter(customer=port).exists()
    assert ConsentEvent.objects.filter(source="import").count() == 2
    # and ownership history and the audit trail record the import
    assert Assignment.objects.filter(customer=zhang, to_user=org.users["am_hz"]).exists()
    assert AuditEvent.objects.filter(action="customer.create", customer_id=zhang.pk).exists()
    assert AuditEvent.objects.filter(action="customer.import", object_id=str(job.pk)).exists()


def test_gbk_csv_with_chinese_headers_is_read(org):
    # given the kind of file Excel on a Chinese Windows saves: GBK, Chinese headers, CRLF
    result = run("customers_gbk.csv", actor=org.users["admin"])

    assert result.job.status == ImportStatus.COMPLETED, result.job.errors
    wang = Customer.objects.get(external_id="GBK-001")
    assert (wang.name, wang.city, wang.industry, wang.owner) == (
        "王芳",
        "杭州",
        "教育",
        org.users["am_hz2"],
    )
    assert wang.address == "西湖区文三路1号"
    assert ContactPoint.objects.filter(customer=wang, kind="wechat", value="wangfang88").exists()
    company = Customer.objects.get(external_id="GBK-002")
    assert company.kind == "organisation"
    assert ConsentState.objects.get(customer=company).granted is False


def test_xlsx_import_reads_numbers_as_text(org):
    # given an XLSX where Excel stored the phone and the external id as numbers
    data = xlsx_bytes(
        [
            ["Name", "Unit", "Phone", "External id", "Kind"],
            ["Chen Jie", "bj", 13612345678, 100234, "Person"],
            [None, None, None, None, None],
            ["Zhao Lei", "BJ", "+86 135 1234 5678", 100235, None],
        ]
    )
    result = run("book.xlsx", data=data, actor=org.users["rm_north"])

    assert result.job.status == ImportStatus.COMPLETED, result.job.errors
    chen = Customer.objects.get(external_id="100234")
    assert (chen.primary_phone, chen.unit) == ("13612345678", org.bj)
    assert Customer.objects.get(external_id="100235").primary_phone == "13512345678"


def test_xlsx_errors_are_numbered_as_spreadsheet_rows(org):
    data = xlsx_bytes(
        [["name", "unit", "phone"], ["A", "hz", "13812345678"], [], ["B", "hz", "999"]]
    )
    result = run("book.xlsx", data=data, actor=org.users["admin"])
    assert errors_of(result) == [(4, "phone", "999")]


# --- malformed input: a clear message, nothing written --------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty.csv", "The file is empty."),
        ("header_only.csv", "no customers"),
        ("missing_name.csv", "Required column “name” is missing"),
        ("customers_utf16.csv", "neither UTF-8 nor GBK"),
        ("not_a_workbook.xlsx", "not a zip archive"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_message(org, name, expected):
    before = Customer.objects.count()

    result = run(name, actor=org.users["admin"])

    assert result.file_error is not None
    assert expected in result.job.message
    assert result.job.status == ImportStatus.REJECTED
    assert Customer.objects.count() == before


def test_unknown_file_type_is_refused(org):
    result = run("notes.pdf", data=b"%PDF-1.4 ...", actor=org.users["admin"])
    assert "Unknown file type “.pdf”" in result.job.message
    assert Customer.objects.count() == 0


def test_a_bad_phone_stops_the_whole_file(org):
    result = run("bad_phone.csv", actor=org.users["admin"])

    # then the bad row is reported with its spreadsheet row number, column, value and reason
    assert result.job.status == ImportStatus.REJECTED
    [(row, column, value, reason)] = result.job.errors
    assert (row, column, value) == (3, "phone", "12345")
    assert "not a valid phone number" in reason
    # and the good row was not written either
    assert Customer.objects.count() == 0
    assert result.blocked


def test_duplicate_external_ids_inside_the_file_are_reported_on_every_row(org):
    result = run("duplicate_external_id.csv", actor=org.users["admin"])

    assert errors_of(result) == [(2, "external_id", "DUP-1"), (3, "external_id", "DUP-1")]
    assert "rows (2, 3)" in result.job.errors[0][3]
    assert Customer.objects.count() == 0


def test_each_row_is_checked_against_units_owners_kinds_and_consent(org):
    data = csv_bytes(
        "name,unit,phone,email,owner,kind,sms_marketing",
        "Ok,hz,13812345678,,am_hz,person,是",
        ",hz,13812345679,,,,",
        "No unit,,13812345670,,,,",
        "Bad unit,xx,13812345671,,,,",
        "Not an AM,hz,13812345672,,cm,,",
        "Nobody,hz,13812345673,,ghost,,",
        "Bad kind,hz,13812345674,,,alien,",
        "Bad consent,hz,13812345675,,,,maybe",
        "Bad mail,hz,,not-an-email,,,",
        "No contact,hz,,,,,",
    )
    result = run("rows.csv", data=data, actor=org.users["admin"])

    assert errors_of(result) == [
        (3, "name", ""),
        (4, "unit", ""),
        (5, "unit", "xx"),
        (6, "owner", "cm"),
        (7, "owner", "ghost"),
        (8, "kind", "alien"),
        (9, "sms_marketing", "maybe"),
        (10, "email", "not-an-email"),
        (11, "phone", ""),
    ]
    assert Customer.objects.count() == 0


def test_units_outside_the_importers_scope_are_refused(org):
    # given the North region manager imports a file naming a Hangzhou customer
    data = csv_bytes("name,unit,phone", "Beijing,bj,13812345678", "Hangzhou,hz,13812345679")
    result = run("rows.csv", data=data, actor=org.users["rm_north"])

    [(row, column, value, reason)] = result.job.errors
    assert (row, column, value) == (3, "unit", "hz")
    assert "outside your organisation scope" in reason
    assert Customer.objects.count() == 0


def test_importing_needs_the_import_permission(org):
    with pytest.raises(PermissionDenied):
        run("customers.csv", actor=org.users["am_hz"])


# --- skip invalid, dry run, rollback ---------------------------------------------------------


def test_skip_invalid_writes_only_the_valid_rows_and_reports_the_others(org):
    result = run("bad_phone.csv", actor=org.users["admin"], skip_invalid=True)

    assert result.job.status == ImportStatus.COMPLETED
    assert (result.job.created_count, result.job.skipped_count) == (1, 1)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["BP-1"]
    assert errors_of(result) == [(3, "phone", "12345")]


def test_dry_run_reports_what_would_happen_and_writes_nothing(org):
    result = run("customers.csv", actor=org.users["admin"], dry_run=True)

    assert result.job.status == ImportStatus.VALIDATED
    assert result.job.created_count == 3
    assert Customer.objects.count() == 0
    assert not AuditEvent.objects.filter(action="customer.create").exists()


def test_a_database_failure_rolls_everything_back(org, monkeypatch):
    # given the database refuses the last bulk insert of the import
    def refuse(**kwargs):
        raise IntegrityError("simulated failure")

    monkeypatch.setattr("yiti.customers.imports.audit_bulk", refuse)

    result = run("customers.csv", actor=org.users["admin"])

    # then nothing of the import remains, and the job says why
    assert Customer.objects.count() == 0
    assert ContactPoint.objects.count() == 0
    assert result.job.status == ImportStatus.FAILED
    assert "simulated failure" in result.job.message
    assert ImportJob.objects.get(pk=result.job.pk).status == ImportStatus.FAILED


# --- re-imports --------------------------------------------------------------------------------


def test_reimporting_the_same_file_updates_instead_of_duplicating(org):
    first = run("customers.csv", actor=org.users["admin"])
    again = run("customers.csv", actor=org.users["admin"])

    assert first.job.created_count == 3
    assert (again.job.created_count, again.job.updated_count, again.job.unchanged_count) == (
        0,
        0,
        3,
    )
    assert Customer.objects.count() == 3
    assert ContactPoint.objects.count() == 5


def test_a_changed_file_updates_fields_contacts_owner_and_consent(org):
    run("customers.csv", actor=org.users["admin"])
    zhang = Customer.objects.get(external_id="CRM-001")
    data = csv_bytes(
        "name,unit,phone,external_id,owner,city,sms_marketing",
        "Zhang Wei,hz,13812345678;13900001111,CRM-001,am_hz2,Shanghai,no",
        "Li Na,,,CRM-002,,,",
        "New One,nb,13700002222,CRM-004,,,",
    )
    result = run("changes.csv", data=data, actor=org.users["rm_east"])

    assert (result.job.created_count, result.job.updated_count, result.job.unchanged_count) == (
        1,
        1,
        1,
    )
    zhang.refresh_from_db()
    assert (zhang.city, zhang.owner, zhang.name) == ("Shanghai", org.users["am_hz2"], "Zhang Wei")
    # a new phone is added beside the primary one, which stays
    assert zhang.primary_phone == "13812345678"
    assert ContactPoint.objects.filter(customer=zhang, kind="phone").count() == 2
    # consent withdrawn: a new ledger entry and the state follows
    assert ConsentState.objects.get(customer=zhang).granted is False
    assert ConsentEvent.objects.filter(customer=zhang).count() == 2
    # the owner change is in the history, the update in the audit trail
    move = Assignment.objects.filter(customer=zhang).order_by("-id").first()
    assert (move.from_user, move.to_user) == (org.users["am_hz"], org.users["am_hz2"])
    update = AuditEvent.objects.get(action="customer.update", customer_id=zhang.pk)
    assert update.changes["city"] == ["Hangzhou", "Shanghai"]
    assert update.changes["sms/marketing"] == [True, False]


def test_rows_of_a_merged_customer_update_the_surviving_customer(org):
    run("customers.csv", actor=org.users["admin"])
    source = Customer.objects.get(external_id="CRM-002")
    target = Customer.objects.get(external_id="CRM-001")
    customer_merge(actor=None, source=source, target=target)

    data = csv_bytes(
        "name,unit,email,external_id,industry", "Li Na,hz,li.na@example.com,CRM-002,Retail"
    )
    result = run("merged.csv", data=data, actor=org.users["admin"])

    assert result.job.updated_count == 1
    target.refresh_from_db()
    assert target.industry == "Retail"
    assert target.name == "Li Na"
    assert ContactPoint.objects.filter(customer=target, normalized="li.na@example.com").exists()
    assert Customer.objects.count() == 3


def test_two_rows_for_customers_merged_into_one_are_refused(org):
    run("customers.csv", actor=org.users["admin"])
    source = Customer.objects.get(external_id="CRM-002")
    customer_merge(actor=None, source=source, target=Customer.objects.get(external_id="CRM-001"))

    data = csv_bytes("name,unit,city,external_id", "A,hz,X,CRM-001", "B,hz,Y,CRM-002")
    result = run("merged.csv", data=data, actor=org.users["admin"])

    assert [(e[0], e[1]) for e in result.job.errors] == [(3, "external_id")]
    assert "Row 2 already updates this customer" in result.job.errors[0][3]
    assert not Customer.objects.filter(city__in=["X", "Y"]).exists()


def test_updating_a_customer_outside_the_scope_is_refused(org):
    run("customers.csv", actor=org.users["admin"])
    data = csv_bytes("name,unit,phone,external_id", "Zhang Wei,bj,13812345678,CRM-001")
    result = run("steal.csv", data=data, actor=org.users["rm_north"])

    assert [e[:2] for e in result.job.errors] == [[2, "external_id"]]
    assert Customer.objects.get(external_id="CRM-001").unit == org.hz


# --- speed ----------------------------------------------------------------------------------


def _rows_file(n: int, start: int = 0) -> bytes:
    lines = ["name,unit,phone,email,external_id,owner,sms_marketing"]
    for i in range(start, start + n):
        lines.append(
            f"客户{i},hz,138{i:08d},c{i}@example.com,Q-{i},am_hz,{'是' if i % 2 else '否'}"
        )
    return csv_bytes(*lines)


def _queries_for(actor, data: bytes) -> int:
    with CaptureQueriesContext(connection) as ctx:
        result = customers_import(actor=actor, file_name="q.csv", data=data)
    assert result.job.status == ImportStatus.COMPLETED, result.job.errors[:3]
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_number_of_rows(org, django_assert_max_num_queries):
    admin = org.users["admin"]
    small = _queries_for(admin, _rows_file(50))
    # SQLite allows 999 parameters per statement, so Django splits the inserts into batches of
    # a few dozen rows there; PostgreSQL takes 2,000 rows per statement. Either way the count
    # grows by at most one query per ten rows, nothing like the 5+ queries per row of a loop.
    allowance = 0 if connection.vendor != "sqlite" else 450 // 10
    with django_assert_max_num_queries(small + allowance):
        customers_import(actor=admin, file_name="q.csv", data=_rows_file(500, start=1000))
    # and re-importing (updates) is set-based too
    with django_assert_max_num_queries(small + allowance + 10):
        data = _rows_file(500, start=1000).replace(b",hz,", b",nb,")
        result = customers_import(actor=admin, file_name="q.csv", data=data)
    assert result.job.updated_count == 500
    assert Customer.objects.filter(unit=org.nb).count() == 500


@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    st.sampled_from(["1{}", "+861{}", "+86 1{}", "1{} ", " 1{}"]),
)
def test_the_fast_phone_path_agrees_with_normalize_phone(digits, pattern):
    raw = pattern.format(digits)
    try:
        expected = normalize_phone(raw)
    except ValidationFailed:
        with pytest.raises(ValidationFailed):
            _phone(raw)
        return
    assert _phone(raw) == expected


@given(st.emails() | st.from_regex(r"[a-z.]{1,8}@[a-z-]{1,8}(\.[a-z]{1,3}){1,2}", fullmatch=True))
def test_the_fast_email_path_agrees_with_normalize_email(raw):
    try:
        expected = normalize_email(raw)
    except ValidationFailed:
        with pytest.raises(ValidationFailed):
            _email(raw)
        return
    assert _email(raw) == expected


# --- the command ----------------------------------------------------------------------------


def yiti(*argv: str) -> int:
    """Run ``yiti <argv>`` in-process; return the exit status the console script would give."""
    try:
        call_command(*argv)
    except CommandError as exc:
        sys.stderr.write(f"CommandError: {exc}\n")
        return exc.returncode
    return 0


def test_the_console_script_runs_the_import_command(tmp_path):
    # given a fresh embedded installation (its own SQLite database) and a file naming no unit
    env = {k: v for k, v in os.environ.items() if not k.startswith("YITI_")}
    env["YITI_DATA_DIR"] = str(tmp_path)
    script = Path(sys.executable).parent / "yiti"
    subprocess.run([script, "migrate", "-v0"], env=env, check=True, timeout=120)
    csv_file = tmp_path / "rows.csv"
    csv_file.write_bytes(csv_bytes("name,unit,phone", "Zhang,nowhere,13812345678"))

    done = subprocess.run(
        [script, "import", "customers", csv_file, "--dry-run"],
        env={**env, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1, done.stderr
    assert "nowhere" in done.stdout
    assert "CommandError" in done.stderr


def test_cli_imports_and_reports_counts(org, capsys):
    code = yiti("import", "customers", str(DATA / "customers.csv"), "--user", "rm_east")

    out = capsys.readouterr().out
    assert code == 0
    assert "3 rows: 3 created, 0 updated" in out
    assert Customer.objects.count() == 3


def test_cli_prints_the_errors_as_a_table_and_exits_non_zero(org, capsys, tmp_path):
    report = tmp_path / "errors.csv"
    code = yiti("import", "customers", str(DATA / "bad_phone.csv"), "--report", str(report))

    captured = capsys.readouterr()
    assert code == 1
    assert "Nothing was written" in captured.err
    table = captured.out.splitlines()
    assert table[0].split() == ["Row", "Column", "Value", "Reason"]
    assert table[2].split()[:3] == ["3", "phone", "12345"]
    assert "12345" in report.read_text(encoding="utf-8-sig")
    assert Customer.objects.count() == 0


def test_cli_default_unit_skip_invalid_and_dry_run(org, capsys, tmp_path):
    data = DATA / "bad_phone.csv"
    assert yiti("import", "customers", str(data), "--dry-run", "--skip-invalid") == 0
    assert Customer.objects.count() == 0
    assert yiti("import", "customers", str(data), "--skip-invalid", "--unit", "nb") == 0
    assert Customer.objects.get().unit == org.hz  # the file names hz; --unit only fills gaps
    all_bad = tmp_path / "all_bad.csv"
    all_bad.write_bytes(csv_bytes("name,unit,phone", "Bad,hz,123"))
    assert yiti("import", "customers", str(all_bad), "--skip-invalid") == 1
    assert "every row is invalid" in capsys.readouterr().err
    assert yiti("import", "customers", str(DATA / "empty.csv")) == 1
    assert "The file is empty." in capsys.readouterr().err
    assert yiti("import", "customers", str(DATA / "customers.csv"), "--user", "am_hz") == 1


# --- the old web page (/customers/io/import/): moved to /imports/ ---------------------------


@pytest.fixture
def web(client, org, settings, django_capture_on_commit_callbacks):
    """A signed-in client; a queued import runs when the request commits (the worker's task,
    in-process, as the immediate task backend does)."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }

    def login(username: str):
        assert client.login(username=username, password=PASSWORD)
        return client

    return login


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """``upload(client, name, **fields)``: post a file to the old page; its job runs."""

    def post(client, name: str, data: bytes | None = None, **fields):
        payload = (DATA / name).read_bytes() if data is None else data
        file = io.BytesIO(payload)
        file.name = name
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("customers_io:import"), {"file": file, **fields})

    return post


def test_import_page_needs_the_import_permission_and_moved_to_imports(web):
    assert web("am_hz").get(reverse("customers_io:import")).status_code == 403
    response = web("cm").get(reverse("customers_io:import"))
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:index") + "?kind=customers"


def test_uploading_a_file_queues_a_job_whose_page_shows_the_counts(web, upload, org):
    client = web("rm_east")
    response = upload(client, "customers.csv")

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["job"].created_count == 3
    assert page.context["job"].kind == "customers"
    assert Customer.objects.count() == 3


def test_invalid_rows_are_listed_and_the_report_can_be_downloaded(web, upload, org):
    client = web("rm_east")
    response = upload(client, "bad_phone.csv")
    page = client.get(response["Location"])

    assert page.context["errors"] == [[3, "phone", "12345", page.context["errors"][0][3]]]
    assert "12345" in page.content.decode()
    report = client.get(reverse("customers_io:import_errors", args=[page.context["job"].pk]))
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Column,Value,Reason"
    assert lines[1].startswith("3,phone,12345,")
    assert Customer.objects.count() == 0
    # another user cannot open this job
    assert web("rm_north").get(response["Location"]).status_code == 404


def test_file_problems_are_shown_on_the_job_page(web, upload):
    client = web("rm_east")
    response = upload(client, "customers_utf16.csv")

    page = client.get(response["Location"])
    assert page.context["job"].status == ImportStatus.REJECTED
    assert "neither UTF-8 nor GBK" in page.content.decode()
    assert Customer.objects.count() == 0


def test_skip_invalid_and_validate_only_from_the_page(web, upload):
    client = web("rm_east")
    upload(client, "bad_phone.csv", dry_run="on", skip_invalid="on")
    assert Customer.objects.count() == 0
    upload(client, "bad_phone.csv", skip_invalid="on")
    assert Customer.objects.count() == 1


def test_template_download_has_every_column(web):
    response = web("rm_east").get(reverse("customers_io:import_template"))
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Name,Unit,Phone,E-mail,WeChat,External id")
