"""The exact balancing step: the band-constrained transportation LP and the rounding MIP."""

from __future__ import annotations

import numpy as np
import pytest

from territory.engine import transport as tp


def band(target: np.ndarray, tol: float, aim: float | None = None) -> tp.Band:
    aim = tol if aim is None else aim
    return tp.Band(target * (1 - tol), target * (1 + tol), target * (1 - aim), target * (1 + aim))


def test_a_block_of_identical_costs_is_split_to_meet_the_band():
    """Twelve co-located accounts (one tower) cost the same from both territories: prices alone
    flip the whole block; the LP sends exactly the share each territory needs."""
    mass = np.r_[np.full(12, 1.0), 2.0, 2.0]
    cand = np.array([[0, 1]] * 12 + [[0, -1], [1, -1]])
    cost = np.array([[1.0, 1.0]] * 12 + [[0.0, 0.0], [0.0, 0.0]])
    flow = tp.transport(mass, cand, cost, band(np.array([8.0, 8.0]), 0.0))
    load = np.array([flow.flow[cand == j].sum() for j in (0, 1)])
    assert flow.feasible
    np.testing.assert_allclose(load, [8.0, 8.0])
    assert tp.split_groups(flow, mass).sum() <= 1  # a basic solution splits at most one account here


def test_the_cheapest_assignment_within_the_band_is_found():
    # two accounts near A, one in between, one near B; A may take at most 2.2
    mass = np.ones(4)
    cand = np.array([[0, 1]] * 4)
    cost = np.array([[0.0, 3.0], [0.1, 2.9], [1.0, 1.2], [3.0, 0.0]])
    flow = tp.transport(mass, cand, cost, band(np.array([2.0, 2.0]), 0.1))
    choice = tp.main_choice(flow, cand)
    assert choice.tolist() == [0, 0, 1, 1]  # the middle one goes mostly to B: A is full at 2.2
    assert flow.cost == pytest.approx(0.1 + 0.2 * 1.0 + 0.8 * 1.2)  # 0.2 of it fills A to the brim


def test_an_impossible_band_is_reported_with_the_load_outside_it():
    # everything can only go to territory 0, which may hold at most 3
    flow = tp.transport(np.ones(5), np.zeros((5, 1), dtype=np.int64), np.zeros((5, 1)),
                        band(np.array([3.0, 2.0]), 0.0))
    assert not flow.feasible
    assert flow.excess.sum() == pytest.approx(4.0)  # 2 over in territory 0, 2 short in territory 1


def test_the_aim_band_is_met_when_it_can_be_and_the_hard_band_otherwise():
    mass = np.array([3.0, 3.0, 4.0])
    cand = np.array([[0, 1]] * 3)
    cost = np.zeros((3, 2))
    cost[2, 1] = 1.0  # the heavy account prefers territory 0
    target = np.array([5.0, 5.0])
    soft = tp.transport(mass, cand, cost, band(target, 0.25, 0.0))
    load = np.array([soft.flow[cand == j].sum() for j in (0, 1)])
    np.testing.assert_allclose(load, [5.0, 5.0])  # the LP may split: the aim (exact) is met


def test_a_move_limit_is_hard_and_the_band_gives_way():
    # all four accounts are today in territory 0 (moving one costs 1 of the limit); the band wants 2 each
    mass = np.ones(4)
    cand = np.array([[0, 1]] * 4)
    moved = np.array([[0.0, 1.0]] * 4)
    flow = tp.transport(mass, cand, np.zeros((4, 2)), band(np.array([2.0, 2.0]), 0.0),
                        (tp.MoveLimit(moved, 1.0),))
    assert flow.flow[:, 1].sum() == pytest.approx(1.0)
    assert flow.excess.sum() == pytest.approx(2.0)


