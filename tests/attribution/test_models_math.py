"""The attribution models: hand-computed small books and the properties every model keeps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiti.attribution import models_math as m

A, B, C, D = range(4)


def credit(book: m.Paths, model: str, **kw: float) -> np.ndarray:
    return m.channel_credit(book, m.weights(book, model, **kw)).conversions


def test_first_and_last_touch_give_the_whole_conversion_to_one_end():
    book = m.paths_from_lists([[A, B, C], [B]], n_channels=3, value=[30, 10])
    assert credit(book, "first_touch").tolist() == [1, 1, 0]
    assert credit(book, "last_touch").tolist() == [0, 1, 1]
    values = m.channel_credit(book, m.first_touch(book)).value
    assert values.tolist() == [30, 10, 0]


def test_linear_shares_equally_among_the_touches():
    book = m.paths_from_lists([[A, B, B, C]], n_channels=3, value=[100])
    assert m.channel_credit(book, m.linear(book)).value.tolist() == [25, 50, 25]


def test_position_based_is_40_20_40_and_50_50_for_two_touches():
    book = m.paths_from_lists([[A, B, C, D], [A, B], [C]], n_channels=4)
    assert m.position_based(book).tolist() == pytest.approx([0.4, 0.1, 0.1, 0.4, 0.5, 0.5, 1.0])


def test_time_decay_halves_the_weight_every_half_life():
    book = m.paths_from_lists([[A, B]], n_channels=2, ages=[[14.0, 0.0]])
    # weights 2^-2 = 0.25 and 1, normalised: 0.2 and 0.8
    assert m.time_decay(book, half_life_days=7).tolist() == pytest.approx([0.2, 0.8])
    same_day = m.paths_from_lists([[A, B]], n_channels=2, ages=[[3.0, 3.0]])
    assert m.time_decay(same_day, half_life_days=7).tolist() == pytest.approx([0.5, 0.5])


def hand_book() -> m.Paths:
    """A > B converts once; A alone fails once; B alone converts once.

    Chain: start→A 2/3, start→B 1/3; A→B 1/2, A→null 1/2; B→conversion 1.
    P = 2/3 · 1/2 + 1/3 = 2/3; without A: 1/3 (removal effect 1/2); without B: 0 (effect 1).
    Shapley: v(∅) = v({A}) = 0, v({B}) = 1/3, v({A, B}) = 2/3 → φ_A = 1/6, φ_B = 1/2.
    """
    return m.paths_from_lists(
        [[A, B], [A], [B]],
        n_channels=2,
        conversions=[1, 0, 1],
        value=[300, 0, 100],
        nulls=[0, 1, 0],
    )


def test_markov_removal_effects_are_solved_exactly():
    book = hand_book()
    assert m.removal_effects(book).tolist() == pytest.approx([0.5, 1.0])
    # A > B is shared 0.5 : 1 → A 1/3, B 2/3 of 300; B alone keeps its 100
    result = m.channel_credit(book, m.markov(book))
    assert result.conversions.tolist() == pytest.approx([1 / 3, 5 / 3])
    assert result.value.tolist() == pytest.approx([100, 300])


def test_shapley_values_are_exact_for_a_small_book():
    book = hand_book()
    assert m.shapley_values(book).tolist() == pytest.approx([1 / 6, 1 / 2])
    # A > B is shared 1/6 : 1/2 → A 1/4, B 3/4
    assert credit(book, "shapley").tolist() == pytest.approx([0.25, 1.75])


def test_shapley_values_add_up_to_the_conversion_probability():
    rng = np.random.default_rng(3)
    paths = [list(rng.integers(0, 6, rng.integers(1, 5))) for _ in range(60)]
    book = m.paths_from_lists(
        paths,
        n_channels=6,
        conversions=list(rng.integers(0, 3, 60).astype(float)),
        nulls=list(rng.integers(0, 3, 60).astype(float)),
    )
    chain = m.chain_fit(book)
    everything = m.chain_conversion(chain, np.ones((1, 6), dtype=bool))[0]
    assert m.shapley_values(book).sum() == pytest.approx(everything)


def test_shapley_beyond_twelve_channels_is_a_seeded_estimate_close_to_the_exact_value():
    # 14 channels, each its own single-touch path: v is additive, so φ_c = share of start→c
    n = 14
    book = m.paths_from_lists(
        [[c] for c in range(n)], n_channels=n, conversions=[1.0] * n, nulls=[1.0] * n
    )
    values = m.shapley_values(book)
    assert values == pytest.approx(np.full(n, 0.5 / n), rel=1e-6)
    assert m.shapley_values(book).tolist() == values.tolist()  # deterministic


# --- properties ------------------------------------------------------------------------------

N_CHANNELS = 5


@st.composite
def books(draw: st.DrawFn) -> m.Paths:
    n_paths = draw(st.integers(1, 12))
    paths = [
        draw(st.lists(st.integers(0, N_CHANNELS - 1), min_size=1, max_size=6))
        for _ in range(n_paths)
    ]
    conv = [draw(st.integers(0, 5)) for _ in paths]
    nulls = [draw(st.integers(0, 5)) for _ in paths]
    value = [c * draw(st.floats(0, 1000)) for c in conv]
    ages = [[draw(st.floats(0, 60)) for _ in p] for p in paths]
    return m.paths_from_lists(
        paths,
        n_channels=N_CHANNELS,
        conversions=[float(c) for c in conv],
        value=value,
        nulls=[float(x) for x in nulls],
        ages=ages,
    )


@settings(max_examples=150, deadline=None)
@given(book=books())
def test_every_model_conserves_credit_never_negative_and_only_on_converting_paths(book):
    total_conv = book.conversions.sum()
    total_value = book.value.sum()
    converting = set(book.channels[np.repeat(book.conversions > 0, book.lengths)].tolist())
    for name, result in m.all_models(book).items():
        assert result.conversions.sum() == pytest.approx(total_conv, abs=1e-6), name
        assert result.value.sum() == pytest.approx(total_value, rel=1e-9, abs=1e-6), name
        assert (result.conversions >= 0).all() and (result.value >= 0).all(), name
        for channel in range(N_CHANNELS):
            if channel not in converting:
                assert result.conversions[channel] == 0, name
                assert result.value[channel] == 0, name


@settings(max_examples=100, deadline=None)
@given(book=books())
def test_every_model_is_deterministic_and_weights_each_path_to_one(book):
    for name in m.MODELS:
        first = m.weights(book, name)
        assert first.tolist() == m.weights(book, name).tolist(), name
        per_path = np.bincount(book.path_of, weights=first, minlength=book.n_paths)
        assert per_path == pytest.approx(np.ones(book.n_paths)), name


@settings(max_examples=100, deadline=None)
@given(book=books())
def test_symmetric_channels_get_equal_shapley_credit(book):
    """Mirror every path with channels A and B swapped: the book is symmetric in A and B."""
    swap = np.arange(N_CHANNELS)
    swap[[A, B]] = [B, A]
    mirrored = m.Paths(
        ptr=np.concatenate([book.ptr, book.ptr[1:] + book.ptr[-1]]),
        channels=np.concatenate([book.channels, swap[book.channels]]),
        conversions=np.concatenate([book.conversions] * 2),
        value=np.concatenate([book.value] * 2),
        nulls=np.concatenate([book.nulls] * 2),
        n_channels=N_CHANNELS,
    )
    values = m.shapley_values(mirrored)
    assert values[A] == pytest.approx(values[B], rel=1e-9, abs=1e-12)
    result = m.channel_credit(mirrored, m.shapley(mirrored))
    assert result.conversions[A] == pytest.approx(result.conversions[B], rel=1e-9, abs=1e-9)


def test_the_estimate_for_many_channels_is_bounded_and_still_adds_up():
    rng = np.random.default_rng(5)
    n = 30
    paths = [list(rng.integers(0, n, rng.integers(1, 6))) for _ in range(400)]
    book = m.paths_from_lists(
        paths,
        n_channels=n,
        conversions=list(rng.integers(0, 3, 400).astype(float)),
        nulls=list(rng.integers(0, 3, 400).astype(float)),
    )
    assert m.SHAPLEY_MIN_SAMPLES <= m.shapley_samples(n) <= m.SHAPLEY_SAMPLES
    assert m.shapley_samples(500) == m.SHAPLEY_MIN_SAMPLES
    values = m.shapley_values(book)
    everything = m.chain_conversion(m.chain_fit(book), np.ones((1, n), dtype=bool))[0]
    # every sampled order's gains add up to v(all) − v(none): so does their average
    assert values.sum() == pytest.approx(everything)
    assert (values >= 0).all()
