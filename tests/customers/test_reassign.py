"""Bulk reassignment when an account manager leaves: nothing lost, history kept."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import CustomerFactory, ProductFactory
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.choices import ReassignRule
from yiti.customers.models import Assignment, Customer, Order
from yiti.customers.services import _reassign_plan, customers_reassign_bulk, order_create
from yiti.engagement.models import Interaction
from yiti.engagement.services import interaction_record


@pytest.fixture
def departing(org):
    """am_hz owns 30 Hangzhou customers and 10 Ningbo customers, each with an order and a call."""
    am = org.users["am_hz"]
    product = ProductFactory()
    customers = CustomerFactory.create_batch(
        30, unit=org.hz, owner=am
    ) + CustomerFactory.create_batch(10, unit=org.nb, owner=am)
    for c in customers:
        order_create(actor=None, customer=c, product=product, amount=50)
        interaction_record(
            actor=None,
            customer=c,
            channel="call",
            direction="out",
            purpose="care",
            check_access=False,
        )
    return customers


def test_reassign_by_territory_gives_each_customer_a_colleague_of_his_unit(org, departing):
    # given am_hz leaves; am_hz2 serves Hangzhou and am_nb serves Ningbo
    rm = org.users["rm_east"]
    result = customers_reassign_bulk(
        actor=rm,
        from_user=org.users["am_hz"],
        to_users=[org.users["am_hz2"], org.users["am_nb"]],
        rule=ReassignRule.TERRITORY,
        reason="离职交接",
    )
    # then every customer moved to the colleague of his own unit
    assert result.moved == 40
    assert not Customer.objects.filter(owner=org.users["am_hz"]).exists()
    assert set(Customer.objects.filter(unit=org.hz).values_list("owner_id", flat=True)) == {
        org.users["am_hz2"].pk
    }
    assert set(Customer.objects.filter(unit=org.nb).values_list("owner_id", flat=True)) == {
        org.users["am_nb"].pk
    }
    # and the orders and timeline stay with the customers
    assert Order.objects.filter(customer__in=departing).count() == 40
    assert Interaction.objects.filter(customer__in=departing).count() == 40
    # and each customer has a history row saying who, from, to, why, in one batch
    rows = Assignment.objects.filter(batch=result.batch)
    assert rows.count() == 40
    assert set(rows.values_list("from_user_id", flat=True)) == {org.users["am_hz"].pk}
    assert set(rows.values_list("reason", flat=True)) == {"离职交接"}
    assert AuditEvent.objects.filter(
        action="customer.reassign", customer_id=departing[0].pk
    ).exists()


def test_reassign_evenly_splits_the_book(org, departing):
    result = customers_reassign_bulk(
        actor=org.users["admin"],
        from_user=org.users["am_hz"],
        to_users=[org.users["am_hz2"], org.users["am_nb"]],
        rule=ReassignRule.EVEN,
        reason="leaving",
    )
    assert sorted(result.per_user.values()) == [20, 20]


def test_territory_rule_refuses_when_a_unit_has_no_colleague(org, departing):
    with pytest.raises(ValidationFailed) as err:
        customers_reassign_bulk(
            actor=org.users["rm_east"],
            from_user=org.users["am_hz"],
            to_users=[org.users["am_hz2"]],
            rule=ReassignRule.TERRITORY,
            reason="leaving",
        )
    assert err.value.code == "territory_uncovered"
    assert "宁波分公司" in err.value.message
    # nothing was written
    assert Customer.objects.filter(owner=org.users["am_hz"]).count() == 40
    assert not Assignment.objects.filter(reason="leaving").exists()


def test_only_managers_reassign_and_a_reason_is_required(org, departing):
    with pytest.raises(PermissionDenied):
        customers_reassign_bulk(
            actor=org.users["am_hz2"],
            from_user=org.users["am_hz"],
            to_users=[org.users["am_hz2"]],
            reason="x",
        )
    with pytest.raises(ValidationFailed):
        customers_reassign_bulk(
            actor=org.users["rm_east"],
            from_user=org.users["am_hz"],
            to_users=[org.users["am_hz2"]],
            reason=" ",
        )


def test_region_manager_moves_only_customers_in_his_region(org, departing):
    # am_hz also owns a Beijing customer, outside rm_east's region
    outsider = CustomerFactory(unit=org.bj, owner=org.users["am_hz"])
    customers_reassign_bulk(
        actor=org.users["rm_east"],
        from_user=org.users["am_hz"],
        to_users=[org.users["am_hz2"]],
        rule=ReassignRule.EVEN,
        reason="leaving",
    )
    outsider.refresh_from_db()
    assert outsider.owner_id == org.users["am_hz"].pk


def test_bulk_reassign_query_count_does_not_grow_with_customers(org, django_assert_max_num_queries):
    am = org.users["am_hz"]
    CustomerFactory.create_batch(300, unit=org.hz, owner=am)
    with django_assert_max_num_queries(20):
        customers_reassign_bulk(
            actor=org.users["rm_east"],
            from_user=am,
            to_users=[org.users["am_hz2"]],
            rule="territory",
            reason="x",
        )


class _U:
    def __init__(self, pk: int):
        self.pk = pk


@settings(max_examples=200, deadline=None)
@given(
    units=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=60),
    n_targets=st.integers(min_value=1, max_value=4),
    rule=st.sampled_from([ReassignRule.EVEN, ReassignRule.TERRITORY]),
)
def test_plan_assigns_every_customer_exactly_once_and_fairly(units, n_targets, rule):
    rows = [(i + 1, u) for i, u in enumerate(units)]
    targets = [_U(100 + t) for t in range(n_targets)]
    # every target serves every unit, so territory never fails here
    target_units = {t.pk: {1, 2, 3, 4} for t in targets}
    plan = _reassign_plan(rows, targets, rule, target_units)
    assigned = [cid for ids in plan.values() for cid in ids]
    assert sorted(assigned) == [cid for cid, _ in rows]
    counts = Counter({t.pk: len(plan.get(t.pk, [])) for t in targets})
    if rule == ReassignRule.EVEN:
        assert max(counts.values()) - min(counts.values()) <= 1
    else:
        for unit in set(units):
            per = Counter(t for t, ids in plan.items() for cid in ids if dict(rows)[cid] == unit)
            share = [per.get(t.pk, 0) for t in targets]
            assert max(share) - min(share) <= 1
