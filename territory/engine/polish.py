"""The last word on contiguity: join every stray piece to a neighbour, then restore the band with
moves that cannot cut a territory.

The exact assignment can leave a piece behind (a heavy account rounded to one side, a chain of
moves around a pocket of accounts). Here each stray piece joins a territory it touches (back home
first), and the load that shifts is passed back along the
territory graph by :func:`territory.engine.flows.border_flows` (an exact LP: how much crosses each
border). Each flow is carried by single-account moves that are safe by construction:

* the account touches the receiving territory's main body (or shares its location with it), so it
  joins that body, never a new piece;
* its own territory stays connected without it: either another of its accounts shares the
  location, or the territory's locations around it stay connected among themselves (then every
  path through the account has a way round it).

A far account its territory hangs on (the accounts beyond it reach the rest only through it) is
pulled together with those accounts, so its territory stays connected by the same argument.

So no move here makes a fragment, and the result is kept only when it leaves less stray load
without more load outside the band. The local re-balance (:mod:`territory.engine.local`) carries
its border flows the same way. The exact re-solves of :mod:`territory.engine.repair` run only for
what is left. Connectivity is judged on the same location graph
:func:`territory.geo.piece_labels` counts pieces on (co-located accounts are one place).
"""

from __future__ import annotations

import hashlib
import heapq

import numpy as np
import scipy.sparse as sp

from territory.engine.centres import centroids, medians
from territory.engine.flows import border_flows, hop_costs
from territory.engine.repair import stray_accounts
from territory.engine.solve import (
    MOVED_BY_BALANCE,
    MOVED_BY_CONTIGUITY,
    MoveBudget,
    Problem,
    mean_nearest_distance,
    outside_band,
)

ROUNDS = 6
"""Rounds of joining pieces and passing load back (a heavy account a flow could not carry waits
for the next round's flows)."""


