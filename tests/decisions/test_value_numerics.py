"""The value model stays finite where customers are extreme (issue 18 item 6): a customer who
bought every day for two years still has an expected purchase count and a lifetime value at
the longest horizon, a score that is not a number is never stored, and the analyst's CLI
refuses what the app refuses and says what it left out."""

from __future__ import annotations

import io
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from scipy.special import expit, hyp2f1

from tests.decisions.conftest import END, most_valuable_at_risk
from yiti.customers.models import CustomerValue
from yiti.customers.services import customer_create
from yiti.decisions import scores as scores_module
from yiti.decisions.choices import FitStatus
from yiti.decisions.value_model import (
    DAYS_PER_MONTH,
    BgNbdParams,
    GammaGammaParams,
    ModelFitError,
    bgnbd_expected_purchases,
    bgnbd_probability_alive,
    clv,
    fit_bgnbd,
    rfm_from_transactions,
)

# The reproduction: parameters fitted on CDNOW (days) and a daily buyer for two years
CDNOW = BgNbdParams(r=0.2426, alpha=30.895, a=0.7929, b=2.4259, log_likelihood=0.0, n=1)
SIXTY_MONTHS = 60 * 365.25 / 12


def direct_form(params: BgNbdParams, t, x, t_x, T):
    """The expectation as the code computed it before the fix (eq. 10 evaluated directly),
    and the size of its largest term (its own rounding error scales with it)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    term = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    safe_b = np.where(x > 0, b + x - 1, 1.0)
    odds = np.log(a) - np.log(safe_b) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    alive = expit(-np.where(x > 0, odds, -np.inf))
    factor = (a + b + x - 1) / (a - 1) * alive
    return factor * (1.0 - term), np.abs(factor) * np.maximum(1.0, term)


def test_a_daily_buyer_over_sixty_months_has_the_expected_purchases_lifetimes_gives():
    # Given a customer who bought every day for two years and a 60-month horizon
    # When the expected purchases are computed
    expected = bgnbd_expected_purchases(CDNOW, SIXTY_MONTHS, 729, 730, 730)
    # Then they are the 1,015.59 the lifetimes package gives, not NaN
    assert float(expected) == pytest.approx(1015.5987, abs=5e-4)


def test_the_overflow_free_form_agrees_with_the_direct_form_wherever_that_is_finite():
    # Given a grid of histories, ages and horizons (1 to 120 months) under three parameter sets
    x = np.array([0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144], dtype=float)[:, None, None, None]
    T = np.array([7, 30, 90, 365, 730.0])[None, :, None, None]
    share = np.array([0.0, 0.5, 1.0])[None, None, :, None]
    t = (np.array([1, 3, 6, 12, 24, 60, 120]) * DAYS_PER_MONTH)[None, None, None, :]
    t_x = np.where(x > 0, T * share, 0.0)
    finite = 0
    for params in (
        CDNOW,
        BgNbdParams(r=0.8, alpha=5.0, a=1.5, b=4.0, log_likelihood=0.0, n=1),
        BgNbdParams(r=1.5, alpha=60.0, a=1.2, b=6.0, log_likelihood=0.0, n=1),
    ):
        # When both forms are evaluated
        with np.errstate(all="ignore"):
            old, scale = direct_form(params, t, x, t_x, T)
        new = bgnbd_expected_purchases(params, t, x, t_x, T)
        # Then the new one is finite everywhere, and where the old one is finite they agree
        # to 5e-13 of the old form's largest term
        assert np.all(np.isfinite(new))
        ok = np.isfinite(old)
        finite += int(ok.sum())
        np.testing.assert_array_less(np.abs(new - old)[ok], 5e-13 * scale[ok] + 1e-300)
    assert finite > 2000


def test_lifetime_value_of_a_daily_buyer_is_finite_at_the_longest_horizon():
    # Given the daily buyer and a most valuable customer's spend
    gg = GammaGammaParams(p=6.0, q=4.0, v=300.0, log_likelihood=0.0, n=1)
    # When the lifetime value is computed over 120 months (the settings' maximum)
    value = clv(CDNOW, gg, [729, 3], [730, 400], [730, 730], [120.0, 80.0], months=120)
    # Then it is finite, and the daily buyer is worth far more than an occasional one
    assert np.all(np.isfinite(value))
    assert value[0] > 100 * value[1] > 0


def test_rfm_refuses_negative_amounts():
    # Given a transaction with a negative amount (a refund passed as a purchase)
    # When it is summarised through the Python API
    # Then it is refused, naming the problem
    with pytest.raises(ValueError, match="negative"):
        rfm_from_transactions(
            ["c1", "c1"], ["2025-01-01", "2025-01-05"], [10.0, -3.0], end="2025-02-01"
        )
    with pytest.raises(ValueError, match="not a number"):
        rfm_from_transactions(["c1"], ["2025-01-01"], [float("nan")], end="2025-02-01")


def test_bgnbd_without_a_repeat_buyer_is_not_a_fit():
    # Given customers who each bought once
    # When BG/NBD is fitted, then it refuses instead of returning its starting values
    with pytest.raises(ModelFitError, match="more than once"):
        fit_bgnbd([0, 0, 0], [0, 0, 0], [10, 20, 30])


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cli_fit_refuses_a_file_without_repeat_buyers(tmp_path):
    # Given a file where every customer bought once
    path = _csv(tmp_path, [f"c{i},2025-01-{i + 1:02d},10" for i in range(20)])
    # When 'yiti value fit' runs, then it refuses as the app does
    with pytest.raises(CommandError, match="more than once"):
        call_command("value", "fit", "--transactions", str(path), "--end", "2025-12-31")


def test_cli_fit_says_how_many_zero_spend_repeat_buyers_gamma_gamma_left_out(tmp_path):
    # Given repeat buyers with spend, and two whose repeat purchases were free
    rng = np.random.default_rng(3)
    rows = []
    for i in range(60):
        for day in sorted(set(rng.integers(1, 300, 1 + i % 5).tolist())):
            rows.append(f"c{i},{np.datetime64('2025-01-01') + day},{10 + i % 7}")
    rows += ["z1,2025-02-01,30", "z1,2025-03-01,0", "z2,2025-02-01,40", "z2,2025-04-01,0"]
    path = _csv(tmp_path, rows)
    # When 'yiti value fit' runs, as JSON and as a summary
    out = io.StringIO()
    call_command(
        "value", "fit", "--transactions", str(path), "--end", "2025-12-31", "--json", stdout=out
    )
    text = io.StringIO()
    call_command("value", "fit", "--transactions", str(path), "--end", "2025-12-31", stdout=text)
    # Then both say that two zero-spend repeat buyers were left out of Gamma-Gamma
    result = json.loads(out.getvalue())
    assert result["gamma_gamma_zero_spend_left_out"] == 2
    assert result["gamma_gamma_customers"] == result["repeat_buyers"] - 2
    assert "2 repeat buyers with zero spend were left out of Gamma-Gamma" in text.getvalue()


def test_a_refit_never_stores_a_score_that_is_not_a_number(book, monkeypatch, caplog):
    # Given scores from a good fit
    book(120)
    from yiti.decisions.services import value_refit

    first = value_refit(end=END)
    assert first.status == FitStatus.SUCCEEDED, first.error
    before = {v.customer_id: (v.tier, v.clv) for v in CustomerValue.objects.all()}
    # And a lifetime value that comes out infinite for one customer and NaN for another
    real_clv = scores_module.clv

    def broken(*args, **kwargs):
        value = real_clv(*args, **kwargs)
        value[0], value[1] = np.inf, np.nan
        return value

    monkeypatch.setattr(scores_module, "clv", broken)
    # When the model is refitted
    with caplog.at_level(logging.WARNING, logger="yiti.decisions"):
        fit = value_refit(end=END)
    # Then the fit is refused with its reason logged, and every stored score is unchanged
    assert fit.status == FitStatus.FAILED
    assert "not finite" in fit.error and "2 customers" in fit.error
    assert any("not finite" in r.getMessage() for r in caplog.records)
    after = {v.customer_id: (v.tier, v.clv) for v in CustomerValue.objects.all()}
    assert after == before
    assert all(np.isfinite(v.clv) and np.isfinite(v.net_value) for v in CustomerValue.objects.all())


def test_expected_purchases_stay_finite_when_a_fit_runs_to_the_parameter_bound():
    # Given a fit on a small book whose dropout parameters ran to the bound (a, b ~ e^15),
    # where the overflow-free form overflows in turn, and frequent buyers where the direct
    # form overflows too
    params = BgNbdParams(r=3.59, alpha=187.26, a=3.2e6, b=3.2e6, log_likelihood=0.0, n=1)
    x = np.array([0, 1, 3, 10, 55, 144, 729, 2000.0])[:, None, None]
    T = np.array([1.0, 30, 365, 730, 3000])[None, :, None]
    t = (np.array([1, 12, 60, 120]) * DAYS_PER_MONTH)[None, None, :]
    # When the expected purchases are computed
    new = bgnbd_expected_purchases(params, t, x, T * 0.9, T)
    # Then every one is finite, and agrees with the direct form wherever that is finite
    assert np.all(np.isfinite(new))
    with np.errstate(all="ignore"):
        old, _scale = direct_form(params, t, x, T * 0.9, T)
    ok = np.isfinite(old)
    assert 0 < ok.sum() < ok.size
    np.testing.assert_allclose(new[ok], old[ok], rtol=1e-6)
    # And one customer alone (scalars) takes the same path
    one = bgnbd_expected_purchases(params, 120 * DAYS_PER_MONTH, 2000.0, 2700.0, 3000.0)
    assert np.shape(one) == () and float(one) == pytest.approx(float(new[-1, -1, -1]))


def test_numerical_integration_agrees_with_the_closed_form():
    # Given ordinary parameters, where the closed form is exact
    from yiti.decisions.value_model import _alive_purchases_by_quadrature

    x = np.repeat([0.0, 1, 3, 10, 55, 144, 729], 20)
    T = np.tile(np.repeat([1.0, 30, 365, 730], 5), 7)
    t = np.tile([1.0, 30.4, 365, 1826, 3652], 28)
    for params in (CDNOW, BgNbdParams(r=0.8, alpha=5.0, a=1.5, b=4.0, log_likelihood=0, n=1)):
        # When the expectation given alive is integrated over the dropout probability
        integrated = _alive_purchases_by_quadrature(params, t, x, T)
        # Then times P(alive) it matches the closed form
        closed = bgnbd_expected_purchases(params, t, x, T, T)
        alive = bgnbd_probability_alive(params, x, T, T)
        np.testing.assert_allclose(integrated * alive, closed, rtol=1e-9)


@pytest.mark.parametrize("field", ["clv", "expected_purchases", "net_value", "cost_to_serve"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_the_database_refuses_a_score_that_is_not_a_finite_number(org, field, value):
    customer = customer_create(actor=None, name="客户", unit=org.hz)
    score = most_valuable_at_risk(customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerValue.objects.filter(pk=score.pk).update(**{field: value})
    score.refresh_from_db()
    assert math.isfinite(getattr(score, field)) and score.clv == 5000
