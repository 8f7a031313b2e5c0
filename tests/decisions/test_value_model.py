"""The value model: BG/NBD and Gamma-Gamma recover known parameters, forecast a holdout, and
``yiti value fit`` fits an analyst's CSV without touching the database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.decisions.simulation import Simulated, simulate
from yiti.decisions.value_model import (
    BgNbdParams,
    GammaGammaParams,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_probability_alive,
    clv,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
    gamma_gamma_log_likelihood,
    rfm_from_transactions,
)

TRUE_BGNBD = {"r": 0.8, "alpha": 5.0, "a": 1.5, "b": 4.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def summary(sim: Simulated, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) of every customer born by ``end``, from the purchases up to ``end``."""
    n = len(sim.birth)
    seen = sim.time <= end
    count = np.bincount(sim.customer[seen], minlength=n)
    last = np.full(n, -np.inf)
    np.maximum.at(last, sim.customer[seen], sim.time[seen])
    born = sim.birth <= end
    return (
        (count - 1)[born].astype(float),
        (last - sim.birth)[born],
        (end - sim.birth)[born],
    )


def relative_errors(fitted: dict[str, float], true: dict[str, float]) -> dict[str, float]:
    return {k: abs(fitted[k] - v) / v for k, v in true.items()}


@pytest.fixture(scope="module")
def weekly() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = 10_000
    birth = -np.random.default_rng(7).uniform(52, 104, n)  # observed for 1 to 2 years
    return summary(simulate(n, **TRUE_BGNBD, birth=birth, until=0.0, seed=11), end=0.0)


def test_bgnbd_fit_recovers_the_parameters_it_was_simulated_from(weekly):
    # Given 10,000 customers simulated from known BG/NBD parameters (weeks)
    x, t_x, T = weekly
    # When the model is fitted by maximum likelihood
    fitted = fit_bgnbd(x, t_x, T)
    # Then every parameter is within 15% of the truth
    errors = relative_errors(fitted.as_dict(), TRUE_BGNBD)
    assert max(errors.values()) < 0.15, errors
    # And the true parameters are no more likely than the fitted ones
    truth = bgnbd_log_likelihood(tuple(TRUE_BGNBD.values()), x, t_x, T).sum()
    assert truth <= fitted.log_likelihood + 1e-6
    assert fitted.log_likelihood == pytest.approx(
        bgnbd_log_likelihood(fitted, x, t_x, T).sum(), rel=1e-9
    )
    assert fitted.n == len(x)


def test_probability_alive_follows_the_customer_history():
    params = BgNbdParams(r=0.8, alpha=5.0, a=1.5, b=4.0, log_likelihood=0.0, n=1)
    # Given customers who never bought again, who bought recently, and who went quiet
    alive = bgnbd_probability_alive(params, [0, 5, 5], [0, 50, 5], [52, 52, 52])
    # Then a one-time buyer is surely alive in BG/NBD (dropout follows a repeat purchase),
    # a recent buyer likely (1 / (1 + a/(b+x-1) ((α+T)/(α+t_x))^(r+x)), eq. in FHL 2005),
    # and a frequent buyer silent for 47 weeks probably gone
    assert alive[0] == 1.0
    assert alive[1] == pytest.approx(1 / (1 + 1.5 / 8 * (57 / 55) ** 5.8))
    assert alive[1] > 0.8
    assert alive[2] < 0.1


def test_gamma_gamma_fit_recovers_the_spend_parameters():
    # Given 20,000 customers with 1..12 repeat purchases whose spend follows Gamma-Gamma
    n = 20_000
    rng = np.random.default_rng(3)
    x = rng.integers(1, 13, n).astype(float)
    nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["v"], n)
    monetary = rng.gamma(TRUE_GG["p"] * x, 1.0 / (nu * x))  # mean of x purchases
    # And one-time buyers, whom the fit must leave out
    x = np.r_[x, np.zeros(500)]
    monetary = np.r_[monetary, np.zeros(500)]
    # When Gamma-Gamma is fitted
    fitted = fit_gamma_gamma(x, monetary)
    # Then p, q and v are within 20% of the truth, on the repeat buyers only
    errors = relative_errors(fitted.as_dict(), TRUE_GG)
    assert max(errors.values()) < 0.20, errors
    assert fitted.n == n
    true = GammaGammaParams(**TRUE_GG, log_likelihood=0.0, n=n)
    assert gamma_gamma_log_likelihood(true, x[:n], monetary[:n]).sum() <= fitted.log_likelihood
    # And the expected spend shrinks a customer's mean towards the population mean p v/(q-1)
    population = TRUE_GG["p"] * TRUE_GG["v"] / (TRUE_GG["q"] - 1)
    spend = gamma_gamma_expected_spend(true, [0, 1, 50], [0, 100.0, 100.0])
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < 100.0


