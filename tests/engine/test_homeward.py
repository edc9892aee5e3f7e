"""Accounts a redrawn alignment moved go back to today's territory where the band allows, by moves
that cannot cut a territory (territory.engine.homeward)."""

from __future__ import annotations

import numpy as np

from territory.engine.homeward import homeward
from territory.engine.repair import stray_accounts
from territory.engine.solve import MOVED_BY_BALANCE, outside_band
from tests.factories import engine_problem, strip_accounts

COLUMN = np.arange(300) // 10
ROW = np.arange(300) % 10


def _redrawn(tolerance: float):
    """Three strips of 10 x 10 accounts of 1 h (T1, T2, T3 today). The redrawn alignment gives
    T1 the lower half of T2's first column and T2 the upper half of T1's last column."""
    accounts = strip_accounts((10, 10, 10), rows=10)
    problem, graph = engine_problem(accounts, n_territories=3, tolerance=tolerance, stability=0.9)
    labels = problem.current.copy()
    to_t1 = (COLUMN == 10) & (ROW < 5)
    to_t2 = (COLUMN == 9) & (ROW >= 5)
    labels[to_t1], labels[to_t2] = 0, 1
    return problem, graph, labels, to_t1 | to_t2


def _check(problem, graph, out):
    assert not stray_accounts(problem, graph, out)[0].any()
    assert outside_band(problem, out).sum() <= 1e-9


def test_single_returns_within_the_band():
    problem, graph, labels, moved = _redrawn(tolerance=0.05)
    how = np.where(moved, MOVED_BY_BALANCE, 0).astype(np.int8)
    out = homeward(problem, graph, labels, how)
    assert (out == problem.current).all()  # band 95-105 h leaves room for every return
    assert (how == 0).all()
    _check(problem, graph, out)


def test_swaps_when_no_single_return_fits_the_band():
    # band 99.6-100.4 h: one account of 1 h more or less is outside it, so returns go in pairs
    problem, graph, labels, moved = _redrawn(tolerance=0.004)
    out = homeward(problem, graph, labels, np.zeros(labels.size, dtype=np.int8))
    assert (out[moved] == problem.current[moved]).sum() >= 6
    load = np.bincount(out, weights=problem.weight, minlength=3)
    assert np.allclose(load, 100.0)
    _check(problem, graph, out)


def test_nothing_without_today_or_with_move_budgets():
    accounts = strip_accounts((10, 10, 10), rows=10)
    problem, graph, labels, _ = _redrawn(tolerance=0.05)
    budgeted, _ = engine_problem(accounts, n_territories=3, tolerance=0.05, stability=0.9, move_budget_accounts=3)
    assert (homeward(budgeted, graph, labels, np.zeros(labels.size, dtype=np.int8)) == labels).all()
    fresh, graph = engine_problem(accounts.drop(columns="territory_id"), n_territories=3, tolerance=0.05)
    assert (homeward(fresh, graph, labels, np.zeros(labels.size, dtype=np.int8)) == labels).all()
