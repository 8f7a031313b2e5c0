"""Value tiers from the per-customer scores: vectorised rules, no database.

One-to-one marketing (seed 003) differentiates the most valuable, the most growable and the
below-zero customers. With ``clv`` the predicted margin over the horizon, ``cost`` the
projected cost to serve over the same horizon and ``net = clv - cost``, each customer gets
exactly one tier, decided in this order:

1. **Below zero (BZ)**: ``net < 0`` — serving the customer costs more than the margin the
   customer is expected to bring. This wins over everything: a customer who costs more than
   he brings is not "most valuable", however much he buys.
2. **Most valuable (MVC)**: among the customers with ``clv > 0``, the top ``mvc_share``
   (default 10 %) by ``clv`` — ``ceil(mvc_share × n)`` of them, ties broken by the lower
   customer id — unless below zero (so the tier may hold slightly fewer).
3. **Most growable (MGC)**: a customer who is neither BZ nor MVC, has bought in the window
   and is still active (``churn_risk < churn_threshold``), and either

   * has one of the largest **growth gaps**: ``growth_gap = max(0, peer_value - clv)``, where
     ``peer_value`` is the ``peer_percentile`` (default 75th) of ``clv`` over the customer's
     peers — the customers of the same unit whose main product category (the category with
     the most spend in the window) is the same; a peer group smaller than ``min_peers``
     falls back to the same category over all units, and one still too small gives no gap.
     "Largest" is the top ``mgc_share`` (default 10 %, ``ceil``) of the eligible customers
     with a positive gap, ranked by the gap in yuan; or
   * has a **rising trend**: spend in the last ``trend_months`` at least ``1 + trend_rise``
     times the spend in the ``trend_months`` before, which must be positive (a first
     purchase is not a trend).
4. **Standard** otherwise. A customer without orders has clv 0: BZ when he costs something
   to serve, else standard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from yiti.customers.choices import ValueTier

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Tier codes in the arrays; TIER_VALUES[code] is the stored value.
STANDARD, MVC, MGC, BZ = 0, 1, 2, 3
TIER_VALUES = (
    ValueTier.STANDARD.value,
    ValueTier.MVC.value,
    ValueTier.MGC.value,
    ValueTier.BZ.value,
)
TIER_CODE = {value: code for code, value in enumerate(TIER_VALUES)}


@dataclass(frozen=True)
class TierRules:
    mvc_share: float = 0.10
    mgc_share: float = 0.10
    churn_threshold: float = 0.5
    peer_percentile: float = 75.0
    min_peers: int = 20
    trend_rise: float = 0.5


def top_share(values: FloatArray, eligible: BoolArray, share: float) -> BoolArray:
    """The ``ceil(share × n)`` eligible entries with the largest values (n = eligible count);
    ties are broken by position (earlier first), so the result is deterministic."""
    chosen = np.zeros(len(values), dtype=bool)
    candidates = np.flatnonzero(eligible)
    k = min(len(candidates), math.ceil(share * len(candidates) - 1e-9)) if share > 0 else 0
    if k <= 0:
        return chosen
    # a stable sort on -value keeps positions ascending among equal values
    order = np.argsort(-values[candidates], kind="stable")
    chosen[candidates[order[:k]]] = True
    return chosen


def group_percentile(values: FloatArray, groups: IntArray, q: float) -> tuple[FloatArray, IntArray]:
    """For each entry, the ``q``-th percentile of ``values`` over the entries of its group
    (linear interpolation, as ``np.percentile``), and the size of its group.

    One lexsort of (group, value) instead of a loop over groups.
    """
    n = len(values)
    if not n:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort((values, groups))
    sorted_groups, sorted_values = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, n])
    position = starts + (q / 100.0) * (sizes - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, starts + sizes - 1)
    weight = position - low
    per_group = sorted_values[low] * (1 - weight) + sorted_values[high] * weight
    group_index = np.repeat(np.arange(len(starts)), sizes)
    out_value = np.empty(n)
    out_size = np.empty(n, dtype=np.int64)
    out_value[order] = per_group[group_index]
    out_size[order] = sizes[group_index]
    return out_value, out_size


def peer_values(
    clv: FloatArray,
    unit: IntArray,
    category: IntArray,
    *,
    percentile: float,
    min_peers: int,
) -> FloatArray:
    """The value of similar customers for each customer (see the module docstring): the
    percentile of clv over unit × main category, else over the category, else 0 (no peers).
    ``category`` is -1 for a customer without orders (who then has no peers)."""
    n_categories = int(category.max()) + 2 if len(category) else 1
    unit_group = unit.astype(np.int64) * n_categories + (category + 1)
    by_unit, unit_size = group_percentile(clv, unit_group, percentile)
    by_category, category_size = group_percentile(clv, category.astype(np.int64), percentile)
    value = np.where(
        unit_size >= min_peers, by_unit, np.where(category_size >= min_peers, by_category, 0.0)
    )
    return np.where(category >= 0, value, 0.0)


def rising_trend(recent: FloatArray, earlier: FloatArray, rise: float) -> BoolArray:
    """Spend rose: recent ≥ (1 + rise) × earlier, with earlier spend > 0."""
    return (earlier > 0) & (recent >= (1.0 + rise) * earlier)


def assign_tiers(
    *,
    clv: FloatArray,
    net_value: FloatArray,
    churn_risk: FloatArray,
    purchases: IntArray,
    growth_gap: FloatArray,
    rising: BoolArray,
    rules: TierRules,
) -> npt.NDArray[np.int8]:
    """The tier code of every customer by the rules of the module docstring."""
    tiers = np.full(len(clv), STANDARD, dtype=np.int8)
    below_zero = net_value < 0
    most_valuable = top_share(clv, clv > 0, rules.mvc_share) & ~below_zero
    eligible = ~below_zero & ~most_valuable & (purchases > 0) & (churn_risk < rules.churn_threshold)
    big_gap = top_share(growth_gap, eligible & (growth_gap > 0), rules.mgc_share)
    most_growable = eligible & (big_gap | rising)
    tiers[most_growable] = MGC
    tiers[most_valuable] = MVC
    tiers[below_zero] = BZ
    return tiers
