"""Beta-Binomial propensity updates: the posterior mean lies between the prior mean and the
observed rate, and rises with acceptances (falls with declines)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiti.decisions.propensity import Beta

means = st.floats(min_value=0.001, max_value=0.999)
strengths = st.floats(min_value=0.5, max_value=500)
counts = st.integers(min_value=0, max_value=10_000)


@given(means, strengths, counts, counts)
def test_the_posterior_mean_lies_between_the_prior_mean_and_the_observed_rate(m, k, s, f):
    prior = Beta.prior(m, k)
    beta = Beta(prior.alpha, prior.beta, s, f)
    if s + f == 0:
        assert beta.mean == pytest.approx(beta.prior_mean)
        return
    rate = s / (s + f)
    low, high = min(beta.prior_mean, rate), max(beta.prior_mean, rate)
    assert low - 1e-12 <= beta.mean <= high + 1e-12


@given(means, strengths, counts, counts)
def test_the_posterior_mean_rises_with_each_acceptance_and_falls_with_each_decline(m, k, s, f):
    prior = Beta.prior(m, k)
    beta = Beta(prior.alpha, prior.beta, s, f)
    assert beta.updated(accepted=True).mean > beta.mean
    assert beta.updated(accepted=False).mean < beta.mean
    # for the same number of outcomes, more acceptances give a higher mean
    if f > 0:
        assert Beta(beta.alpha, beta.beta, s + 1, f - 1).mean > beta.mean


def test_the_posterior_is_the_conjugate_update():
    beta = Beta.prior(0.1, 20)  # Beta(2, 18)
    assert (beta.alpha, beta.beta) == pytest.approx((2, 18))
    after = Beta(beta.alpha, beta.beta, successes=3, failures=7)
    assert (after.posterior_alpha, after.posterior_beta) == pytest.approx((5, 25))
    assert after.mean == pytest.approx(5 / 30)
    assert after.observed_rate == pytest.approx(0.3)


@given(means, strengths, st.integers(1, 200))
def test_many_outcomes_move_the_mean_to_the_observed_rate(m, k, n):
    beta = Beta.prior(m, k)
    lots = Beta(beta.alpha, beta.beta, successes=n * 300, failures=n * 700)
    assert abs(lots.mean - 0.3) <= abs(beta.prior_mean - 0.3) + 1e-12
    assert abs(lots.mean - 0.3) < k / (n * 1000)
