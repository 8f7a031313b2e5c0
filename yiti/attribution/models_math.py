"""Attribution models as pure, vectorised functions over a book of paths.

A book is held in CSR form (``Paths``): the touches of every path concatenated in
``channels`` (integer channel codes, in time order), ``ptr`` marking where each path starts,
and per path the number of conversions, their value and the number of times the same path
did not convert (``nulls``). ``ages`` (days between each touch and its path's conversion)
feed the time-decay model; a book without times counts one day per step back.

Every model returns ``weights``: for each touch, the fraction of its path's conversions (and
value) credited to it. The weights of each converting path sum to 1 and are never negative,
so channel credit (``channel_credit``) is conserved: it sums to the total conversions and
total value, and a channel that is on no converting path gets nothing.

* first touch, last touch, linear, position-based (40 % first, 40 % last, 20 % spread over
  the middle; 50/50 for two touches), time decay (weight ``2^(-age / half_life)``).
* Markov: the first-order absorbing chain start → channels → conversion / null is fitted
  from the book (each path's transitions weighted by its conversions + nulls). The
  conversion probability ``P`` and, for each channel ``c``, ``P₋c`` with ``c`` removed (its
  visits end in null) are solved exactly from the linear system ``(I − Q) x = r``. The removal
  effect ``1 − P₋c / P`` is each channel's weight.
* Shapley: the coalition game ``v(S)`` = conversion probability of the same chain when only
  the channels of ``S`` exist. Removing channels only redirects probability to the null
  state, so ``v`` is monotone and the values are non-negative. Exact (all ``2ⁿ`` coalitions,
  each one solve, batched) for up to ``SHAPLEY_EXACT_MAX`` channels; beyond that a seeded
  estimate that averages the marginal contributions over ``SHAPLEY_SAMPLES`` random orders
  of the channels (fewer for very many channels, ``shapley_samples``; the same input always
  gives the same estimate). The estimate is unbiased; its error shrinks as 1/√orders.

For Markov and Shapley, each converting path's conversions and value are shared among the
channels on it in proportion to those channel weights (and a channel's share equally among
its touches on the path). This keeps credit on converting paths, conserves it per path, and
lets the stored per-order allocation use the same weights as the book-level figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODELS: Final = (
    "first_touch",
    "last_touch",
    "linear",
    "position_based",
    "time_decay",
    "markov",
    "shapley",
)
SHAPLEY_EXACT_MAX: Final = 12
SHAPLEY_SAMPLES: Final = 2000
SHAPLEY_MIN_SAMPLES: Final = 50
SHAPLEY_FLOP_BUDGET: Final = 5e9  # bounds the estimate's work for many channels
SHAPLEY_SEED: Final = 20260101
DEFAULT_HALF_LIFE_DAYS: Final = 7.0
PAIR_TABLE_CELLS: Final = 64_000_000  # (path, channel) counts by table up to this size
SOLVE_BATCH_CELLS: Final = 4_000_000  # matrices of one batched solve, in cells (memory bound)


@dataclass(frozen=True)
class Paths:
    """A book of paths in CSR form (see the module docstring)."""

    ptr: IntArray  # (n_paths + 1,), ptr[0] == 0, non-decreasing
    channels: IntArray  # (n_touches,), codes 0 … n_channels − 1
    conversions: FloatArray  # (n_paths,)
    value: FloatArray  # (n_paths,)
    nulls: FloatArray  # (n_paths,)
    n_channels: int
    ages: FloatArray | None = None  # (n_touches,) days before the conversion

    @property
    def n_paths(self) -> int:
        return len(self.ptr) - 1

    # derived arrays, computed once per book (the dataclass is frozen, the cache is not)
    @cached_property
    def lengths(self) -> IntArray:
        return np.diff(self.ptr)

    @cached_property
    def path_of(self) -> IntArray:
        """The path index of every touch."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int64), self.lengths)

    @cached_property
    def position(self) -> IntArray:
        """The 0-based position of every touch in its path."""
        return np.arange(len(self.channels), dtype=np.int64) - self.ptr[self.path_of]


