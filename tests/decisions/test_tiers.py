"""Tier rules on small hand-made books: each tier follows its definition (yiti/decisions/tiers.py),
and a property test checks the vectorised rules against a plain-Python reading of them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiti.decisions.tiers import (
    BZ,
    MGC,
    MVC,
    STANDARD,
    TierRules,
    assign_tiers,
    group_percentile,
    peer_values,
    rising_trend,
    top_share,
)


def tiers_of(**columns):
    n = len(columns["clv"])
    defaults = {
        "net_value": np.asarray(columns["clv"], dtype=float),
        "churn_risk": np.zeros(n),
        "purchases": np.ones(n, dtype=np.int64),
        "growth_gap": np.zeros(n),
        "rising": np.zeros(n, dtype=bool),
    }
    given_ = {k: np.asarray(v) for k, v in columns.items() if k != "rules"}
    merged = {**defaults, **given_}
    merged["clv"] = np.asarray(merged["clv"], dtype=float)
    return assign_tiers(rules=columns.get("rules", TierRules()), **merged).tolist()


def test_most_valuable_is_the_top_share_of_customers_with_a_positive_value():
    # Given 20 customers with values 1..20 and two without value
    clv = [*range(1, 21), 0, 0]
    # When a tenth are most valuable
    tiers = tiers_of(clv=clv, rules=TierRules(mvc_share=0.1, mgc_share=0))
    # Then the two largest of the 20 positive values (ceil(0.1 × 20) = 2) are MVC, nobody else
    assert [i for i, t in enumerate(tiers) if t == MVC] == [18, 19]
    # And a share of 3 positive customers is rounded up: one MVC
    assert tiers_of(clv=[5, 9, 1], rules=TierRules(mvc_share=0.1)).count(MVC) == 1


def test_ties_at_the_cut_go_to_the_lower_customer():
    tiers = tiers_of(clv=[7, 9, 9, 1], rules=TierRules(mvc_share=0.25, mgc_share=0))
    assert tiers == [STANDARD, MVC, STANDARD, STANDARD]


def test_below_zero_wins_over_most_valuable_and_most_growable():
    # The biggest spender costs more than he brings; another would be growable but costs more
    tiers = tiers_of(
        clv=[100, 50, 10, 5],
        net_value=[-1, 50, -0.5, 5],
        growth_gap=[0, 0, 80, 0],
        rules=TierRules(mvc_share=0.25, mgc_share=1),
    )
    assert tiers[0] == BZ and tiers[2] == BZ
    # the MVC cut was taken over all positive values: customer 0 used the one MVC place
    assert MVC not in tiers


def test_most_growable_by_gap_needs_an_active_buyer_outside_the_top():
    tiers = tiers_of(
        clv=[100, 10, 10, 10, 10, 10],
        growth_gap=[0, 50, 40, 30, 60, 70],
        churn_risk=[0, 0.1, 0.1, 0.1, 0.9, 0.1],  # customer 4 is probably gone
        purchases=[3, 2, 2, 2, 2, 0],  # customer 5 never bought
        rules=TierRules(mvc_share=0.1, mgc_share=0.5, churn_threshold=0.5),
    )
    # eligible: 1, 2, 3 (positive gaps 50, 40, 30); ceil(0.5 × 3) = 2 with the largest gaps
    assert tiers == [MVC, MGC, MGC, STANDARD, STANDARD, STANDARD]


def test_a_rising_trend_makes_an_eligible_customer_most_growable_whatever_the_gap():
    tiers = tiers_of(
        clv=[100, 10, 10],
        rising=[False, True, True],
        churn_risk=[0, 0.2, 0.7],
        rules=TierRules(mvc_share=0.1, mgc_share=0, churn_threshold=0.5),
    )
    assert tiers == [MVC, MGC, STANDARD]


def test_customers_without_orders_are_below_zero_when_they_cost_something_else_standard():
    tiers = tiers_of(
        clv=[0, 0, 30],
        net_value=[-12, 0, 30],
        purchases=[0, 0, 2],
        churn_risk=[1, 1, 0],
        rules=TierRules(mvc_share=0.5, mgc_share=1),
    )
    assert tiers == [BZ, STANDARD, MVC]


def test_rising_trend_needs_earlier_spend_and_the_rise():
    recent = np.array([150.0, 149.0, 50.0, 0.0])
    earlier = np.array([100.0, 100.0, 0.0, 0.0])
    assert rising_trend(recent, earlier, 0.5).tolist() == [True, False, False, False]


def test_group_percentile_matches_numpy_per_group():
    values = np.array([5.0, 1.0, 3.0, 10.0, 20.0, 2.0, 8.0])
    groups = np.array([1, 1, 1, 2, 2, 1, 3])
    out, size = group_percentile(values, groups, 75)
    for i, g in enumerate(groups):
        assert out[i] == pytest.approx(np.percentile(values[groups == g], 75))
        assert size[i] == (groups == g).sum()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.floats(0, 1000, allow_nan=False)),
        min_size=1,
        max_size=40,
    ),
    st.floats(0, 100),
)
def test_group_percentile_is_numpy_percentile_for_any_grouping(rows, q):
    groups = np.array([g for g, _ in rows])
    values = np.array([v for _, v in rows])
    out, _ = group_percentile(values, groups, q)
    for i, g in enumerate(groups):
        assert out[i] == pytest.approx(np.percentile(values[groups == g], q), abs=1e-6)


def test_peers_are_the_unit_and_category_else_the_category_else_none():
    # unit 1 / category 0 has 3 customers (enough with min_peers 3); unit 2 / category 0 has
    # one (falls back to category 0 across units); category 1 has one in total (no peers);
    # a customer without orders (-1) has no peers either
    clv = np.array([10.0, 20.0, 30.0, 100.0, 7.0, 0.0])
    unit = np.array([1, 1, 1, 2, 1, 1])
    category = np.array([0, 0, 0, 0, 1, -1])
    peers = peer_values(clv, unit, category, percentile=50, min_peers=3)
    assert peers.tolist() == [20.0, 20.0, 20.0, 25.0, 0.0, 0.0]


def test_top_share_of_nobody_or_nothing():
    values = np.array([3.0, 2.0])
    assert not top_share(values, np.zeros(2, dtype=bool), 0.5).any()
    assert not top_share(values, np.ones(2, dtype=bool), 0).any()
    assert top_share(values, np.ones(2, dtype=bool), 1).all()


def _reference(clv, net, churn, purchases, gap, rising, rules):
    """The module docstring's rules read literally, one customer at a time."""
    n = len(clv)
    positive = [i for i in range(n) if clv[i] > 0]
    k = math.ceil(rules.mvc_share * len(positive) - 1e-9) if rules.mvc_share > 0 else 0
    top = set(sorted(positive, key=lambda i: (-clv[i], i))[:k])
    tiers = []
    mvc = {i for i in top if net[i] >= 0}
    eligible = [
        i
        for i in range(n)
        if net[i] >= 0 and i not in mvc and purchases[i] > 0 and churn[i] < rules.churn_threshold
    ]
    gapped = [i for i in eligible if gap[i] > 0]
    kg = math.ceil(rules.mgc_share * len(gapped) - 1e-9) if rules.mgc_share > 0 else 0
    big = set(sorted(gapped, key=lambda i: (-gap[i], i))[:kg])
    for i in range(n):
        if net[i] < 0:
            tiers.append(BZ)
        elif i in mvc:
            tiers.append(MVC)
        elif i in eligible and (i in big or rising[i]):
            tiers.append(MGC)
        else:
            tiers.append(STANDARD)
    return tiers


