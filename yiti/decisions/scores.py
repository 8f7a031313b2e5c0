"""From the book's columns to every customer's value scores and tier: numpy only, no database.

:func:`score_book` takes the customers and their orders as arrays (read by
``yiti.decisions.inputs``) and returns, per customer, the lifetime value, expected
purchases, P(alive), cost to serve, growth gap, trend and tier, with the fitted parameters
and the holdout check. Everything is vectorised over all customers at once.

Decisions, documented here because they shape every number on the value page:

* **Orders used**: every order that is not cancelled, in the data window (``window_months``
  before the end date, or all). Pending and processing orders count: they are purchases the
  customer made, and leaving the newest out would make recent buyers look inactive.
* **Days** are local calendar days; orders of a customer on one day are one purchase.
* **Lifetime value is margin**: BG/NBD expected purchases per month × Gamma-Gamma expected
  spend per purchase (fitted on order amounts) × the customer's own margin rate in the window
  (Σ margin / Σ amount of the orders used), discounted monthly over ``horizon_months``.
* **Cost to serve**: the unit costs of the tickets, care call attempts and account-manager
  visits of the last ``cost_lookback_months``, as a monthly rate, over the same horizon and
  with the same discounting as the value (service goes on whether or not the customer buys).
* **Customers without an order in the window** are not (yet) buyers: expected purchases 0,
  clv 0, P(alive) 0 and churn risk 1; their tier follows the same rules (BZ when they cost
  something, else standard).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from yiti.decisions.tiers import (
    TierRules,
    assign_tiers,
    peer_values,
    rising_trend,
)
from yiti.decisions.value_model import (
    DAYS_PER_MONTH,
    BgNbdParams,
    GammaGammaParams,
    ModelFitError,
    Rfm,
    bgnbd_expected_purchases,
    bgnbd_probability_alive,
    clv,
    fit_bgnbd,
    fit_gamma_gamma,
    rfm_from_transactions,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Book:
    """The customers to score, sorted by id. ``owner`` 0: no account manager."""

    customer_id: IntArray
    unit: IntArray
    owner: IntArray

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass(frozen=True)
class Orders:
    """The orders used, one entry each: local day number (days since 1970-01-01), amount and
    margin in yuan, and the product category code (index into ProductCategory.values)."""

    customer_id: IntArray
    day: IntArray
    amount: FloatArray
    margin: FloatArray
    category: IntArray

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass(frozen=True)
class ScoreSettings:
    horizon_months: int = 12
    discount_rate: float = 0.01
    holdout_months: int = 0
    trend_months: int = 6
    cost_lookback_months: int = 12
    rules: TierRules = field(default_factory=TierRules)


@dataclass(frozen=True)
class Holdout:
    months: int
    predicted: float
    actual: float
    customers: int


@dataclass
class Scores:
    """Per-customer results aligned with ``Book.customer_id``, and the fit."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    rfm: Rfm
    clv: FloatArray
    expected_purchases: FloatArray
    p_alive: FloatArray
    churn_risk: FloatArray
    cost_to_serve: FloatArray
    net_value: FloatArray
    growth_gap: FloatArray
    rising: npt.NDArray[np.bool_]
    purchases: IntArray
    last_day: IntArray  # -1: no purchase
    tier: npt.NDArray[np.int8]
    holdout: Holdout | None


def annuity(months: int, rate: float) -> float:
    """Σ_{m=1..months} (1 + rate)^-m: what a monthly amount is worth over the horizon."""
    return float(sum((1.0 + rate) ** -m for m in range(1, months + 1)))


