"""The customer value model: BG/NBD + Gamma-Gamma, fitted by maximum likelihood, and CLV.

Pure, vectorised numerics over all customers at once (numpy + scipy, no database):

* :func:`rfm_from_transactions` turns raw transactions into the per-customer summary the
  models need (frequency, recency, age ``T``, mean repeat spend), with purchases on the same
  day merged, using one sort of (customer, day) keys and ``np.bincount`` (no Python loop
  per customer).
* BG/NBD — Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting Your Customers' the
  Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275–284.
  While active a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
  repeat purchase she drops out with probability p ~ Beta(a, b). :func:`fit_bgnbd`,
  :func:`bgnbd_expected_purchases` (conditional expectation, eq. 10) and
  :func:`bgnbd_probability_alive`.
* Gamma-Gamma — Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "RFM and CLV: Using
  Iso-Value Curves for Customer Base Analysis", *Journal of Marketing Research* 42(4),
  415–430 (and Fader & Hardie, "The Gamma-Gamma Model of Monetary Value", 2013). Spend per
  purchase ~ Gamma(p, ν) with ν ~ Gamma(q, γ) across customers (``v`` here is γ).
  :func:`fit_gamma_gamma`, :func:`gamma_gamma_expected_spend`.
* :func:`clv` — discounted sum over months of the purchases expected in each month times the
  expected spend (times an optional margin).

Why hand-written: the classic ``lifetimes`` package (last release 0.11.3, 2020) is no longer
maintained — its README points users to PyMC-Marketing — and PyMC-Marketing brings PyMC,
PyTensor and ArviZ with it, far too heavy for a self-hosted service sized for 2 cores. The
two likelihoods are a few lines each; written here with analytic gradients they fit a
million customers in seconds with ``scipy.optimize.minimize`` (L-BFGS-B on log-parameters,
so every parameter stays positive).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

FloatArray = npt.NDArray[np.float64]
TimeUnit = Literal["day", "week"]

DAYS_PER_UNIT: dict[str, float] = {"day": 1.0, "week": 7.0}
DAYS_PER_MONTH = 365.25 / 12
LOG_BOUND = 15.0  # log-parameters stay within e^±15: keeps gammaln/exp finite while searching


class ModelFitError(ValueError):
    """The data cannot support a fit (too few customers, no repeat buyers, no convergence)."""


# --- RFM summary -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rfm:
    """Per-customer summary, one entry per customer (sorted by ``customer_ids``).

    ``frequency`` counts repeat purchase days, ``recency`` is the time from the first to the
    last purchase, ``T`` the time from the first purchase to ``end`` (in ``time_unit``s), and
    ``monetary`` the mean value of the repeat purchases (0 for customers without one).
    """

    customer_ids: np.ndarray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary: FloatArray
    transactions: int  # input rows used (on or before ``end``)
    time_unit: str

    def __len__(self) -> int:
        return len(self.frequency)


def _day_numbers(values: Any) -> npt.NDArray[np.int64]:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def _customer_codes(
    ids: np.ndarray, span: int
) -> tuple[npt.NDArray[np.int64], Callable[[npt.NDArray[np.int64]], np.ndarray]]:
    """Non-negative integer codes for the customer ids, and the function mapping codes back.

    Integer ids are offset by their minimum (no extra sort: ``np.unique`` over ten million
    ids costs more than the rest of the summary); other ids, or integers whose range times
    ``span`` would overflow the (customer, day) key, are numbered by ``np.unique``.
    """
    if np.issubdtype(ids.dtype, np.integer) and len(ids):
        low, high = int(ids.min()), int(ids.max())
        if (high - low + 1) * span < 2**62:

            def from_offsets(codes: npt.NDArray[np.int64]) -> np.ndarray:
                return (codes + low).astype(ids.dtype)

            return ids.astype(np.int64) - low, from_offsets
    unique_ids, inverse = np.unique(ids, return_inverse=True)

    def from_ranks(codes: npt.NDArray[np.int64]) -> np.ndarray:
        return unique_ids[codes]

    return inverse.astype(np.int64).reshape(-1), from_ranks


def _dense(codes: npt.NDArray[np.int64], present: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Position in ``present`` (sorted, and holding every code) of each of ``codes``."""
    if len(present) and present[-1] < 4 * len(present):  # codes nearly dense: a lookup table
        table = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        table[present] = np.arange(len(present))
        return table[codes]
    return np.searchsorted(present, codes).astype(np.int64)


