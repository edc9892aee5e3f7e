"""Far accounts to a nearer territory, by an exact re-solve.

Issue #12's rule: a moved account lands within max(2 x radius, 300 km) of its territory's centre
(:func:`territory.engine.polish.far_accounts`). The polish pulls far accounts one at a time, and
only those that touch another territory: an account deep in a lobe of its territory, or one whose
territory cannot spare its load, stays. Here the whole question is one transportation problem at
the territories' current centres:

* a far account may join only a territory it would be near (within that territory's reach), or
  go back to where it is today;
* any other account on a border may stay or cross to a territory it touches, where it is near;
* the rest stay;
* every territory ends within the band (the LP is exact; its few split accounts are made whole
  by :func:`territory.engine.solve.whole_accounts`).

Leaving one's territory costs more than any travel it could save (as at stability 1), so the LP
moves the least load that puts the far accounts near and keeps the band, then the shortest
travel. Centres move with the accounts, so the re-solve runs again on the new centres while it
reduces the far accounts; a round that leaves more stray load or load outside the band is not
taken.
"""

from __future__ import annotations

import numpy as np

from territory.engine.polish import far_limits, unit_km
from territory.engine.repair import graph_edges, stray_accounts
from territory.engine.solve import (
    MOVED_BY_BALANCE,
    MOVED_BY_CONTIGUITY,
    Problem,
    assign_accounts,
    dedupe_candidates,
    outside_band,
)
from territory.engine.transport import LimitsInfeasible

ROUNDS = 3
"""Re-solves at the moved centres (each one reduces the far accounts or ends the stage)."""

CUT_ROUNDS = 6
"""Re-solves with the moves that cut an account off its territory undone (what is still apart
after these is joined by the contiguity steps)."""

KEEP_PENALTY = 100.0
"""Where the band cannot let every account that must leave go, one that stays costs this many
moves (per unit of load): a chain of up to a hundred border moves to make room for it comes first."""

MARGIN = 0.9
"""A move lands within this share of the receiving territory's reach (its centre and radius move
a little with the accounts it gains)."""


def mark_moves(before: np.ndarray, after: np.ndarray, far: np.ndarray, how: np.ndarray) -> None:
    """Record why the accounts that changed moved: the far ones to be near, the rest for balance."""
    changed = after != before
    how[changed & far] = MOVED_BY_CONTIGUITY
    how[changed & ~far] = MOVED_BY_BALANCE


