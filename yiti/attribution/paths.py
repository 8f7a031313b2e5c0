"""From touches and orders to a book of paths, and from model weights to each order's credit.

Pure numpy over the integer rows of ``sql.touch_rows`` / ``sql.order_rows``: no query, no
loop over orders, so a campaign's whole book is built and attributed at once.

* ``book_build``: each order with at least one touch of the campaign in the lookback window
  before it is a conversion whose path is those touches in time order (a path that converts,
  value = amount); each customer the campaign touched who placed no such order is a path
  that did not convert (``nulls`` = 1), which the Markov and Shapley models need.
* ``allocate``: each order's revenue and margin shared among units: the part by touches
  goes to the unit of each touch in proportion to the model's weight, the part by agreement
  to the units' fixed shares. Money is in cents and rounded so that each order's rows add
  up exactly (the largest share, the first of equals, takes the rounding
  difference).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from yiti.attribution.models_math import Paths
from yiti.attribution.sql import O_AMOUNT, O_AT, O_CUSTOMER, O_MARGIN, T_AT, T_CUSTOMER, T_ID

DAY = 86_400


@dataclass(frozen=True)
class Book:
    """A campaign's book: ``paths`` (converting paths first, one per order in ``orders``,
    then the paths that did not convert) and, for every touch of ``paths``, its row in the
    touch array (``touch_row``)."""

    paths: Paths
    orders: np.ndarray  # (n_converting, 6) order rows, in path order
    touch_row: np.ndarray  # (n_touches,) index into the touch rows

    @property
    def n_converting(self) -> int:
        return len(self.orders)

    @property
    def converting_touches(self) -> int:
        return int(self.paths.ptr[self.n_converting])


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, indices): the concatenation of ``range(lo[i], hi[i])`` for every i."""
    counts = hi - lo
    ptr = np.zeros(len(lo) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    idx = np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1] - lo, counts)
    return ptr, idx


def book_build(
    touches: np.ndarray,
    keys: np.ndarray,
    orders: np.ndarray,
    *,
    n_keys: int,
    lookback_days: int,
    with_nulls: bool = True,
) -> Book:
    """The book of one campaign (module docstring). ``keys`` is each touch row's channel key
    (the "channel" the models see, 0 … n_keys − 1)."""
    lookback = int(lookback_days) * DAY
    if len(touches) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Book(
            paths=Paths(
                ptr=np.zeros(1, dtype=np.int64),
                channels=empty,
                conversions=np.zeros(0),
                value=np.zeros(0),
                nulls=np.zeros(0),
                n_channels=n_keys,
                ages=np.zeros(0),
            ),
            orders=np.zeros((0, 6), dtype=np.int64),
            touch_row=empty,
        )
    # by customer, time and id: two sorts of one int64 key each (a stable sort by
    # customer << 32 | seconds since ``base`` after a sort by id)
    base = int(touches[:, T_AT].min())
    if len(orders):
        base = min(base, int(orders[:, O_AT].min()))
    base -= lookback + 1
    by_id = np.argsort(touches[:, T_ID])
    key = (touches[by_id, T_CUSTOMER] << 32) | (touches[by_id, T_AT] - base)
    sort = np.argsort(key, kind="stable")
    order = by_id[sort]
    t_key = key[sort]
    t_customer = touches[order, T_CUSTOMER]
    t_at = touches[order, T_AT]
    o_customer = orders[:, O_CUSTOMER]
    lo = np.searchsorted(t_key, (o_customer << 32) | (orders[:, O_AT] - lookback - base), "left")
    hi = np.searchsorted(t_key, (o_customer << 32) | (orders[:, O_AT] - base), "right")
    converting = hi > lo
    conv_orders = orders[converting]
    ptr, idx = _ranges(lo[converting], hi[converting])
    o_at_of_touch = np.repeat(conv_orders[:, O_AT], np.diff(ptr))
    ages = (o_at_of_touch - t_at[idx]) / DAY
    n_conv = len(conv_orders)
    conversions = np.ones(n_conv)
    value = conv_orders[:, O_AMOUNT] / 100.0
    nulls = np.zeros(n_conv)
    if with_nulls:
        # customers without a converting order: all their touches, one path that did not convert
        starts = np.flatnonzero(np.r_[True, t_customer[1:] != t_customer[:-1]])
        ends = np.r_[starts[1:], len(t_customer)]
        converted = np.isin(t_customer[starts], conv_orders[:, O_CUSTOMER])
        n_ptr, n_idx = _ranges(starts[~converted], ends[~converted])
        ptr = np.concatenate([ptr, n_ptr[1:] + ptr[-1]])
        idx = np.concatenate([idx, n_idx])
        ages = np.concatenate([ages, np.zeros(len(n_idx))])
        n_null = len(n_ptr) - 1
        conversions = np.concatenate([conversions, np.zeros(n_null)])
        value = np.concatenate([value, np.zeros(n_null)])
        nulls = np.concatenate([nulls, np.ones(n_null)])
    rows = order[idx]
    return Book(
        paths=Paths(
            ptr=ptr,
            channels=keys[rows].astype(np.int64),
            conversions=conversions,
            value=value,
            nulls=nulls,
            n_channels=n_keys,
            ages=ages,
        ),
        orders=conv_orders,
        touch_row=rows,
    )


