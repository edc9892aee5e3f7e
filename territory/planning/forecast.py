"""Next quarter's bookings per territory and region, with an 80% interval and a measured track record.

Three ways to forecast the next quarter from a territory x quarter bookings table (USD):

* **model**: one pooled log-linear regression (scikit-learn ``LinearRegression``) over every territory,
  ``log(1 + bookings) = level_territory + trend_territory x t + season_quarter-of-year``: each
  territory keeps its own level and growth, and the quarter-of-year pattern is learnt from all of
  them together (a single territory's 5 to 8 quarters cannot tell a season from noise).
* **seasonal_naive**: the same quarter a year earlier ("last year's same quarter").
* **trailing_mean**: the mean of the latest 4 quarters.

The **backtest** is rolling-origin: for every quarter from the 6th on, each method forecasts it from
the quarters before it only, and :func:`forecast_errors` scores all the forecasts at once (WAPE =
sum |actual - forecast| / sum |actual|, MAPE = mean |actual - forecast| / |actual| over non-zero
actuals, both in %). The forecast shown is the model's when its WAPE is below both baselines', else
the best baseline's, and the notes say so: nothing is tuned to win. Without a backtest (fewer
than 6 quarters) the forecast shown is last year's same quarter.

**80% interval**: the point forecast times exp of the 10th and 90th percentiles of the method's
out-of-sample log errors ``log(1 + actual) - log(1 + forecast)`` in the rolling-origin backtest (all
territories pooled; split-conformal, each tail widened by (n + 1)/n), so it is as wide as the method's
forecasts one quarter ahead have actually erred. A region's interval comes from the errors of its
summed backtest forecasts, the total's from the regions' (3 origins give too few errors of the total).
With fewer than ``MIN_CALIBRATION`` backtest errors the interval falls back to the in-sample residuals
(for the model widened by sqrt(n / (n - p)) for its p parameters). Inside the backtest each origin is
calibrated on the earlier origins only, so the coverage it reports is measured out of sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from territory.data import schema
from territory.planning.quarters import next_quarter, quarter_index

LEVEL = 0.8
SEASON = 4  # quarters per year
MIN_HISTORY = 5
"""Quarters the model needs before its first forecast: a full year for the season plus one."""
MIN_CALIBRATION = 10
"""Backtest errors an interval needs to be calibrated on them; with fewer it comes from the in-sample fit."""
MODEL, SEASONAL_NAIVE, TRAILING_MEAN = "model", "seasonal_naive", "trailing_mean"
METHODS: tuple[str, ...] = (MODEL, SEASONAL_NAIVE, TRAILING_MEAN)
METHOD_LABELS: dict[str, str] = {
    MODEL: "Model (pooled log-linear regression)",
    SEASONAL_NAIVE: "Last year's same quarter",
    TRAILING_MEAN: "Mean of the last 4 quarters",
}
ALL_TERRITORIES = "All territories"
NO_REGION = "(no region)"


# --- scores -------------------------------------------------------------------------------------


def forecast_errors(actual: Sequence[float] | np.ndarray, forecast: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """WAPE and MAPE (%) of forecasts against actuals, and how many forecasts they cover.

    WAPE = sum |a - f| / sum |a| x 100 (NaN when every actual is 0); MAPE = mean of |a - f| / |a| x 100
    over the non-zero actuals (``mape_n`` of them).

    >>> forecast_errors([100, 200, 0], [110, 150, 10])
    {'wape': 23.333333333333332, 'mape': 17.5, 'n': 3, 'mape_n': 2}
    """
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    if a.shape != f.shape:
        raise ValueError(f"{a.size} actuals against {f.size} forecasts")
    ok = np.isfinite(a) & np.isfinite(f)
    a, f = a[ok], f[ok]
    errors = np.abs(a - f)
    scale = float(np.abs(a).sum())
    nonzero = a != 0
    return {
        "wape": float(errors.sum() / scale * 100.0) if scale > 0 else float("nan"),
        "mape": float(np.mean(errors[nonzero] / np.abs(a[nonzero])) * 100.0) if nonzero.any() else float("nan"),
        "n": int(a.size),
        "mape_n": int(nonzero.sum()),
    }


def coverage_pct(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share (%) of actuals inside [low, high], over the forecasts that have an interval."""
    a, lo, hi = (np.asarray(x, dtype=float) for x in (actual, low, high))
    ok = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    return float(np.mean((a[ok] >= lo[ok]) & (a[ok] <= hi[ok])) * 100.0) if ok.any() else float("nan")


