"""The forecast and its backtest (territory.planning.forecast) on hand-made tables.

Every expected error is worked out by hand; the backtest is checked to use only the quarters before
each forecast, and the method shown to fall back to a baseline when the model loses.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from territory.planning import forecast as F

QUARTERS = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]


def test_wape_and_mape_by_hand():
    # actual 100, 200, 50, 0; forecast 90, 230, 50, 10
    # |errors| = 10, 30, 0, 10 -> WAPE = 50 / 350 = 14.2857%
    # MAPE over the non-zero actuals: (10/100 + 30/200 + 0/50) / 3 = (0.1 + 0.15 + 0) / 3 = 8.3333%
    scores = F.forecast_errors([100, 200, 50, 0], [90, 230, 50, 10])
    assert scores["wape"] == pytest.approx(50 / 350 * 100)
    assert scores["mape"] == pytest.approx(25 / 3)
    assert scores["n"] == 4 and scores["mape_n"] == 3


def test_wape_of_all_zero_actuals_is_undefined_not_zero():
    assert math.isnan(F.forecast_errors([0, 0], [1, 2])["wape"])


def test_coverage_counts_the_ends_as_inside():
    assert F.coverage_pct(np.array([1.0, 5.0, 9.0, 10.0]), np.array([1.0, 0.0, 0.0, 0.0]),
                          np.array([2.0, 4.0, 9.0, 20.0])) == 75.0


def baseline_table() -> pd.DataFrame:
    """Two territories whose own (different) season repeats exactly every year, no trend:
    last year's same quarter is perfect, and one shared season cannot fit both."""
    a = [10.0, 40.0, 10.0, 10.0] * 2
    b = [40.0, 10.0, 40.0, 40.0] * 2
    return pd.DataFrame([a, b], index=["T1", "T2"], columns=QUARTERS)


def test_backtest_scores_the_baselines_by_hand():
    result = F.forecast_bookings(baseline_table())
    # origins: positions 5, 6, 7 (2026Q1..2026Q3), 2 territories each -> 6 forecasts
    assert result.origins == ("2026Q1", "2026Q2", "2026Q3")
    assert result.score(F.SEASONAL_NAIVE) == 0.0
    # trailing mean of the 4 quarters before is always the year mean: T1 17.5, T2 32.5
    # actuals T1 40, 10, 10 (errors 22.5, 7.5, 7.5); T2 10, 40, 40 (errors 22.5, 7.5, 7.5)
    # WAPE = 75 / 150 = 50%
    assert result.score(F.TRAILING_MEAN) == pytest.approx(50.0)
    assert int(result.scores["forecasts"].max()) == 6


def test_the_model_does_not_win_so_the_best_baseline_is_shown():
    result = F.forecast_bookings(baseline_table())
    assert result.score(F.MODEL) > 0 and not result.model_wins
    assert result.method == F.SEASONAL_NAIVE
    shown = result.territories.set_index("territory_id")["value"]
    assert shown.to_dict() == {"T1": 10.0, "T2": 40.0}  # 2025Q4's values, the same quarter a year before 2026Q4
    assert any("did not beat" in note for note in result.notes)
    assert "did not beat" in F.summary_sentence(result)


def growing_table() -> pd.DataFrame:
    """Three territories with a shared season and their own steady growth, exactly log-linear."""
    season = np.array([0.0, -0.2, -0.1, -0.1])  # 2024Q4 is a Q4; then Q1, Q2, Q3
    t = np.arange(8)
    rows = []
    for level, growth in ((12.0, 0.05), (11.0, -0.02), (13.0, 0.01)):
        rows.append(np.expm1(level + growth * t + season[t % 4]))
    return pd.DataFrame(rows, index=["T1", "T2", "T3"], columns=QUARTERS)


def test_the_model_recovers_an_exact_trend_and_season_and_wins():
    table = growing_table()
    result = F.forecast_bookings(table)
    assert result.score(F.MODEL) == pytest.approx(0.0, abs=1e-6)
    assert result.model_wins and result.method == F.MODEL
    expected = np.expm1(np.array([12.0 + 0.05 * 8, 11.0 - 0.02 * 8, 13.0 + 0.01 * 8]) + 0.0)  # 2026Q4 is a Q4
    assert result.territories["value"].to_numpy() == pytest.approx(expected, rel=1e-6)
    assert result.quarter == "2026Q4"
    assert result.improvement_pct(F.SEASONAL_NAIVE) == pytest.approx(100.0)