class LocationMap:
    """Territories as counts per location, kept current move by move: what the safety checks read."""

    def __init__(self, problem: Problem, graph, labels: np.ndarray):
        n = labels.size
        location_of = getattr(graph, "location_of", None)
        location_adjacency = getattr(graph, "location_adjacency", None)
        if location_of is None or location_adjacency is None or len(location_of) != n:
            location_of = np.arange(n)
            location_adjacency = graph
        self.location_of = np.asarray(location_of, dtype=np.int64)
        self.weight = problem.weight
        adjacency = sp.csr_matrix(location_adjacency)
        self.adjacency = adjacency
        self.indptr, self.indices = adjacency.indptr, adjacency.indices
        n_loc = adjacency.shape[0]
        placed = self.location_of >= 0
        order = np.flatnonzero(placed)[np.argsort(self.location_of[placed], kind="stable")]
        self.members = order
        self.member_start = np.searchsorted(self.location_of[order], np.arange(n_loc + 1))
        self.labels = labels
        self.counted = problem.free & placed  # locked accounts belong to no piece (as in repair)
        self.in_main = np.zeros(n, dtype=bool)
        self.count: dict[int, int] = {}
        self.main: dict[int, int] = {}
        self.k = problem.k
        self._around_memo: dict[int, np.ndarray] = {}
        self._index_territories()

    def _index_territories(self) -> None:
        """Each territory's counted accounts, kept current by :meth:`move` (so that the accounts
        next to a territory are found without a scan of every account)."""
        use = np.flatnonzero(self.counted)
        order = use[np.argsort(self.labels[use], kind="stable")]
        bounds = np.searchsorted(self.labels[order], np.arange(self.k + 1))
        self.held_by = [set(order[bounds[j]:bounds[j + 1]].tolist()) for j in range(self.k)]

    def reset(self, rank: np.ndarray) -> None:
        """Counts per (location, territory), and of accounts in the territory's main body."""
        self.count.clear()
        self.main.clear()
        use = np.flatnonzero(self.counted)
        keys, counts = np.unique(self.location_of[use] * self.k + self.labels[use], return_counts=True)
        self.count.update(zip(keys.tolist(), counts.tolist()))
        body = use[rank[use] == 0]
        self.in_main[:] = False
        self.in_main[body] = True
        keys, counts = np.unique(self.location_of[body] * self.k + self.labels[body], return_counts=True)
        self.main.update(zip(keys.tolist(), counts.tolist()))

    def around(self, loc: int) -> np.ndarray:
        return self.indices[self.indptr[loc]:self.indptr[loc + 1]]

    def touches(self, account: int, territory: int, main_only: bool = True) -> bool:
        """Does the account share a location with, or sit next to, the territory's main body (or
        any piece of it)?"""
        loc = int(self.location_of[account])
        k = self.k
        held = self.main if main_only else self.count
        if held.get(loc * k + territory, 0) > 0:
            return True
        return any(held.get(int(v) * k + territory, 0) > 0 for v in self.around(loc))

    def stays_connected(self, account: int) -> bool:
        """Would the account's territory stay in as many pieces without it (local test, exact
        sufficient condition: its territory's neighbouring locations stay linked among themselves)?"""
        loc = int(self.location_of[account])
        here = int(self.labels[account])
        if self.count.get(loc * self.k + here, 0) > 1:
            return True
        return self.ring_linked(loc, here)

    def ring_linked(self, loc: int, territory: int) -> bool:
        """Are the territory's locations around ``loc`` linked among themselves (so the territory
        may lose ``loc`` without falling apart)?"""
        k = self.k
        ring = [int(v) for v in self.around(loc) if self.count.get(int(v) * k + territory, 0) > 0]
        if len(ring) <= 1:
            return True
        inside = set(ring)
        seen = {ring[0]}
        todo = [ring[0]]
        while todo:
            v = todo.pop()
            for u in self.around(v):
                u = int(u)
                if u in inside and u not in seen:
                    seen.add(u)
                    todo.append(u)
        return len(seen) == len(ring)

    def cut_off_by(self, account: int) -> np.ndarray:
        """The accounts of the account's territory that only reach its heaviest part through the
        account's location (at locations next to it or beyond): what would become a stray piece
        if the account left. Empty when the territory stays linked without it."""
        from scipy.sparse.csgraph import connected_components

        loc = int(self.location_of[account])
        here = int(self.labels[account])
        if loc < 0 or self.stays_connected(account):
            return np.empty(0, dtype=np.int64)
        held = np.fromiter(self.held_by[here], dtype=np.int64, count=len(self.held_by[here]))
        held = held[self.location_of[held] != loc]
        places, place_of = np.unique(self.location_of[held], return_inverse=True)
        _, part = connected_components(self.adjacency[places][:, places], directed=False)
        part_load = np.bincount(part[place_of], weights=self.weight[held])
        touching = np.zeros(part_load.size, dtype=bool)
        touching[part[np.isin(places, self.around(loc))]] = True
        touching[int(part_load.argmax())] = False
        return held[touching[part[place_of]]]

    def move(self, account: int, to: int, joins_main: bool) -> None:
        loc = int(self.location_of[account])
        k = self.k
        here = int(self.labels[account])
        self.count[loc * k + here] -= 1
        if self.in_main[account]:
            self.main[loc * k + here] -= 1
        self.count[loc * k + to] = self.count.get(loc * k + to, 0) + 1
        if joins_main:
            self.main[loc * k + to] = self.main.get(loc * k + to, 0) + 1
        self.labels[account] = to
        self.in_main[account] = joins_main
        if self.counted[account]:
            self.held_by[here].discard(account)
            self.held_by[to].add(account)

    def next_to(self, territory: int, of: int, main_only: bool = True) -> np.ndarray:
        """Accounts of ``of`` at or next to a location holding ``territory``'s main body (or any
        piece of it)."""
        body = np.fromiter(self.held_by[territory], dtype=np.int64, count=len(self.held_by[territory]))
        if main_only:
            body = body[self.in_main[body]]
        if body.size == 0:
            return np.empty(0, dtype=np.int64)
        places = np.unique(self.location_of[body])
        places = np.union1d(places, row_indices(self.adjacency, places))
        first = self.member_start[places]
        near = self.members[_gather(first, self.member_start[places + 1] - first)]
        return np.sort(near[self.counted[near] & (self.labels[near] == of)])

    def accounts_around(self, account: int) -> np.ndarray:
        """The (unlocked) accounts at the account's location and the locations around it (read-only:
        they depend on the locations alone, so each location's are gathered once)."""
        loc = int(self.location_of[account])
        if loc < 0:
            return np.empty(0, np.int64)
        near = self._around_memo.get(loc)
        if near is None:
            places = np.concatenate(([loc], self.around(loc)))
            first = self.member_start[places]
            near = self.members[_gather(first, self.member_start[places + 1] - first)]
            near = near[self.counted[near]]
            near.setflags(write=False)
            self._around_memo[loc] = near
        return near

    def neighbours_of(self, account: int, territory: int) -> np.ndarray:
        """Accounts of ``territory`` at the account's location and the locations around it."""
        near = self.accounts_around(account)
        return near[self.labels[near] == territory]


