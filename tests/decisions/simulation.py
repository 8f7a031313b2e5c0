"""Customers simulated from the buy-till-you-die story with known parameters, for the tests
that check the value model recovers them (in memory and through the database)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Simulated:
    customer: np.ndarray  # index of the customer of each purchase
    time: np.ndarray  # time of each purchase (first purchase at the customer's birth)
    amount: np.ndarray
    birth: np.ndarray  # per customer


def simulate(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    birth: np.ndarray,
    until: float,
    spend: dict[str, float] | None = None,
    seed: int,
) -> Simulated:
    """Customers of the BG/NBD story: λ ~ Gamma(r, α) (rate α), p ~ Beta(a, b); the first
    purchase at birth, then Poisson purchases, dropping out after each repeat purchase with
    probability p, until ``until``. Spend per purchase ~ Gamma(p_gg, ν), ν ~ Gamma(q, v)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    now = birth.astype(float).copy()
    customers, times = [np.arange(n)], [now.copy()]
    active = np.flatnonzero(now <= until)
    while len(active):
        now[active] += rng.exponential(1.0 / rate[active])
        active = active[now[active] <= until]
        customers.append(active)
        times.append(now[active])
        active = active[rng.random(len(active)) >= dropout[active]]
    customer = np.concatenate(customers)
    time = np.concatenate(times)
    amount = np.ones(len(customer))
    if spend is not None:
        scale = 1.0 / rng.gamma(spend["q"], 1.0 / spend["v"], n)  # ν ~ Gamma(q, rate v)
        amount = rng.gamma(spend["p"], scale[customer])
    return Simulated(customer, time, amount, birth)