# --- the three methods --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fit:
    point: np.ndarray  # next quarter, one per series (USD)
    fitted: np.ndarray  # series x quarters of history the method can explain (NaN elsewhere), USD
    inflation: float  # residual widening for fitted parameters (1 for the baselines)


def _seasonal_naive(history: np.ndarray) -> _Fit:
    n_t = history.shape[1]
    fitted = np.full(history.shape, np.nan)
    if n_t > SEASON:
        fitted[:, SEASON:] = history[:, :-SEASON]
    point = history[:, n_t - SEASON] if n_t >= SEASON else np.full(history.shape[0], np.nan)
    return _Fit(point, fitted, 1.0)


def _trailing_mean(history: np.ndarray) -> _Fit:
    n_t = history.shape[1]
    fitted = np.full(history.shape, np.nan)
    for t in range(SEASON, n_t):
        fitted[:, t] = history[:, t - SEASON : t].mean(axis=1)
    point = history[:, -SEASON:].mean(axis=1) if n_t >= SEASON else np.full(history.shape[0], np.nan)
    return _Fit(point, fitted, 1.0)


def _model(history: np.ndarray, first_season: int) -> _Fit:
    """The pooled log-linear regression; ``first_season`` is the quarter of year (0..3) of column 0."""
    from sklearn.linear_model import LinearRegression

    n_s, n_t = history.shape
    if n_t < MIN_HISTORY or n_s == 0:
        return _Fit(np.full(n_s, np.nan), np.full(history.shape, np.nan), float("nan"))
    t = np.arange(n_t + 1, dtype=float) - (n_t - 1)  # 0 at the latest quarter, 1 at the one forecast
    season = (first_season + np.arange(n_t + 1)) % SEASON

    def design(columns: np.ndarray) -> np.ndarray:
        rows = []
        for i in range(n_s):
            for c in columns:
                level = np.zeros(n_s)
                level[i] = 1.0
                trend = level * t[c]
                quarter = np.zeros(SEASON - 1)
                if season[c]:
                    quarter[season[c] - 1] = 1.0
                rows.append(np.concatenate([level, trend, quarter]))
        return np.asarray(rows)

    y = np.log1p(np.clip(history, 0.0, None)).ravel()
    x = design(np.arange(n_t))
    fit = LinearRegression(fit_intercept=False).fit(x, y)
    fitted = np.expm1(fit.predict(x)).reshape(n_s, n_t)
    point = np.expm1(fit.predict(design(np.array([n_t]))))
    n_obs, n_par = y.size, x.shape[1]
    inflation = math.sqrt(n_obs / (n_obs - n_par)) if n_obs > n_par else float("nan")
    return _Fit(np.clip(point, 0.0, None), np.clip(fitted, 0.0, None), inflation)


def _fit(method: str, history: np.ndarray, first_season: int) -> _Fit:
    if method == MODEL:
        return _model(history, first_season)
    if method == SEASONAL_NAIVE:
        return _seasonal_naive(history)
    return _trailing_mean(history)


def _interval(point: np.ndarray, actual: np.ndarray, fitted: np.ndarray, inflation: float,
              level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): ``point`` x exp of the (1 - level)/2 and (1 + level)/2 quantiles of the log errors."""
    ok = np.isfinite(actual) & np.isfinite(fitted)
    point = np.asarray(point, dtype=float)
    if not ok.any() or not math.isfinite(inflation):
        nan = np.full(point.shape, np.nan)
        return nan, nan
    residuals = np.log1p(np.clip(actual[ok], 0.0, None)) - np.log1p(np.clip(fitted[ok], 0.0, None))
    lo, hi = np.quantile(residuals, [(1 - level) / 2, (1 + level) / 2]) * inflation
    base = np.log1p(np.clip(point, 0.0, None))
    return np.expm1(base + min(lo, 0.0)), np.expm1(base + max(hi, 0.0))


def log_errors(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """``log(1 + actual) - log(1 + forecast)`` (negative values clipped to 0), the finite ones only."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    ok = np.isfinite(a) & np.isfinite(f)
    return np.log1p(np.clip(a[ok], 0.0, None)) - np.log1p(np.clip(f[ok], 0.0, None))


