"""The solve stage: centre moves with an exact balanced assignment at every step.

1. Cells: the free accounts are cut into equal-load cells (:func:`seed.cells`, about 40 per
   territory); accounts of one cell with the same current and the same previous territory form a
   group that moves as one in the LP.
2. Centre moves (Lloyd): at fixed centres, :func:`transport.transport` assigns the groups to
   their nearest few territories, their current and their previous one, within the band, at least
   travel (plus a stay-bonus for the current territory: stability); then every free centre moves
   to the weighted spherical median of its accounts. Each group's previous territory is always a
   candidate, so a start within the band keeps every step feasible: balance never has to be
   recovered later.
3. The exact assignment: the same LP on finer cells; the few split cells go to an account-level
   LP; its few split accounts to a small MIP (:func:`transport.round_split`). The loads are then
   within the hard band whenever these candidates allow it, and the LP proves it when they do not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from territory.engine import seed as seeding
from territory.engine import transport as tp
from territory.engine.centres import medians, travel
from territory.engine.config import DEFAULT, EngineConfig

MOVED_BY_BALANCE = 0
MOVED_BY_CONTIGUITY = 2
"""Why an account moved (``Solution.how``); balance.py and explain turn these into sentences."""


@dataclass(frozen=True)
class AccountLimit:
    """At most ``budget`` of ``amount`` (per account, counted when it leaves its current territory)."""

    amount: np.ndarray
    budget: float


@dataclass(frozen=True)
class Problem:
    """Everything the solve needs, as arrays: ``n`` accounts with coordinates, ``k`` territories."""

    xyz: np.ndarray  # (n, 3) unit vectors
    weight: np.ndarray  # (n,) balance measure, >= 0
    target: np.ndarray  # (k,) target load
    fixed_load: np.ndarray  # (k,) load of accounts outside this solve (no coordinates)
    locked: np.ndarray  # (n,) territory index the account is locked to, -1 when free
    current: np.ndarray  # (n,) today's territory index, -1 when none
    start: np.ndarray  # (n,) starting alignment (locked accounts at their territory)
    fallback: np.ndarray | None  # (n,) a start balanced by construction, when ``start`` is today's alignment
    anchored: np.ndarray  # (k,) bool: centre fixed at ``anchor_centres``
    anchor_centres: np.ndarray  # (k, 3)
    tolerance: float = 0.05  # hard band: target x (1 +/- tolerance)
    aim: float = 0.01  # soft band inside it
    distance_weight: float = 1.0  # compactness: travel against the stay-bonus
    stay_bonus: float = 0.0  # per unit of load leaving its current territory, in mean distances
    strict: bool = False  # stability 1: the least moved load first, then travel
    centre_moves: int = 12
    limits: tuple[AccountLimit, ...] = ()
    adjacency: Any = None  # Delaunay graph of the accounts (or a Future of it)
    repair_contiguity: bool = True
    seed: int = 0
    config: EngineConfig = DEFAULT

    @property
    def k(self) -> int:
        return self.target.size

    @property
    def free(self) -> np.ndarray:
        return self.locked < 0

    def band(self, fixed: np.ndarray) -> tp.Band:
        """Hard and aim bands on the load of the free accounts, given ``fixed`` load per territory."""
        t = self.target
        return tp.Band(t * (1 - self.tolerance) - fixed, t * (1 + self.tolerance) - fixed,
                       t * (1 - self.aim) - fixed, t * (1 + self.aim) - fixed)

    def locked_load(self) -> np.ndarray:
        held = self.locked >= 0
        return np.bincount(self.locked[held], weights=self.weight[held], minlength=self.k)


@dataclass
class Solution:
    labels: np.ndarray  # (n,) territory index
    centres: np.ndarray  # (k, 3)
    how: np.ndarray  # (n,) MOVED_BY_* of the last change
    excess: np.ndarray  # (k,) load outside the hard band that no candidate could fix
    scale: float = 1.0  # mean distance to the nearest centre (the unit of the stay-bonus)
    n_iter: int = 0
    cells: np.ndarray | None = None  # (free accounts,) the cells of the final assignment


# --- groups, candidates, costs ----------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    of: np.ndarray  # (n_free,) group per free account
    mass: np.ndarray  # (G,)
    centroid: np.ndarray  # (G, 3)
    current: np.ndarray  # (G,)
    label: np.ndarray  # (G,)


def _groups(cell: np.ndarray, current: np.ndarray, labels: np.ndarray, xyz: np.ndarray, weight: np.ndarray,
            k: int) -> _Groups:
    key = (cell.astype(np.int64) * (k + 1) + (current + 1)) * (k + 1) + (labels + 1)
    of, uniques = pd.factorize(key)
    G = uniques.size
    w = weight + 1e-12
    mass = np.bincount(of, weights=weight, minlength=G)
    sums = np.column_stack([np.bincount(of, weights=w * xyz[:, d], minlength=G) for d in range(3)])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroid = sums / np.where(norms > 0, norms, 1.0)
    uniques = np.asarray(uniques, dtype=np.int64)
    return _Groups(of, mass, centroid, uniques // (k + 1) % (k + 1) - 1, uniques % (k + 1) - 1)


def _candidates(points: np.ndarray, centres: np.ndarray, current: np.ndarray, label: np.ndarray,
                m: int, all_up_to: int) -> np.ndarray:
    """(G, c) candidate territories: the m nearest centres, the current and the previous
    territory (-1 where a column repeats an earlier one)."""
    k = centres.shape[0]
    if k <= max(all_up_to, m):
        near = np.broadcast_to(np.arange(k), (points.shape[0], k))
    else:
        near = cKDTree(centres).query(points, k=m)[1].reshape(points.shape[0], m)
    cand = np.column_stack([near, current, label]).astype(np.int64)
    width = cand.shape[1]
    for c in range(near.shape[1], width):
        repeat = (cand[:, :c] == cand[:, c:c + 1]).any(axis=1)
        cand[repeat, c] = -1
    return cand


def _distance(points: np.ndarray, centres: np.ndarray, cand: np.ndarray) -> np.ndarray:
    safe = np.where(cand >= 0, cand, 0)
    return np.sqrt(((points[:, None, :] - centres[safe]) ** 2).sum(axis=2))


def _cost(problem: Problem, distance: np.ndarray, cand: np.ndarray, current: np.ndarray,
          scale: float) -> np.ndarray:
    """Per unit of load: travel in mean distances (times the compactness weight), plus the
    stay-bonus for leaving the current territory; at stability 1 a move costs more than any
    travel it could save, so the least moved load comes first."""
    cost = problem.distance_weight * distance / scale
    leaving = (cand != current[:, None]) & (current[:, None] >= 0)
    if problem.strict:
        spread = float(cost.max() - cost.min()) if cost.size else 0.0
        cost = cost + leaving * (100.0 * (spread + 1.0))
    elif problem.stay_bonus > 0:
        cost = cost + leaving * problem.stay_bonus
    return cost


def _limits(problem: Problem, free: np.ndarray, of: np.ndarray, G: int, mass: np.ndarray, cand: np.ndarray,
            current: np.ndarray, fixed_moved: np.ndarray | None = None) -> tuple[tp.MoveLimit, ...]:
    """Move limits per unit of group mass (the groups share a current territory)."""
    out = []
    leaving = (cand != current[:, None]) & (current[:, None] >= 0)
    for j, lim in enumerate(problem.limits):
        amount = np.bincount(of, weights=lim.amount[free], minlength=G)
        per_mass = np.where(mass > 0, amount / np.maximum(mass, 1e-300), 0.0)
        spent = 0.0 if fixed_moved is None else float(fixed_moved[j])
        out.append(tp.MoveLimit(leaving * per_mass[:, None], lim.budget - spent))
    return tuple(out)


# --- the stage --------------------------------------------------------------------------------


def _mean_nearest_distance(xyz: np.ndarray, weight: np.ndarray, centres: np.ndarray) -> float:
    d = cKDTree(centres).query(xyz)[0] if centres.shape[0] else np.zeros(xyz.shape[0])
    return float(np.average(d, weights=weight + 1e-12)) if xyz.shape[0] else 1.0


def _assign(problem: Problem, cell: np.ndarray, labels: np.ndarray, centres: np.ndarray, scale: float,
            exact: bool, candidates: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One balanced assignment at fixed centres: (labels (n,), excess (k,))."""
    cfg = problem.config
    free = problem.free
    k = problem.k
    xyz, w = problem.xyz[free], problem.weight[free]
    current = problem.current[free]
    groups = _groups(cell, current, labels[free], xyz, w, k)
    if candidates is None:
        candidates = cfg.candidates if exact else cfg.moving_candidates
    cand = _candidates(groups.centroid, centres, groups.current, groups.label, candidates, cfg.all_candidates_up_to)
    cost = _cost(problem, _distance(groups.centroid, centres, cand), cand, groups.current, scale)
    fixed = problem.fixed_load + problem.locked_load()
    band = problem.band(fixed)
    limits = _limits(problem, free, groups.of, groups.mass.size, groups.mass, cand, groups.current)
    flow = tp.transport(groups.mass, cand, cost, band, limits, time_limit=cfg.lp_seconds)
    choice = tp.main_choice(flow, cand)
    out = labels.copy()
    out_free = choice[groups.of]
    if exact:
        split = tp.split_groups(flow, groups.mass)
        if split.any():
            out_free = _split_accounts(problem, groups, split, cand, out_free, centres, scale, band)
    out[free] = out_free
    return out, flow.excess