def positions(book_ids: IntArray, ids: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Index in the (sorted) book of each id, and whether the id is in the book at all."""
    if not len(book_ids):
        return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
    where = np.searchsorted(book_ids, ids)
    found = where < len(book_ids)
    found[found] = book_ids[where[found]] == ids[found]
    return np.minimum(where, len(book_ids) - 1).astype(np.int64), found


def _fit(rfm: Rfm) -> tuple[BgNbdParams, GammaGammaParams]:
    if len(rfm) < 2:
        raise ModelFitError("fewer than two customers have orders in the data window")
    if not np.any(rfm.frequency > 0):
        raise ModelFitError("no customer bought more than once in the data window")
    bgnbd = fit_bgnbd(rfm.frequency, rfm.recency, rfm.T)
    gamma_gamma = fit_gamma_gamma(rfm.frequency, rfm.monetary)
    if gamma_gamma.q <= 1:
        raise ModelFitError(
            f"Gamma-Gamma q = {gamma_gamma.q:.3f} <= 1: the expected spend is not finite"
        )
    return bgnbd, gamma_gamma


HOLDOUT_SAMPLE = 200_000  # customers; a larger book is checked on every k-th customer id


def _holdout(orders: Orders, end_day: int, months: int, full: Rfm) -> Holdout | None:
    """Fit on the window minus the last ``months`` and forecast those months' purchases for
    the customers who had bought by then; compare with the purchase days they made.

    A diagnostic, so a book of more than ``HOLDOUT_SAMPLE`` buyers is checked on a sample
    (the customers whose id is a multiple of k): the same check for a fraction of the time.
    """
    days = round(months * DAYS_PER_MONTH)
    cut = end_day - days
    keep = orders.day <= cut
    step = -(-len(full) // HOLDOUT_SAMPLE)
    if step > 1:
        keep &= orders.customer_id % step == 0
    if not keep.any():
        return None
    calibration = rfm_from_transactions(
        orders.customer_id[keep],
        orders.day[keep].astype("datetime64[D]"),
        orders.amount[keep],
        end=np.datetime64(cut, "D"),
    )
    try:
        bgnbd, _gamma_gamma = _fit(calibration)
    except ModelFitError:
        return None
    predicted = bgnbd_expected_purchases(
        bgnbd, days, calibration.frequency, calibration.recency, calibration.T
    )
    # every calibration customer is in the full summary (same start, later end), both sorted
    at = np.searchsorted(full.customer_ids, calibration.customer_ids)
    actual = full.frequency[at] - calibration.frequency
    return Holdout(
        months=months,
        predicted=float(predicted.sum()),
        actual=float(actual.sum()),
        customers=len(calibration),
    )


def score_book(
    book: Book,
    orders: Orders,
    cost_per_customer: FloatArray,
    *,
    end_day: int,
    settings: ScoreSettings,
    timer: Any = None,
) -> Scores:
    """Fit the value model on ``orders`` up to ``end_day`` and score every customer of
    ``book``. ``cost_per_customer`` is the cost to serve over the lookback, aligned with the
    book. Raises :class:`ModelFitError` when the orders cannot support a fit."""
    lap = timer or (lambda _name: None)
    pos, found = positions(book.customer_id, orders.customer_id)
    if not found.all():  # orders of customers not scored (merged away): not used
        orders = Orders(*(getattr(orders, f)[found] for f in Orders.__dataclass_fields__))
        pos = pos[found]
    rfm = rfm_from_transactions(
        orders.customer_id,
        orders.day.astype("datetime64[D]"),
        orders.amount,
        end=np.datetime64(end_day, "D"),
    )
    lap("rfm")
    # The holdout check is a second, independent fit: it runs on a thread of its own while
    # this one fits and scores (numpy and scipy release the GIL in their loops, so the two
    # use both cores); its result is collected before returning.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = (
            pool.submit(_holdout, orders, end_day, settings.holdout_months, rfm)
            if settings.holdout_months
            else None
        )
        scores = _score(book, orders, rfm, pos, cost_per_customer, end_day, settings, lap)
        scores.holdout = pending.result() if pending is not None else None
        lap("holdout_wait")
    return scores


def _score(
    book: Book,
    orders: Orders,
    rfm: Rfm,
    pos: IntArray,
    cost_per_customer: FloatArray,
    end_day: int,
    settings: ScoreSettings,
    lap: Any,
) -> Scores:
    n = len(book)
    bgnbd, gamma_gamma = _fit(rfm)
    lap("fit")

    # per-customer sums over the orders, in book positions
    amount = np.bincount(pos, weights=orders.amount, minlength=n)
    margin = np.bincount(pos, weights=orders.margin, minlength=n)
    margin_rate = np.divide(margin, amount, out=np.zeros(n), where=amount > 0)
    trend_days = round(settings.trend_months * DAYS_PER_MONTH)
    recent_mask = orders.day > end_day - trend_days
    earlier_mask = ~recent_mask & (orders.day > end_day - 2 * trend_days)
    recent = np.bincount(pos[recent_mask], weights=orders.amount[recent_mask], minlength=n).astype(
        np.float64, copy=False
    )
    earlier = np.bincount(
        pos[earlier_mask], weights=orders.amount[earlier_mask], minlength=n
    ).astype(np.float64, copy=False)
    n_categories = int(orders.category.max()) + 1 if len(orders) else 1
    by_category = np.bincount(
        pos * n_categories + orders.category, weights=orders.amount, minlength=n * n_categories
    ).reshape(n, n_categories)
    bought = np.zeros(n, dtype=bool)
    at, in_book = positions(book.customer_id, rfm.customer_ids.astype(np.int64))
    at = at[in_book]
    bought[at] = True
    category = np.where(bought, by_category.argmax(axis=1), -1).astype(np.int64)
    lap("sums")

    horizon = settings.horizon_months * DAYS_PER_MONTH
    expected = np.zeros(n)
    p_alive = np.zeros(n)
    value = np.zeros(n)
    purchases = np.zeros(n, dtype=np.int64)
    last_day = np.full(n, -1, dtype=np.int64)
    x, t_x, age = rfm.frequency[in_book], rfm.recency[in_book], rfm.T[in_book]
    expected[at] = bgnbd_expected_purchases(bgnbd, horizon, x, t_x, age)
    p_alive[at] = np.clip(bgnbd_probability_alive(bgnbd, x, t_x, age), 0.0, 1.0)
    value[at] = clv(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        age,
        rfm.monetary[in_book],
        months=settings.horizon_months,
        discount_rate=settings.discount_rate,
        margin=margin_rate[at],
    )
    purchases[at] = (x + 1).astype(np.int64)
    last_day[at] = end_day - np.rint(age - t_x).astype(np.int64)
    lap("clv")

    monthly_cost = cost_per_customer / settings.cost_lookback_months
    cost = monthly_cost * annuity(settings.horizon_months, settings.discount_rate)
    net = value - cost
    churn = 1.0 - p_alive
    rules = settings.rules
    peers = peer_values(
        value, book.unit, category, percentile=rules.peer_percentile, min_peers=rules.min_peers
    )
    gap = np.maximum(peers - value, 0.0)
    rising = rising_trend(recent, earlier, rules.trend_rise)
    tier = assign_tiers(
        clv=value,
        net_value=net,
        churn_risk=churn,
        purchases=purchases,
        growth_gap=gap,
        rising=rising,
        rules=rules,
    )
    lap("tiers")
    return Scores(
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        rfm=rfm,
        clv=value,
        expected_purchases=expected,
        p_alive=p_alive,
        churn_risk=churn,
        cost_to_serve=cost,
        net_value=net,
        growth_gap=gap,
        rising=rising & (purchases > 0),
        purchases=purchases,
        last_day=last_day,
        tier=tier,
        holdout=None,
    )