def test_backtest_uses_only_the_quarters_before_each_forecast():
    table = growing_table()
    changed = table.copy()
    changed["2026Q3"] *= 3.0  # the last quarter changes: only its own forecast's actual may move
    before, after = F.backtest_forecasts(table), F.backtest_forecasts(changed)
    earlier = before["quarter"] != "2026Q3"
    columns = [c for c in before.columns if c not in ("territory_id", "quarter")]
    pd.testing.assert_frame_equal(before.loc[earlier, columns], after.loc[earlier, columns])
    last = ~earlier
    forecasts = list(F.METHODS)
    pd.testing.assert_frame_equal(before.loc[last, forecasts], after.loc[last, forecasts])


def test_regions_add_up_and_the_total_comes_last():
    territories = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "region": ["West", "West", "East"]})
    result = F.forecast_bookings(growing_table(), territories)
    regions = result.regions.set_index("region")["value"]
    per = result.territories.set_index("territory_id")["value"]
    assert list(regions.index) == ["East", "West", F.ALL_TERRITORIES]
    assert regions["West"] == pytest.approx(per["T1"] + per["T2"])
    assert regions[F.ALL_TERRITORIES] == pytest.approx(per.sum())
    assert (result.regions["low"] <= result.regions["value"]).all()
    assert (result.regions["value"] <= result.regions["high"]).all()


def test_too_few_quarters_say_so():
    short = growing_table().iloc[:, :3]
    result = F.forecast_bookings(short)
    assert result.quarter is None and result.territories.empty
    assert "at least 4" in result.notes[0]
    five = F.forecast_bookings(growing_table().iloc[:, :5])
    assert five.quarter == "2026Q1"
    assert not five.origins and "too few to backtest" in five.notes[0] and five.method == F.SEASONAL_NAIVE


def test_json_has_forecast_per_territory_and_backtest_wape_per_method():
    payload = F.forecast_bookings(growing_table()).to_dict()
    assert set(payload["forecast"][0]) == {"territory_id", "quarter", "value", "low", "high"}
    assert set(payload["backtest"]["wape"]) == {"model", "seasonal_naive", "trailing_mean"}
    assert payload["backtest"]["forecasts"] == 9


def test_calibrated_interval_needs_enough_errors_and_takes_their_quantiles():
    assert F.calibrated_interval(np.array([100.0]), np.zeros(F.MIN_CALIBRATION - 1)) is None
    # 19 errors: log(0.91) .. log(1.09); tails at (0.1 x 20 - 1) / 19 and 0.9 x 20 / 19 of them
    errors = np.log(np.linspace(0.91, 1.09, 19))
    low, high = F.calibrated_interval(np.array([99.0]), errors)
    lo, hi = np.quantile(errors, [1 / 19, 18 / 19])
    assert low[0] == pytest.approx(np.expm1(np.log(100.0) + lo)) and high[0] == pytest.approx(
        np.expm1(np.log(100.0) + hi))


def test_backtest_intervals_are_calibrated_on_earlier_origins_only():
    rng = np.random.default_rng(7)
    season = np.array([1.0, 1.3, 0.9, 1.1])
    table = pd.DataFrame([[1000.0 * (i + 1) * season[q % 4] * rng.lognormal(0, 0.1) for q in range(8)]
                          for i in range(12)], index=[f"T{i:02d}" for i in range(12)], columns=QUARTERS)
    backtest = F.backtest_forecasts(table)
    first, second, third = (backtest[backtest["quarter"] == q] for q in ("2026Q1", "2026Q2", "2026Q3"))
    assert not first["model_calibrated"].any()  # no earlier origin: the in-sample interval
    assert second["model_calibrated"].all() and third["model_calibrated"].all()
    # 2026Q2's interval comes from 2026Q1's 12 errors alone (no look-ahead at 2026Q2 or 2026Q3)
    expected = F.calibrated_interval(second["model"].to_numpy(), F.log_errors(first["actual"], first["model"]))
    assert np.allclose(second["model_low"], expected[0]) and np.allclose(second["model_high"], expected[1])
    scores = F.backtest_scores(backtest).set_index("method")
    assert scores.loc["model", "calibrated"] == 24


def test_the_forecast_shown_is_calibrated_on_every_backtest_error():
    rng = np.random.default_rng(3)
    table = pd.DataFrame([[500.0 * (i + 1) * rng.lognormal(0, 0.2) for _ in range(8)] for i in range(12)],
                         index=[f"T{i:02d}" for i in range(12)], columns=QUARTERS)
    result = F.forecast_bookings(table)
    errors = F.log_errors(result.backtest["actual"], result.backtest[result.method])
    low, high = F.calibrated_interval(result.territories["value"].to_numpy(), errors)
    assert np.allclose(result.territories["low"], low) and np.allclose(result.territories["high"], high)
