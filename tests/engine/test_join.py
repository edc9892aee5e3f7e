"""Stray pieces joined by an exact trade that cannot cut (territory.engine.join)."""

from __future__ import annotations

import numpy as np

from territory.engine.join import join_pieces
from territory.engine.repair import settle_strays, stray_accounts
from territory.engine.solve import MOVED_BY_BALANCE, MOVED_BY_CONTIGUITY
from tests.factories import engine_problem, strip_accounts


def _piece_inside_a_full_territory():
    """Three strips (T1 95 h, T2 106 h, T3 99 h: target 100 h, band 95-105 h). Three of T2's
    accounts in the middle of its strip have been handed to T1: a piece of T1 that touches only T2,
    and T2 (102.8 h without them) cannot take them back (105.98 h) unless it passes load on."""
    accounts = strip_accounts((10, 10, 10), rows=10)
    weight = {"T1": 0.95, "T2": 1.06, "T3": 0.99}
    accounts["workload_hours"] = accounts["territory_id"].map(weight)
    problem, graph = engine_problem(accounts, n_territories=3, tolerance=0.05, stability=0.5)
    labels = problem.current.copy()
    column = (np.arange(len(accounts)) // 10)
    row = np.arange(len(accounts)) % 10
    piece = (column == 15) & (row >= 4) & (row <= 6)
    labels[piece] = 0
    return problem, graph, labels, piece


def test_a_piece_the_hand_backs_cannot_place_joins_by_a_trade():
    problem, graph, labels, piece = _piece_inside_a_full_territory()
    stray, _ = stray_accounts(problem, graph, labels)
    assert stray.tolist() == piece.tolist()
    # the hand-back cannot: T2 would end above its band
    assert (settle_strays(problem, labels, np.zeros(labels.size, dtype=np.int8)) == labels).all()
    how = np.zeros(labels.size, dtype=np.int8)
    out = join_pieces(problem, graph, labels, how)
    assert out is not None
    assert not stray_accounts(problem, graph, out)[0].any()
    assert (out[piece] == 1).all() and (how[piece] == MOVED_BY_CONTIGUITY).all()
    load = np.bincount(out, weights=problem.weight, minlength=3)
    assert ((load >= problem.target * 0.95 - 1e-9) & (load <= problem.target * 1.05 + 1e-9)).all()
    # the room was made by the least trade: one or two of T2's border accounts, nothing else
    traded = (out != labels) & ~piece
    assert 1 <= traded.sum() <= 2 and (labels[traded] == 1).all() and (how[traded] == MOVED_BY_BALANCE).all()


def test_nothing_to_join_or_only_local_moves_asked():
    problem, graph, labels, _ = _piece_inside_a_full_territory()
    assert join_pieces(problem, graph, problem.current.copy(), np.zeros(labels.size, dtype=np.int8)) is None
    accounts = strip_accounts((10, 10, 10), rows=10)
    problem, graph = engine_problem(accounts, n_territories=3, tolerance=0.05, stability=1.0, only_fix_outside=True)
    assert join_pieces(problem, graph, labels, np.zeros(labels.size, dtype=np.int8)) is None
