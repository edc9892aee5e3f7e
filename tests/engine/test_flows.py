"""The border-flow program: how much load crosses each border between neighbouring territories."""

from __future__ import annotations

import numpy as np
import pytest

from territory.engine import flows


def _random_borders(seed: int):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 40))
    ghosts = int(rng.integers(0, 3)) if rng.random() < 0.3 else 0
    n_nodes = k + ghosts
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, n_nodes, (4 * n_nodes, 2)) if a != b}
    pairs |= {(b, a) for a, b in pairs}
    src, dst = np.array(sorted(pairs)).T
    load = np.r_[rng.lognormal(0.0, float(rng.uniform(0.1, 1.0)), k), rng.uniform(0.0, 0.5, ghosts)]
    movable = load * rng.uniform(0.3, 1.0, n_nodes)
    movable[k:] = load[k:]  # a dissolved territory hands on all its accounts
    target = np.full(k, load.sum() / k)
    tol = float(rng.choice([0.02, 0.05, 0.1]))
    aim = tol * float(rng.uniform(0.0, 0.9))
    zeros = np.zeros(ghosts)
    band = [np.r_[target * (1 + s * f), zeros] for s, f in ((-1, tol), (-1, aim), (1, aim), (1, tol))]
    per_unit = 1.0 + rng.uniform(0.0, 2.0, src.size)
    return src, dst, per_unit, load, movable, band, k, ghosts


def _outcome(src, dst, per_unit, load, band, real, flow):
    """(load beyond the hard band, load beyond the aim band within it, cost of the moves)."""
    final = load + np.bincount(dst, weights=flow, minlength=load.size) - np.bincount(src, weights=flow,
                                                                                     minlength=load.size)
    lower, aim_lower, aim_upper, upper = band
    hard = np.maximum(lower - final, 0) + np.maximum(final - upper, 0)
    soft = np.maximum(aim_lower - np.maximum(final, lower), 0) + np.maximum(np.minimum(final, upper) - aim_upper, 0)
    return float(hard[real].sum() + 10 * np.abs(final[~real]).sum()), float(soft[real].sum()), float(per_unit @ flow)


@pytest.mark.parametrize("seed", range(40))
def test_the_min_cost_flow_reaches_the_lps_optimum(seed):
    src, dst, per_unit, load, movable, band, k, ghosts = _random_borders(seed)
    real = np.r_[np.ones(k, dtype=bool), np.zeros(ghosts, dtype=bool)]
    relative = [b - load for b in band]
    exact = flows._as_lp(src, dst, per_unit, movable, *relative, real)
    fast = flows._as_min_cost_flow(src, dst, per_unit, load, movable, *band, real)
    assert (exact is None) == (fast is None)
    if exact is None:
        return
    out = np.bincount(src, weights=fast, minlength=load.size)
    assert (out <= movable + 1e-6 * load.sum()).all()
    want, got = _outcome(src, dst, per_unit, load, band, real, exact), _outcome(src, dst, per_unit, load, band,
                                                                                 real, fast)
    scale = load.sum()
    assert got[0] == pytest.approx(want[0], abs=1e-6 * scale)
    assert got[1] == pytest.approx(want[1], abs=1e-6 * scale)
    assert got[2] == pytest.approx(want[2], rel=2e-3, abs=1e-6 * scale)


def test_astronomical_move_prices_still_give_the_lps_answer():
    """All accounts at one point make the mean distance zero and a hop's price astronomical: the
    flow's integer costs must still fit (an OverflowError here once crashed the polish)."""
    src, dst, per_unit, load, movable, band, k, ghosts = _random_borders(5)
    per_unit = per_unit * 1e15
    real = np.r_[np.ones(k, dtype=bool), np.zeros(ghosts, dtype=bool)]
    fast = flows._as_min_cost_flow(src, dst, per_unit, load, movable, *band, real)
    exact = flows._as_lp(src, dst, per_unit, movable, *[b - load for b in band], real)
    assert fast is not None and exact is not None
    got, want = (_outcome(src, dst, per_unit, load, band, real, f) for f in (fast, exact))
    assert got[0] == pytest.approx(want[0], abs=1e-6 * load.sum())
    assert got[1] == pytest.approx(want[1], abs=1e-6 * load.sum())


@pytest.mark.parametrize("stability", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("points", [1, 2])
def test_accounts_piled_on_one_or_two_points_with_a_new_territory(points, stability):
    """Issue #18, item 11: identical points plus a new territory left it empty at stability >= 0.5."""
    import pandas as pd

    from territory.balance import BalanceParams, balance

    rng = np.random.default_rng(points)
    n, k = 200, 5
    spots = rng.uniform([30, -100], [40, -80], (points, 2))[rng.integers(0, points, n)]
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "latitude": spots[:, 0],
                             "longitude": spots[:, 1], "workload_hours": rng.lognormal(0, 0.3, n),
                             "territory_id": [f"T{i % k + 1}" for i in range(n)]})
    result = balance(accounts, BalanceParams(n_territories=k + 1, stability=stability))
    assert result.feasible
    assert (result.load > 0).all()
    assert (result.load / result.load.mean() - 1).abs().max() <= 0.05 + 1e-9


def test_a_dissolved_territory_passes_on_what_it_receives_from_one_behind_it():
    """Nodes 0-1 kept, 2-3 dissolved in a row (3 borders only 2): the flow and the LP both take 3's
    load through 2 when asked to, and neither finds a way without it (2 may hand on only its own)."""
    import numpy as np

    from territory.engine import flows

    src, dst = np.array([1, 2, 2, 3]), np.array([0, 1, 3, 2])
    per_unit = np.array([1.0, 1.0, 0.0, 0.0])
    load = np.array([80.0, 80.0, 80.0, 80.0])
    movable = load.copy()
    real = np.array([True, True, False, False])
    ghosts = np.zeros(2)
    band = [np.r_[np.full(2, 160.0 * (1 + share)), ghosts] for share in (-0.05, -0.05, 0.05, 0.05)]
    passes = ~real
    fast = flows._as_min_cost_flow(src, dst, per_unit, load, movable, *band, real, passes)
    exact = flows._as_lp(src, dst, per_unit, np.where(passes, np.inf, movable), *[b - load for b in band], real)
    for flow in (fast, exact):
        assert flow is not None
        assert flow[1] == pytest.approx(160.0) and flow[0] == pytest.approx(72.0)  # into 1, then on to 0
        assert flow[3] - flow[2] == pytest.approx(80.0)  # node 3's load crosses node 2
    assert flows._as_min_cost_flow(src, dst, per_unit, load, movable, *band, real) is None
    assert flows._as_lp(src, dst, per_unit, movable, *[b - load for b in band], real) is None
