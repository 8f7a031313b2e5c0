"""Contact history and the do-not-disturb list imported end to end through the import runner
and the CLI (``yiti import interactions FILE``): a file in GBK with Chinese headers, a bad
file that writes nothing, skipping invalid rows when asked."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import CustomerFactory
from yiti.customers.choices import ImportStatus
from yiti.customers.import_jobs import import_job_create
from yiti.customers.imports_runner import import_run
from yiti.engagement.models import Interaction, Suppression

pytestmark = pytest.mark.django_db

HISTORY = (
    "客户编号,渠道,方向,目的,接触时间,结果,主题\n"
    "CRM-1,电话,呼出,营销,2025-03-01 09:30,接通,宽带提速\n"
    "CRM-2,短信,呼出,关怀,2025/3/2 10:00,,生日祝福\n"
    "CRM-1,email,out,service,2025-03-03 11:00,sent,\n"
)


@pytest.fixture
def customers(org):
    return [CustomerFactory(unit=org.hz, external_id=f"CRM-{i}") for i in (1, 2)]


def _job(tmp_path, org, kind, text, *, encoding="utf-8", **kw):
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(text.encode(encoding))
    return import_job_create(
        actor=org.users["admin"],
        kind=kind,
        file_name=path.name,
        stored_at=path,
        queue=False,
        **kw,
    )


def test_a_gbk_history_file_is_imported_through_the_runner(org, customers, tmp_path):
    job = _job(tmp_path, org, "interactions", HISTORY, encoding="gbk")
    outcome = import_run(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.message
    assert (job.rows_read, job.created_count, job.error_count) == (3, 3, 0)
    assert outcome.errors == []
    rows = Interaction.objects.order_by("occurred_at")
    assert [(i.customer.external_id, i.channel, i.purpose, i.outcome) for i in rows] == [
        ("CRM-1", "call", "marketing", "reached"),
        ("CRM-2", "sms", "care", "completed"),
        ("CRM-1", "email", "service", "sent"),
    ]


def test_a_bad_history_file_writes_nothing_unless_invalid_rows_are_skipped(
    org, customers, tmp_path
):
    bad = HISTORY + "NOPE,电话,呼出,营销,2025-03-04 09:00,,\nCRM-2,飞鸽,呼出,营销,明天,,\n"
    job = _job(tmp_path, org, "interactions", bad)
    outcome = import_run(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.REJECTED and not Interaction.objects.exists()
    assert [e.as_list() for e in outcome.errors] == [
        [5, "客户编号", "NOPE", "Unknown customer."],
        [6, "渠道", "飞鸽", "Unknown channel."],
        [6, "接触时间", "明天", "Not a time: write 2026-03-01 09:30."],
    ]
    job = _job(tmp_path, org, "interactions", bad, skip_invalid=True)
    import_run(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED and Interaction.objects.count() == 3


def test_a_file_missing_a_required_column_is_refused(org, customers, tmp_path):
    job = _job(tmp_path, org, "interactions", "客户编号,渠道,方向\nCRM-1,电话,呼出\n")
    import_run(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.REJECTED
    assert "purpose" in job.message or "目的" in job.message
    assert not Interaction.objects.exists()


def test_the_do_not_disturb_list_through_the_cli(org, customers, tmp_path):
    path = tmp_path / "dnd.csv"
    path.write_text("客户编号,原因,截止日期,备注\nCRM-1,免打扰,2099-12-31,投诉后要求\n", "utf-8")
    out = StringIO()
    # a campaign manager sees no customers of Hangzhou: the row names an unknown customer
    with pytest.raises(CommandError, match="Nothing was written"):
        call_command("import", "suppressions", str(path), "--user", "cm", "--quiet", stdout=out)
    assert not Suppression.objects.exists()
    call_command("import", "suppressions", str(path), "--quiet", stdout=out)
    row = Suppression.objects.get()
    assert (row.customer, row.reason, row.note) == (customers[0], "do_not_disturb", "投诉后要求")


@pytest.mark.django_db(transaction=True)
def test_a_large_load_on_sqlite_skips_per_row_key_checks_and_leaves_them_on(
    org, customers, tmp_path, monkeypatch
):
    """Past REBUILD_AFTER rows the write runs with SQLite's foreign-key checks off (the rows'
    customers are checked once instead); afterwards the connection checks keys again and the
    table has no dangling reference."""
    from django.db import connection

    from yiti.engagement import imports

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL loads by COPY with its keys checked")
    monkeypatch.setattr(imports, "REBUILD_AFTER", 1)
    job = _job(tmp_path, org, "interactions", HISTORY)
    import_run(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED, job.message
    assert Interaction.objects.count() == 3
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert cursor.execute("PRAGMA foreign_key_check(engagement_interaction)").fetchall() == []