customer = st.tuples(
    st.sampled_from([0.0, 5.0, 10.0, 20.0, 50.0, 120.0]),  # clv (ties on purpose)
    st.sampled_from([0.0, 3.0, 15.0, 200.0]),  # cost
    st.floats(0, 1, allow_nan=False),  # churn risk
    st.integers(0, 3),  # purchases
    st.sampled_from([0.0, 4.0, 9.0, 30.0]),  # gap
    st.booleans(),  # rising
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(customer, min_size=1, max_size=30),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
    st.sampled_from([0.0, 0.1, 0.3, 1.0]),
    st.sampled_from([0.3, 0.5, 0.8]),
)
def test_vectorised_tiers_equal_the_rules_read_one_customer_at_a_time(
    customers, mvc_share, mgc_share, churn_threshold
):
    clv = np.array([c[0] for c in customers])
    net = clv - np.array([c[1] for c in customers])
    churn = np.array([c[2] for c in customers])
    purchases = np.array([c[3] for c in customers], dtype=np.int64)
    gap = np.array([c[4] for c in customers])
    rising = np.array([c[5] for c in customers])
    rules = TierRules(mvc_share=mvc_share, mgc_share=mgc_share, churn_threshold=churn_threshold)
    got = assign_tiers(
        clv=clv,
        net_value=net,
        churn_risk=churn,
        purchases=purchases,
        growth_gap=gap,
        rising=rising,
        rules=rules,
    ).tolist()
    assert got == _reference(clv, net, churn, purchases, gap, rising, rules)