def rfm_from_transactions(
    customer_ids: Any,
    dates: Any,
    amounts: Any,
    *,
    end: date | datetime | str | np.datetime64,
    time_unit: TimeUnit = "day",
) -> Rfm:
    """Summarise transactions into frequency, recency, T and monetary value per customer.

    ``dates`` is anything numpy reads as ``datetime64`` (times of day are dropped).
    Transactions after ``end`` are ignored; purchases of one customer on one day count as one
    purchase whose value is their sum. Amounts must be finite and not negative
    (``ValueError`` otherwise). Durations are measured in days, divided by 7 for
    ``time_unit="week"``.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"time_unit must be 'day' or 'week', not {time_unit!r}")
    ids = np.asarray(customer_ids)
    days = _day_numbers(dates)
    values = np.asarray(amounts, dtype=np.float64)
    if not (len(ids) == len(days) == len(values)):
        raise ValueError("customer_ids, dates and amounts must have the same length")
    if not np.all(np.isfinite(values)):
        raise ValueError("an amount is not a number (NaN or infinite)")
    if np.any(values < 0):
        raise ValueError(
            "amounts must not be negative (refunds are not purchases: leave them out or net "
            "them against their order)"
        )
    end_day = int(_day_numbers([end])[0])
    keep = days <= end_day
    ids, days, values = ids[keep], days[keep], values[keep]
    used = len(ids)
    if not used:
        empty = np.zeros(0, dtype=np.float64)
        return Rfm(ids[:0], empty, empty, empty, empty, 0, time_unit)

    first_day = int(days.min())
    span = end_day - first_day + 1
    codes, decode = _customer_codes(ids, span)
    offset = days - first_day
    # One sort of the (customer, day) keys gives the distinct purchase days of each customer;
    # amounts are summed by bincount, so they never need to follow the sort.
    key = np.sort(codes * span + offset)
    day_key = key[np.r_[True, key[1:] != key[:-1]]]  # purchases on one day merged
    day_customer = day_key // span
    day_number = day_key % span

    cust_start = np.flatnonzero(np.r_[True, day_customer[1:] != day_customer[:-1]])
    cust_end = np.r_[cust_start[1:], len(day_key)] - 1
    purchases = np.diff(np.r_[cust_start, len(day_key)])
    customer = day_customer[cust_start]  # ascending codes of the customers present
    first_days = day_number[cust_start]
    first = first_days.astype(np.float64)
    last = day_number[cust_end].astype(np.float64)

    slot = _dense(codes, customer)
    total = np.bincount(slot, weights=values, minlength=len(customer))
    on_first_day = offset == first_days[slot]
    first_value = np.bincount(
        slot[on_first_day], weights=values[on_first_day], minlength=len(customer)
    )

    unit = DAYS_PER_UNIT[time_unit]
    frequency = (purchases - 1).astype(np.float64)
    recency = (last - first) / unit
    age = (span - 1 - first) / unit
    repeat_value = total - first_value
    monetary = np.divide(
        repeat_value, frequency, out=np.zeros_like(repeat_value), where=frequency > 0
    )
    return Rfm(
        customer_ids=decode(customer),
        frequency=frequency,
        recency=recency,
        T=age,
        monetary=monetary,
        transactions=used,
        time_unit=time_unit,
    )


# --- Shared fitting machinery --------------------------------------------------------------


def _fit_log_params(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
) -> tuple[FloatArray, float]:
    """Minimise ``objective(log θ) -> (value, gradient)`` with L-BFGS-B; return (θ, value)."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(
        objective,
        np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9},
    )
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise ModelFitError(f"the optimiser did not converge: {result.message}")
    return np.exp(result.x), float(result.fun)