def test_holdout_forecast_matches_the_purchases_that_followed():
    # Given a year of daily transactions (customers arriving over the first half year) and
    # the half year that followed
    n = 15_000
    start = np.datetime64("2025-01-01")
    birth = np.random.default_rng(5).uniform(0, 182, n)
    sim = simulate(
        n, r=0.5, alpha=20.0, a=1.2, b=5.0, birth=birth, until=547.0, spend=TRUE_GG, seed=9
    )
    dates = start + np.floor(sim.time).astype("timedelta64[D]")
    calibration_end = start + np.timedelta64(364, "D")
    holdout_end = start + np.timedelta64(546, "D")
    # When the model is fitted on the first year only
    cal = rfm_from_transactions(sim.customer, dates, sim.amount, end=calibration_end)
    params = fit_bgnbd(cal.frequency, cal.recency, cal.T)
    predicted = bgnbd_expected_purchases(params, 182, cal.frequency, cal.recency, cal.T).sum()
    # Then the purchase days forecast for the next 182 days are within 10% of the actual ones
    full = rfm_from_transactions(sim.customer, dates, sim.amount, end=holdout_end)
    actual = (full.frequency - cal.frequency).sum()
    assert actual > 1000
    assert abs(predicted - actual) / actual < 0.10, (predicted, actual)
    # And the lifetime value over the holdout is the discounted forecast times the spend
    spend = fit_gamma_gamma(cal.frequency, cal.monetary)
    six_months = clv(
        params,
        spend,
        cal.frequency,
        cal.recency,
        cal.T,
        cal.monetary,
        months=6,
        discount_rate=0.0,
    )
    per_purchase = gamma_gamma_expected_spend(spend, cal.frequency, cal.monetary)
    expected_6m = bgnbd_expected_purchases(
        params, 6 * 365.25 / 12, cal.frequency, cal.recency, cal.T
    )
    np.testing.assert_allclose(six_months, expected_6m * per_purchase, rtol=1e-9)
    discounted = clv(
        params,
        spend,
        cal.frequency,
        cal.recency,
        cal.T,
        cal.monetary,
        months=6,
        discount_rate=0.02,
        margin=0.3,
    )
    assert np.all(discounted < 0.3 * six_months + 1e-12)
    assert np.all(discounted > 0.3 * six_months / 1.02**6 - 1e-12)