def test_a_limit_that_cannot_be_met_at_all_raises():
    # the only candidate is a move, and the budget allows none
    with pytest.raises(tp.LimitsInfeasible):
        tp.transport(np.ones(2), np.array([[1], [1]]), np.zeros((2, 1)), band(np.array([1.0, 1.0]), 1.0),
                     (tp.MoveLimit(np.ones((2, 1)), 0.0),))


def test_rounding_gives_whole_accounts_within_the_hard_band():
    weight = np.array([1.0, 1.0, 1.0, 1.0])
    cand = np.array([[0, 1]] * 4)
    allowed = np.ones((4, 2), dtype=bool)
    cost = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    choice = tp.round_split(weight, cand, cost, allowed, band(np.array([2.0, 2.0]), 0.0))
    assert choice is not None
    labels = cand[np.arange(4), choice]
    assert np.bincount(labels, minlength=2).tolist() == [2, 2]
    assert labels[:2].tolist() == [0, 0] and labels[2] == 1


def test_rounding_returns_none_when_whole_accounts_cannot_fit():
    # two accounts of 3 cannot make two loads of 3 +/- 0.1 if both must go to one territory
    choice = tp.round_split(np.array([3.0, 3.0]), np.array([[0, -1], [0, -1]]), np.zeros((2, 2)),
                            np.array([[True, False]] * 2), band(np.array([3.0, 3.0]), 0.1 / 3))
    assert choice is None


def _random_program(seed: int):
    rng = np.random.default_rng(seed)
    groups, k = int(rng.integers(20, 300)), int(rng.integers(2, 12))
    mass = rng.lognormal(0.0, float(rng.uniform(0.2, 1.5)), groups)
    m = min(k, int(rng.integers(1, 4)))
    cand = np.array([rng.choice(k, m, replace=False) for _ in range(groups)])
    if m > 1 and rng.random() < 0.3:  # some groups with fewer candidates (-1 pads)
        cand[rng.random(groups) < 0.3, m - 1] = -1
    cost = rng.uniform(0.0, 5.0, cand.shape)
    target = np.full(k, mass.sum() / k)
    tol = float(rng.choice([0.0, 0.02, 0.05, 0.1, 0.3]))
    return mass, cand, cost, band(target, tol, tol * float(rng.uniform(0.0, 1.0)))


@pytest.mark.parametrize("seed", range(60))
def test_the_min_cost_flow_reaches_the_lps_optimum_and_its_verdict(seed):
    """Without move limits the program is solved as a min-cost flow; a limit that binds nothing
    sends the same program to HiGHS' LP: both must agree on feasibility, cost and load outside."""
    mass, cand, cost, bands = _random_program(seed)
    flow = tp.transport(mass, cand, cost, bands)
    limit = tp.MoveLimit(np.zeros(cand.shape), np.inf)
    exact = tp.transport(mass, cand, cost, bands, (limit,))
    assert flow.feasible == exact.feasible
    np.testing.assert_allclose(flow.flow.sum(axis=1), mass, rtol=1e-12)
    if exact.feasible:
        assert flow.cost == pytest.approx(exact.cost, rel=1e-5, abs=1e-6 * mass.sum())
        load = np.bincount(cand[cand >= 0], weights=flow.flow[cand >= 0], minlength=bands.lower.size)
        assert (load >= bands.lower - 1e-9 * mass.sum()).all() and (load <= bands.upper + 1e-9 * mass.sum()).all()
    else:
        assert flow.excess.sum() == pytest.approx(exact.excess.sum(), rel=1e-6)


def test_a_group_too_light_for_one_unit_of_the_flow_goes_to_its_cheapest_candidate():
    mass = np.r_[np.full(4, 1.0), 1e-12]
    cand = np.array([[0, 1]] * 5)
    cost = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [2.0, 0.5]])
    flow = tp.transport(mass, cand, cost, band(np.array([2.0, 2.0]), 0.05))
    assert flow.flow[4].tolist() == [0.0, 1e-12]
