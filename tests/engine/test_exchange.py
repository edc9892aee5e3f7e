"""The exact exchange around territories outside the band (territory.engine.exchange), and the
engine's floor: never an answer worse than the recursive bisection it starts from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory.engine import single
from territory.engine.exchange import exchange, outside_territories
from territory.engine.params import BalanceParams
from territory.engine.solve import MOVED_BY_BALANCE, Solution
from tests.factories import engine_problem, strip_accounts


def _two_territories_that_must_swap() -> pd.DataFrame:
    """Five accounts in one town: T1 holds 6 h and 5 h (+10% of the 10 h target), T2 holds 4, 3 and
    2 h (-10%). No single hand-over brings both into +/-5%; swapping the 5 for the 4 does."""
    return pd.DataFrame({
        "account_id": ["A", "B", "C", "D", "E"],
        "latitude": [40.00, 40.01, 40.02, 40.005, 40.015],
        "longitude": [-75.00, -75.01, -75.00, -75.03, -75.02],
        "workload_hours": [6.0, 5.0, 4.0, 3.0, 2.0],
        "territory_id": ["T1", "T1", "T2", "T2", "T2"],
    })


def test_a_swap_no_single_hand_over_can_make():
    accounts = _two_territories_that_must_swap()
    problem, graph = engine_problem(accounts, n_territories=2, tolerance=0.05, stability=0.5)
    labels = problem.current.copy()
    assert outside_territories(problem, labels).sum() == 2
    how = np.full(labels.size, 9, dtype=np.int8)
    out = exchange(problem, graph, labels, how)
    assert out is not None
    assert not outside_territories(problem, out).any()
    moved = accounts["account_id"].to_numpy()[out != labels]
    assert sorted(moved) == ["B", "C"]  # the least load that fits: 5 h one way, 4 h the other
    assert (how[out != labels] == MOVED_BY_BALANCE).all() and (how[out == labels] == 9).all()


def test_moves_the_least_load_the_band_needs():
    """T1 is 9 h over a 100 h target with unit accounts beside T2: the band needs 4 h to move,
    and the exchange moves exactly 4 one-hour accounts, all across the T1 / T2 border."""
    accounts = strip_accounts((10, 10, 10), rows=10)
    t1 = accounts.index[accounts["territory_id"] == "T1"]
    accounts.loc[t1[:9], "workload_hours"] = 2.0  # T1 109 h, T2 and T3 100 h, target 103 h
    problem, graph = engine_problem(accounts, n_territories=3, tolerance=0.05, stability=0.5)
    labels = problem.current.copy()
    target = float(problem.target[0])
    assert outside_territories(problem, labels).tolist() == [True, False, False]
    out = exchange(problem, graph, labels, np.zeros(labels.size, dtype=np.int8))
    assert out is not None and not outside_territories(problem, out).any()
    moved = out != labels
    need = 109.0 - target * 1.05
    assert problem.weight[moved].sum() == np.ceil(need)  # whole one-hour accounts: 4 h
    assert (labels[moved] == 0).all() and (out[moved] == 1).all()


def test_nothing_to_do_inside_the_band_or_when_only_local_moves_were_asked():
    accounts = _two_territories_that_must_swap()
    problem, graph = engine_problem(accounts, n_territories=2, tolerance=0.5, stability=0.5)
    assert exchange(problem, graph, problem.current.copy(), np.zeros(5, dtype=np.int8)) is None
    problem, graph = engine_problem(accounts, n_territories=2, tolerance=0.05, stability=1.0,
                                    only_fix_outside=True)
    assert exchange(problem, graph, problem.current.copy(), np.zeros(5, dtype=np.int8)) is None


def test_the_answer_is_never_worse_than_the_bisection(monkeypatch):
    """Whatever the solves end with, the engine keeps the recursive bisection (repaired) when it
    leaves less load outside the band: here every solve hands all accounts to one territory."""
    accounts = strip_accounts((10, 10, 10), rows=10).drop(columns="territory_id")

    def everything_in_one(problem, start=None):  # noqa: ARG001 (the signature of solve)
        labels = np.zeros(problem.weight.size, dtype=np.int64)
        return Solution(labels, np.zeros((problem.k, 3)), np.zeros(labels.size, dtype=np.int8), np.zeros(problem.k))

    monkeypatch.setattr(single, "solve", everything_in_one)
    result = single.balance_single(accounts, BalanceParams(n_territories=3, tolerance=0.05))
    loads = result.load
    assert len(loads) == 3 and (abs(loads / loads.mean() - 1) <= 0.05 + 1e-9).all()
    assert result.feasible
