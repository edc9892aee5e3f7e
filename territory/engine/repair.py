"""The repair stage: every territory in one piece, without giving up the band.

A territory's stray piece (not its largest, not on an island of its own, not across the sea from
its main body) must join a territory it touches. Moving it changes loads, so each round is an
exact re-balance (:func:`territory.engine.solve.assign_accounts`): the stray accounts may only go
to the territories their piece touches, the boundary accounts of the territories nearby may
shift between neighbours to absorb the change, and everyone else stays. The LP keeps every
territory within the band or proves it cannot; then the pieces stay and a note says so.

At stability 1 only pieces holding a moved account are stray: a piece that was already apart
today (an owner-based alignment kept as it is) is the user's own structure.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from territory.engine.solve import MOVED_BY_BALANCE, MOVED_BY_CONTIGUITY, Problem, assign_accounts
from territory.engine.transport import LimitsInfeasible

NEAR_TERRITORIES = 4
"""A stray piece may join at most this many of the territories it touches (the nearest centres)."""


def resolve_graph(adjacency):
    """The neighbour graph itself: ``adjacency`` may be a Future (a triangulation running on a
    background thread, see ``geo.shared_delaunay_neighbors``); wait for it only here."""
    if adjacency is not None and not sp.issparse(adjacency) and hasattr(adjacency, "result"):
        return adjacency.result()
    return adjacency


def stray_accounts(problem: Problem, graph, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(stray (n,) bool, piece key (n,)): accounts in a piece of their territory that must rejoin
    it. Locked accounts are left out of the graph (a lock inside another area is a decision)."""
    from territory.geo import island_groups, island_pieces, piece_labels

    free = problem.free
    codes = np.where(free, labels, -1)
    rank = piece_labels(graph, codes, weights=problem.weight)
    stray = rank > 0
    if not stray.any():
        return stray, rank
    stray &= ~island_pieces(graph, problem.xyz, codes, rank)
    if stray.any():
        # a piece across the sea from its territory's main body (an archipelago territory) stays
        n_groups, group = island_groups(graph, problem.xyz)
        if n_groups > 1:
            main = np.unique(codes[rank == 0].astype(np.int64) * n_groups + group[rank == 0])
            stray &= np.isin(codes.astype(np.int64) * n_groups + group, main)
    if problem.strict and stray.any():
        moved = (labels != problem.current) & (problem.current >= 0) | (problem.current < 0)
        key = codes.astype(np.int64) * (int(rank.max()) + 1) + rank
        keep = np.unique(key[stray & moved])
        stray &= np.isin(key, keep)
    return stray, rank


def _edges(graph) -> tuple[np.ndarray, np.ndarray]:
    coo = graph.tocoo()
    keep = coo.row != coo.col
    return coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)


def repair(problem: Problem, labels: np.ndarray, centres: np.ndarray, how: np.ndarray,
           scale: float) -> tuple[np.ndarray, int]:
    """(labels, stray accounts left): rejoin stray pieces, re-balancing exactly each round."""
    graph = resolve_graph(problem.adjacency)
    if graph is None or problem.k < 2:
        return labels, 0
    src, dst = _edges(graph)
    stray, rank = stray_accounts(problem, graph, labels)
    for _ in range(problem.config.contiguity_rounds):
        if not stray.any():
            break
        trial = _rejoin(problem, labels, stray, rank, centres, scale, src, dst)
        if trial is None:
            break
        new_stray, new_rank = stray_accounts(problem, graph, trial)
        if new_stray.sum() >= stray.sum() and problem.weight[new_stray].sum() >= problem.weight[stray].sum():
            break
        changed = trial != labels
        how[changed & stray] = MOVED_BY_CONTIGUITY
        how[changed & ~stray] = MOVED_BY_BALANCE
        labels, stray, rank = trial, new_stray, new_rank
    return labels, int(stray.sum())


def _rejoin(problem: Problem, labels: np.ndarray, stray: np.ndarray, rank: np.ndarray, centres: np.ndarray,
            scale: float, src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """One exact re-balance that sends every stray piece to a territory it touches."""
    k = problem.k
    free = problem.free
    n = labels.size
    piece = labels.astype(np.int64) * (int(rank.max()) + 1) + rank
    # territories each stray piece touches (edges from the piece to another territory)
    leaving = stray[src] & (labels[dst] != labels[src]) & free[dst]
    pairs = np.unique(np.column_stack([piece[src[leaving]], labels[dst[leaving]]]), axis=0)
    boundary = (labels[src] != labels[dst]) & free[src] & free[dst]
    # boundary accounts of the territories involved and of their neighbours absorb the change
    involved = np.zeros(k, dtype=bool)
    involved[labels[stray]] = True
    involved[pairs[:, 1]] = True
    ring = np.unique(np.column_stack([labels[src[boundary]], labels[dst[boundary]]]), axis=0)
    reach = involved.copy()
    reach[ring[involved[ring[:, 0]], 1]] = True
    shift = boundary & reach[labels[src]] & ~stray[src]
    shift_pairs = np.unique(np.column_stack([src[shift], labels[dst[shift]]]), axis=0)

    members = np.unique(np.r_[np.flatnonzero(stray), shift_pairs[:, 0]])
    position = np.full(n, -1, dtype=np.int64)
    position[members] = np.arange(members.size)
    # stray accounts: the territories their piece touches (nearest centres first), never their own
    stray_idx = np.flatnonzero(stray)
    touch_piece, touch_terr = pairs[:, 0], pairs[:, 1]
    order = np.argsort(touch_piece, kind="stable")
    touch_piece, touch_terr = touch_piece[order], touch_terr[order]
    starts = np.searchsorted(touch_piece, piece[stray_idx])
    ends = np.searchsorted(touch_piece, piece[stray_idx], side="right")
    width = int(max(1, min(NEAR_TERRITORIES, (ends - starts).max(initial=1))))
    cand = np.full((members.size, max(width, 1) + 1), -1, dtype=np.int64)
    for i, a, b in zip(stray_idx, starts, ends):
        if b <= a:
            continue
        terr = touch_terr[a:b]
        if terr.size > width:
            d = ((centres[terr] - problem.xyz[i]) ** 2).sum(axis=1)
            terr = terr[np.argsort(d, kind="stable")[:width]]
        cand[position[i], :terr.size] = terr
    # boundary accounts: stay, or join a neighbouring territory
    shift_only = ~stray[members]
    cand[shift_only, 0] = labels[members[shift_only]]
    sp_pos = position[shift_pairs[:, 0]]
    order = np.lexsort((shift_pairs[:, 1], sp_pos))
    sp_pos, sp_terr = sp_pos[order], shift_pairs[order, 1]
    first = np.r_[True, sp_pos[1:] != sp_pos[:-1]]
    slot = np.arange(sp_pos.size) - np.maximum.accumulate(np.where(first, np.arange(sp_pos.size), 0)) + 1
    keep = slot < cand.shape[1]
    cand[sp_pos[keep], slot[keep]] = sp_terr[keep]
    unplaced = (cand >= 0).sum(axis=1) == 0
    if unplaced.any():  # a stray account whose piece touches no free territory: nothing to do
        members, cand = members[~unplaced], cand[~unplaced]
    try:
        trial, excess = assign_accounts(problem, members, cand, labels, centres, scale)
    except LimitsInfeasible:  # the move budget cannot pay for rejoining the pieces
        return None
    if excess.max(initial=0.0) > 1e-9 * max(1.0, float(problem.weight.sum())):
        return None
    return trial
