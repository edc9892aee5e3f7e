"""The band's last word: an exact exchange of border accounts around the territories still outside it.

Every earlier stage keeps or reaches the band through LPs and roundings that can, on coarse
workloads, leave a territory just outside it: with heavy accounts piled in one city (four
accounts of 40% of a target each, a ±5% band narrower than most of them), the territories there
must trade whole accounts in the right combination, and rounding one LP's split accounts at a time
does not find it. Here a small integer program decides every trade at once:

    minimise    sum over moves  weight x (1 + EXCHANGE_TRAVEL x distance to the new centre / scale)
    subject to  each account takes exactly one of: its territory, a territory it touches, one of
                the NEAREST_CENTRES nearest centres of the territories involved
                lower_t <= load_t <= upper_t                  every territory involved
                the move budgets, when set

over the territories outside the band and their neighbours on the territory graph, ring by ring
(one, two, then three rings) until it is feasible. A move must land within the far rule's reach of
the new territory's centre, so an exchange never sends an account into a distant territory. It is
exact: when it answers, every territory it involves is inside the band; when no exchange within
three rings exists, the alignment stays as it was and the result says which territories are
outside, as before.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from territory.engine import mip
from territory.engine.centres import centroids
from territory.engine.polish import far_limits, unit_km
from territory.engine.repair import graph_edges
from territory.engine.solve import MOVED_BY_BALANCE, Problem, _spent

RINGS = 3
"""Rings of neighbouring territories around those outside the band that may trade (then it gives up)."""

MOST_PAIRS = 200_000
"""At most this many (account, territory) choices in one program (a ring with more is not tried)."""

NEAREST_CENTRES = 4
"""Besides the territories it touches, an account may join this many of the nearest involved centres."""

EXCHANGE_TRAVEL = 0.1
"""Weight of the distance to the new territory's centre against the moved load (a tie-break)."""


def outside_territories(problem: Problem, labels: np.ndarray) -> np.ndarray:
    """(k,) bool: territories whose load (fixed load included) is outside the hard band."""
    load = np.bincount(labels, weights=problem.weight, minlength=problem.k) + problem.fixed_load
    t = problem.target
    return (load > t * (1 + problem.tolerance) + 1e-9) | (load < t * (1 - problem.tolerance) - 1e-9)


def exchange(problem: Problem, graph, labels: np.ndarray, how: np.ndarray,
             staying: np.ndarray | None = None) -> np.ndarray | None:
    """The labels with every territory inside the band, by the least exchange of border accounts
    near the territories outside it; None when there is nothing to do, when the exchange does not
    apply (only local moves were asked for) or when no exchange within ``RINGS`` rings exists.
    ``how`` is updated for the accounts that move; ``staying`` (n,) bool: accounts that may not."""
    outside = outside_territories(problem, labels)
    if not outside.any() or graph is None or problem.fix_outside_only or problem.k < 2:
        return None
    src, dst = graph_edges(graph)
    free = problem.free if staying is None else problem.free & ~staying
    crossing = (labels[src] != labels[dst]) & free[src]
    src, dst = src[crossing], dst[crossing]
    k = problem.k
    touching = sp.csr_matrix((np.ones(src.size), (labels[src], labels[dst])), shape=(k, k)) > 0
    landing, reach = far_limits(problem, labels)
    involved = outside.copy()
    for ring in range(RINGS):
        grown = involved | touching[involved].toarray().any(axis=0)
        if ring and (grown == involved).all():  # no territory left to bring in
            return None
        involved = grown
        moved = _solve(problem, labels, involved, src, dst, landing, reach, free)
        if moved is not None:
            out = labels.copy()
            changed = moved[0][labels[moved[0]] != moved[1]]
            out[moved[0]] = moved[1]
            how[changed] = MOVED_BY_BALANCE
            return out
    return None


