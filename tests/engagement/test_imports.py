"""The importers of contact history and the do-not-disturb list, fed chunks as the runner does:
every bad input gives a row, a column and a reason; valid rows are written set-based; the
imported contacts count in the contact policy and move ``last_contact_at`` forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CustomerFactory, PhoneFactory
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.importing import ImportContext, auto_mapping, importer_for
from yiti.customers.models import Customer
from yiti.engagement import imports
from yiti.engagement.imports import InteractionImporter, SuppressionImporter, parse_when
from yiti.engagement.models import Interaction, Suppression
from yiti.engagement.policy_data import policy_inputs
from yiti.engagement.selectors import is_suppressed
from yiti.engagement.services import contact_rule_create, suppression_add
from yiti.org.access import access_for

SH = ZoneInfo("Asia/Shanghai")


def _ctx(actor=None):
    return ImportContext(
        actor=actor, access=access_for(actor) if actor is not None else None, job_id=1
    )


def _run(importer, rows, ctx):
    """begin, validate (in chunks of two, to cross chunk borders), write, finish."""
    importer.begin(ctx)
    good, bad = [], []
    for start in range(0, len(rows), 2):
        g, b = importer.validate(rows[start : start + 2], ctx)
        good.append(g)
        bad.extend(b)
    for chunk in good:
        if chunk:
            importer.write(chunk, ctx)
    importer.finish(ctx)
    return bad


@pytest.fixture
def book(org):
    a = CustomerFactory(unit=org.hz, external_id="A-1")
    b = CustomerFactory(unit=org.hz, external_id="B-2")
    c = CustomerFactory(unit=org.bj, external_id="C-3")
    PhoneFactory(customer=b, value="13800138000")
    return {"a": a, "b": b, "c": c}


def test_both_kinds_are_registered_with_chinese_and_english_headers():
    assert isinstance(importer_for("interactions"), InteractionImporter)
    assert isinstance(importer_for("suppressions"), SuppressionImporter)
    headers = ["客户编号", "渠道", "方向", "目的", "接触时间", "结果", "主题", "流水号"]
    assert auto_mapping(headers, InteractionImporter.columns) == {
        "external_id": 0,
        "channel": 1,
        "direction": 2,
        "purpose": 3,
        "occurred_at": 4,
        "outcome": 5,
        "subject": 6,
        "external_ref": 7,
    }
    english = ["External id", "Channel", "Direction", "Purpose", "Time", "Outcome"]
    assert set(auto_mapping(english, InteractionImporter.columns)) == {
        "external_id",
        "channel",
        "direction",
        "purpose",
        "occurred_at",
        "outcome",
    }
    assert auto_mapping(["手机", "原因", "截止日期", "备注"], SuppressionImporter.columns) == {
        "phone": 0,
        "reason": 1,
        "expires_at": 2,
        "note": 3,
    }


def test_times_as_legacy_systems_write_them():
    assert parse_when("2026-03-01 09:30", SH) == datetime(2026, 3, 1, 9, 30, tzinfo=SH)
    assert parse_when("2026/3/1 9:30:05", SH) == datetime(2026, 3, 1, 9, 30, 5, tzinfo=SH)
    assert parse_when("2026年3月1日 09:30", SH) == datetime(2026, 3, 1, 9, 30, tzinfo=SH)
    assert parse_when("2026-03-01T01:30:00+00:00", SH) == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert parse_when("2026-02-30 10:00", SH) is None
    assert parse_when("yesterday", SH) is None


def test_contact_history_is_written_with_aliases_and_counts_in_the_policy(org, book):
    # given a weekly cap of one marketing contact and a legacy file of outbound contacts
    contact_rule_create(
        actor=None, name="weekly", max_contacts=1, window_days=7, purposes=["marketing"]
    )
    now = timezone.now()
    yesterday = (now - timedelta(days=1)).astimezone(SH)
    local = yesterday.strftime("%Y-%m-%d %H:%M")
    rows = [
        (
            2,
            {
                "external_id": "A-1",
                "channel": "电话",
                "direction": "呼出",
                "purpose": "营销",
                "occurred_at": local,
                "outcome": "未接",
                "subject": "宽带提速",
                "external_ref": "L-1",
            },
        ),
        (
            3,
            {
                "external_id": "",
                "phone": "138 0013 8000",
                "channel": "SMS",
                "direction": "Outbound",
                "purpose": "Service",
                "occurred_at": "2025/1/5 8:00",
                "outcome": "",
            },
        ),
    ]
    ctx = _ctx(org.users["admin"])
    assert _run(InteractionImporter(), rows, ctx) == []
    assert ctx.created == 2
    first = Interaction.objects.get(customer=book["a"])
    assert (first.channel, first.direction, first.purpose, first.outcome) == (
        "call",
        "out",
        "marketing",
        "no_answer",
    )
    assert first.occurred_at == yesterday.replace(second=0, microsecond=0)
    # the legacy system does not say which unit made the contact
    assert (first.subject, first.external_ref, first.unit_id) == ("宽带提速", "L-1", None)
    second = Interaction.objects.get(customer=book["b"])
    assert second.occurred_at == datetime(2025, 1, 5, 8, tzinfo=SH)
    assert second.outcome == "completed"
    # last contact moved forward (never backwards), audited once
    book["a"].refresh_from_db()
    assert book["a"].last_contact_at == first.occurred_at
    assert AuditEvent.objects.filter(action="interaction.import").count() == 1
    # and the imported marketing call counts towards the weekly cap of customer A
    inputs = policy_inputs(customers=None, first=now, last=now)
    assert inputs.history.customer_id.tolist() == [book["a"].pk]


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"external_id": "NOPE"}, "external_id", "Unknown customer."),
        ({"external_id": "", "phone": ""}, "external_id", "Give the customer's external id"),
        ({"external_id": "", "phone": "13900000000"}, "phone", "No customer has this phone."),
        ({"external_id": "", "phone": "12"}, "phone", "No customer has this phone."),
        ({"channel": "pigeon"}, "channel", "Unknown channel."),
        ({"channel": ""}, "channel", "Required."),
        ({"direction": "sideways"}, "direction", "Unknown direction"),
        ({"purpose": "gossip"}, "purpose", "Unknown purpose."),
        ({"outcome": "maybe"}, "outcome", "Unknown outcome."),
        ({"occurred_at": "soon"}, "occurred_at", "Not a time"),
        ({"occurred_at": "2026-13-01 10:00"}, "occurred_at", "Not a time"),
        ({"occurred_at": "2999-01-01 10:00"}, "occurred_at", "in the future"),
        ({"occurred_at": "1970-01-01 10:00"}, "occurred_at", "Before 1990"),
        ({"occurred_at": ""}, "occurred_at", "Required."),
        ({"subject": "x" * 201}, "subject", "At most 200"),
        ({"external_ref": "r" * 65}, "external_ref", "At most 64"),
    ],
)
def test_every_bad_cell_is_reported_with_row_column_and_reason(org, book, cells, column, reason):
    good_row = {
        "external_id": "A-1",
        "channel": "call",
        "direction": "out",
        "purpose": "marketing",
        "occurred_at": "2025-06-01 10:00",
        "outcome": "reached",
    }
    importer = InteractionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    good, bad = importer.validate([(2, good_row), (7, {**good_row, **cells})], ctx)
    assert len(good) == 1
    assert [(e.row, e.column) for e in bad] == [(7, column)]
    assert reason in bad[0].reason


def test_a_customer_outside_the_actors_scope_is_unknown(org, book):
    row = {
        "external_id": "C-3",  # Beijing
        "channel": "call",
        "direction": "out",
        "purpose": "care",
        "occurred_at": "2025-06-01 10:00",
    }
    importer = InteractionImporter()
    ctx = _ctx(org.users["rm_east"])
    importer.begin(ctx)
    good, bad = importer.validate([(2, row)], ctx)
    assert good == [] and bad[0].reason == "Unknown customer."
    ctx = _ctx(org.users["admin"])
    importer.begin(ctx)
    assert len(importer.validate([(2, row)], ctx)[0]) == 1


def test_a_file_without_a_customer_column_is_refused_as_a_whole(org, book):
    importer = InteractionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    with pytest.raises(ValidationFailed) as refused:
        importer.validate([(2, {"channel": "call"})], ctx)
    assert refused.value.code == "missing_column"


def test_a_merged_customer_resolves_to_the_survivor(org, book):
    Customer.objects.filter(pk=book["c"].pk).update(status="merged", merged_into=book["a"])
    importer = InteractionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    good, _bad = importer.validate(
        [
            (
                2,
                {
                    "external_id": "C-3",
                    "channel": "call",
                    "direction": "in",
                    "purpose": "service",
                    "occurred_at": "2025-06-01 10:00",
                },
            )
        ],
        ctx,
    )
    assert good[0][0] == book["a"].pk  # the row names the survivor


def test_validation_reads_the_customers_once_and_a_chunk_in_a_constant_number_of_queries(org, book):
    rows = [
        (
            n,
            {
                "external_id": "A-1" if n % 2 else "B-2",
                "channel": "sms",
                "direction": "out",
                "purpose": "marketing",
                "occurred_at": f"2025-06-{1 + n % 28:02d} 10:00",
            },
        )
        for n in range(2, 402)
    ]
    importer = InteractionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    with CaptureQueriesContext(connection) as first:
        importer.validate(rows[:200], ctx)
    with CaptureQueriesContext(connection) as second:
        good, bad = importer.validate(rows[200:], ctx)
    assert len(first) <= 2 and len(second) == 0
    assert len(good) == 200 and bad == []
    with CaptureQueriesContext(connection) as writing:
        importer.write(good, ctx)
    assert len(writing) <= 3


def test_a_large_load_drops_and_rebuilds_the_indexes_on_sqlite(org, book, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its indexes during a load")
    monkeypatch.setattr(imports, "REBUILD_AFTER", 3)
    row = {
        "external_id": "A-1",
        "channel": "sms",
        "direction": "out",
        "purpose": "marketing",
        "occurred_at": "2025-06-01 10:00",
    }

    def names():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=%s "
                "ORDER BY name",
                [Interaction._meta.db_table],
            )
            return cursor.fetchall()

    before = names()
    assert len(before) >= 6
    ctx = _ctx()
    assert _run(InteractionImporter(), [(n, row) for n in range(2, 10)], ctx) == []
    assert names() == before
    assert Interaction.objects.filter(customer=book["a"]).count() == 8


# --- do not disturb ---------------------------------------------------------------------------


def test_the_do_not_disturb_list_is_imported_with_ends_and_updates(org, book):
    active = suppression_add(actor=None, customer=book["b"], note="old")
    rows = [
        (2, {"external_id": "A-1", "reason": "免打扰", "expires_at": "2099-12-31", "note": "投诉"}),
        (3, {"external_id": "", "phone": "13800138000", "reason": "", "note": "new note"}),
        (4, {"external_id": "C-3", "reason": "legal"}),
    ]
    ctx = _ctx(org.users["admin"])
    assert _run(SuppressionImporter(), rows, ctx) == []
    assert (ctx.created, ctx.updated) == (2, 1)
    a = Suppression.objects.get(customer=book["a"])
    assert a.reason == "do_not_disturb" and a.source_type == "manual" and a.note == "投诉"
    assert a.expires_at == datetime(2100, 1, 1, tzinfo=SH)  # to the end of the last day
    active.refresh_from_db()
    assert active.note == "new note" and active.expires_at is None
    assert Suppression.objects.filter(customer=book["b"]).count() == 1
    assert is_suppressed(book["c"])
    assert AuditEvent.objects.filter(action="suppression.import").count() == 3


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"external_id": "NOPE"}, "external_id", "Unknown customer."),
        ({"reason": "open_complaint"}, "reason", "Unknown reason"),
        ({"reason": "because"}, "reason", "Unknown reason"),
        ({"expires_at": "someday"}, "expires_at", "Not a date."),
        ({"expires_at": "2020-01-01"}, "expires_at", "in the future"),
        ({"note": "n" * 256}, "note", "At most 255"),
    ],
)
def test_every_bad_do_not_disturb_row_is_reported(org, book, cells, column, reason):
    importer = SuppressionImporter()
    ctx = _ctx(org.users["admin"])
    importer.begin(ctx)
    good, bad = importer.validate([(5, {"external_id": "A-1", **cells})], ctx)
    assert good == []
    assert [(e.row, e.column) for e in bad] == [(5, column)] and reason in bad[0].reason


def test_the_same_customer_twice_in_a_file_is_reported(org, book):
    importer = SuppressionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    good, _bad = importer.validate(
        [(2, {"external_id": "A-1"}), (3, {"external_id": "", "phone": ""})], ctx
    )
    good2, bad2 = importer.validate([(9, {"external_id": "A-1", "reason": "免打扰"})], ctx)
    assert len(good) == 1 and good2 == []
    assert (bad2[0].row, bad2[0].column) == (9, "external_id") and "row 2" in bad2[0].reason


def test_only_policy_managers_import_the_do_not_disturb_list(org, book):
    with pytest.raises(PermissionDenied):
        SuppressionImporter().begin(_ctx(org.users["rm_east"]))
    SuppressionImporter().begin(_ctx(org.users["cm"]))


def test_last_contact_moves_forward_only_like_the_orm_reference(org):
    """After a load, each customer's ``last_contact_at`` is the newest of the loaded contacts
    when that is newer — one statement — as ``customers_touch`` (the ORM path) would set it."""
    from yiti.customers.services import customers_touch
    from yiti.engagement import sql

    t = [timezone.now() - timedelta(days=d) for d in (30, 20, 10)]
    a = CustomerFactory(unit=org.hz, last_contact_at=t[0])
    b = CustomerFactory(unit=org.hz)
    c = CustomerFactory(unit=org.hz, last_contact_at=t[2])
    untouched = CustomerFactory(unit=org.hz, last_contact_at=t[0])
    twins = [CustomerFactory(unit=org.hz, last_contact_at=x.last_contact_at) for x in (a, b, c)]

    def contact(customer, at):
        return Interaction.objects.create(
            customer=customer, occurred_at=at, channel="call", direction="out", purpose="service"
        )

    before = contact(untouched, t[2]).pk  # made before the load: not the load's
    contact(a, t[1])
    contact(a, t[0])  # older than the same load's newest: the newest counts
    contact(b, t[0])
    contact(c, t[1])  # older than what c has: c stays
    moved = sql.customers_last_contact_from_interactions(after_id=before)
    # the ORM reference: customers_touch moves forward, never back
    for twin, at in zip(twins, (t[1], t[0], t[1]), strict=True):
        customers_touch(customer_ids=[twin.pk], at=at)
    got = list(
        Customer.objects.filter(pk__in=[a.pk, b.pk, c.pk])
        .order_by("pk")
        .values_list("last_contact_at", flat=True)
    )
    expected = list(
        Customer.objects.filter(pk__in=[x.pk for x in twins])
        .order_by("pk")
        .values_list("last_contact_at", flat=True)
    )
    assert got == expected == [t[1], t[0], t[2]]
    assert moved == 2
    untouched.refresh_from_db()
    assert untouched.last_contact_at == t[0]


def test_a_customer_gone_between_validation_and_writing_stops_the_load(org, book):
    """The load checks once, set-based, that the customers its rows name still exist (on
    SQLite a large load writes with the per-row foreign-key check off)."""
    gone = CustomerFactory(unit=org.hz, external_id="GONE-1")
    row = {
        "external_id": "GONE-1",
        "channel": "sms",
        "direction": "out",
        "purpose": "marketing",
        "occurred_at": "2025-06-01 10:00",
    }
    importer = InteractionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    good, bad = importer.validate_columns([2], {k: [v] for k, v in row.items()}, ctx)
    assert bad == [] and len(good) == 1
    Customer.objects.filter(pk=gone.pk).delete()
    with pytest.raises(IntegrityError, match="no longer exist"):
        importer.write(good, ctx)
    assert not Interaction.objects.filter(customer_id=gone.pk).exists()