def _wsum(weights: FloatArray, values: FloatArray) -> float:
    """Weighted sum; einsum rather than ``@``, which goes through BLAS threads for no gain."""
    return float(np.einsum("i,i->", weights, values))


def _as_float(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


# --- BG/NBD -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters: λ ~ Gamma(r, α) purchase rates, p ~ Beta(a, b) dropout."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # total over the n customers at the fitted parameters
    n: int

    def as_dict(self) -> dict[str, float]:
        return {
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "log_likelihood": self.log_likelihood,
        }


def _bgnbd_terms(
    theta: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Per-customer log-likelihood, the weight of the A4 branch, and whether x > 0.

    ln L = ln A1 + ln A2 + ln(A3 + δ(x>0) A4) with (Fader, Hardie & Lee 2005, eq. 6)
    A1 = Γ(r+x) α^r / Γ(r),  A2 = B(a, b+x) / B(a, b) = Γ(a+b)Γ(b+x) / (Γ(b)Γ(a+b+x)),  A3 = (α+T)^-(r+x),
    A4 = a/(b+x-1) · (α+t_x)^-(r+x); the sum is taken as a log-sum-exp.
    """
    r, alpha, a, b = theta
    repeat = x > 0
    ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    ln_a2 = gammaln(b + x) - gammaln(a + b + x) + (gammaln(a + b) - gammaln(b))
    ln_a3 = -(r + x) * np.log(alpha + T)
    safe_b = np.where(repeat, b + x - 1, 1.0)
    ln_a4 = np.log(a) - np.log(safe_b) - (r + x) * np.log(alpha + t_x)
    ln_a4 = np.where(repeat, ln_a4, -np.inf)
    ll = ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)
    w4 = np.where(repeat, expit(ln_a4 - ln_a3), 0.0)
    return ll, w4, repeat


def bgnbd_log_likelihood(
    params: BgNbdParams | tuple[float, float, float, float],
    frequency: Any,
    recency: Any,
    T: Any,
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood at ``params`` (r, alpha, a, b)."""
    theta = _bgnbd_theta(params)
    ll, _, _ = _bgnbd_terms(theta, _as_float(frequency), _as_float(recency), _as_float(T))
    return ll


def _bgnbd_theta(params: BgNbdParams | tuple[float, float, float, float]) -> FloatArray:
    if isinstance(params, BgNbdParams):
        return np.array([params.r, params.alpha, params.a, params.b], dtype=np.float64)
    return np.asarray(params, dtype=np.float64)


def _bgnbd_objective(
    x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    total = float(weights.sum())

    def objective(log_theta: FloatArray) -> tuple[float, FloatArray]:
        theta = np.exp(log_theta)
        r, alpha, a, b = theta
        ll, w4, _ = _bgnbd_terms(theta, x, t_x, T)
        w3 = 1.0 - w4
        safe_b = np.where(x > 0, b + x - 1, 1.0)
        ln_alpha_T = np.log(alpha + T)
        ln_alpha_tx = np.log(alpha + t_x)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + x)
        d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * ln_alpha_T - w4 * ln_alpha_tx
        d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
        d_a = psi_ab - psi_abx + w4 / a
        d_b = psi_ab + digamma(b + x) - digamma(b) - psi_abx - w4 / safe_b
        grad = np.array([_wsum(weights, d) for d in (d_r, d_alpha, d_a, d_b)])
        value = -_wsum(weights, ll) / total
        return value, -(grad * theta) / total

    return objective


def _compress(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Distinct rows of the columns and how many customers share each (likelihood weights)."""
    order = np.lexsort(columns[::-1])
    ordered = [column[order] for column in columns]
    change = np.zeros(len(order), dtype=bool)
    change[0] = True
    for column in ordered:
        change[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(change)
    counts = np.diff(np.r_[starts, len(order)]).astype(np.float64)
    return [column[starts] for column in ordered], counts


def fit_bgnbd(frequency: Any, recency: Any, T: Any) -> BgNbdParams:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005).

    Customers sharing (x, t_x, T) are fitted once with a weight. The optimiser works on
    log-parameters with the analytic gradient.
    """
    x, t_x, age = _as_float(frequency), _as_float(recency), _as_float(T)
    n = len(x)
    if n < 2:
        raise ModelFitError("BG/NBD needs at least two customers")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age):
        raise ModelFitError("need frequency >= 0 and 0 <= recency <= T")
    if not np.any(x > 0):
        # the likelihood has no information on the dropout (a, b): the optimiser would stop
        # at its starting values and report them as fitted
        raise ModelFitError("no customer bought more than once")
    (ux, utx, uT), weights = _compress(x, t_x, age)
    mean_rate = max(float(x.mean()), 0.05) / max(float(age.mean()), 1e-3)
    start = np.log(np.array([1.0, 1.0 / mean_rate, 1.0, 3.0]))
    theta, value = _fit_log_params(_bgnbd_objective(ux, utx, uT, weights), start)
    r, alpha, a, b = (float(v) for v in theta)
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=-value * n, n=n)


def bgnbd_probability_alive(
    params: BgNbdParams, frequency: Any, recency: Any, T: Any
) -> FloatArray:
    """P(still active at T | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x))."""
    x, t_x, age = _as_float(frequency), _as_float(recency), _as_float(T)
    return expit(-_log_dropout_odds(params, x, t_x, age))


def _log_dropout_odds(params: BgNbdParams, x: FloatArray, t_x: FloatArray, age: FloatArray):
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    safe_b = np.where(repeat, b + x - 1, 1.0)
    odds = np.log(a) - np.log(safe_b) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    return np.where(repeat, odds, -np.inf)


def bgnbd_expected_purchases(
    params: BgNbdParams, t: Any, frequency: Any, recency: Any, T: Any
) -> FloatArray:
    """Expected purchases in (T, T + t] for a customer with history (x, t_x, T) — eq. 10.

    E[Y(t)] = (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x-1; z)]
              · P(alive | x, t_x, T),   z = t/(α+T+t).

    Evaluated directly, ₂F₁(r+x, b+x; …) grows like (1-z)^-(r+x) and overflows once
    x·ln((α+T+t)/(α+T)) passes ~709 (a daily buyer over a long horizon): inf·0 gives NaN.
    Euler's transformation ₂F₁(A, B; C; z) = (1-z)^(C-A-B) ₂F₁(C-A, C-B; C; z) gives the
    same bracket as 1 - ((α+T)/(α+T+t))^(a-1) ₂F₁(a+b-1-r, a-1; a+b+x-1; z), used here: its
    hypergeometric term does not grow with x (it agrees with the direct form to 5e-13 of
    that form's largest term wherever the direct form is finite, and is the more accurate
    of the two, as the direct form loses digits to cancellation). It overflows in turn when
    ``a`` is huge (fits on small books run to the bound e^15); there the direct form is
    used, and where both overflow (huge ``a`` and a frequent buyer) the expectation is
    integrated numerically (:func:`_alive_purchases_by_quadrature`).
    The closed forms need a ≠ 1; a fitted ``a`` within 1e-6 of 1 is nudged away from it.
    """
    columns = np.broadcast_arrays(
        _as_float(t), _as_float(frequency), _as_float(recency), _as_float(T)
    )
    shape = columns[0].shape
    horizon, x, t_x, age = (np.ravel(c) for c in columns)  # 1-d: scalars too
    r, alpha, b = params.r, params.alpha, params.b
    a = params.a if abs(params.a - 1.0) > 1e-6 else 1.0 + 1e-6
    z = horizon / (alpha + age + horizon)
    ln_shrink = np.log(alpha + age) - np.log(alpha + age + horizon)  # ln(1 - z) <= 0
    with np.errstate(over="ignore", invalid="ignore"):
        term = np.exp((a - 1) * ln_shrink) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        bad = ~np.isfinite(term)
        if bad.any():
            xb = x[bad]
            term[bad] = np.exp((r + xb) * ln_shrink[bad]) * hyp2f1(
                r + xb, b + xb, a + b + xb - 1, z[bad]
            )
    given_alive = (a + b + x - 1) / (a - 1) * (1.0 - term)
    still = ~np.isfinite(given_alive)
    if still.any():
        given_alive[still] = _alive_purchases_by_quadrature(
            params, horizon[still], x[still], age[still]
        )
    alive = expit(-_log_dropout_odds(params, x, t_x, age))
    return np.asarray(given_alive * alive, dtype=np.float64).reshape(shape)


QUADRATURE_NODES = 801


def _alive_purchases_by_quadrature(
    params: BgNbdParams, horizon: FloatArray, x: FloatArray, age: FloatArray
) -> FloatArray:
    """E[purchases in (T, T+t] | alive at T] as an integral over the dropout probability.

    Given alive after x repeat purchases in T, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x)
    independently, and E[Y(t) | λ, p] = (1 - e^(-λpt))/p (Fader, Hardie & Lee 2005, eq. 7),
    so the expectation is E_p[(1 - (1 + p t/(α+T))^-(r+x)) / p], a bounded smooth integrand.
    The Beta density is log-concave in u = logit p; the trapezoid rule over u (exponentially
    accurate for such integrands) covers it from its mode out to where it has fallen by
    e^-40, and normalises numerically (no Beta function to overflow). Only used for the
    customers where both closed forms overflow, so the cost per customer does not matter.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    beta = b + x[:, None]
    mode = np.log(a) - np.log(beta)  # of the density in u
    p_mode = a / (a + beta)
    spread = 1.0 / np.sqrt((a + beta) * p_mode * (1.0 - p_mode))
    low = mode - np.maximum(12 * spread, 40.0 / a)
    high = mode + np.maximum(12 * spread, 40.0 / beta)
    u = low + (high - low) * np.linspace(0.0, 1.0, QUADRATURE_NODES)[None, :]
    log_density = a * u - (a + beta) * np.logaddexp(0.0, u)
    weight = np.exp(log_density - log_density.max(axis=1, keepdims=True))
    p = expit(u)
    scale = (horizon / (alpha + age))[:, None]
    integrand = -np.expm1(-(r + x[:, None]) * np.log1p(p * scale)) / p
    return np.asarray((weight * integrand).sum(axis=1) / weight.sum(axis=1), dtype=np.float64)


# --- Gamma-Gamma --------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters: spend ~ Gamma(p, ν), ν ~ Gamma(q, v)."""

    p: float
    q: float
    v: float
    log_likelihood: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}


