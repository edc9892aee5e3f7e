"""Industry focus (territory.engine.focus): territories trade accounts to specialise, within the band."""

from __future__ import annotations

import doctest
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory.balance import BalanceParams, balance
from territory.engine import focus as _focus
from territory.geo import to_unit_vectors
from territory.planning.industry import industry_concentration


def mixed_accounts(n: int = 600, n_industries: int = 2, seed: int = 0, regions: int = 1) -> pd.DataFrame:
    """Accounts scattered over `regions` one-degree squares; industries drawn at random, so every
    area holds every industry (spatially mixed); lognormal workload."""
    rng = np.random.default_rng(seed)
    region = rng.integers(regions, size=n)
    lat = 40.0 + rng.random(n) + 0.0 * region
    lon = -100.0 + rng.random(n) + 6.0 * region
    names = np.array(["Healthcare", "Manufacturing", "Retail", "Energy", "Finance", "Technology"])[:n_industries]
    return pd.DataFrame({
        "account_id": [f"A{i:04d}" for i in range(n)],
        "latitude": lat, "longitude": lon,
        "industry": names[rng.integers(n_industries, size=n)],
        "workload_hours": np.exp(rng.normal(np.log(20.0), 0.6, n)).round(1),
        "revenue": 1000.0,
    })