def test_rfm_merges_same_day_purchases_and_ignores_later_ones():
    # Given c1 buying twice on 1 Jan and again on 8 Jan, c2 once, and a purchase after the end
    ids = ["c1", "c1", "c2", "c1", "c1", "c3"]
    dates = np.array(
        ["2025-01-01", "2025-01-01T18:30", "2025-01-03", "2025-01-08", "2025-02-01", "2025-02-01"],
        dtype="datetime64[m]",
    )
    amounts = [10.0, 5.0, 7.0, 20.0, 99.0, 1.0]
    # When summarised up to 15 January, in weeks
    rfm = rfm_from_transactions(ids, dates, amounts, end="2025-01-15", time_unit="week")
    # Then 1 January is one purchase of 15, 8 January the only repeat purchase, c3 is absent
    assert list(rfm.customer_ids) == ["c1", "c2"]
    np.testing.assert_allclose(rfm.frequency, [1, 0])
    np.testing.assert_allclose(rfm.recency, [1.0, 0.0])
    np.testing.assert_allclose(rfm.T, [2.0, 12 / 7])
    np.testing.assert_allclose(rfm.monetary, [20.0, 0.0])
    assert rfm.transactions == 4
    # And integer customer ids come back as themselves, in ascending order
    numeric = rfm_from_transactions(
        np.array([7, 7, 105, 7]), dates[:4], amounts[:4], end="2025-01-15"
    )
    assert numeric.customer_ids.tolist() == [7, 105]
    np.testing.assert_allclose(numeric.frequency, [1, 0])
    np.testing.assert_allclose(numeric.recency, [7.0, 0.0])
    np.testing.assert_allclose(numeric.monetary, [20.0, 0.0])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "transactions.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    sim = simulate(
        400,
        **TRUE_BGNBD,
        birth=np.random.default_rng(1).uniform(0, 20, 400),
        until=60.0,
        spend=TRUE_GG,
        seed=2,
    )
    dates = np.datetime64("2025-01-06") + np.floor(sim.time * 7).astype("timedelta64[D]")
    lines = ["amount,customer_id,date"]  # any column order
    lines += [
        f"{amount:.2f},C{customer:04d},{day}"
        for customer, day, amount in zip(sim.customer, dates, sim.amount, strict=True)
    ]
    return _write(tmp_path, "\n".join(lines) + "\n")


def test_cli_prints_one_json_object_with_the_parameters(small_csv):
    # Given an analyst's CSV of weekly-rate customers
    out = io.StringIO()
    # When 'yiti value fit --json' runs on it (without the django_db mark: pytest-django
    # fails any database access, so this also shows the command never touches the database)
    call_command(
        "value",
        "fit",
        "--transactions",
        str(small_csv),
        "--end",
        "2025-12-31",
        "--time-unit",
        "week",
        "--json",
        stdout=out,
    )
    # Then it prints one JSON object with both models' parameters
    result = json.loads(out.getvalue())
    assert set(result) >= {"bgnbd", "gamma_gamma", "customers", "transactions", "end"}
    assert set(result["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(result["gamma_gamma"]) == {"p", "q", "v"}
    assert result["customers"] == 400
    assert result["end"] == "2025-12-31"
    assert result["time_unit"] == "week"
    assert all(v > 0 for k, v in result["bgnbd"].items() if k != "log_likelihood")
    assert result["bgnbd"]["log_likelihood"] < 0


def test_cli_summary_is_readable(small_csv):
    out = io.StringIO()
    call_command(
        "value", "fit", "--transactions", str(small_csv), "--end", "2025-12-31", stdout=out
    )
    text = out.getvalue()
    assert "400 customers" in text
    assert "BG/NBD" in text and "Gamma-Gamma" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("customer_id,amount\nc1,10\n", "date"),
        ("customer_id,date,amount\n", "no transactions"),
        ("customer_id,date,amount\nc1,2025-01-01,10\nc1,2025-13-01,10\n", "Row 3, column 'date'"),
        ("customer_id,date,amount\nc1,01/02/2025,10\n", "Row 2, column 'date'"),
        (
            "customer_id,date,amount\nc1,2025-01-01,10\n\nc2,2025-01-02,ten\n",
            "Row 4, column 'amount'",
        ),
        ("customer_id,date,amount\nc1,2025-01-01,-5\n", "Row 2, column 'amount'"),
        ("customer_id,date,amount\nc1,2025-01-01\n", "Row 2, column 'amount'"),
        ("customer_id,date,amount\n,2025-01-01,3\n", "Row 2, column 'customer_id'"),
        ("customer_id,date,amount\nc1,2026-01-01,3\n", "No transaction on or before"),
    ],
)
def test_cli_rejects_a_bad_file_naming_the_row_and_column(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(CommandError, match=message):
        call_command("value", "fit", "--transactions", str(path), "--end", "2025-12-31")


def test_cli_rejects_a_bad_end_date_and_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="--end"):
        call_command("value", "fit", "--transactions", "x.csv", "--end", "31/12/2025")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command(
            "value", "fit", "--transactions", str(tmp_path / "nope.csv"), "--end", "2025-12-31"
        )