def _split_accounts(problem: Problem, groups: _Groups, split: np.ndarray, group_cand: np.ndarray,
                    labels_free: np.ndarray, centres: np.ndarray, scale: float, band: tp.Band) -> np.ndarray:
    """Whole assignments for the accounts of the split groups (:func:`assign_accounts` with the
    group's candidates and exact distances)."""
    free_idx = np.flatnonzero(problem.free)
    members = np.flatnonzero(split[groups.of])
    labels = np.where(problem.locked >= 0, problem.locked, 0)
    labels[free_idx] = labels_free
    labels, _ = assign_accounts(problem, free_idx[members], group_cand[groups.of[members]], labels, centres, scale)
    return labels[free_idx]


def assign_accounts(problem: Problem, members: np.ndarray, cand: np.ndarray, labels: np.ndarray,
                    centres: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(labels, excess): the accounts ``members`` (free ones, indices into the problem) re-assigned
    among their candidates (``cand``, -1 for none) at least cost within the band, everyone else
    staying: an account-level LP, then the MIP over its few split accounts."""
    cfg = problem.config
    k = problem.k
    w = problem.weight[members]
    others = np.ones(labels.size, dtype=bool)
    others[members] = False
    fixed = problem.fixed_load + np.bincount(labels[others], weights=problem.weight[others], minlength=k)
    band = problem.band(fixed)
    current = problem.current[members]
    cost = _cost(problem, _distance(problem.xyz[members], centres, cand), cand, current, scale)
    spent = _spent(problem, np.flatnonzero(others & problem.free), labels[others & problem.free])
    ones = np.arange(members.size)
    limits = _limits(problem, members, ones, members.size, w, cand, current, spent)
    flow = tp.transport(w, cand, cost, band, limits, time_limit=cfg.lp_seconds)
    choice = flow.flow.argmax(axis=1)
    fractional = tp.split_groups(flow, w)
    if fractional.any():
        rounded = _round(problem, fractional, flow, cand, cost, w, choice, band, limits)
        if rounded is not None:
            choice = rounded
    out = labels.copy()
    out[members] = cand[ones, choice]
    return out, flow.excess


def _spent(problem: Problem, accounts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How much of each move limit the given accounts use with the given labels."""
    moved = (problem.current[accounts] >= 0) & (labels != problem.current[accounts])
    return np.array([float(lim.amount[accounts][moved].sum()) for lim in problem.limits])


def _round(problem, fractional, flow, cand, cost, w, choice, band, limits) -> np.ndarray | None:
    """The MIP over the split accounts; when whole accounts cannot fit, over all the accounts of the LP."""
    cfg = problem.config
    for subset in (np.flatnonzero(fractional), np.arange(w.size)):
        if subset.size > 20_000:
            return None
        keep = np.ones(w.size, dtype=bool)
        keep[subset] = False
        fixed = np.bincount(cand[np.flatnonzero(keep), choice[keep]], weights=w[keep], minlength=problem.k)
        allowed = flow.flow[subset] > tp.SPLIT * w[subset, None] if subset.size == fractional.sum() \
            else cand[subset] >= 0
        sub_limits = tuple(tp.MoveLimit(lim.moved[subset],
                                        lim.budget - float((lim.moved[np.flatnonzero(keep), choice[keep]]
                                                            * w[keep]).sum()))
                           for lim in limits)
        picked = tp.round_split(w[subset], cand[subset], cost[subset], allowed, band.shifted(fixed), sub_limits,
                                time_limit=cfg.rounding_seconds)
        if picked is not None:
            out = choice.copy()
            out[subset] = picked
            return out
    return None


def solve(problem: Problem) -> Solution:
    """Centre moves with exact balanced assignments, then the exact final assignment.

    When today's alignment is the start and the band cannot be reached from it with the nearby
    candidates, the final assignment is tried with twice the candidates, then from the balanced
    ``fallback`` start; the result with the least load outside the band is kept."""
    best = _solve_from(problem, problem.start)
    if _outside(best) > 0 and best.cells is not None:
        labels, excess = _assign(problem, best.cells, best.labels, best.centres, best.scale, exact=True,
                                 candidates=4 * problem.config.candidates)
        if excess.sum() < _outside(best):
            best = replace(best, labels=labels, excess=excess)
    if _outside(best) > 0 and problem.fallback is not None:
        best = min(best, _solve_from(problem, problem.fallback), key=_outside)
    return best


def _outside(solution: Solution) -> float:
    return float(solution.excess.sum())


def _solve_from(problem: Problem, start: np.ndarray) -> Solution:
    cfg = problem.config
    k = problem.k
    n = problem.xyz.shape[0]
    labels = start.copy()
    how = np.full(n, MOVED_BY_BALANCE, dtype=np.int8)
    centres = medians(problem.xyz, problem.weight, labels, k, problem.anchor_centres, cfg.median_steps)
    centres[problem.anchored] = problem.anchor_centres[problem.anchored]
    free = problem.free
    if n == 0 or not free.any() or k == 1:
        return Solution(labels, centres, how, np.zeros(k))
    scale = _mean_nearest_distance(problem.xyz, problem.weight, centres) or 1e-9
    xyz_f, w_f = problem.xyz[free], problem.weight[free]
    moves = 0
    fine = seeding.cells(xyz_f, w_f, min(cfg.cells_per_territory * k, cfg.max_cells))
    if problem.centre_moves > 0:
        coarse = fine // cfg.merge_cells  # neighbouring leaves of the bisection: nearby cells
        last = travel(problem.xyz, problem.weight, labels, centres)
        for moves in range(1, problem.centre_moves + 1):  # noqa: B007 (reported as n_iter)
            labels, _ = _assign(problem, coarse, labels, centres, scale, exact=False)
            new_centres = medians(problem.xyz, problem.weight, labels, k, centres, cfg.median_steps)
            new_centres[problem.anchored] = problem.anchor_centres[problem.anchored]
            centres = new_centres
            now = travel(problem.xyz, problem.weight, labels, centres)
            if now > (1 - cfg.settled) * last:
                break
            last = now
    labels, excess = _assign(problem, fine, labels, centres, scale, exact=True)
    return Solution(labels, centres, how, excess, scale, moves, cells=fine)

