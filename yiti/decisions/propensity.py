"""Propensities: the chance that a customer of a segment accepts an action, learned from outcomes.

Beta-Binomial: the acceptance rate ``θ`` of one action (an offer, or a care action) in one
segment (the customer's value tier) has a Beta(α₀, β₀) prior; after ``s`` acceptances and ``f``
declines the posterior is Beta(α₀ + s, β₀ + f) and the propensity used to rank is its mean

    (α₀ + s) / (α₀ + β₀ + s + f),

which lies between the prior mean α₀ / (α₀ + β₀) and the observed rate s / (s + f), moves
towards the observed rate as outcomes accumulate, rises with every acceptance and falls with
every decline. The prior: mean ``m`` (an offer's campaign's expected take-up, or the care
action's default) with a strength of :data:`PRIOR_STRENGTH` pseudo-outcomes, so that the first
few outcomes move the estimate without throwing it about.
"""

from __future__ import annotations

from dataclasses import dataclass

PRIOR_STRENGTH = 20.0  # α₀ + β₀: the prior weighs as much as twenty outcomes
MIN_MEAN = 0.001
MAX_MEAN = 0.999


@dataclass(frozen=True)
class Beta:
    """A Beta prior and the outcomes counted on top of it."""

    alpha: float
    beta: float
    successes: int = 0
    failures: int = 0

    @classmethod
    def prior(cls, mean: float, strength: float = PRIOR_STRENGTH) -> Beta:
        m = min(MAX_MEAN, max(MIN_MEAN, float(mean)))
        return cls(alpha=m * strength, beta=(1 - m) * strength)

    @property
    def prior_mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def posterior_alpha(self) -> float:
        return self.alpha + self.successes

    @property
    def posterior_beta(self) -> float:
        return self.beta + self.failures

    @property
    def mean(self) -> float:
        """The posterior mean: the propensity."""
        return self.posterior_alpha / (self.posterior_alpha + self.posterior_beta)

    @property
    def observed_rate(self) -> float | None:
        n = self.successes + self.failures
        return self.successes / n if n else None

    def updated(self, *, accepted: bool) -> Beta:
        """The distribution after one more outcome."""
        if accepted:
            return Beta(self.alpha, self.beta, self.successes + 1, self.failures)
        return Beta(self.alpha, self.beta, self.successes, self.failures + 1)