def bring_near(problem: Problem, graph, labels: np.ndarray, leave: np.ndarray, scale: float) -> np.ndarray | None:
    """Labels after one exact re-solve at the current centres (module docstring), or None when the
    band cannot be met with the allowed moves."""
    if not leave.any():
        return None
    centres, limit = far_limits(problem, labels)
    reach = MARGIN * limit
    touching = _touching(graph, labels, problem.free, problem.k)
    on_border = (touching >= 0).any(axis=1)
    members = np.flatnonzero(problem.free & on_border)
    if members.size == 0:
        return None
    m = members.size
    # an account that must leave but touches no other territory waits for the layer around it
    leaves = leave[members]
    # candidates: its territory, today's territory, the territories it touches: each but its own
    # only where the account lands near that territory's centre, or back home
    cand = np.column_stack([labels[members], problem.current[members], touching[members]])
    safe = np.where(cand >= 0, cand, 0)
    distance = unit_km(problem.xyz[members][:, None, :], centres[safe])
    home = cand == problem.current[members][:, None]
    ok = (cand >= 0) & ((distance <= reach[safe]) | home)
    # an account beyond the margin of its own territory's reach leaves too where the band lets
    # every such account go (the centre moves with the accounts the round hands over)
    margin = ~ok[:, 0]
    ok[:, 0] = True
    cand = dedupe_candidates(np.where(ok, cand, -1))
    # leaving the territory it holds now costs more than any travel could save
    staying_bonus = _stay_bonus(problem, members, cand, centres, scale)
    position = np.full(labels.size, -1, dtype=np.int64)
    position[members] = np.arange(m)
    apart_before, _ = stray_accounts(problem, graph, labels)
    src, dst = graph_edges(graph)
    forced = True
    for _ in range(CUT_ROUNDS + 1):
        # an account that must leave may not stay; when the band cannot be met that way, it may, at
        # a price far above any chain of moves that makes room for it (only the band keeps it)
        staying = cand == labels[members][:, None]
        away = labels[members] != problem.current[members]
        kept = staying & (leaves & away)[:, None]
        extra = staying_bonus * (~staying + KEEP_PENALTY * kept)
        allowed = cand
        if forced:
            allowed = np.where(staying & ((leaves | margin) & away)[:, None], -1, cand)
            stuck = (allowed < 0).all(axis=1)  # nowhere near to go: it stays
            allowed[stuck, 0] = labels[members[stuck]]
        try:
            out, excess = assign_accounts(problem, members, allowed, labels, centres, scale, problem.regions,
                                          extra_cost=extra, quick=True)
        except LimitsInfeasible:
            out, excess = None, None
        if out is None or (excess.sum() > 1e-9
                           and outside_band(problem, out).sum() > outside_band(problem, labels).sum() + 1e-9):
            if forced:
                forced = False
                continue
            return None
        cut, _ = stray_accounts(problem, graph, out)
        cut &= ~apart_before
        if not cut.any():
            return out
        # an account the moves left apart from its territory: the move that took its neighbour
        # away is undone, or its own move when it crossed into a piece; the LP runs again. Where
        # only an account that must leave cut it off (the tip of a far lobe beyond a far account),
        # the cut-off accounts leave too when they touch another territory, and whatever is left
        # apart is joined by the contiguity steps after this round
        changed = out != labels
        culprits = np.unique(np.r_[np.flatnonzero(cut & changed),
                                   dst[cut[src] & changed[dst] & (labels[dst] == out[src])]])
        culprits = culprits[~leave[culprits]]
        if culprits.size == 0:
            follow = np.flatnonzero(cut & ~leave & (position >= 0))
            rows = position[follow]
            elsewhere = ((cand[rows] >= 0) & (cand[rows] != labels[follow][:, None])).any(axis=1)
            follow, rows = follow[elsewhere], rows[elsewhere]
            if follow.size == 0:
                return out
            leave = leave.copy()
            leave[follow] = True
            leaves[rows] = True
            continue
        rows = position[culprits]
        cand[rows] = -1
        cand[rows, 0] = labels[culprits]
    return out


def _stay_bonus(problem: Problem, members: np.ndarray, cand: np.ndarray, centres: np.ndarray,
                scale: float) -> float:
    """Per unit of load: more than the largest travel difference among the candidates."""
    safe = np.where(cand >= 0, cand, 0)
    d = np.linalg.norm(problem.xyz[members][:, None, :] - centres[safe], axis=2) / max(scale, 1e-12)
    spread = float(d.max() - d.min()) if d.size else 0.0
    return 10.0 * (spread + 1.0)


def _touching(graph, labels: np.ndarray, free: np.ndarray, k: int, width: int = 3) -> np.ndarray:
    """(n, width) other territories each account touches on the neighbour graph (-1 padded)."""
    coo = graph.tocoo()
    keep = (coo.row != coo.col) & free[coo.row] & free[coo.col] & (labels[coo.row] != labels[coo.col])
    row, other = coo.row[keep], labels[coo.col[keep]]
    n = labels.size
    out = np.full((n, width), -1, dtype=np.int64)
    if row.size == 0:
        return out
    pairs = np.unique(row.astype(np.int64) * k + other)
    row, other = pairs // k, pairs % k
    first = np.searchsorted(row, row)
    slot = np.arange(row.size) - first
    keep = slot < width
    out[row[keep], slot[keep]] = other[keep]
    return out