def row_indices(matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """The column indices of the given rows of a CSR matrix, concatenated (what
    ``matrix[rows].indices`` gives, without building a sparse matrix per call)."""
    rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
    first = matrix.indptr[rows]
    return matrix.indices[_gather(first, matrix.indptr[rows + 1] - first)]


def _gather(first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The positions ``first[i], ..., first[i] + sizes[i] - 1`` for each i, concatenated."""
    ends = np.cumsum(sizes)
    return np.repeat(first - ends + sizes, sizes) + np.arange(int(ends[-1]) if ends.size else 0)


def polish(problem: Problem, graph, labels: np.ndarray, how: np.ndarray) -> np.ndarray:
    """Labels with the stray pieces joined to neighbours, far accounts pulled nearer and the band
    restored by safe moves (module docstring); ``labels`` itself when that improves nothing.
    ``how`` is updated for the accounts that change. When keeping every carried account near
    leaves a piece (heavy accounts: the band needs the far ones too), the pieces come first."""
    apart = today_pieces(problem, graph)
    stray, rank = stray_accounts(problem, graph, labels, apart)
    far = far_accounts(problem, labels)
    if not stray.any() and not far.any():
        return labels
    if far.any():
        labels, stray, rank, far = _pull_far_within_band(problem, graph, labels, how, apart, stray, rank, far)
        if not stray.any() and not far.any():
            return labels
    start_score = _score(problem, labels, stray, far)
    near_how = how.copy()
    near, near_score = _polish(problem, graph, labels, near_how, apart, stray, rank, start_score, keep_near=True)
    if near_score[1] > 0:
        loose_how = how.copy()
        loose, loose_score = _polish(problem, graph, labels, loose_how, apart, stray, rank, start_score,
                                     keep_near=False)
        if loose_score < near_score:
            how[:] = loose_how
            return loose
    how[:] = near_how
    return near


def _pull_far_within_band(problem: Problem, graph, labels: np.ndarray, how: np.ndarray, apart: np.ndarray | None,
                          stray: np.ndarray, rank: np.ndarray, far: np.ndarray):
    """The far pulls with nothing to carry back (each keeps both territories in the band), kept
    when they improve the score: (labels, stray, rank, far) after them, or as they were."""
    trial, trial_how = labels.copy(), how.copy()
    terrain = LocationMap(problem, graph, trial)
    terrain.reset(rank)
    _pull_far(problem, terrain, MoveBudget(problem, trial), far, trial_how, within_band=True)
    trial_stray, trial_rank = stray_accounts(problem, graph, trial, apart)
    trial_far = far_accounts(problem, trial)
    if _score(problem, trial, trial_stray, trial_far) >= _score(problem, labels, stray, far):
        return labels, stray, rank, far
    how[:] = trial_how
    return trial, trial_stray, trial_rank, trial_far


def _polish(problem: Problem, graph, labels: np.ndarray, how: np.ndarray, apart: np.ndarray | None,
            stray: np.ndarray, rank: np.ndarray, start_score: tuple[float, float, int],
            keep_near: bool) -> tuple[np.ndarray, tuple[float, float, int]]:
    """One polish (rounds of joins, far pulls and carried flows): (best labels, their score)."""
    best, best_score = labels, start_score
    trial = labels.copy()
    trial_how = how.copy()
    terrain = LocationMap(problem, graph, trial)
    budget = MoveBudget(problem, trial)
    blocked: set[tuple[int, int]] = set()
    for _ in range(ROUNDS):
        before, closed = trial.copy(), len(blocked)
        terrain.reset(rank)
        _join(problem, terrain, budget, stray, rank, trial_how)
        if keep_near:
            _pull_far(problem, terrain, budget, far_accounts(problem, trial), trial_how)
        stray, rank = stray_accounts(problem, graph, trial, apart)
        terrain.reset(rank)
        if outside_band(problem, trial).sum() > 1e-9:
            src, dst, flow = border_flows(problem, trial, graph, _hop(problem, trial), linked=terrain.counted,
                                          blocked=blocked)
            if flow.size:
                carried, exhausted = carry_flows(problem, terrain, budget, src, dst, flow, trial_how,
                                            keep_near=keep_near)
                stray, rank = stray_accounts(problem, graph, trial, apart)
                # a border that ran out of accounts before carrying half its flow is closed: the
                # next flows go round it
                short = exhausted & (carried < 0.5 * flow)
                blocked.update(zip(src[short].tolist(), dst[short].tolist()))
        score = _score(problem, trial, stray, far_accounts(problem, trial))
        if score[0] <= best_score[0] + 1e-9 and score[1] <= best_score[1] + 1e-9 and score < best_score:
            best, best_score = trial.copy(), score
            how[:] = trial_how
        if score == (0.0, 0.0, 0):
            break
        if len(blocked) == closed and (trial == before).all():  # the next round would repeat this one
            break
    return best, best_score


def _score(problem: Problem, labels: np.ndarray, stray: np.ndarray, far: np.ndarray) -> tuple[float, float, int]:
    """(load outside the band, stray load, far accounts): what the polish improves, in that order."""
    return (round(float(outside_band(problem, labels).sum()), 9), round(float(problem.weight[stray].sum()), 9),
            int(far.sum()))


FAR_FLOOR_KM = 300.0
FAR_RADIUS_FACTOR = 2.0
"""Issue #12's rule: a moved account lands within max(2 x its territory's radius, 300 km) of the
territory's centre. The radius: 90% of the territory's workload lies within it."""
RADIUS_QUANTILE = 0.9


def far_accounts(problem: Problem, labels: np.ndarray) -> np.ndarray:
    """(n,) bool: free accounts that moved (or have no territory today) and sit farther than
    max(2 x radius, 300 km) from their territory's centre (its spherical median)."""
    moved = problem.free & ((labels != problem.current) | (problem.current < 0))
    if not moved.any():
        return moved
    centres, limit = far_limits(problem, labels)
    return moved & (unit_km(problem.xyz, centres[labels]) > limit[labels])


def far_limits(problem: Problem, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((k, 3) each territory's centre (spherical median), (k,) how far from it an account may
    land, in km: max(2 x radius, 300 km))."""
    key = hashlib.blake2b(np.ascontiguousarray(labels).view(np.uint8), digest_size=16).digest()
    memo = problem.far_memo
    if key not in memo:
        basis = memo[next(reversed(memo))] if memo else None
        centres, radius = _centres_and_radii(problem, labels, basis)
        if len(memo) >= FAR_MEMO_SIZE:
            memo.pop(next(iter(memo)))
        memo[key] = (labels.copy(), centres, radius, np.maximum(FAR_RADIUS_FACTOR * radius, FAR_FLOOR_KM))
    _, centres, _, limit = memo[key]
    return centres.copy(), limit.copy()


def _centres_and_radii(problem: Problem, labels: np.ndarray, basis: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """(k, 3) each territory's spherical median and (k,) its radius. Each territory's figures depend
    on its own accounts alone, so with ``basis`` (the labels, centres and radii of an earlier call)
    only the territories that gained or lost an account are computed again, to the same bits."""
    k = problem.k
    rows, sub, changed = slice(None), labels, np.arange(k)
    if basis is not None:
        diff = labels != basis[0]
        changed = np.unique(np.r_[labels[diff], basis[0][diff]])
        index = np.full(k, -1, dtype=np.int64)
        index[changed] = np.arange(changed.size)
        rows = np.flatnonzero(index[labels] >= 0)  # their accounts, in the same order
        sub = index[labels[rows]]
    xyz, weight, m = problem.xyz[rows], problem.weight[rows], changed.size
    centres = medians(xyz, weight, sub, m, np.zeros((m, 3)), problem.config.median_steps)
    radius = _weighted_quantile(unit_km(xyz, centres[sub]), sub, weight, m, RADIUS_QUANTILE)
    if basis is None:
        return centres, radius
    all_centres, all_radius = basis[1].copy(), basis[2].copy()
    all_centres[changed], all_radius[changed] = centres, radius
    return all_centres, all_radius


FAR_MEMO_SIZE = 4
"""Alignments whose far limits are remembered (the polish asks again about labels it has not changed)."""


def unit_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle km between unit vectors (row by row)."""
    from territory.geo import EARTH_RADIUS_KM

    chord = np.linalg.norm(a - b, axis=-1)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def _weighted_quantile(values: np.ndarray, groups: np.ndarray, weights: np.ndarray, k: int, q: float) -> np.ndarray:
    """(k,) per group, the smallest value with at least ``q`` of the group's weight at or below it.
    Each group's running weight is summed on its own, so a group's answer does not depend on the
    other groups (:func:`_centres_and_radii` recomputes some groups only)."""
    order = np.lexsort((values, groups))
    g, v, w = groups[order], values[order], weights[order] + 1e-12
    start = np.searchsorted(g, np.arange(k))
    end = np.searchsorted(g, np.arange(k), side="right")
    out = np.zeros(k)
    for j in np.flatnonzero(end > start).tolist():
        running = np.cumsum(w[start[j]:end[j]])
        # the running weight only grows: the rows below q x the total come first
        at = int(np.searchsorted(running, q * running[-1] - 1e-12))
        out[j] = v[start[j] + min(at, running.size - 1)]
    return out


FAR_NEARER = 1.5
"""A far account is pulled to a territory it touches only when that centre is this much nearer."""


def _pull_far(problem: Problem, terrain: LocationMap, budget: MoveBudget, far: np.ndarray, how: np.ndarray,
              within_band: bool = False) -> None:
    """Each far account joins a territory it touches where it lands within the far rule's reach of
    that territory's centre, or whose centre is at least ``FAR_NEARER`` times nearer than its own
    (the nearest such centre), when the move is safe (its territory stays connected without it).
    Passes repeat while they pull anything: a far lobe is peeled from its border inwards.
    ``within_band``: only pulls that keep both territories in the hard band (nothing to carry back)."""
    labels = terrain.labels
    centres, limit = far_limits(problem, labels)
    load = np.bincount(labels, weights=problem.weight, minlength=problem.k) + problem.fixed_load
    lower = problem.target * (1 - problem.tolerance)
    upper = problem.target * (1 + problem.tolerance)
    pending = np.flatnonzero(far)
    while pending.size:
        distance = unit_km(problem.xyz[pending], centres[labels[pending]])
        left = []
        for i in pending[np.argsort(-distance, kind="stable")].tolist():
            here = int(labels[i])
            options = np.array(sorted(set(labels[terrain.accounts_around(i)].tolist()) - {here}), dtype=np.int64) \
                if terrain.location_of[i] >= 0 else np.empty(0, dtype=np.int64)
            if options.size == 0:
                left.append(i)
                continue
            # an account its territory hangs on goes with what hangs on it (a lobe beyond a
            # strait or a lake), when that weighs no more than the band's half-width
            along = terrain.cut_off_by(i)
            w = float(problem.weight[i]) + float(problem.weight[along].sum())
            if along.size and w > problem.tolerance * problem.target[here]:
                left.append(i)
                continue
            reach = unit_km(problem.xyz[i][None, :], centres[options])
            own = float(unit_km(problem.xyz[i][None, :], centres[here][None, :])[0])
            fits = (reach <= limit[options]) | (FAR_NEARER * reach <= own)
            for b in along.tolist():  # and none of the lobe ends farther than the far rule or today allow
                today = float(unit_km(problem.xyz[b][None, :], centres[here][None, :])[0])
                fits &= unit_km(problem.xyz[b][None, :], centres[options]) <= np.maximum(limit[options], today)
            if within_band:
                fits &= (load[options] + w <= upper[options]) & (load[here] - w >= lower[here])
            if not fits.any():
                left.append(i)
                continue
            best = int(options[fits][np.argmin(reach[fits])])
            group = np.r_[i, along]
            if not budget.allows(group, here, best):
                continue
            budget.spend(group, here, best)
            joins_main = terrain.touches(i, best)
            for b in group.tolist():
                terrain.move(b, best, joins_main)
            load[here] -= w
            load[best] += w
            how[group] = MOVED_BY_CONTIGUITY
        if len(left) == pending.size:
            return
        pending = np.array(left, dtype=np.int64)


def today_pieces(problem: Problem, graph) -> np.ndarray | None:
    """(n,) each account's piece of its territory today (0 the main piece, -1 no territory or
    locked; None without today): what :func:`territory.engine.repair.stray_accounts` tells
    today's structure from pieces the moves cut off by."""
    from territory.geo import piece_labels

    if not problem.keep_today_pieces:
        return None
    today = np.where(problem.free & (problem.current >= 0), problem.current, -1)
    return np.where(today >= 0, piece_labels(graph, today, weights=problem.weight), -1)


def _hop(problem: Problem, labels: np.ndarray) -> np.ndarray:
    """(k, k) the extra cost per unit of load between two territories (their centres' distance,
    as the local re-balance prices it): of two ways to pass the same load on, the shorter."""
    centres = centroids(problem.xyz, problem.weight, labels, problem.k, np.zeros((problem.k, 3)))
    return hop_costs(centres, mean_nearest_distance(problem.xyz, problem.weight, centres) or 1e-9)


def _join(problem: Problem, terrain: LocationMap, budget: MoveBudget, stray: np.ndarray, rank: np.ndarray,
          how: np.ndarray) -> None:
    """Hand each stray piece, smallest first, to a territory it touches: back to where its
    accounts are today when that territory touches it, else the nearest (by centre) whose main
    body it touches, else the nearest it touches."""
    labels = terrain.labels
    k = problem.k
    centres = centroids(problem.xyz, problem.weight, labels, k, np.zeros((k, 3)))
    key = labels.astype(np.int64) * (int(rank.max()) + 1) + rank
    pieces, piece_of = np.unique(key[stray], return_inverse=True)
    members = np.flatnonzero(stray)
    piece_load = np.bincount(piece_of, weights=problem.weight[members])
    for p in np.argsort(piece_load, kind="stable"):
        accounts = members[piece_of == p]
        here = int(labels[accounts[0]])
        touching: dict[int, bool] = {}  # territory -> does the piece touch its main body?
        near = np.concatenate([terrain.accounts_around(int(i)) for i in accounts])
        near = near[labels[near] != here]
        for t in np.unique(labels[near]).tolist():
            touching[t] = bool(terrain.in_main[near[labels[near] == t]].any())
        if not touching:
            continue
        home = problem.current[accounts]
        home = home[home >= 0]
        centre = problem.xyz[accounts].mean(axis=0)
        options = sorted(touching, key=lambda t: (not touching[t], float(np.linalg.norm(centres[t] - centre)), t))
        if home.size:
            first = int(np.bincount(home).argmax())
            if first in touching:
                options = [first] + [t for t in options if t != first]
        for to in options:
            if not budget.allows(accounts, here, to):
                continue
            budget.spend(accounts, here, to)
            for i in accounts:
                terrain.move(int(i), to, touching[to])
            how[accounts] = MOVED_BY_CONTIGUITY
            break


def carry_flows(problem: Problem, terrain: LocationMap, budget: MoveBudget, src: np.ndarray, dst: np.ndarray,
           flow: np.ndarray, how: np.ndarray, main_only: bool = True,
           keep_near: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """((flows,) the load carried, (flows,) bool: the border ran out of accounts that could
    cross before its flow was carried): each border flow by safe single-account moves, the accounts
    nearest the receiving territory (relative to their own centre) first; an account that would
    overshoot the flow by more than the room between the aim and the hard band waits.
    ``main_only``: an account may join only the receiver's main body (the polish, which joins
    pieces); else any piece of it (no new piece either way). ``keep_near``: no account is carried
    to where it would land far from the receiver's centre (:func:`far_accounts`)."""
    labels = terrain.labels
    k = problem.k
    centres = centroids(problem.xyz, problem.weight, labels, k, np.zeros((k, 3)))
    # where a carried account lands: within the far rule's reach of the receiver's centre, or anywhere
    medians, limit = far_limits(problem, labels) if keep_near else (centres, np.full(k, np.inf))
    room = max(problem.tolerance - problem.aim, 0.0) * problem.target
    carried = np.zeros(flow.size)
    exhausted = np.zeros(flow.size, dtype=bool)
    real = np.flatnonzero((src < k) & (dst < k))
    # upstream first (a territory passing load on has received its share before it gives its
    # own accounts away), then the narrowest borders: a territory's few accounts next to one
    # neighbour are not spent on another neighbour first
    width = [float(problem.weight[terrain.next_to(int(dst[f]), int(src[f]), main_only)].sum()) for f in real]
    level = _upstream_order(src[real], dst[real], k)
    scarce = np.asarray(width) / np.maximum(flow[real], 1e-12)
    load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
    lower = problem.target * (1 - problem.tolerance)
    for f_index in real[np.lexsort((scarce, level[src[real]]))]:
        a, b, f = int(src[f_index]), int(dst[f_index]), float(flow[f_index])
        # what a territory hands on never takes it below its band: its upstream flows have been
        # carried already, so what they could not bring is not passed on either
        f = min(f, float(load[a] - lower[a]))
        if f <= 0:
            continue
        carried[f_index] = _carry_one(problem, terrain, budget, centres, a, b, f,
                                      float(min(room[a], room[b])), load, lower, how, main_only,
                                      medians[b], float(limit[b]))
        exhausted[f_index] = carried[f_index] < f - 1e-9
    return carried, exhausted


def _carry_one(problem: Problem, terrain: LocationMap, budget: MoveBudget, centres: np.ndarray, a: int, b: int,
               f: float, slack: float, load: np.ndarray, lower: np.ndarray, how: np.ndarray,
               main_only: bool, landing: np.ndarray, reach_km: float) -> float:
    """The load moved from ``a`` to ``b`` (at most ``f`` + ``slack``): the frontier of ``a``'s
    accounts next to ``b``'s main body grows as accounts cross, cheapest first; none lands
    farther than ``reach_km`` from ``landing`` (``b``'s centre)."""
    labels = terrain.labels
    heap: list[tuple[float, int]] = []
    seen: set[int] = set()
    # every account that may cross is one of a's now: each one's cost, and whether it may land
    # near enough, computed once for all of them
    held = np.fromiter(terrain.held_by[a], dtype=np.int64, count=len(terrain.held_by[a]))
    xyz = problem.xyz[held]
    cost = np.linalg.norm(xyz - centres[b], axis=1) - np.linalg.norm(xyz - centres[a], axis=1)
    cost -= 4.0 * (problem.current[held] == b)  # back to where it is today first
    lands_near = unit_km(xyz, landing) <= reach_km
    cost_of = dict(zip(held[lands_near].tolist(), cost[lands_near].tolist()))

    def push(accounts: np.ndarray) -> None:
        for i in accounts.tolist():
            if i not in seen and i in cost_of:
                seen.add(i)
                heapq.heappush(heap, (cost_of[i], i))

    push(terrain.next_to(b, a, main_only))
    moved = 0.0
    while heap and moved < f - 1e-9:
        _, i = heapq.heappop(heap)
        if labels[i] != a:
            continue
        w = float(problem.weight[i])
        if moved + w > f + slack or load[a] - w < lower[a] - 1e-9:
            continue
        joins_main = terrain.touches(i, b)
        if not (joins_main or not main_only and terrain.touches(i, b, main_only=False)) \
                or not terrain.stays_connected(i) or not budget.allows(i, a, b):
            seen.discard(i)  # may qualify later, once its surroundings change
            continue
        budget.spend(i, a, b)
        terrain.move(i, b, joins_main)
        how[i] = MOVED_BY_BALANCE
        moved += w
        load[a] -= w
        load[b] += w
        push(terrain.neighbours_of(i, a))
    return moved


def _upstream_order(src: np.ndarray, dst: np.ndarray, k: int) -> np.ndarray:
    """(k,) each territory's depth in the flow graph (0: receives nothing; a least-cost flow has no
    cycle, a territory on one would keep depth 0)."""
    level = np.zeros(k, dtype=np.int64)
    for _ in range(k):
        new = level.copy()
        np.maximum.at(new, dst, level[src] + 1)
        new = np.minimum(new, k)
        if (new == level).all():
            break
        level = new
    return level