def _solve(problem: Problem, labels: np.ndarray, involved: np.ndarray, src: np.ndarray, dst: np.ndarray,
           landing: np.ndarray, reach: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(accounts, their territories) from the exchange program over the ``involved`` territories'
    border accounts, or None when it is infeasible (or too large, or unsolved in time)."""
    k = problem.k
    inside = involved[labels[src]] & involved[labels[dst]]
    account, to = src[inside], labels[dst[inside]]
    # besides the territories it touches, each account of the involved territories may join the
    # nearest of their centres: in a city of heavy accounts the trade that fits the band is rarely
    # between next-door territories alone
    members = np.flatnonzero(involved[labels] & free)
    terr = np.flatnonzero(involved)
    nearest = min(NEAREST_CENTRES, terr.size)
    _, which = cKDTree(landing[terr]).query(problem.xyz[members], k=nearest)  # chord order = great-circle order
    closest = terr[np.asarray(which).reshape(members.size, nearest)]
    account = np.r_[account, np.repeat(members, nearest)]
    to = np.r_[to, closest.ravel()]
    near = (unit_km(problem.xyz[account], landing[to]) <= reach[to]) & (to != labels[account])
    pairs = np.unique(account[near] * k + to[near])
    if pairs.size == 0:
        return None
    account, to = pairs // k, pairs % k
    movers = np.unique(account)
    # every mover may also stay where it is
    account = np.r_[movers, account]
    to = np.r_[labels[movers], to]
    if account.size > MOST_PAIRS:
        return None
    w = problem.weight
    nv = account.size
    rank = np.full(k, -1, dtype=np.int64)
    terr = np.flatnonzero(involved)
    rank[terr] = np.arange(terr.size)
    row = np.searchsorted(movers, account)
    load = np.bincount(labels, weights=w, minlength=k) + problem.fixed_load
    fixed = load - np.bincount(labels[movers], weights=w[movers], minlength=k)
    t = problem.target
    blocks = [sp.csr_matrix((np.ones(nv), (row, np.arange(nv))), shape=(movers.size, nv)),
              sp.csr_matrix((w[account], (rank[to], np.arange(nv))), shape=(terr.size, nv))]
    lower = [np.ones(movers.size), t[terr] * (1 - problem.tolerance) - fixed[terr]]
    upper = [np.ones(movers.size), t[terr] * (1 + problem.tolerance) - fixed[terr]]
    if problem.limits:
        others = np.ones(labels.size, dtype=bool)
        others[movers] = False
        spent = _spent(problem, np.flatnonzero(others & problem.free), labels[others & problem.free])
        leaves = (problem.current[account] >= 0) & (to != problem.current[account])
        for lim, used in zip(problem.limits, spent):
            blocks.append(sp.csr_matrix(np.where(leaves, lim.amount[account], 0.0)[None, :]))
            lower.append([-np.inf])
            upper.append([lim.budget - used])
    centres = centroids(problem.xyz, w, labels, k, np.zeros((k, 3)))
    distance = np.linalg.norm(problem.xyz[account] - centres[to], axis=1)
    scale = max(float(np.median(np.linalg.norm(problem.xyz[movers] - centres[labels[movers]], axis=1))), 1e-9)
    cost = np.where(to != labels[account], w[account] * (1.0 + EXCHANGE_TRAVEL * distance / scale), 0.0)
    result = mip.solve(cost, sp.vstack(blocks, format="csr"), np.concatenate(lower), np.concatenate(upper),
                       np.zeros(nv), np.ones(nv), np.ones(nv, dtype=bool),
                       mip.Work(checks=problem.config.exchange_checks, gap=EXCHANGE_GAP))
    if result.x is None:
        return None
    chosen = result.x > 0.5
    if np.bincount(row[chosen], minlength=movers.size).min() != 1:
        return None
    return account[chosen], to[chosen]


EXCHANGE_GAP = 0.01
"""The exchange program stops within 1% of the least moved load (any answer is inside the band)."""
