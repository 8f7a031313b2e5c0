"""Building paths from touches and orders, and allocating orders among units: properties
(credit is conserved to the cent, never negative, deterministic) and a small hand case."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yiti.attribution import models_math as m
from yiti.attribution.paths import DAY, allocate, book_build

T0 = 1_780_000_000


def test_each_order_takes_the_customers_touches_in_the_lookback_window_in_time_order():
    touches = np.array(
        [
            # id, customer, at, channel, unit, actor
            [1, 7, T0 + 5 * DAY, 3, 0, 0],
            [2, 7, T0 + 1 * DAY, 1, 0, 0],
            [3, 7, T0 - 40 * DAY, 2, 0, 0],  # before the lookback window
            [4, 8, T0 + 2 * DAY, 1, 0, 0],  # another customer, who never orders
            [5, 7, T0 + 9 * DAY, 1, 0, 0],  # after the order
        ]
    )
    keys = np.array([0, 1, 2, 1, 1])
    orders = np.array([[100, 7, T0 + 6 * DAY, 1, 96000, 38400], [101, 9, T0, 1, 100, 0]])
    book = book_build(touches, keys, orders, n_keys=3, lookback_days=30)
    assert book.orders[:, 0].tolist() == [100]  # customer 9 had no touch: no conversion
    assert book.paths.ptr.tolist() == [0, 2, 3]
    # order 100: touches 2 then 1; then the customers without a conversion: 8, and none for 7
    assert touches[book.touch_row, 0].tolist()[:2] == [2, 1]
    assert book.paths.ages[:2].tolist() == [5.0, 1.0]
    assert book.paths.nulls.tolist() == [0, 1]
    assert touches[book.touch_row[2:3], 0].tolist() == [4]


@st.composite
def scenario(draw: st.DrawFn):
    n_customers = draw(st.integers(1, 6))
    n_touches = draw(st.integers(1, 30))
    touches = np.array(
        [
            [
                i + 1,
                draw(st.integers(1, n_customers)),
                T0 + draw(st.integers(0, 40)) * DAY // 2,
                0,
                draw(st.integers(1, 4)),
                0,
            ]
            for i in range(n_touches)
        ],
        dtype=np.int64,
    )
    n_orders = draw(st.integers(0, 8))
    orders = np.array(
        [
            [
                1000 + j,
                draw(st.integers(1, n_customers)),
                T0 + draw(st.integers(0, 40)) * DAY // 2,
                1,
                draw(st.integers(0, 10**7)),
                draw(st.integers(-(10**6), 10**6)),
            ]
            for j in range(n_orders)
        ],
        dtype=np.int64,
    ).reshape(-1, 6)
    keys = np.array([draw(st.integers(0, 3)) for _ in range(n_touches)], dtype=np.int64)
    model = draw(st.sampled_from(m.MODELS))
    touch_part = draw(st.sampled_from([1.0, 0.0, 0.5, 0.3]))
    agreed = {10: 0.5, 20: 0.25, 30: 0.25}
    return touches, keys, orders, model, touch_part, agreed


@settings(max_examples=150, deadline=None)
@given(case=scenario())
def test_allocation_conserves_every_order_to_the_cent_and_is_deterministic(case):
    touches, keys, orders, model, touch_part, agreed = case
    book = book_build(touches, keys, orders, n_keys=4, lookback_days=30)
    weights = m.weights(book.paths, model)
    units = touches[:, 4]
    first = allocate(book, weights, units, touch_part=touch_part, agreed=agreed)
    again = allocate(book, weights, units, touch_part=touch_part, agreed=agreed)
    for name in ("order", "unit", "touch_row", "share", "revenue", "margin"):
        assert getattr(first, name).tolist() == getattr(again, name).tolist()
    assert (first.share > 0).all() and (first.share <= 1).all()
    n = book.n_converting
    shares = np.bincount(first.order, weights=first.share, minlength=n)
    assert np.allclose(shares, 1.0)
    revenue = np.bincount(first.order, weights=first.revenue, minlength=n)
    margin = np.bincount(first.order, weights=first.margin, minlength=n)
    assert revenue.astype(np.int64).tolist() == book.orders[:, 4].tolist()
    assert margin.astype(np.int64).tolist() == book.orders[:, 5].tolist()
    if book.orders[:, 4].min(initial=0) >= 0:
        assert (first.revenue >= 0).all()
    # touch rows are credited to the unit of their touch, agreed rows to the agreed units
    with_touch = first.touch_row >= 0
    assert (first.unit[with_touch] == units[first.touch_row[with_touch]]).all()
    assert set(first.unit[~with_touch].tolist()) <= set(agreed)
