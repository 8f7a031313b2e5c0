"""The contact-history importer's column-at-a-time path (what the runner uses for large files)
gives exactly the tuples and errors of its row-by-row path, for any mix of
good and bad cells — so the speed-up cannot change what a user's import writes or reports."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import CustomerFactory, PhoneFactory
from yiti.customers.importing import ImportContext
from yiti.engagement.imports import InteractionImporter

CELLS = {
    "external_id": ["A-1", "B-2", "", "nobody", " A-1"],
    "phone": ["", "13800138000", "138 0013 8000", "12345"],
    "channel": ["call", "电话", "SMS", "Call", "pigeon", ""],
    "direction": ["out", "呼入", "OUT", "sideways", ""],
    "purpose": ["marketing", "服务", "Care", "gossip", ""],
    "occurred_at": [
        "2025-06-01 10:00",
        "2025-06-01 10:00:59",
        "2025-06-01T23:30:05",
        "2025-06-01 10:60",
        "2025-13-01 10:00",
        "2025/6/1 9:05",
        "2025-06-01 10:00:00+02:00",
        "2025-06-01 10:00:00.250",
        "1989-12-31 23:59",
        "1990-01-01 08:00",
        "2999-01-01 10:00",
        "1991-04-14 01:30",  # China's summer time, when clocks moved
        "soon",
        "",
    ],
    "outcome": ["", "reached", "接通", "No_Answer", "maybe"],
    "subject": ["", "回访", "x" * 201],
    "external_ref": ["", "L1", "r" * 65],
}

row_strategy = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()})


def _ctx():
    return ImportContext(actor=None, access=None, job_id=1)


@pytest.fixture
def book(org):
    CustomerFactory(unit=org.hz, external_id="A-1")
    b = CustomerFactory(unit=org.hz, external_id="B-2")
    PhoneFactory(customer=b, value="13800138000")


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(row_strategy, min_size=1, max_size=12))
def test_columns_and_rows_agree_on_every_mix_of_cells(book, rows):
    numbers = list(range(2, 2 + len(rows)))
    by_rows = InteractionImporter()
    ctx_rows = _ctx()
    by_rows.begin(ctx_rows)
    good_r, bad_r = by_rows.validate(list(zip(numbers, rows, strict=True)), ctx_rows)

    by_cols = InteractionImporter()
    ctx_cols = _ctx()
    by_cols.begin(ctx_cols)
    columns = {k: [r[k] for r in rows] for k in CELLS}
    good_c, bad_c = by_cols.validate_columns(numbers, columns, ctx_cols)

    assert good_c == good_r
    assert [(e.row, e.column, e.value, e.reason) for e in bad_c] == [
        (e.row, e.column, e.value, e.reason) for e in bad_r
    ]


@pytest.mark.django_db
def test_a_file_of_plain_local_times_is_stored_in_utc_like_the_row_path(book):
    importer = InteractionImporter()
    ctx = _ctx()
    importer.begin(ctx)
    columns = {
        "external_id": ["A-1", "A-1"],
        "channel": ["call", "sms"],
        "direction": ["out", "out"],
        "purpose": ["marketing", "marketing"],
        "occurred_at": ["2025-06-01 07:30", "2025-06-02T09:15:20"],
    }
    good, bad = importer.validate_columns([2, 3], columns, ctx)
    assert bad == []
    # Asia/Shanghai is UTC+8: 07:30 local is 23:30 the day before
    assert [g[1][:19] for g in good] == ["2025-05-31 23:30:00", "2025-06-02 01:15:20"]
