"""Stability 1 on an alignment not drawn on a map: the least load, moved straight across.

When accounts follow their owner, territories share the same areas and every territory touches
most others, so no load needs passing along a chain of neighbours: an account leaves a territory
above its target for one below its target that it touches (one of that territory's accounts
shares its location or sits next to it on the accounts' neighbour graph). One mixed-integer
program picks the accounts:

    minimise    sum_ir w_i (1 + EPSILON x distance to r's nearest touching account / scale) x_ir
                (without the 1 for an account new today)
    subject to  every territory's load within its band,  sum_r x_ir <= 1,  x_ir in {0, 1}

Territories below their target only receive, so every account they hold today stays, and a
moved account always touches accounts that stay in its new territory: the result has no piece
made only of moved accounts by construction. A step that passed load through a territory (the
border flows of :mod:`territory.engine.local`) could strand an account whose only neighbour in
its new territory moved on, and joining such strays afterwards moved about twice the least load
(docs/engine.md).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from territory.engine import mip
from territory.engine.polish import LocationMap, far_accounts, far_limits, row_indices, today_pieces, unit_km
from territory.engine.repair import stray_accounts
from territory.engine.solve import MOVED_BY_BALANCE, Problem, Solution, mean_nearest_distance, outside_band
from territory.geo import piece_labels

EPSILON = 0.01
"""Weight of the distance tie-break against the moved load (of two equal moves, the shorter)."""
GAP = 0.01
"""The program stops within this relative gap of the least moved load."""
BAND_MARGIN = 1e-6
"""The program's band is this share narrower than the tolerance (the solver's rounding never ends
a hair outside it)."""
SELECT_FACTOR = 3.0
"""Accounts offered per sending territory: its lightest touching ones, up to this many times what
it is about to give (at least ``SELECT_MIN``)."""
SELECT_MIN = 10
FILL_MAX = 50
"""Most pairs offered to fill one receiving territory (beyond its accounts' nearest receivers)."""
RECEIVERS = 4
"""Receiving territories offered per account: the ones whose accounts are nearest it."""
ROUNDS = 4
"""Programs solved at most: each round keeps where they are the accounts whose move cut a
territory or landed far from the receiver's centre."""
WIDEN = (1, 4)
"""When the first program has no whole solution, the candidates are widened this many times."""
MAX_PAIRS = 40_000
"""Larger programs are left to the border flows (a 88,000-pair program found no whole solution in
a minute)."""


def least_moves(problem: Problem, graph, centres: np.ndarray) -> Solution | None:
    """The least-move alignment (module docstring), or None when straight moves to touching
    territories cannot bring every territory into the band (new or dissolved territories, a
    territory below its band that touches nothing it could take)."""
    labels = problem.start
    k = problem.k
    if problem.dissolved is not None or (labels < 0).any() or not outside_band(problem, labels).any():
        return None
    t = problem.target
    load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
    inside = problem.tolerance * (1 - BAND_MARGIN)
    lower, upper = t * (1 - inside), t * (1 + inside)
    senders, receivers = load > t, load < t
    terrain = LocationMap(problem, graph, labels)
    terrain.reset(piece_labels(graph, np.where(terrain.counted, labels, -1), weights=problem.weight))
    idx, to, near = _touching(problem, terrain, labels, senders, receivers)
    # never farther from the receiver's centre than the far rule allows
    far_centres, far_limit = far_limits(problem, labels)
    near_enough = unit_km(problem.xyz[idx], far_centres[to]) <= far_limit[to]
    idx, to, near = idx[near_enough], to[near_enough], near[near_enough]
    if idx.size == 0:
        return None
    scale = mean_nearest_distance(problem.xyz, problem.weight, centres) or 1e-9
    give = _to_give(load, lower, upper, senders)
    for widen in WIDEN:
        # each account's nearest receivers among its sender's lightest accounts, and for each
        # receiver the lightest accounts that could fill it (no receiver is left without supply)
        keep = ((_nearest_receivers(idx, near, RECEIVERS * widen)
                 & _offered(problem, labels, idx, load - lower, give, SELECT_MIN * widen))
                | _filling(problem, idx, to, load - lower, np.maximum(t - load, 0.0), SELECT_MIN * widen,
                           FILL_MAX * widen))
        # an account of a territory's main body leaves only where the body stays in one piece
        chosen = np.flatnonzero(keep)
        accounts, first = np.unique(idx[chosen], return_inverse=True)
        safe = ~terrain.in_main[accounts] | np.fromiter(
            (terrain.stays_connected(int(i)) for i in accounts), dtype=bool, count=accounts.size)
        chosen = chosen[safe[first]]
        if chosen.size > MAX_PAIRS:
            return None
        best = _least_of_rounds(problem, graph, terrain, labels, load, lower, upper,
                                idx[chosen], to[chosen], near[chosen] / scale)
        if best is not None:
            # what is left cut or far, the repair after the solve joins or pulls in (docs/engine.md)
            return Solution(best, centres, np.where(best != labels, MOVED_BY_BALANCE, 0).astype(np.int8),
                            outside_band(problem, best), scale)
    return None


def _least_of_rounds(problem: Problem, graph, terrain: LocationMap, labels: np.ndarray, load: np.ndarray,
                     lower: np.ndarray, upper: np.ndarray, idx: np.ndarray, to: np.ndarray,
                     near: np.ndarray) -> np.ndarray | None:
    """The labels of the round that cut and sent far the fewest accounts (None when the first
    program has no whole solution)."""
    apart = today_pieces(problem, graph)
    before, _ = stray_accounts(problem, graph, labels, apart)
    best, best_left = None, np.inf
    for _ in range(ROUNDS):
        moved = _solve(problem, labels, load, lower, upper, idx, to, near)
        if moved is None:
            break
        stray, _ = stray_accounts(problem, graph, moved, apart)
        cut = stray & ~before
        far = far_accounts(problem, moved)
        if int(cut.sum() + far.sum()) < best_left:
            best, best_left = moved, int(cut.sum() + far.sum())
        if best_left == 0:
            break
        # two moves each safe alone cut a territory together (the accounts that left next to what
        # they cut off stay), or the receivers' centres moved with what they took (the far ones stay)
        culprits = np.union1d(_left_next_to(terrain, labels, moved, cut), np.flatnonzero(far))
        keep = ~np.isin(idx, culprits)
        if keep.all():
            break
        idx, to, near = idx[keep], to[keep], near[keep]
    return best


def _solve(problem: Problem, labels: np.ndarray, load: np.ndarray, lower: np.ndarray, upper: np.ndarray,
           idx: np.ndarray, to: np.ndarray, near: np.ndarray) -> np.ndarray | None:
    """The labels after the least-move program over the (account, receiver) pairs (None when the
    band cannot be met by them); ``near`` is the tie-break distance in mean distances."""
    k = problem.k
    w = problem.weight[idx]
    accounts, row_of = np.unique(idx, return_inverse=True)
    nv = idx.size
    one = sp.csr_matrix((np.ones(nv), (row_of, np.arange(nv))), shape=(accounts.size, nv))
    # a pair takes w from its sender and gives w to its receiver
    out = sp.csr_matrix((w, (labels[idx], np.arange(nv))), shape=(k, nv))
    into = sp.csr_matrix((w, (to, np.arange(nv))), shape=(k, nv))
    rows = [one, into - out]
    low = [np.zeros(accounts.size), lower - load]
    high = [np.ones(accounts.size), upper - load]
    leaves = problem.current[idx] >= 0  # an account new today has nothing to leave
    for limit in problem.limits:
        rows.append(sp.csr_matrix((limit.amount[idx] * leaves)[None, :]))
        low.append([-np.inf])
        high.append([limit.budget])
    cost = w * (leaves + EPSILON * near)
    result = mip.solve(cost, sp.vstack(rows, format="csr"), np.concatenate(low), np.concatenate(high),
                       np.zeros(nv), np.ones(nv), np.ones(nv, dtype=bool),
                       mip.Work(checks=mip.scaled_checks(problem.config.least_move_checks,
                                                         problem.config.least_move_work, nv), gap=GAP))
    if result.x is None:
        return None
    chosen = result.x > 0.5
    moved = labels.copy()
    moved[idx[chosen]] = to[chosen]
    if (outside_band(problem, moved) > 1e-9).any():
        return None
    return moved


def _filling(problem: Problem, idx: np.ndarray, to: np.ndarray, room: np.ndarray, need: np.ndarray,
             at_least: int, at_most: int) -> np.ndarray:
    """Boolean over the pairs: per receiving territory, the pairs of its lightest candidate
    accounts (no heavier than their sender may give) until ``SELECT_FACTOR`` x what it needs to
    reach its target (at least ``at_least``, at most ``at_most`` pairs)."""
    w = problem.weight[idx]
    order = np.lexsort((idx, w, to))
    order = order[w[order] <= room[problem.start[idx[order]]] + 1e-9]
    receiver = to[order]
    rank, before = _ranked(receiver, w[order])
    within = ((before <= SELECT_FACTOR * need[receiver]) | (rank < at_least)) & (rank < at_most)
    keep = np.zeros(idx.size, dtype=bool)
    keep[order[within]] = True
    return keep


def _ranked(group: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by ``group``: each row's rank within its group and the weight of the rows
    before it there."""
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    sizes = np.diff(np.r_[starts, group.size])
    cum = np.cumsum(weight)
    before = cum - np.repeat(np.r_[0.0, cum[starts[1:] - 1]], sizes) - weight
    return np.arange(group.size) - np.repeat(starts, sizes), before


def _nearest_receivers(idx: np.ndarray, near: np.ndarray, count: int) -> np.ndarray:
    """Boolean over the pairs: each account's ``count`` nearest receivers."""
    order = np.lexsort((near, idx))
    rank, _ = _ranked(idx[order], np.zeros(idx.size))
    keep = np.zeros(idx.size, dtype=bool)
    keep[order[rank < count]] = True
    return keep


def _left_next_to(terrain: LocationMap, labels: np.ndarray, moved: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """The accounts in ``cut`` that moved, and those that left a territory next to (or with) its
    accounts in ``cut``."""
    places = np.zeros(terrain.adjacency.shape[0], dtype=bool)
    places[terrain.location_of[cut]] = True
    around = places | (np.asarray(terrain.adjacency @ places.astype(float)).ravel() > 0)
    left = np.flatnonzero(moved != labels)
    next_to = around[terrain.location_of[left]] & np.isin(labels[left], labels[cut])
    return np.union1d(left[next_to], np.flatnonzero(cut & (moved != labels)))


def _touching(problem: Problem, terrain: LocationMap, labels: np.ndarray, senders: np.ndarray,
              receivers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (account, receiver) pairs: free accounts of a sending territory and the receiving
    territories holding an account at their location or next to it, with the distance to the
    nearest such account (unit-sphere chord)."""
    counted = np.flatnonzero(terrain.counted)
    loc_of = terrain.location_of
    n_loc = terrain.adjacency.shape[0]
    # a location's coordinates: those of its first account
    loc_xyz = np.zeros((n_loc, 3))
    loc_xyz[loc_of[counted][::-1]] = problem.xyz[counted][::-1]
    held = sp.csr_matrix((np.ones(counted.size), (loc_of[counted], labels[counted])), shape=(n_loc, problem.k))
    held.sum_duplicates()
    mine = counted[senders[labels[counted]]]
    if mine.size == 0:
        return (np.empty(0, np.int64),) * 2 + (np.empty(0),)
    # each sending account's own location and the locations around it
    ring = (sp.identity(n_loc, format="csr") + terrain.adjacency).tocsr()
    here = loc_of[mine]
    account = np.repeat(mine, np.diff(ring.indptr)[here])
    place = row_indices(ring, here)
    dist = np.linalg.norm(loc_xyz[place] - problem.xyz[account], axis=1)
    # the receiving territories at each of those places
    held = held.tocsr()
    counts = np.diff(held.indptr)[place]
    pair_account = np.repeat(account, counts)
    pair_dist = np.repeat(dist, counts)
    territory = row_indices(held, place)
    wanted = receivers[territory]
    pair_account, territory, pair_dist = pair_account[wanted], territory[wanted], pair_dist[wanted]
    if pair_account.size == 0:
        return (np.empty(0, np.int64),) * 2 + (np.empty(0),)
    # the nearest touching account per (account, receiver)
    order = np.lexsort((pair_dist, territory, pair_account))
    pair_account, territory, pair_dist = pair_account[order], territory[order], pair_dist[order]
    first = np.r_[True, (np.diff(pair_account) != 0) | (np.diff(territory) != 0)]
    return pair_account[first], territory[first], pair_dist[first]


def _to_give(load: np.ndarray, lower: np.ndarray, upper: np.ndarray, senders: np.ndarray) -> np.ndarray:
    """(k,) about what each sending territory gives: its load above the band, and a share (by how
    much it may give) of the shortfall that excess leaves unfilled."""
    room = np.where(senders, np.maximum(load - lower, 0.0), 0.0)
    excess = np.maximum(load - upper, 0.0)
    unmet = max(float(np.maximum(lower - load, 0.0).sum() - excess.sum()), 0.0)
    return excess + unmet * room / max(float(room.sum()), 1e-12)


def _offered(problem: Problem, labels: np.ndarray, idx: np.ndarray, room: np.ndarray,
             give: np.ndarray, at_least: int) -> np.ndarray:
    """Boolean over the pairs: per sending territory, its lightest accounts no heavier than what it
    may give (``room``), until ``SELECT_FACTOR`` x what it is about to give (at least
    ``at_least`` accounts)."""
    accounts = np.unique(idx)
    accounts = accounts[problem.weight[accounts] <= room[labels[accounts]] + 1e-9]
    accounts = accounts[np.lexsort((accounts, problem.weight[accounts], labels[accounts]))]
    home = labels[accounts]
    rank, before = _ranked(home, problem.weight[accounts])
    within = (before <= SELECT_FACTOR * give[home]) | (rank < at_least)
    return np.isin(idx, accounts[within])