def _gamma_gamma_ll(theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """ln f(m̄ | x) = ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln v + (px-1) ln m̄ + px ln x
    - (px+q) ln(v + m̄x)."""
    p, q, v = theta
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + m * x)
    )


def gamma_gamma_log_likelihood(params: GammaGammaParams, frequency: Any, monetary: Any):
    """Per-customer Gamma-Gamma log-likelihood (customers with frequency > 0 only)."""
    theta = np.array([params.p, params.q, params.v])
    return _gamma_gamma_ll(theta, _as_float(frequency), _as_float(monetary))


def fit_gamma_gamma(frequency: Any, monetary: Any) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma fit on the customers with repeat purchases and spend > 0."""
    x_all, m_all = _as_float(frequency), _as_float(monetary)
    keep = (x_all > 0) & (m_all > 0)
    x, m = x_all[keep], m_all[keep]
    n = len(x)
    if n < 2:
        raise ModelFitError("Gamma-Gamma needs at least two customers with repeat purchases")
    (ux, um), weights = _compress(x, m)
    total = float(weights.sum())
    log_x, log_m = np.log(ux), np.log(um)

    def objective(log_theta: FloatArray) -> tuple[float, FloatArray]:
        theta = np.exp(log_theta)
        p, q, v = theta
        px = p * ux
        psi = digamma(px + q)
        ln_vmx = np.log(v + um * ux)
        ll = _gamma_gamma_ll(theta, ux, um)
        d_p = ux * (psi - digamma(px) + log_m + log_x - ln_vmx)
        d_q = psi - digamma(q) + np.log(v) - ln_vmx
        d_v = q / v - (px + q) / (v + um * ux)
        grad = np.array([_wsum(weights, d) for d in (d_p, d_q, d_v)])
        return -_wsum(weights, ll) / total, -(grad * theta) / total

    start = np.log(np.array([1.0, 2.0, float(np.mean(m))]))
    theta, value = _fit_log_params(objective, start)
    p, q, v = (float(t) for t in theta)
    return GammaGammaParams(p=p, q=q, v=v, log_likelihood=-value * n, n=n)


def gamma_gamma_expected_spend(
    params: GammaGammaParams, frequency: Any, monetary: Any
) -> FloatArray:
    """E[spend per purchase | x, m̄] = p(v + x m̄) / (px + q - 1); for x = 0 the population
    mean p v / (q - 1). Needs q > 1 (a finite population mean)."""
    if params.q <= 1:
        raise ModelFitError("Gamma-Gamma q <= 1: the expected spend is not finite")
    x, m = _as_float(frequency), _as_float(monetary)
    m = np.where(x > 0, m, 0.0)
    return params.p * (params.v + x * m) / (params.p * x + params.q - 1)


# --- Lifetime value -------------------------------------------------------------------------


def clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    margin: float | Any = 1.0,
    time_unit: TimeUnit = "day",
) -> FloatArray:
    """Customer lifetime value over ``months`` with a monthly ``discount_rate``.

    CLV = Σ_{m=1..months} (E[Y(m)] - E[Y(m-1)]) · E[spend] · margin / (1 + d)^m, where E[Y(m)]
    is the BG/NBD expectation of purchases in the first m months after T (a month is
    365.25/12 days, converted to ``time_unit``) and E[spend] the Gamma-Gamma expectation.
    ``margin`` may be a scalar or one value per customer.
    """
    if months < 0:
        raise ValueError("months must not be negative")
    x, t_x, age = _as_float(frequency), _as_float(recency), _as_float(T)
    spend = gamma_gamma_expected_spend(gamma_gamma, x, monetary) * _as_float(margin)
    month = DAYS_PER_MONTH / DAYS_PER_UNIT[time_unit]
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    for m in range(1, months + 1):
        cumulative = bgnbd_expected_purchases(bgnbd, m * month, x, t_x, age)
        value += (cumulative - previous) / (1.0 + discount_rate) ** m
        previous = cumulative
    return value * spend


# --- One call for the whole model ------------------------------------------------------------


@dataclass(frozen=True)
class ValueFit:
    """Both models fitted on one RFM summary."""

    rfm: Rfm
    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams

    @property
    def repeat_buyers(self) -> int:
        return int(np.count_nonzero(self.rfm.frequency > 0))

    @property
    def zero_spend_left_out(self) -> int:
        """Repeat buyers whose repeat purchases were all free: Gamma-Gamma needs spend > 0,
        so they are not in its fit (their expected spend is still predicted from it)."""
        return int(np.count_nonzero((self.rfm.frequency > 0) & (self.rfm.monetary <= 0)))


def fit_value_model(rfm: Rfm) -> ValueFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat buyers of ``rfm`` with
    spend. Raises :class:`ModelFitError` when no customer bought more than once."""
    bgnbd = fit_bgnbd(rfm.frequency, rfm.recency, rfm.T)
    gamma_gamma = fit_gamma_gamma(rfm.frequency, rfm.monetary)
    return ValueFit(rfm=rfm, bgnbd=bgnbd, gamma_gamma=gamma_gamma)