@dataclass(frozen=True)
class Allocation:
    """Credit rows: for each, the order (index into ``Book.orders``), the unit, the touch row
    (−1 for an agreed share), the share of the order, revenue and margin in cents."""

    order: np.ndarray
    unit: np.ndarray
    touch_row: np.ndarray
    share: np.ndarray
    revenue: np.ndarray
    margin: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def _cents(order: np.ndarray, share: np.ndarray, total: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Split each order's ``total`` cents by ``share``: each row rounded, the difference to the
    order's total on its row ``top`` (its largest share)."""
    raw = np.rint(total[order] * share).astype(np.int64)
    if len(raw) == 0:
        return raw
    rest = total - np.bincount(order, weights=raw, minlength=len(total)).astype(np.int64)
    present = np.bincount(order, minlength=len(total)) > 0
    raw[top[present]] += rest[present]
    return raw


def allocate(
    book: Book,
    touch_weights: np.ndarray,
    touch_units: np.ndarray,
    *,
    touch_part: float,
    agreed: Mapping[int, float] | Sequence[tuple[int, float]] = (),
) -> Allocation:
    """Each converting order's credit (module docstring). ``touch_weights`` are the model's
    weights of the book's touches, ``touch_units`` the unit of every touch row; ``agreed``
    maps units to fractions summing to 1 and takes ``1 − touch_part`` of each order.

    Rows come grouped by order — its touches in time order, then its agreed shares — laid
    out by index arithmetic, without sorting."""
    n_conv = book.n_converting
    n_touch = book.converting_touches
    lengths = np.diff(book.paths.ptr[: n_conv + 1])
    items = list(agreed.items()) if isinstance(agreed, Mapping) else list(agreed)
    k = len(items) if items and touch_part < 1 else 0
    size = n_touch + k * n_conv
    order = np.empty(size, dtype=np.int64)
    unit = np.empty(size, dtype=np.int64)
    touch = np.empty(size, dtype=np.int64)
    share = np.empty(size, dtype=np.float64)
    touch_order = np.repeat(np.arange(n_conv, dtype=np.int64), lengths)
    at = np.arange(n_touch, dtype=np.int64) + k * touch_order  # each order's touches first
    rows = book.touch_row[:n_touch]
    order[at], unit[at], touch[at] = touch_order, touch_units[rows], rows
    share[at] = touch_weights[:n_touch] * touch_part
    if k:
        ends = book.paths.ptr[1 : n_conv + 1] + k * np.arange(1, n_conv + 1, dtype=np.int64)
        agreed_at = (ends[:, None] - k + np.arange(k)[None, :]).ravel()
        order[agreed_at] = np.repeat(np.arange(n_conv, dtype=np.int64), k)
        unit[agreed_at] = np.tile(np.array([u for u, _ in items], dtype=np.int64), n_conv)
        touch[agreed_at] = -1
        fractions = np.array([f for _, f in items], dtype=np.float64) * (1 - touch_part)
        share[agreed_at] = np.tile(fractions, n_conv)
    keep = share > 0
    order, unit, touch, share = order[keep], unit[keep], touch[keep], share[keep]
    top = np.zeros(n_conv, dtype=np.int64)
    if len(order):
        starts = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])
        biggest = np.maximum.reduceat(share, starts)
        index = np.where(share == biggest[order], np.arange(len(order)), len(order))
        top[order[starts]] = np.minimum.reduceat(index, starts)
    return Allocation(
        order=order,
        unit=unit,
        touch_row=touch,
        share=np.minimum(share, 1.0),
        revenue=_cents(order, share, book.orders[:, O_AMOUNT], top),
        margin=_cents(order, share, book.orders[:, O_MARGIN], top),
    )
