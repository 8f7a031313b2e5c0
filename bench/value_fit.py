"""Benchmark: a full value refit — 1,000,000 customers with 10,000,000 orders.

Run with ``yiti bench value_fit [--customers 1000000]``. Target (issue "Customer value tiers
and the next best action"): the whole refit under 60 s on 2 cores.

The orders are simulated in memory as numpy arrays (the database is not involved, so
``--reuse`` has no effect): customers arrive uniformly over two years before the end date and
follow the BG/NBD story (λ ~ Gamma(r, α) per day, dropout p ~ Beta(a, b) after each repeat
purchase); spend per order follows Gamma-Gamma. The parameters give about 10 orders per
customer. Timed, each on the whole population, as a weekly refit would run them:

* ``rfm_from_transactions`` (same-day merge, frequency/recency/T/monetary),
* ``fit_bgnbd`` and ``fit_gamma_gamma`` (maximum likelihood),
* ``bgnbd_probability_alive`` and a 12-month ``clv`` at 1% a month.

The fitted parameters are reported beside the simulated ones: days are whole (same-day
orders merge), so they are close but not identical.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from yiti.decisions.value_model import (
    bgnbd_probability_alive,
    clv,
    fit_bgnbd,
    fit_gamma_gamma,
    rfm_from_transactions,
)

TARGET_S = 60.0
ORDERS_PER_CUSTOMER = 10
END = np.datetime64("2026-01-01")
WINDOW_DAYS = 730
TRUE_BGNBD = {"r": 2.0, "alpha": 44.0, "a": 2.0, "b": 30.0}  # α in days: mean λ ≈ 0.045 a day
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 150.0}
SEED = 2026


def simulate(customers: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer_id, date, amount) arrays of the simulated orders, vectorised over customers."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUE_BGNBD["r"], 1.0 / TRUE_BGNBD["alpha"], customers)
    dropout = rng.beta(TRUE_BGNBD["a"], TRUE_BGNBD["b"], customers)
    now = rng.uniform(0, WINDOW_DAYS, customers)  # day of the first order
    ids, times = [np.arange(customers)], [now.copy()]
    active = np.arange(customers)
    while len(active):
        now[active] += rng.exponential(1.0 / rate[active])
        active = active[now[active] < WINDOW_DAYS]
        ids.append(active)
        times.append(now[active])
        active = active[rng.random(len(active)) >= dropout[active]]
    customer = np.concatenate(ids)
    day = np.concatenate(times).astype(np.int64)
    scale = 1.0 / rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["v"], customers)
    amount = np.round(rng.gamma(TRUE_GG["p"], scale[customer]), 2)
    order = rng.permutation(len(customer))  # as a file or a query would deliver them: unsorted
    dates = END - np.timedelta64(WINDOW_DAYS, "D") + day[order].astype("timedelta64[D]")
    return customer[order] + 1_000_000_000, dates, amount[order]


def run(*, customers: int, reuse: bool, log: Callable[[str], None]) -> dict[str, Any]:
    del reuse  # the data lives in memory only
    log(f"Simulating {customers:,} customers (about {ORDERS_PER_CUSTOMER} orders each)…")
    started = time.perf_counter()
    ids, dates, amounts = simulate(customers)
    simulate_s = time.perf_counter() - started
    log(f"Simulated {len(ids):,} orders in {simulate_s:.1f} s.")
    gc.collect()

    phases: dict[str, float] = {}

    def phase(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        phases[name] = round(time.perf_counter() - t0, 2)
        log(f"  {name:<18} {phases[name]:6.2f} s")
        return value

    total_started = time.perf_counter()
    rfm = phase("rfm", lambda: rfm_from_transactions(ids, dates, amounts, end=END))
    bgnbd = phase("fit_bgnbd", lambda: fit_bgnbd(rfm.frequency, rfm.recency, rfm.T))
    gamma_gamma = phase("fit_gamma_gamma", lambda: fit_gamma_gamma(rfm.frequency, rfm.monetary))
    alive = phase(
        "probability_alive",
        lambda: bgnbd_probability_alive(bgnbd, rfm.frequency, rfm.recency, rfm.T),
    )
    value = phase(
        "clv_12_months",
        lambda: clv(
            bgnbd,
            gamma_gamma,
            rfm.frequency,
            rfm.recency,
            rfm.T,
            rfm.monetary,
            months=12,
            discount_rate=0.01,
        ),
    )
    total_s = round(time.perf_counter() - total_started, 2)
    load = [round(x, 2) for x in os.getloadavg()]  # other work on the machine slows the refit
    log(f"Full refit: {total_s:.2f} s (target {TARGET_S:.0f} s).")
    return {
        "targets": {"refit_s": TARGET_S},
        "customers": len(rfm),
        "orders": len(ids),
        "purchase_days": int(rfm.frequency.sum() + len(rfm)),
        "repeat_buyers": gamma_gamma.n,
        "simulate_s": round(simulate_s, 2),
        "phases_s": phases,
        "refit_s": total_s,
        "load_average_1_5_15_min": load,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "bgnbd": {"true": TRUE_BGNBD, "fitted": bgnbd.as_dict()},
        "gamma_gamma": {"true": TRUE_GG, "fitted": gamma_gamma.as_dict()},
        "mean_probability_alive": round(float(alive.mean()), 4),
        "mean_clv_12m": round(float(value.mean()), 2),
    }


def summary(result: dict[str, Any]) -> str:
    mark = "ok " if result["refit_s"] < result["targets"]["refit_s"] else "MISS"
    phases = "  ".join(f"{k} {v:.2f} s" for k, v in result["phases_s"].items())
    bg, gg = result["bgnbd"]["fitted"], result["gamma_gamma"]["fitted"]
    return "\n".join(
        [
            f"Customers {result['customers']:,}, orders {result['orders']:,} "
            f"({result['purchase_days']:,} purchase days)",
            f"  [{mark}] full refit {result['refit_s']:.2f} s (target < "
            f"{result['targets']['refit_s']:.0f} s; load average "
            f"{result['load_average_1_5_15_min'][0]} at the end)",
            f"  {phases}",
            f"  BG/NBD r={bg['r']:.3f} alpha={bg['alpha']:.2f} a={bg['a']:.3f} b={bg['b']:.2f}"
            f"  (simulated {result['bgnbd']['true']})",
            f"  Gamma-Gamma p={gg['p']:.3f} q={gg['q']:.3f} v={gg['v']:.2f}"
            f"  (simulated {result['gamma_gamma']['true']})",
        ]
    )