def paths_from_lists(
    paths: list[list[int]],
    *,
    n_channels: int,
    conversions: list[float] | None = None,
    value: list[float] | None = None,
    nulls: list[float] | None = None,
    ages: list[list[float]] | None = None,
) -> Paths:
    """A book from Python lists (tests, small inputs)."""
    n = len(paths)
    lengths = np.array([len(p) for p in paths], dtype=np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    flat = np.array([c for p in paths for c in p], dtype=np.int64)
    conv = np.asarray(conversions if conversions is not None else [1.0] * n, dtype=np.float64)
    return Paths(
        ptr=ptr,
        channels=flat,
        conversions=conv,
        value=np.asarray(value if value is not None else conv, dtype=np.float64),
        nulls=np.asarray(nulls if nulls is not None else [0.0] * n, dtype=np.float64),
        n_channels=n_channels,
        ages=None if ages is None else np.array([a for p in ages for a in p], dtype=np.float64),
    )


# --- heuristic models: per-touch weights ---------------------------------------------------


def first_touch(book: Paths) -> FloatArray:
    return (book.position == 0).astype(np.float64)


def last_touch(book: Paths) -> FloatArray:
    return (book.position == book.lengths[book.path_of] - 1).astype(np.float64)


def linear(book: Paths) -> FloatArray:
    return 1.0 / book.lengths[book.path_of].astype(np.float64)


def position_based(book: Paths, *, first: float = 0.4, last: float = 0.4) -> FloatArray:
    """40 % to the first touch, 40 % to the last, the rest spread over the touches between;
    a path of two touches splits 50/50, a single touch takes all."""
    length = book.lengths[book.path_of]
    pos = book.position
    middle = 1.0 - first - last
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(
            pos == 0, first, np.where(pos == length - 1, last, middle / np.maximum(length - 2, 1))
        )
    w = np.where(length == 1, 1.0, w)
    return np.where(length == 2, 0.5, w).astype(np.float64)


def _ages(book: Paths) -> FloatArray:
    if book.ages is not None:
        return np.maximum(book.ages, 0.0)
    return (book.lengths[book.path_of] - 1 - book.position).astype(np.float64)


def time_decay(book: Paths, *, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> FloatArray:
    """Weight ``2^(-age / half_life)``, normalised per path (the most recent touch weighs most)."""
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    ages = _ages(book)
    # subtract each path's youngest age before exponentiating: same ratios, no underflow
    if book.n_paths and (book.lengths > 0).all():
        youngest = np.minimum.reduceat(ages, book.ptr[:-1])
    else:
        youngest = np.full(book.n_paths, np.inf)
        np.minimum.at(youngest, book.path_of, ages)
    raw = np.exp2(-(ages - youngest[book.path_of]) / half_life_days)
    return _normalise(book, raw)


def _normalise(book: Paths, raw: FloatArray) -> FloatArray:
    totals = np.bincount(book.path_of, weights=raw, minlength=book.n_paths)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = raw / totals[book.path_of]
    # a path whose raw weights are all zero falls back to linear
    return np.where(totals[book.path_of] > 0, w, linear(book))


# --- the absorbing chain --------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """Transition probabilities among the transient states (0 = start, 1 + c = channel c)
    and from each to conversion."""

    q: FloatArray  # (n + 1, n + 1)
    to_conversion: FloatArray  # (n + 1,)


def chain_fit(book: Paths) -> Chain:
    """Fit the first-order chain: every path's transitions weighted by conversions + nulls."""
    n = book.n_channels
    size = n + 3  # start, channels, conversion, null
    conv_state, null_state = n + 1, n + 2
    weight = book.conversions + book.nulls
    path_of = book.path_of
    pos = book.position
    to = book.channels + 1
    previous = np.empty_like(to)
    previous[1:] = to[:-1]
    source = np.where(pos == 0, 0, previous)
    counts = np.bincount(source * size + to, weights=weight[path_of], minlength=size * size)
    has_touch = book.lengths > 0
    last_state = np.zeros(book.n_paths, dtype=np.int64)
    last_state[has_touch] = book.channels[book.ptr[1:][has_touch] - 1] + 1
    counts += np.bincount(
        last_state[has_touch] * size + conv_state,
        weights=book.conversions[has_touch],
        minlength=size * size,
    )
    counts += np.bincount(
        last_state[has_touch] * size + null_state,
        weights=book.nulls[has_touch],
        minlength=size * size,
    )
    matrix = counts.reshape(size, size)
    out = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        probs = np.where(out[:, None] > 0, matrix / out[:, None], 0.0)
    return Chain(q=probs[: n + 1, : n + 1], to_conversion=probs[: n + 1, conv_state])


def chain_conversion(chain: Chain, present: npt.NDArray[np.bool_]) -> FloatArray:
    """The probability of conversion from start when only the channels marked in each row of
    ``present`` (shape ``(k, n)``) exist: ``k`` exact solves of ``(I − Q) x = r``, batched.
    A removed channel's visits end in null (its row becomes ``x_c = 0``)."""
    k, n = present.shape
    eye = np.eye(n + 1)
    out = np.empty(k)
    step = max(1, SOLVE_BATCH_CELLS // ((n + 1) * (n + 1)))
    for lo in range(0, k, step):
        part = present[lo : lo + step]
        keep = np.concatenate([np.ones((len(part), 1), dtype=bool), part], axis=1)  # start stays
        a = np.where(keep[:, :, None], eye[None] - chain.q[None], eye[None])
        b = np.where(keep, chain.to_conversion[None], 0.0)
        out[lo : lo + step] = np.linalg.solve(a, b[:, :, None])[:, 0, 0]
    return np.clip(out, 0.0, 1.0)


def removal_effects(book: Paths) -> FloatArray:
    """``1 − P₋c / P`` per channel (0 for all when nothing converts)."""
    n = book.n_channels
    if n == 0:
        return np.zeros(0)
    chain = chain_fit(book)
    present = np.ones((n + 1, n), dtype=bool)
    present[np.arange(1, n + 1), np.arange(n)] = False  # row 0: all; row 1 + c: without c
    p = chain_conversion(chain, present)
    if p[0] <= 0:
        return np.zeros(n)
    return np.clip(1.0 - p[1:] / p[0], 0.0, 1.0)


def shapley_values(book: Paths) -> FloatArray:
    """Shapley value of each channel in the chain's coalition game (module docstring)."""
    n = book.n_channels
    if n == 0:
        return np.zeros(0)
    chain = chain_fit(book)
    if n <= SHAPLEY_EXACT_MAX:
        return _shapley_exact(chain, n)
    return _shapley_sampled(chain, n)


def _shapley_exact(chain: Chain, n: int) -> FloatArray:
    masks = np.arange(1 << n, dtype=np.int64)
    present = ((masks[:, None] >> np.arange(n)) & 1).astype(bool)
    v = chain_conversion(chain, present)
    sizes = present.sum(axis=1)
    fact = np.array([math.factorial(i) for i in range(n + 1)], dtype=np.float64)
    values = np.zeros(n)
    for i in range(n):
        without = masks[~present[:, i]]
        s = sizes[without]
        coef = fact[s] * fact[n - s - 1] / fact[n]
        values[i] = float(np.sum(coef * (v[without | (1 << i)] - v[without])))
    return np.maximum(values, 0.0)


def shapley_samples(n: int) -> int:
    """Random orders of the estimate for ``n`` channels: ``SHAPLEY_SAMPLES``, fewer when the
    ``n + 1`` solves of an order would pass ``SHAPLEY_FLOP_BUDGET`` in all (at least
    ``SHAPLEY_MIN_SAMPLES``)."""
    per_order = (n + 1) * (n + 1) ** 3 / 3
    return int(max(SHAPLEY_MIN_SAMPLES, min(SHAPLEY_SAMPLES, SHAPLEY_FLOP_BUDGET // per_order)))


def _shapley_sampled(chain: Chain, n: int) -> FloatArray:
    rng = np.random.default_rng(SHAPLEY_SEED)
    samples = shapley_samples(n)
    orders = np.argsort(rng.random((samples, n)), axis=1)
    # prefix coalitions of every order: row j of order o holds its first j channels
    present = np.zeros((samples, n + 1, n), dtype=bool)
    for j in range(1, n + 1):
        present[:, j] = present[:, j - 1]
        present[np.arange(samples), j, orders[:, j - 1]] = True
    v = chain_conversion(chain, present.reshape(-1, n)).reshape(samples, n + 1)
    gains = np.diff(v, axis=1)  # gains[o, j] = contribution of orders[o, j]
    values = np.zeros(n)
    np.add.at(values, orders.ravel(), gains.ravel())
    return np.maximum(values / samples, 0.0)


def by_channel_weights(book: Paths, channel_weight: FloatArray) -> FloatArray:
    """Per-touch weights sharing each path among its channels in proportion to
    ``channel_weight`` (a channel's part equally among its touches on the path); linear for a
    path whose channels all weigh nothing."""
    n = max(book.n_channels, 1)
    pair = book.path_of * n + book.channels
    if book.n_paths * n <= PAIR_TABLE_CELLS:  # count each (path, channel) in a table: O(n)
        counts = np.bincount(pair, minlength=book.n_paths * n)[pair]
    else:
        _, inverse, per_pair = np.unique(pair, return_inverse=True, return_counts=True)
        counts = per_pair[inverse]
    raw = channel_weight[book.channels] / counts
    return _normalise(book, raw)


def markov(book: Paths) -> FloatArray:
    return by_channel_weights(book, removal_effects(book))


def shapley(book: Paths) -> FloatArray:
    return by_channel_weights(book, shapley_values(book))


def weights(
    book: Paths, model: str, *, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
) -> FloatArray:
    """Per-touch weights of one model by name."""
    match model:
        case "first_touch":
            return first_touch(book)
        case "last_touch":
            return last_touch(book)
        case "linear":
            return linear(book)
        case "position_based":
            return position_based(book)
        case "time_decay":
            return time_decay(book, half_life_days=half_life_days)
        case "markov":
            return markov(book)
        case "shapley":
            return shapley(book)
    raise ValueError(f"unknown attribution model {model!r}")


@dataclass(frozen=True)
class ChannelCredit:
    conversions: FloatArray  # (n_channels,)
    value: FloatArray  # (n_channels,)


def channel_credit(book: Paths, touch_weights: FloatArray) -> ChannelCredit:
    """Credit per channel in conversions and value from per-touch weights."""
    path_of = book.path_of
    n = book.n_channels
    return ChannelCredit(
        conversions=np.bincount(  # type: ignore[arg-type]
            book.channels, weights=touch_weights * book.conversions[path_of], minlength=n
        ),
        value=np.bincount(  # type: ignore[arg-type]
            book.channels, weights=touch_weights * book.value[path_of], minlength=n
        ),
    )


def all_models(
    book: Paths, *, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
) -> dict[str, ChannelCredit]:
    """Channel credit under every model at once."""
    return {
        name: channel_credit(book, weights(book, name, half_life_days=half_life_days))
        for name in MODELS
    }
