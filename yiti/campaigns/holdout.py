"""Control groups: which of a wave's customers are held out (issue 16, item 4).

A wave may hold out a share of its audience so that the campaign's effect is measured, not
assumed: the held-out customers are not contacted by this wave and are recorded as
exclusions with the reason ``holdout``; their conversions are compared with the others'
(``accounting`` computes the uplift).

The choice is a pure, vectorised function of the customer ids, the share and a seed: every
customer gets a 64-bit hash of (seed, id) — SplitMix64's finaliser, which spreads
consecutive ids evenly — and the ``round(share × n)`` customers with the lowest hashes are
held out (ties, impossible in practice, broken by id). So the size is exact, the result does
not depend on the order the ids come in, and planning again with the recorded seed holds out
the same customers.
"""

from __future__ import annotations

import secrets
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

REASON = "holdout"
MAX_SHARE = Decimal("0.5")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def new_seed() -> int:
    """A fresh seed, recorded on the wave at its first plan (fits a signed 64-bit column)."""
    return secrets.randbits(62)


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over uint64 values (wrapping arithmetic)."""
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def size(n: int, share: Decimal | float | str) -> int:
    """How many of ``n`` customers a share holds out: ``share × n`` rounded half up."""
    exact = Decimal(str(share)) * n
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def held_out(ids: np.ndarray, share: Decimal | float | str, seed: int) -> np.ndarray:
    """A boolean mask over ``ids`` (distinct customer ids): True for the held-out customers."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    mask = np.zeros(n, dtype=bool)
    k = size(n, share)
    if k <= 0:
        return mask
    with np.errstate(over="ignore"):
        keyed = ids.astype(np.uint64) + _mix(np.asarray([seed], dtype=np.uint64))[0] * _GOLDEN
    h = _mix(keyed)
    order = np.lexsort((ids, h))
    mask[order[:k]] = True
    return mask
