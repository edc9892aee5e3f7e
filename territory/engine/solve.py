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
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from territory.engine import seed as seeding
from territory.engine import transport as tp
from territory.engine.centres import medians, travel
from territory.engine.config import DEFAULT, EngineConfig

NEAR, DEEPER, ANYWHERE = 0, 1, 2
"""How far a move may reach (``assign(reach=...)``): the geographic rule, the rule with deeper
border layers, or any of several nearest territories (only when the band needs it)."""


MOVED_BY_BALANCE = 0
MOVED_BY_CONTIGUITY = 2
"""Why an account moved (``Solution.how``); balance.py and explain turn these into sentences."""


class Regions:
    """Today's territories as point sets: the distance from any place to the nearest account of a
    territory (0 inside it). It prices a move by how deep inside its territory an account sits,
    so a stable re-balance hands over accounts along the border, in layers, and never cuts a
    piece out of the middle of a territory (distance to the centre alone did, on long or
    lopsided territories)."""

    def __init__(self, xyz: np.ndarray, labels: np.ndarray, k: int):
        """``labels`` (n,): the territory each account belongs to today, -1 for none."""
        member = labels >= 0
        order = np.flatnonzero(member)[np.argsort(labels[member], kind="stable")]
        bounds = np.searchsorted(labels[order], np.arange(k + 1))
        self._trees = [cKDTree(xyz[order[bounds[j]:bounds[j + 1]]]) if bounds[j + 1] > bounds[j] else None
                       for j in range(k)]
        self._all = cKDTree(xyz[order]) if order.size else None
        self._label_of = labels[order]

    def nearest(self, points: np.ndarray, count: int, accounts: int = 32) -> np.ndarray:
        """(G, count) the territories whose accounts are nearest each point (-1 pads), from its
        ``accounts`` nearest accounts: the territories a place borders, whatever their centres."""
        out = np.full((points.shape[0], count), -1, dtype=np.int64)
        if self._all is None or points.shape[0] == 0:
            return out
        near = min(accounts, self._label_of.size)
        _, idx = self._all.query(points, k=near)
        labels = self._label_of[np.asarray(idx).reshape(points.shape[0], near)]
        for c in range(count):  # the next territory not yet listed, in order of distance
            labels = _front(labels)
            out[:, c] = labels[:, 0]
            labels = np.where(labels == labels[:, :1], -1, labels)
        return out

    def distance(self, points: np.ndarray, cand: np.ndarray) -> np.ndarray:
        out = np.zeros(cand.shape)
        rows, cols = np.nonzero(cand >= 0)
        terr = cand[rows, cols]
        order = np.argsort(terr, kind="stable")
        rows, cols, terr = rows[order], cols[order], terr[order]
        cuts = np.flatnonzero(np.diff(terr)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, terr.size]):
            tree = self._trees[terr[lo]] if hi > lo else None
            if tree is not None:
                out[rows[lo:hi], cols[lo:hi]] = tree.query(points[rows[lo:hi]])[0]
        return out


def _front(rows: np.ndarray) -> np.ndarray:
    """Each row's non-negative entries first (stable), -1 after them."""
    order = np.argsort(rows < 0, axis=1, kind="stable")
    return np.take_along_axis(rows, order, axis=1)


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
    today: np.ndarray | None  # (n,) today's territory of each account (-1 for none), None without an alignment
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
    dissolved: np.ndarray | None = None  # (n,) the dissolved territory (0, 1, ...) an account came from, -1 others
    local: bool = False  # high stability on a map-drawn alignment: try the local re-balance first
    fix_outside_only: bool = False  # move accounts only out of territories outside the band, into neighbours
    keep_today_pieces: bool = False  # a piece made only of accounts staying in today's territory is not repaired
    today_on_map: bool = False  # today's alignment is drawn on a map (not owner-based)
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

    @cached_property
    def far_memo(self) -> dict:
        """Far limits by a digest of the labels they were computed for (:func:`territory.engine.polish.far_limits`)."""
        return {}

    @cached_property
    def regions(self) -> Regions | None:
        """Today's territories as point sets (for pricing moves), when moves cost something."""
        if self.today is None or not (self.strict or self.stay_bonus > 0):
            return None
        return Regions(self.xyz, self.today, self.k)

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
    reach: int = NEAR  # how far moves had to reach to meet the band
    redrawn: int = 0  # territories re-cut from scratch to keep every territory whole (k: the whole map)


