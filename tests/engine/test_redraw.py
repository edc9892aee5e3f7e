"""Redraw only around the pieces (territory.engine.redraw)."""

from __future__ import annotations

import numpy as np

from territory.engine.redraw import redraw_around
from territory.engine.repair import stray_accounts
from territory.engine.solve import outside_band
from tests.factories import engine_problem, strip_accounts


def _piece_of_t1_inside_t3():
    """Four strips of 10 x 10 accounts of 1 h (T1-T4 today); three accounts in the middle of T3
    have gone to T1: a piece of T1 cut off from its strip."""
    accounts = strip_accounts((10, 10, 10, 10), rows=10)
    problem, graph = engine_problem(accounts, n_territories=4, tolerance=0.05, stability=0.9)
    column, row = np.arange(400) // 10, np.arange(400) % 10
    piece = (column == 25) & (row >= 4) & (row <= 6)
    labels = problem.current.copy()
    labels[piece] = 0
    return problem, graph, labels, piece


def test_the_region_is_recut_and_the_rest_of_the_map_kept():
    problem, graph, labels, piece = _piece_of_t1_inside_t3()
    stray, _ = stray_accounts(problem, graph, labels)
    assert stray.tolist() == piece.tolist()
    out, count = redraw_around(problem, graph, labels, stray, rings=1)
    assert count == 3
    # T1, its neighbour T2 and T3 (which the piece touches) are re-cut; T4 is not touched
    t4 = problem.current == 3
    assert (out[t4] == 3).all() and not (out[~t4] == 3).any()
    assert not stray_accounts(problem, graph, out)[0].any()
    assert outside_band(problem, out).sum() <= 1e-9
    # the cuts fall at the strips' borders (ragged by the grid's jitter), each part under today's ID
    assert (out != problem.current).sum() <= 4


def test_nothing_to_redraw_without_pieces():
    problem, graph, labels, _ = _piece_of_t1_inside_t3()
    assert redraw_around(problem, graph, problem.current.copy(), np.zeros(labels.size, dtype=bool), 1) is None


def test_pieces_the_solves_left_are_redrawn_around_and_said_so():
    from territory.engine import codes
    from territory.engine.single import _as_it_is, _no_worse_than_a_redraw, _redrawn_note

    problem, graph, labels, piece = _piece_of_t1_inside_t3()
    left = _as_it_is(problem, labels)  # as if every solve had ended here
    out = _no_worse_than_a_redraw(problem, left, (0.0, float(problem.weight[piece].sum())))
    assert out.redrawn == 3
    assert not stray_accounts(problem, graph, out.labels)[0].any()
    assert (out.labels[problem.current == 3] == 3).all()
    note = _redrawn_note(problem, out.redrawn)
    assert note.code == codes.REDRAWN and note.data == {"territories": 3, "whole_map": False}
    assert "the other 1 kept" in note.text and not note.warning

