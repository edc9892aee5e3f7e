"""The exact repair of stray pieces (territory.engine.repair)."""

from __future__ import annotations

import numpy as np

from territory.engine.centres import medians
from territory.engine.repair import repair, stray_accounts
from territory.engine.solve import Solution, mean_nearest_distance, outside_band
from tests.factories import engine_problem as _problem
from tests.factories import strip_accounts


def _block_inside_the_other_territory(accounts):
    """Two territories side by side; a 3 x 3 block deep inside T2 given to T1, and as much of T1's
    border given to T2, so both stay within the band and T1 has a stray piece."""
    labels = (accounts["territory_id"] == "T2").to_numpy().astype(np.int64)
    column = np.rint((accounts["longitude"].to_numpy() + 100) / 0.05).astype(int)
    row = np.rint(accounts["latitude"].to_numpy() / 0.05).astype(int)
    block = (column >= 15) & (column <= 17) & (row >= 3) & (row <= 5)
    labels[block] = 0
    labels[(column == 9) & (row <= 8)] = 1
    return labels, block


def test_a_solution_drawn_without_cells_is_repaired_too():
    """The local re-balance returns no cells of its own: the repair re-solves its pieces on the
    global solve's cells instead of leaving them (it returned the labels unchanged before)."""
    accounts = strip_accounts((10, 10), rows=10)
    problem, graph = _problem(accounts, n_territories=2, stability=0.0, tolerance=0.05)
    labels, block = _block_inside_the_other_territory(accounts)
    stray, _ = stray_accounts(problem, graph, labels)
    assert stray[block].all() and outside_band(problem, labels).sum() == 0
    centres = medians(problem.xyz, problem.weight, labels, problem.k, problem.anchor_centres)
    scale = mean_nearest_distance(problem.xyz, problem.weight, centres)
    solution = Solution(labels.copy(), centres, np.zeros(labels.size, dtype=np.int8), np.zeros(problem.k), scale)
    assert solution.cells is None
    out, left = repair(problem, solution)
    assert left < stray.sum()
    assert not stray_accounts(problem, graph, out)[0][block].any()
    assert outside_band(problem, out).sum() == 0


def test_island_groups_are_worked_out_once_per_graph(monkeypatch):
    """They depend on the places alone: the repair's many stray checks reuse them, and get the same
    stray accounts as when they are worked out afresh."""
    import territory.geo as geo

    accounts = strip_accounts((10, 10), rows=10)
    problem, graph = _problem(accounts, n_territories=2, stability=0.0, tolerance=0.05)
    labels, block = _block_inside_the_other_territory(accounts)
    calls = []
    original = geo.island_groups

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(geo, "island_groups", counted)
    first, _ = stray_accounts(problem, graph, labels)
    again, _ = stray_accounts(problem, graph, labels)
    assert len(calls) == 1
    assert (first == again).all() and first[block].all()


def test_an_owner_alignment_kept_at_stability_1_keeps_every_piece_holding_an_account_that_stays():
    """A column of T1 handed to T2 cuts T1 in two: on a map-drawn alignment the smaller part is
    stray (the moves cut it off), but an owner's territory is scattered today and its heaviest
    piece changes as accounts come and go, so there every piece holding an account that stays is
    today's structure."""
    from dataclasses import replace

    from territory.engine.polish import today_pieces

    accounts = strip_accounts((10, 10), rows=10)
    problem, graph = _problem(accounts, n_territories=2, stability=1.0, tolerance=0.05)
    assert problem.strict and problem.today_on_map
    labels = problem.current.copy()
    column = np.rint((accounts["longitude"].to_numpy() + 100) / 0.05).astype(int)
    labels[column == 6] = 1  # T1 = columns 0-5 and 7-9 now
    cut_off = (column >= 7) & (column <= 9)
    assert stray_accounts(problem, graph, labels, today_pieces(problem, graph))[0][cut_off].all()
    owners = replace(problem, today_on_map=False)
    assert not stray_accounts(owners, graph, labels, today_pieces(owners, graph))[0].any()


def test_a_piece_of_today_that_stops_being_the_heaviest_stays_whole_and_is_not_stray():
    """T1 is in two pieces today (columns 0-3 and 12-13); the moves give its smaller piece the
    columns around it, so that piece outweighs the old one. The old piece is still what it was
    today, whole: not a pocket the moves cut off, so nothing asks to move it (the polish moved
    such pieces, and then load back, in the corpus's K+/-3 starts at stability 1)."""
    from territory.engine.polish import today_pieces

    accounts = strip_accounts((4, 4, 4, 4), rows=10)
    column = np.rint((accounts["longitude"].to_numpy() + 100) / 0.05).astype(int)
    accounts.loc[(column >= 12) & (column <= 13), "territory_id"] = "T1"
    problem, graph = _problem(accounts, n_territories=4, stability=1.0, tolerance=0.05)
    assert problem.today_on_map
    labels = problem.current.copy()
    labels[(column >= 10) & (column <= 11) | (column == 14)] = problem.current[column == 0][0]
    pieces = today_pieces(problem, graph)
    stray, rank = stray_accounts(problem, graph, labels, pieces)
    old_main = column <= 3
    assert (rank[old_main] > 0).all()  # no longer the heaviest piece...
    assert not stray[old_main].any()  # ...but today's own piece, whole
    cut = labels.copy()
    cut[column == 1] = problem.current[column == 5][0]  # now a pocket is cut off from it
    stray, _ = stray_accounts(problem, graph, cut, pieces)
    assert stray[column == 0].all()