def calibrated_interval(point: np.ndarray, errors: np.ndarray,
                        level: float = LEVEL) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) from out-of-sample log errors (split-conformal): ``point`` x exp of their
    (1 - level)/2 and (1 + level)/2 quantiles, each tail widened by (n + 1)/n for the n errors;
    None with fewer than ``MIN_CALIBRATION`` errors.

    >>> low, high = calibrated_interval(np.array([100.0]), np.log(np.linspace(0.8, 1.2, 41)))
    >>> round(float(low[0])), round(float(high[0]))
    (83, 117)
    """
    errors = np.asarray(errors, dtype=float)
    errors = errors[np.isfinite(errors)]
    n = errors.size
    if n < MIN_CALIBRATION:
        return None
    low_p = max(0.0, ((1 - level) / 2 * (n + 1) - 1) / n)
    high_p = min(1.0, (1 + level) / 2 * (n + 1) / n)
    lo, hi = np.quantile(errors, [low_p, high_p])
    base = np.log1p(np.clip(np.asarray(point, dtype=float), 0.0, None))
    return np.expm1(base + min(lo, 0.0)), np.expm1(base + max(hi, 0.0))


# --- the forecast and its backtest --------------------------------------------------------------


@dataclass(frozen=True)
class BookingsForecast:
    """Next quarter's bookings per territory and region, with the backtest behind the method shown."""

    quarter: str | None  # the quarter forecast
    method: str  # the method shown: MODEL, or the best baseline when the model did not beat both
    level: float
    territories: pd.DataFrame  # territory_id, region, quarter, value, low, high (USD), then one column per method
    regions: pd.DataFrame  # region (ALL_TERRITORIES last), quarter, value, low, high (USD)
    scores: pd.DataFrame  # method, wape, mape, coverage (all %), forecasts
    backtest: pd.DataFrame  # territory_id, quarter, actual, then value/low/high per method (USD)
    origins: tuple[str, ...]  # quarters forecast in the backtest
    notes: tuple[str, ...] = ()

    def score(self, method: str, column: str = "wape") -> float:
        """A backtest score of one method (NaN without a backtest)."""
        row = self.scores[self.scores["method"] == method]
        return float(row[column].iloc[0]) if len(row) else float("nan")

    def improvement_pct(self, baseline: str, method: str = MODEL) -> float:
        """How much lower ``method``'s WAPE is than ``baseline``'s, in % of the baseline's (negative: worse)."""
        base, own = self.score(baseline), self.score(method)
        return (base - own) / base * 100.0 if base > 0 and math.isfinite(own) else float("nan")

    @property
    def model_wins(self) -> bool:
        """True when the model's backtest WAPE is below both baselines'."""
        own = self.score(MODEL)
        return math.isfinite(own) and all(own < self.score(b) for b in (SEASONAL_NAIVE, TRAILING_MEAN))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``forecast`` per territory, ``regions``, ``backtest`` with wape/mape/coverage per method."""
        def number(value: Any) -> float | None:
            value = float(value)
            return round(value, 2) if math.isfinite(value) else None

        def rows(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
            return [{key: str(r[key]), "quarter": r["quarter"], "value": number(r["value"]), "low": number(r["low"]),
                     "high": number(r["high"])} for _, r in frame.iterrows()]

        return {
            "quarter": self.quarter,
            "method": self.method,
            "level": self.level,
            "forecast": rows(self.territories, schema.TERRITORY_ID),
            "regions": rows(self.regions, schema.REGION),
            "backtest": {
                "origins": list(self.origins),
                "forecasts": int(self.scores["forecasts"].max()) if len(self.scores) else 0,
                **{k: {m: number(self.score(m, k)) for m in METHODS}
                   for k in ("wape", "mape", "coverage", "coverage_calibrated")},
            },
            "notes": list(self.notes),
        }


def _regions(ids: list[str], territories: pd.DataFrame | None) -> pd.Series:
    if territories is None or schema.REGION not in territories or schema.TERRITORY_ID not in territories:
        return pd.Series(NO_REGION, index=ids, dtype=object)
    table = territories.drop_duplicates(schema.TERRITORY_ID)
    region = pd.Series(table[schema.REGION].astype("string").to_numpy(), index=table[schema.TERRITORY_ID].astype(str))
    return region.reindex(ids).fillna(NO_REGION).astype(object)


def _group_sum(values: np.ndarray, groups: np.ndarray, names: list[str]) -> np.ndarray:
    """Rows of ``values`` summed per group (one output row per name, in order)."""
    if not names:
        return np.zeros((0,) + values.shape[1:])
    return np.vstack([values[groups == g].sum(axis=0) for g in names])


def backtest_forecasts(by_quarter: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Rolling origin: every quarter from position ``MIN_HISTORY`` on, forecast by each method from the
    quarters before it only. Columns: territory_id, quarter, actual, then ``<method>``,
    ``<method>_low``, ``<method>_high`` (USD) and ``<method>_calibrated`` for each method.

    The interval of a forecast is calibrated on the method's errors at the earlier origins (all
    territories pooled, :func:`calibrated_interval`) once there are ``MIN_CALIBRATION`` of them, so
    its coverage is measured out of sample too; before that it comes from the in-sample fit."""
    values = by_quarter.to_numpy(dtype=float)
    quarters = [str(q) for q in by_quarter.columns]
    frames = []
    past: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    for end in range(MIN_HISTORY, len(quarters)):
        history = values[:, :end]
        first_season = quarter_index(quarters[0]) % SEASON
        frame = {schema.TERRITORY_ID: [str(i) for i in by_quarter.index], "quarter": quarters[end],
                 "actual": values[:, end]}
        for method in METHODS:
            fit = _fit(method, history, first_season)
            calibrated = calibrated_interval(fit.point, np.concatenate(past[method]) if past[method] else
                                             np.zeros(0), level)
            low, high = calibrated if calibrated is not None else _interval(fit.point, history, fit.fitted,
                                                                            fit.inflation, level)
            frame[method], frame[f"{method}_low"], frame[f"{method}_high"] = fit.point, low, high
            frame[f"{method}_calibrated"] = calibrated is not None
            past[method].append(log_errors(values[:, end], fit.point))
        frames.append(pd.DataFrame(frame))
    columns = [schema.TERRITORY_ID, "quarter", "actual"] + [
        f"{m}{s}" for m in METHODS for s in ("", "_low", "_high", "_calibrated")]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def backtest_scores(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per method: WAPE, MAPE and interval coverage (%) over every backtest forecast, and their number;
    ``coverage_calibrated`` over the forecasts whose interval was calibrated (``calibrated`` of them)."""
    rows = []
    for method in METHODS:
        errors = forecast_errors(backtest["actual"], backtest[method]) if len(backtest) else {
            "wape": np.nan, "mape": np.nan, "n": 0}
        cover = coverage_pct(backtest["actual"], backtest[f"{method}_low"], backtest[f"{method}_high"]) \
            if len(backtest) else np.nan
        done = backtest[backtest[f"{method}_calibrated"].astype(bool)] if len(backtest) else backtest
        calibrated = coverage_pct(done["actual"], done[f"{method}_low"], done[f"{method}_high"]) \
            if len(done) else np.nan
        rows.append({"method": method, "wape": errors["wape"], "mape": errors["mape"], "coverage": cover,
                     "forecasts": errors["n"], "coverage_calibrated": calibrated, "calibrated": int(len(done))})
    return pd.DataFrame(rows)


def _interval_of(point: np.ndarray, backtest: pd.DataFrame, method: str, values: np.ndarray, fit: _Fit,
                 level: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval shown: calibrated on every backtest error of ``method``, else from the in-sample fit."""
    errors = log_errors(backtest["actual"], backtest[method]) if len(backtest) else np.zeros(0)
    return calibrated_interval(point, errors, level) or _interval(point, values, fit.fitted, fit.inflation, level)


def _summed_errors(backtest: pd.DataFrame, method: str, region: pd.Series | None) -> np.ndarray:
    """Log errors of the backtest's forecasts summed per (region, quarter), or per quarter for the total."""
    groups = [backtest["quarter"]] if region is None else [
        backtest[schema.TERRITORY_ID].map(region).fillna(NO_REGION), backtest["quarter"]]
    sums = backtest[["actual", method]].groupby(groups, sort=False).sum(min_count=1)
    return log_errors(sums["actual"].to_numpy(), sums[method].to_numpy())


def forecast_bookings(
    by_quarter: pd.DataFrame, territories: pd.DataFrame | None = None, level: float = LEVEL
) -> BookingsForecast:
    """Next quarter's bookings per territory and region (``by_quarter``: territory x quarter, USD, as
    ``territory.planning.review.bookings_by_territory`` makes it), with the backtest and the method shown."""
    ids = [str(i) for i in by_quarter.index]
    quarters = [str(q) for q in by_quarter.columns]
    values = by_quarter.to_numpy(dtype=float)
    notes: list[str] = []
    backtest = backtest_forecasts(by_quarter, level)
    scores = backtest_scores(backtest)
    origins = tuple(dict.fromkeys(backtest["quarter"].astype(str))) if len(backtest) else ()
    empty = BookingsForecast(None, SEASONAL_NAIVE, level, pd.DataFrame(), pd.DataFrame(), scores, backtest, origins)
    if len(quarters) < SEASON:
        return replace(empty, notes=(f"{len(quarters)} quarter(s) of bookings: a forecast needs at least {SEASON} "
                                     f"(and {MIN_HISTORY + 1} to be backtested).",))
    model_wape = float(scores.loc[scores["method"] == MODEL, "wape"].iloc[0])
    baseline_scores = scores[scores["method"] != MODEL].dropna(subset=["wape"])
    if not len(backtest):
        method = SEASONAL_NAIVE
        notes.append(f"{len(quarters)} quarters of bookings: too few to backtest (needs {MIN_HISTORY + 1}), so the "
                     "model has no measured track record and the forecast shown is last year's same quarter.")
    elif math.isfinite(model_wape) and len(baseline_scores) and model_wape < baseline_scores["wape"].min():
        method = MODEL
    else:
        best = baseline_scores.sort_values("wape", kind="stable")
        method = str(best["method"].iloc[0]) if len(best) else SEASONAL_NAIVE
        notes.append(f"The model (error by bookings {model_wape:.1f}%) did not beat {METHOD_LABELS[method].lower()} "
                     f"({float(best['wape'].iloc[0]):.1f}%) in the backtest: the forecast shown is that baseline.")
    first_season = quarter_index(quarters[0]) % SEASON
    fits = {m: _fit(m, values, first_season) for m in METHODS}
    chosen = fits[method]
    low, high = _interval_of(chosen.point, backtest, method, values, chosen, level)
    target = next_quarter(quarters[-1])
    region = _regions(ids, territories)
    per_territory = pd.DataFrame({
        schema.TERRITORY_ID: ids, schema.REGION: region.to_numpy(), "quarter": target,
        "value": chosen.point, "low": low, "high": high,
        **{m: fits[m].point for m in METHODS},
    })
    names = sorted(set(region)) if len(ids) else []
    groups = region.to_numpy()
    region_actual = _group_sum(values, groups, names)
    region_fitted = _group_sum(chosen.fitted, groups, names)
    region_point = _group_sum(chosen.point[:, None], groups, names)[:, 0] if names else np.zeros(0)
    region_errors = _summed_errors(backtest, method, region) if len(backtest) else np.zeros(0)
    total_errors = _summed_errors(backtest, method, None) if len(backtest) else np.zeros(0)
    r_low, r_high = calibrated_interval(region_point, region_errors, level) or _interval(
        region_point, region_actual, region_fitted, chosen.inflation, level)
    total_point = np.array([chosen.point.sum()])
    # 3 origins give 3 errors of the total: too few; the regions' errors stand in (wider: a sum of regions
    # errs less, relatively, than one region).
    total_low, total_high = (calibrated_interval(total_point, total_errors, level)
                             or calibrated_interval(total_point, region_errors, level)
                             or _interval(total_point, values.sum(axis=0, keepdims=True),
                                          chosen.fitted.sum(axis=0, keepdims=True), chosen.inflation, level))
    regions = pd.DataFrame({
        schema.REGION: [*names, ALL_TERRITORIES], "quarter": target,
        "value": [*region_point, chosen.point.sum()], "low": [*r_low, *total_low], "high": [*r_high, *total_high],
    })
    if names == [NO_REGION]:
        regions = regions.iloc[1:].reset_index(drop=True)
    return BookingsForecast(target, method, level, per_territory, regions, scores, backtest, origins, tuple(notes))


def summary_sentence(forecast: BookingsForecast) -> str:
    """The backtest in one sentence for the page and the report (display only; code reads the fields)."""
    if not forecast.origins:
        return "Too few quarters to backtest the forecast: it has no measured track record."
    n = int(forecast.scores["forecasts"].max())
    span = forecast.origins[0] if len(forecast.origins) == 1 else f"{forecast.origins[0]} to {forecast.origins[-1]}"
    wape = {m: forecast.score(m) for m in METHODS}
    if forecast.model_wins:
        return (f"Backtest ({n:,} forecasts, {span}, each from the quarters before it): the forecast beat "
                f"last year's same quarter by {forecast.improvement_pct(SEASONAL_NAIVE):.0f}% (error by bookings "
                f"{wape[MODEL]:.1f}% against {wape[SEASONAL_NAIVE]:.1f}%) and the mean of the last 4 quarters by "
                f"{forecast.improvement_pct(TRAILING_MEAN):.0f}% (error {wape[TRAILING_MEAN]:.1f}%).")
    return (f"Backtest ({n:,} forecasts, {span}): the model (error by bookings {wape[MODEL]:.1f}%) did not beat "
            f"{METHOD_LABELS[forecast.method].lower()} ({wape[forecast.method]:.1f}%), so the forecast shown "
            "is that baseline.")
