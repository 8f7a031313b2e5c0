"""``insert_rows`` stores exactly what the ORM would store, whichever way it sends the rows
(JSON unpacked inside SQLite, bound rows, ``COPY`` on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiti.core.bulk import insert_rows
from yiti.core.models import AuditEvent

pytestmark = pytest.mark.django_db

FIELDS = ("action", "object_type", "object_id", "customer_id", "summary")
text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
rows = st.lists(
    st.tuples(
        text,
        st.sampled_from(["wave", "客户", 'a "quoted" \\ name', "null", "00123"]),
        st.one_of(text, st.just("007")),
        st.one_of(st.none(), st.integers(-(2**62), 2**62)),
        text,
    ),
    min_size=1,
    max_size=30,
)


def stored(action_prefix: str) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action__startswith=action_prefix)
        .order_by("id")
        .values_list(*FIELDS)
    )


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=rows, ready=st.booleans(), batch_size=st.sampled_from([1, 7, 2000]))
def test_inserted_rows_read_back_as_given_with_the_defaults_filled(batch, ready, batch_size):
    batch = [("t:" + r[0], *r[1:]) for r in batch]
    try:
        with transaction.atomic():
            insert_rows(AuditEvent, FIELDS, batch, ready=ready, batch_size=batch_size)

            assert stored("t:") == batch
            events = AuditEvent.objects.filter(action__startswith="t:")
            assert all(e.changes == {} and e.at is not None for e in events)
            raise _Undo
    except _Undo:
        pass


class _Undo(Exception):
    """Rolls each example back."""