def arrays(accounts: pd.DataFrame, labels: pd.Series | np.ndarray):
    """(labels as codes, xyz, weight, industry codes, k) for calling specialise directly."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(labels, dtype=object)), sort=True)
    xyz = to_unit_vectors(accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy())
    industry, _ = pd.factorize(accounts["industry"], sort=True)
    return codes.astype(np.int64), xyz, accounts["workload_hours"].to_numpy(float), industry, len(uniques)


def mean_hhi(accounts: pd.DataFrame, labels) -> float:
    return float(industry_concentration(accounts, pd.Series(np.asarray(labels), index=accounts.index))
                 ["industry_hhi"].mean())


def weighted_travel(xyz, weight, labels, k) -> float:
    centres = _focus._centroids(xyz, weight, labels, k)
    return float(weight @ np.linalg.norm(xyz - centres[labels], axis=1))


@pytest.fixture(scope="module")
def mixed():
    accounts = mixed_accounts()
    start = balance(accounts, BalanceParams(n_territories=2, seed=0))
    return accounts, start


# --- specialise(): the pure function -------------------------------------------------------------


def test_focus_zero_returns_the_labels_unchanged(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    how = np.arange(len(labels)) % 3
    out, out_how = _focus.specialise(labels, xyz, w, ind, np.full(k, w.sum() / k), 0.05,
                                     np.zeros(len(labels), bool), 0.0, how=how)
    assert np.array_equal(out, labels) and np.array_equal(out_how, how)
    assert out is not labels  # a copy: the caller's array is never modified


def test_focus_one_raises_concentration_where_two_industries_are_mixed(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    before_hhi, before_top = _focus.concentration(labels, w, ind, k)
    assert before_hhi < 0.55  # a geographic split of a 50/50 mix: both halves are mixed
    out, how = _focus.specialise(labels, xyz, w, ind, target, 0.05, np.zeros(len(labels), bool), 1.0)
    after_hhi, after_top = _focus.concentration(out, w, ind, k)
    assert after_hhi >= before_hhi + 0.15, (before_hhi, after_hhi)
    assert after_top >= before_top + 0.15
    # every moved account is marked, no other
    assert np.array_equal(how == _focus.MOVED_BY_FOCUS, out != labels)


def test_loads_stay_within_the_band_and_never_get_worse(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    before = np.abs(np.bincount(labels, weights=w, minlength=k) / target - 1).max()
    out, _ = _focus.specialise(labels, xyz, w, ind, target, 0.05, np.zeros(len(labels), bool), 1.0)
    after = np.abs(np.bincount(out, weights=w, minlength=k) / target - 1).max()
    assert (out != labels).sum() > 20  # the band check is not vacuous
    assert after <= max(before, _focus.BAND_SHARE * 0.05) + 1e-12


def test_locked_accounts_never_move(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    locked = np.random.default_rng(1).random(len(labels)) < 0.5
    out, _ = _focus.specialise(labels, xyz, w, ind, target, 0.05, locked, 1.0)
    assert np.array_equal(out[locked], labels[locked])
    assert (out[~locked] != labels[~locked]).sum() > 10
    # the engine's form: territory index when locked, -1 when free
    engine_locked = np.where(locked, labels, -1)
    out2, _ = _focus.specialise(labels, xyz, w, ind, target, 0.05, engine_locked, 1.0)
    assert np.array_equal(out2, out)


def test_further_measures_stay_within_their_band_too(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    revenue = w * np.exp(np.random.default_rng(5).normal(0.0, 0.8, len(w)))  # loosely tied to workload
    rev_target = np.full((k, 1), revenue.sum() / k)

    def rev_dev(lab):
        return np.abs(np.bincount(lab, weights=revenue, minlength=k) / rev_target[:, 0] - 1).max()

    free = np.zeros(len(labels), bool)
    tolerance = 0.02
    alone, _ = _focus.specialise(labels, xyz, w, ind, target, tolerance, free, 1.0)
    both, _ = _focus.specialise(labels, xyz, w, ind, target, tolerance, free, 1.0,
                                also=(revenue[:, None], rev_target, np.zeros((k, 1))))
    limit = max(rev_dev(labels), _focus.ALSO_BAND_SHARE * tolerance)
    assert rev_dev(both) <= limit + 1e-12
    assert rev_dev(alone) > rev_dev(both)  # without the constraint revenue drifts further: it is not vacuous
    assert (both != labels).sum() > 20
    assert _focus.concentration(both, w, ind, k)[0] > _focus.concentration(labels, w, ind, k)[0] + 0.1


def test_deterministic_for_a_seed(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    runs = [_focus.specialise(labels, xyz, w, ind, target, 0.05, np.zeros(len(labels), bool), 0.7, seed=3)[0]
            for _ in range(2)]
    assert np.array_equal(runs[0], runs[1])


def test_travel_grows_with_focus_and_stays_under_the_cap():
    accounts = mixed_accounts(n=1500, n_industries=4, seed=2, regions=3)
    start = balance(accounts, BalanceParams(n_territories=6, seed=0))
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    centres = _focus._centroids(xyz, w, labels, k)
    fixed = float(w @ np.linalg.norm(xyz - centres[labels], axis=1))
    travel, hhi = [], []
    for focus in (0.0, 0.25, 0.5, 1.0):
        out, _ = _focus.specialise(labels, xyz, w, ind, target, 0.05, np.zeros(len(labels), bool), focus,
                                   centres=centres)
        to_fixed = float(w @ np.linalg.norm(xyz - centres[out], axis=1))
        assert to_fixed <= fixed * (1 + _focus.MAX_EXTRA_TRAVEL * focus) + 1e-9  # the allowance holds
        travel.append(weighted_travel(xyz, w, out, k))
        hhi.append(_focus.concentration(out, w, ind, k)[0])
    assert travel == sorted(travel) and travel[-1] > travel[0] * 1.05
    assert hhi == sorted(hhi) and hhi[-1] > hhi[0] + 0.05


def test_stability_keeps_accounts_with_their_current_territory(mixed):
    accounts, start = mixed
    labels, xyz, w, ind, k = arrays(accounts, start.labels)
    target = np.full(k, w.sum() / k)
    free = np.zeros(len(labels), bool)
    loose, _ = _focus.specialise(labels, xyz, w, ind, target, 0.05, free, 1.0, current=labels, stay=0.0)
    firm, _ = _focus.specialise(labels, xyz, w, ind, target, 0.05, free, 1.0, current=labels, stay=50.0)
    assert (loose != labels).sum() > 20
    assert (firm != labels).sum() == 0


def test_doctests_in_focus_pass():
    result = doctest.testmod(_focus)
    assert result.attempted > 0 and result.failed == 0


def test_single_industry_or_single_territory_is_left_alone():
    labels = np.array([0, 0, 1, 1])
    xyz = to_unit_vectors(np.array([40.0, 40.1, 41.0, 41.1]), np.array([-100.0] * 4))
    one_industry = _focus.specialise(labels, xyz, np.ones(4), np.zeros(4, int), np.array([2.0, 2.0]), 0.05,
                                     np.zeros(4, bool), 1.0)[0]
    assert np.array_equal(one_industry, labels)
    one_territory = _focus.specialise(np.zeros(4, int), xyz, np.ones(4), np.array([0, 1, 0, 1]),
                                      np.array([4.0]), 0.05, np.zeros(4, bool), 1.0)[0]
    assert np.array_equal(one_territory, np.zeros(4))


# --- through balance() ---------------------------------------------------------------------------


def test_balance_with_focus_zero_ignores_industry_entirely(mixed):
    accounts, start = mixed
    again = balance(accounts, BalanceParams(n_territories=2, seed=0, industry_focus=0.0))
    no_industry = balance(accounts.drop(columns="industry"), BalanceParams(n_territories=2, seed=0))
    assert again.labels.equals(start.labels)
    assert no_industry.labels.equals(start.labels)
    assert not any("Industry focus" in m for m in start.messages)


def test_balance_focus_concentrates_within_tolerance_and_explains():
    accounts = mixed_accounts(n=1500, n_industries=4, seed=2, regions=3)
    params = BalanceParams(n_territories=6, seed=0, tolerance=0.05)
    plain = balance(accounts, params)
    focused = balance(accounts, BalanceParams(n_territories=6, seed=0, tolerance=0.05, industry_focus=1.0))
    assert mean_hhi(accounts, focused.labels) > mean_hhi(accounts, plain.labels) + 0.05
    assert focused.feasible
    target = focused.territories["target"].to_numpy()
    assert np.abs(focused.load.to_numpy() / target - 1).max() <= 0.05 + 1e-9
    message = next(m for m in focused.messages if m.startswith("Industry focus 1.00"))
    assert "overlap" in message and "contiguity is relaxed" in message
    again = balance(accounts, BalanceParams(n_territories=6, seed=0, tolerance=0.05, industry_focus=1.0))
    assert again.labels.equals(focused.labels)


@pytest.mark.skipif("also_balance" not in BalanceParams.__dataclass_fields__, reason="no also_balance")
def test_balance_focus_keeps_also_balance_measures_within_tolerance():
    accounts = mixed_accounts(n=1500, n_industries=4, seed=2, regions=3)
    accounts["revenue"] = accounts["workload_hours"] * np.exp(np.random.default_rng(1).normal(0, 0.5, len(accounts)))
    plain = balance(accounts, BalanceParams(n_territories=6, seed=0, also_balance=("revenue",)))
    focused = balance(accounts, BalanceParams(n_territories=6, seed=0, also_balance=("revenue",), industry_focus=1.0))
    assert focused.feasible
    assert mean_hhi(accounts, focused.labels) > mean_hhi(accounts, plain.labels) + 0.03
    revenue = accounts["revenue"].groupby(focused.labels.to_numpy()).sum()
    assert (revenue / revenue.mean() - 1).abs().max() <= 0.05 + 1e-9


def test_balance_focus_never_moves_locked_accounts():
    accounts = mixed_accounts(n=800, n_industries=3, seed=4)
    start = balance(accounts, BalanceParams(n_territories=3, seed=0))
    staged = accounts.assign(territory_id=start.labels.to_numpy(),
                             locked=np.random.default_rng(0).random(len(accounts)) < 0.4)
    result = balance(staged, BalanceParams(n_territories=3, seed=0, stability=0.2, industry_focus=1.0))
    locked = staged["locked"].to_numpy()
    assert (result.labels.to_numpy()[locked] == staged["territory_id"].to_numpy()[locked]).all()
    assert result.assignment["moved"].to_numpy()[~locked].sum() > 0


def test_balance_focus_with_stability_one_trades_nothing_and_says_so(mixed):
    accounts, start = mixed
    staged = accounts.assign(territory_id=start.labels.to_numpy())
    result = balance(staged, BalanceParams(n_territories=2, seed=0, stability=1.0, industry_focus=1.0))
    assert not result.assignment["moved"].any()
    assert any("was not applied" in m and "stability 1" in m for m in result.messages)


def test_balance_focus_without_an_industry_column_says_it_was_ignored(mixed):
    accounts, start = mixed
    result = balance(accounts.drop(columns="industry"), BalanceParams(n_territories=2, seed=0, industry_focus=0.5))
    assert result.labels.equals(start.labels)
    assert any("no industry column" in m for m in result.messages)


def test_bench_focus_runs_and_prints_the_table():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_focus

    out = io.StringIO()
    rows = bench_focus.run(600, 4, seed=0, repeat=1, levels=(0.0, 1.0), out=out)
    text = out.getvalue()
    assert "| industry focus | seconds |" in text and text.count("\n| 0.00 |") == 1
    assert rows[0]["moved"] == 0.0
    assert rows[1]["hhi"] > rows[0]["hhi"]
    assert rows[1]["deviation"] <= 100 * bench_focus.TOLERANCE + 1e-9
