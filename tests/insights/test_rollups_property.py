"""Property: whatever happens between two refreshes — tickets opened on any day, resolved,
breached; contacts recorded in any week; care calls done — the incrementally refreshed
rollups equal the ones rebuilt from scratch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.insights.test_rollups import _contacts, bj, snapshot
from yiti.customers.models import Customer
from yiti.insights.models import RollupWatermark
from yiti.insights.rollups import rollups_rebuild, rollups_refresh
from yiti.service.models import Ticket

KINDS = ["complaint", "repair", "consultation"]

step = st.one_of(
    st.tuples(
        st.just("open"),
        st.integers(0, 2),  # customer
        st.sampled_from(KINDS),
        st.integers(0, 20),  # day of March
        st.integers(0, 23),  # hour (Beijing)
    ),
    st.tuples(st.just("resolve"), st.integers(0, 30), st.booleans()),  # nth ticket, breached
    st.tuples(st.just("contact"), st.integers(0, 2), st.integers(0, 20), st.integers(0, 23)),
    st.tuples(st.just("refresh")),
)


def _apply(op: tuple, customers: list[Customer], org: object) -> None:
    if op[0] == "open":
        _, who, kind, day, hour = op
        Ticket.objects.create(
            customer=customers[who],
            kind=kind,
            complaint_class="fulfilment" if kind == "complaint" else "",
            subject="x",
            unit=org.east,  # type: ignore[attr-defined]
            opened_at=bj(2026, 3, 1 + day, hour),
        )
    elif op[0] == "resolve":
        _, nth, breached = op
        tickets = list(Ticket.objects.order_by("id"))
        if tickets:
            ticket = tickets[nth % len(tickets)]
            ticket.resolved_at = ticket.opened_at + timedelta(hours=5)
            ticket.status = "resolved"
            ticket.sla_state = "missed" if breached else "met"
            ticket.save()
    elif op[0] == "contact":
        _, who, day, hour = op
        _contacts(customers[who], bj(2026, 3, 1 + day, hour))
    else:
        rollups_refresh()
        # the next changes come after this run, past its overlap
        RollupWatermark.objects.update(changed_until=timezone.now() - timedelta(minutes=30))
        Ticket.objects.update(updated_at=timezone.now() - timedelta(minutes=40))


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(step, min_size=1, max_size=12))
def test_incremental_equals_rebuilt_for_any_history(org, ops):
    with transaction.atomic():
        customers = [
            Customer.objects.create(name=f"客户{i}", unit=unit)
            for i, unit in enumerate([org.hz, org.nb, org.bj])
        ]
        rollups_refresh()
        for op in ops:
            _apply(op, customers, org)
        rollups_refresh()
        incremental = snapshot()
        rollups_rebuild()
        assert snapshot() == incremental
        transaction.set_rollback(True)