# --- groups, candidates, costs ----------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    of: np.ndarray  # (n_free,) group per free account
    mass: np.ndarray  # (G,)
    centroid: np.ndarray  # (G, 3)
    current: np.ndarray  # (G,)
    label: np.ndarray  # (G,)
    banned: np.ndarray  # (G,) a territory the group must leave, -1 when none


def _groups(cell: np.ndarray, current: np.ndarray, labels: np.ndarray, xyz: np.ndarray, weight: np.ndarray,
            k: int, forbid: np.ndarray | None = None) -> _Groups:
    key = (cell.astype(np.int64) * (k + 1) + (current + 1)) * (k + 1) + (labels + 1)
    if forbid is not None:  # accounts that must leave a territory form groups of their own
        key = key * (k + 1) + (forbid + 1)
    of, uniques = pd.factorize(key)
    G = uniques.size
    w = weight + 1e-12
    mass = np.bincount(of, weights=weight, minlength=G)
    sums = np.column_stack([np.bincount(of, weights=w * xyz[:, d], minlength=G) for d in range(3)])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroid = sums / np.where(norms > 0, norms, 1.0)
    uniques = np.asarray(uniques, dtype=np.int64)
    base = uniques // (k + 1) if forbid is not None else uniques
    banned = uniques % (k + 1) - 1 if forbid is not None else np.full(G, -1)
    return _Groups(of, mass, centroid, base // (k + 1) % (k + 1) - 1, base % (k + 1) - 1, banned)


def _candidates(points: np.ndarray, centres: np.ndarray, current: np.ndarray, label: np.ndarray | None,
                m: int, all_up_to: int) -> np.ndarray:
    """(G, c) candidate territories: the m nearest centres, the current territory (pass -1s when
    staying is worth nothing) and the previous one (-1 where a column repeats an earlier one).

    The previous territory keeps the last feasible assignment within reach of the LP, so every
    step stays feasible: a territory that must reach across water to fill up (a small island's
    territory takes mainland accounts too) keeps them. A far previous territory costs its
    distance, so the LP only keeps it when the band needs it."""
    k = centres.shape[0]
    n = points.shape[0]
    if k <= max(all_up_to, m):
        near = np.broadcast_to(np.arange(k), (n, k))
        columns = [near, current]
    else:
        near = cKDTree(centres).query(points, k=m)[1].reshape(n, m)
        columns = [near, current]
        if label is not None:
            columns.append(label)
    return dedupe_candidates(np.column_stack(columns).astype(np.int64), start=near.shape[1])


def dedupe_candidates(cand: np.ndarray, start: int = 1) -> np.ndarray:
    """-1 where a column repeats a territory of an earlier column."""
    cand = cand.copy()
    for c in range(start, cand.shape[1]):
        repeat = (cand[:, :c] == cand[:, c:c + 1]).any(axis=1) & (cand[:, c] >= 0)
        cand[repeat, c] = -1
    return cand


def _distance(points: np.ndarray, centres: np.ndarray, cand: np.ndarray) -> np.ndarray:
    safe = np.where(cand >= 0, cand, 0)
    return np.sqrt(((points[:, None, :] - centres[safe]) ** 2).sum(axis=2))


def _cost(problem: Problem, points: np.ndarray, centres: np.ndarray, cand: np.ndarray, current: np.ndarray,
          scale: float, regions: Regions | None) -> np.ndarray:
    """Per unit of load, in mean distances: travel to the centre (times the compactness weight),
    and for leaving today's territory the stay-bonus times (1 + the distance to the new
    territory's nearest account). Moving an account from deep inside its territory thus costs
    more than handing over the border, so a stable re-balance peels layers along the borders and
    passes load on along chains of neighbours instead of cutting pieces out of the middle or
    jumping a territory. At stability 1 the bonus outweighs any travel it could save."""
    cost = problem.distance_weight * _distance(points, centres, cand) / scale
    if regions is None:
        return cost
    leaving = (cand != current[:, None]) & (current[:, None] >= 0)
    depth = regions.distance(points, cand) / scale
    bonus = problem.stay_bonus
    if problem.strict:
        spread = float(cost.max() - cost.min()) if cost.size else 0.0
        bonus = 100.0 * (spread + 1.0)
    # accounts without a territory today (theirs was dissolved) join the territories they border:
    # sending one deep into another territory costs what passing load on along a chain would
    orphan = (current < 0)[:, None]
    return cost + bonus * (leaving * (1.0 + depth) + orphan * depth)


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


def mean_nearest_distance(xyz: np.ndarray, weight: np.ndarray, centres: np.ndarray) -> float:
    d = cKDTree(centres).query(xyz)[0] if centres.shape[0] else np.zeros(xyz.shape[0])
    return float(np.average(d, weights=weight + 1e-12)) if xyz.shape[0] else 1.0


def assign(problem: Problem, cell: np.ndarray, labels: np.ndarray, centres: np.ndarray, scale: float,
           exact: bool, reach: int = NEAR, forbid: np.ndarray | None = None,
           regions: Regions | None = None, only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One balanced assignment at fixed centres: (labels (n,), excess (k,)). ``cell`` (free
    accounts,) their cells. For the repair: ``forbid`` (n,) a territory each account may not take
    (-1 for none); ``regions`` the territories' bodies that moves are priced against (default:
    today's); ``only`` (n,) the accounts that may change (the others keep ``labels``)."""
    regions = problem.regions if regions is None else regions
    cfg = problem.config
    k = problem.k
    movable = problem.free if only is None else problem.free & only
    in_free = movable[problem.free]  # the cells are indexed by free account
    xyz, w = problem.xyz[movable], problem.weight[movable]
    current = problem.current[movable]
    if regions is None and not problem.limits and not problem.today_on_map:
        # today's alignment is not drawn on a map (owners) and staying is worth nothing: today's
        # territory changes neither a group's cost nor its candidates, and grouping by it would
        # split every cell by owner (about one group per account)
        current = np.full_like(current, -1)
    groups = _groups(cell[in_free], current, labels[movable], xyz, w, k, None if forbid is None else forbid[movable])
    cand = _group_candidates(problem, groups, centres, exact, reach, regions)
    cost = _cost(problem, groups.centroid, centres, cand, groups.current, scale, regions)
    still = ~movable
    fixed = problem.fixed_load + np.bincount(labels[still], weights=problem.weight[still], minlength=k)
    band = problem.band(fixed)
    spent = _spent(problem, np.flatnonzero(still & problem.free), labels[still & problem.free])
    limits = _limits(problem, movable, groups.of, groups.mass.size, groups.mass, cand, groups.current, spent)
    flow = tp.transport(groups.mass, cand, cost, band, limits, time_limit=cfg.lp_seconds)
    choice = tp.main_choice(flow, cand)
    out = labels.copy()
    out[movable] = choice[groups.of]
    if exact:
        split = tp.split_groups(flow, groups.mass)
        if split.any():
            out = _split_accounts(problem, groups, split, cand, out, movable, centres, scale, regions)
    return out, flow.excess


def _group_candidates(problem: Problem, groups: _Groups, centres: np.ndarray, exact: bool, reach: int,
                      regions: Regions | None) -> np.ndarray:
    """(G, c) the territories each group may join.

    Without today's alignment (or at stability 0): the nearest centres, and while the centres
    move the group's previous territory. With it, moves must stay local: a group may keep its
    territory or join a territory it borders (the territories of its nearest accounts today); at
    low stability, where travel outweighs staying, also its nearest centres. When stability is
    high, a move costs more than travel could save, and the nearest centres would let the LP
    hand accounts deep into a distant territory rather than pass load on along a chain of
    neighbours; so they are only added when the band cannot be met otherwise (``reach``)."""
    cfg = problem.config
    label = groups.label  # the previous assignment stays within reach (when not far: see _candidates)
    widen = (1, 2, 4)[reach]
    if regions is None:
        m = (cfg.candidates if exact else cfg.moving_candidates) * widen
        # staying is worth nothing at stability 0, but under a move budget it must stay possible
        staying = groups.current if problem.limits else np.full_like(groups.current, -1)
        cand = _candidates(groups.centroid, centres, staying, label, m, cfg.all_candidates_up_to)
    else:
        depth = cfg.bordering_accounts * (4 if reach >= DEEPER else 1)
        bordering = regions.nearest(groups.centroid, cfg.bordering, accounts=depth)
        m = (cfg.candidates if exact else cfg.moving_candidates) * widen
        near = _candidates(groups.centroid, centres, groups.current, label, m, cfg.all_candidates_up_to)
        cand = np.column_stack([near, bordering])
        cand = dedupe_candidates(cand)
    cand[cand == groups.banned[:, None]] = -1
    return cand


def _split_accounts(problem: Problem, groups: _Groups, split: np.ndarray, group_cand: np.ndarray,
                    labels: np.ndarray, movable: np.ndarray, centres: np.ndarray, scale: float,
                    regions: Regions | None) -> np.ndarray:
    """Whole assignments for the accounts of the split groups (:func:`assign_accounts` with the
    group's candidates and exact distances); ``groups`` are over the ``movable`` accounts."""
    idx = np.flatnonzero(movable)
    members = np.flatnonzero(split[groups.of])
    labels, _ = assign_accounts(problem, idx[members], group_cand[groups.of[members]], labels, centres, scale,
                                regions)
    outside = _outside_band(problem, labels)
    if outside.any():
        # whole accounts of the split cells could not fit (heavy accounts at a band's edge): let
        # every cell that may join a territory left outside take part, account by account
        near = np.isin(group_cand, np.flatnonzero(outside)).any(axis=1) | split
        wider = np.flatnonzero(near[groups.of])
        if wider.size <= WIDER_ROUNDING_UP_TO:
            retry, _ = assign_accounts(problem, idx[wider], group_cand[groups.of[wider]], labels, centres,
                                       scale, regions)
            if _outside_band(problem, retry).sum() < outside.sum():
                labels = retry
    return labels


WIDER_ROUNDING_UP_TO = 50_000
"""Most accounts the exact assignment re-solves one by one when the split cells alone cannot be rounded."""


def outside_band(problem: Problem, labels: np.ndarray) -> np.ndarray:
    """(k,) the load of each territory outside the hard band (0 inside it), fixed load included."""
    load = np.bincount(labels, weights=problem.weight, minlength=problem.k) + problem.fixed_load
    t = problem.target
    return np.maximum(load - t * (1 + problem.tolerance), 0.0) + np.maximum(t * (1 - problem.tolerance) - load, 0.0)


def _outside_band(problem: Problem, labels: np.ndarray) -> np.ndarray:
    """(k,) bool: territories whose load is outside the hard band."""
    return outside_band(problem, labels) > 1e-9


def assign_accounts(problem: Problem, members: np.ndarray, cand: np.ndarray, labels: np.ndarray,
                    centres: np.ndarray, scale: float, regions: Regions | None,
                    extra_cost: np.ndarray | None = None, quick: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(labels, excess): the accounts ``members`` (free ones, indices into the problem) re-assigned
    among their candidates (``cand``, -1 for none) at least cost within the band, everyone else
    staying: an account-level LP, then the MIP over its few split accounts. ``extra_cost`` (as
    ``cand``) is added to the cost per unit of load; ``quick``: the LP's largest shares are taken
    as they are when the split accounts fit there (the hard band and the move limits hold)."""
    cfg = problem.config
    k = problem.k
    w = problem.weight[members]
    others = np.ones(labels.size, dtype=bool)
    others[members] = False
    fixed = problem.fixed_load + np.bincount(labels[others], weights=problem.weight[others], minlength=k)
    band = problem.band(fixed)
    current = problem.current[members]
    cost = _cost(problem, problem.xyz[members], centres, cand, current, scale, regions)
    if extra_cost is not None:
        cost = cost + extra_cost
    spent = _spent(problem, np.flatnonzero(others & problem.free), labels[others & problem.free])
    ones = np.arange(members.size)
    limits = _limits(problem, members, ones, members.size, w, cand, current, spent)
    flow = tp.transport(w, cand, cost, band, limits, time_limit=cfg.lp_seconds)
    choice = flow.flow.argmax(axis=1)
    if not (quick and _fits(cand[ones, choice], w, band, limits, choice)):
        choice = whole_accounts(problem, flow, cand, cost, w, band, limits)
    out = labels.copy()
    out[members] = cand[ones, choice]
    return out, flow.excess


def _fits(chosen: np.ndarray, w: np.ndarray, band: tp.Band, limits: tuple[tp.MoveLimit, ...],
          choice: np.ndarray) -> bool:
    """Whether whole accounts at ``chosen`` territories keep the hard band and the move limits:
    the LP's largest shares need no rounding when its few split accounts fit where they go."""
    load = np.bincount(chosen, weights=w, minlength=band.lower.size)
    if (load > band.upper + 1e-9).any() or (load < band.lower - 1e-9).any():
        return False
    rows = np.arange(w.size)
    return all(float((lim.moved[rows, choice] * w).sum()) <= lim.budget + 1e-9 for lim in limits)


def whole_accounts(problem: Problem, flow: tp.Flow, cand: np.ndarray, cost: np.ndarray, w: np.ndarray,
                   band: tp.Band, limits: tuple[tp.MoveLimit, ...]) -> np.ndarray:
    """Choice index (n,) into ``cand``: the LP's assignment with its split accounts made whole.

    Iterative rounding: split accounts heavier than half the room between the aim and the hard
    band are fixed to the territory that holds most of them and the LP is solved again, so the
    other accounts make room; once only light accounts are split, the small MIP over them
    settles them (they fit in the room). The MIP with the accounts around them, then the LP's
    largest shares, are the last resorts."""
    cfg = problem.config
    choice = flow.flow.argmax(axis=1)
    if not flow.feasible:
        return choice
    rows = np.arange(w.size)
    room = float(np.min(np.r_[band.upper - band.aim_upper, band.aim_lower - band.lower]))
    for _ in range(ROUNDING_ROUNDS):
        fractional = tp.split_groups(flow, w)
        main = flow.flow.argmax(axis=1)
        if not fractional.any():
            return main
        heavy = fractional & (w > 0.5 * room)
        if not heavy.any():
            picked = tp.round_split(w[fractional], cand[fractional], cost[fractional],
                                    flow.flow[fractional] > tp.SPLIT * w[fractional, None],
                                    band.shifted(np.bincount(cand[rows[~fractional], main[~fractional]],
                                                             weights=w[~fractional], minlength=band.lower.size)),
                                    _subset_limits(limits, fractional, main, w), checks=cfg.rounding_checks,
                                    work=cfg.rounding_work)
            if picked is not None:
                main[fractional] = picked
                return main
            heavy = fractional & (w >= np.median(w[fractional]))
        # fix every heavy split account at once; when that leaves no feasible LP, the heavier half
        trial = None
        for fix in (heavy, fractional & (w >= np.median(w[fractional]))):
            fixed_cand = cand.copy()
            fixed_cand[fix] = -1
            fixed_cand[rows[fix], main[fix]] = cand[rows[fix], main[fix]]
            trial = tp.transport(w, fixed_cand, cost, band, limits, time_limit=cfg.lp_seconds)
            if trial.feasible:
                break
        if trial is None or not trial.feasible:
            break
        cand, flow = fixed_cand, trial
        choice = flow.flow.argmax(axis=1)
    fractional = tp.split_groups(flow, w)
    if fractional.any():
        rounded = round_accounts(problem, fractional, flow, cand, cost, w, flow.flow.argmax(axis=1), band, limits)
        if rounded is not None:
            return rounded
    return choice


def _subset_limits(limits: tuple[tp.MoveLimit, ...], subset: np.ndarray, main: np.ndarray,
                   w: np.ndarray) -> tuple[tp.MoveLimit, ...]:
    """The move limits for ``subset`` (a mask) with everyone else at its ``main`` choice."""
    rest = np.flatnonzero(~subset)
    return tuple(tp.MoveLimit(lim.moved[subset], lim.budget - float((lim.moved[rest, main[rest]] * w[rest]).sum()))
                 for lim in limits)


ROUNDING_ROUNDS = 12
"""Rounds of fixing heavy split accounts before the LP's largest shares are taken."""


def _spent(problem: Problem, accounts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How much of each move limit the given accounts use with the given labels."""
    moved = (problem.current[accounts] >= 0) & (labels != problem.current[accounts])
    return np.array([float(lim.amount[accounts][moved].sum()) for lim in problem.limits])


class MoveBudget:
    """The move limits (move budgets) spent so far by an alignment, kept current hand-over by
    hand-over: the contiguity steps move a few accounts at a time and ask what is still allowed."""

    def __init__(self, problem: Problem, labels: np.ndarray):
        self.problem = problem
        self.spent = _spent(problem, np.arange(labels.size), labels)
        self.budgets = np.array([lim.budget for lim in problem.limits])

    def allows(self, accounts, here: int, to: int) -> bool:
        """Would handing ``accounts`` (all in ``here``) to ``to`` keep every limit?"""
        if not self.problem.limits:
            return True
        return bool(np.all(self.spent + self._change(accounts, here, to) <= self.budgets + 1e-9))

    def spend(self, accounts, here: int, to: int) -> None:
        if self.problem.limits:
            self.spent = self.spent + self._change(accounts, here, to)

    def _change(self, accounts, here: int, to: int) -> np.ndarray:
        accounts = np.atleast_1d(np.asarray(accounts, dtype=np.int64))
        now = self.problem.current[accounts]
        change = ((now != to).astype(float) - (now != here)) * (now >= 0)
        return np.array([float(change @ lim.amount[accounts]) for lim in self.problem.limits])


def round_accounts(problem, fractional, flow, cand, cost, w, choice, band, limits) -> np.ndarray | None:
    """Whole assignments for the LP's split accounts: a MIP over them alone; when whole accounts
    cannot fit (a territory at the edge of its band), over them and up to ``FLEXIBLE`` accounts per
    territory involved that could switch between the same territories (the cheapest switches
    first). None when that fails too (the caller widens the LP instead)."""
    cfg = problem.config
    rows = np.arange(w.size)
    frac = np.flatnonzero(fractional)
    chosen = cand[rows, choice]
    touched = np.zeros(problem.k, dtype=bool)
    touched[cand[frac][cand[frac] >= 0]] = True
    other = (cand >= 0) & (cand != chosen[:, None]) & touched[np.maximum(cand, 0)]
    flexible = np.flatnonzero(other.any(axis=1) & ~fractional & touched[chosen])
    # the cheapest switches first: accounts on the border, not light ones deep inside
    extra = np.where(other, cost - cost[rows, choice][:, None], np.inf).min(axis=1)
    flexible = flexible[np.argsort(extra[flexible], kind="stable")]
    rank = np.zeros(flexible.size, dtype=np.int64)
    if flexible.size:
        order = np.argsort(chosen[flexible], kind="stable")
        group = chosen[flexible][order]
        starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
        rank[order] = np.arange(flexible.size) - np.repeat(starts, np.diff(np.r_[starts, group.size]))
    nearby = np.union1d(frac, flexible[rank < FLEXIBLE])
    for subset in (frac, nearby):
        keep = np.ones(w.size, dtype=bool)
        keep[subset] = False
        kept = np.flatnonzero(keep)
        fixed = np.bincount(chosen[kept], weights=w[kept], minlength=problem.k)
        allowed = (flow.flow[subset] > tp.SPLIT * w[subset, None]) if subset is frac else cand[subset] >= 0
        sub_limits = tuple(tp.MoveLimit(lim.moved[subset], lim.budget - float((lim.moved[kept, choice[kept]]
                                                                               * w[kept]).sum()))
                           for lim in limits)
        picked = tp.round_split(w[subset], cand[subset], cost[subset], allowed, band.shifted(fixed), sub_limits,
                                checks=cfg.rounding_checks, work=cfg.rounding_work)
        if picked is not None:
            out = choice.copy()
            out[subset] = picked
            return out
    return None


FLEXIBLE = 40
"""Accounts per territory the rounding may also switch when the split accounts alone cannot fit."""


def solve(problem: Problem, start: np.ndarray | None = None) -> Solution:
    """Centre moves with exact balanced assignments, then the exact final assignment, from
    ``start`` (default: the problem's).

    When the band cannot be met with local moves, the final assignment is tried with deeper
    border layers, then with moves to any of the nearest territories; the result with the least
    load outside the band is kept (``reach`` says which)."""
    start = problem.start if start is None else start
    best = _solve_from(problem, start)
    for reach in (DEEPER, ANYWHERE):
        if _outside(best) <= 0 or best.cells is None:
            break
        labels, _ = assign(problem, best.cells, best.labels, best.centres, best.scale, exact=True, reach=reach)
        excess = outside_band(problem, labels)
        if excess.sum() < _outside(best):
            best = replace(best, labels=labels, excess=excess, reach=reach)
    start_excess = outside_band(problem, start)
    free = np.flatnonzero(problem.free)
    within_limits = all(spent <= lim.budget + 1e-9 for spent, lim in
                        zip(_spent(problem, free, start[free]), problem.limits))
    if _outside(best) > 0 and start_excess.sum() < _outside(best) and within_limits:
        # whole accounts could not be rounded into the band (heavy accounts, few per territory);
        # the start is whole and balanced by construction: it is the answer the band allows
        best = replace(best, labels=start.copy(), excess=start_excess,
                       centres=medians(problem.xyz, problem.weight, start, problem.k, best.centres))
    return best


def _outside(solution: Solution) -> float:
    return float(solution.excess.sum())


def resolve_graph(adjacency):
    """The neighbour graph itself: ``adjacency`` may be a Future (a triangulation running on a
    background thread, see ``geo.shared_delaunay_neighbors``); wait for it only here."""
    if adjacency is not None and not sp.issparse(adjacency) and hasattr(adjacency, "result"):
        return adjacency.result()
    return adjacency


def _body_medians(problem: Problem, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each free territory's centre moves to the median of its largest piece (on the neighbour
    graph), not of all its accounts: a territory holding a second cluster across a gap would
    otherwise keep its centre between the two, and the next assignment would keep both. The
    piece it lets go is then nearer another centre."""
    cfg = problem.config
    weight = problem.weight
    if problem.adjacency is not None:
        # waits for the triangulation when it is still running: using it only when it happens to
        # be ready made the same input give different alignments from run to run
        from territory.geo import piece_labels

        graph = resolve_graph(problem.adjacency)
        rank = piece_labels(graph, labels, weights=weight)
        weight = np.where(rank == 0, weight, weight * 1e-6)
    out = medians(problem.xyz, weight, labels, problem.k, centres, cfg.median_steps)
    out[problem.anchored] = problem.anchor_centres[problem.anchored]
    return out


def fine_cells(problem: Problem) -> np.ndarray:
    """(free accounts,) the cells of the exact assignment, about ``cells_per_territory`` per
    territory: what the repair re-solves on, whichever step drew the alignment."""
    cfg = problem.config
    free = problem.free
    count = min(cfg.cells_per_territory * problem.k, cfg.max_cells)
    return seeding.cells(problem.xyz[free], problem.weight[free], count)


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
    scale = mean_nearest_distance(problem.xyz, problem.weight, centres) or 1e-9
    moves = 0
    fine = fine_cells(problem)
    if problem.centre_moves > 0:
        coarse = fine // cfg.merge_cells  # neighbouring leaves of the bisection: nearby cells
        last = travel(problem.xyz, problem.weight, labels, centres)
        for moves in range(1, problem.centre_moves + 1):  # noqa: B007 (reported as n_iter)
            labels, _ = assign(problem, coarse, labels, centres, scale, exact=False)
            new_centres = _body_medians(problem, labels, centres)
            centres = new_centres
            now = travel(problem.xyz, problem.weight, labels, centres)
            if now > (1 - cfg.settled) * last:
                break
            last = now
    labels, _ = assign(problem, fine, labels, centres, scale, exact=True)
    return Solution(labels, centres, how, outside_band(problem, labels), scale, moves, cells=fine)

