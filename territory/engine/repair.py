"""The repair stage: every territory in one piece, without giving up the band.

A territory's stray piece (not its largest, not on an island of its own, not across the sea from
its main body) must join another territory. Each round re-solves the final assignment exactly
(:func:`territory.engine.solve.assign`, same cells and centres) with the stray accounts barred
from their territory: the LP sends them to a nearby territory and shifts the prices, so every
boundary moves a little to absorb the change (moving only one layer of boundary accounts cut
new pieces as fast as it joined old ones). The LP keeps every territory within the band or
proves it cannot; then the pieces stay.

At stability 1 only pieces holding a moved account are stray: a piece that was already apart
today (an owner-based alignment kept as it is) is the user's own structure.
"""

from __future__ import annotations

import numpy as np

from territory.engine.solve import (
    MOVED_BY_BALANCE,
    MOVED_BY_CONTIGUITY,
    MoveBudget,
    Problem,
    Regions,
    Solution,
    assign,
    fine_cells,
    outside_band,
    resolve_graph,
)
from territory.engine.transport import LimitsInfeasible

NEAR_TERRITORIES = 4
"""A stray piece may join at most this many of the territories it touches (the nearest centres)."""


def stray_accounts(problem: Problem, graph, labels: np.ndarray,
                   today_pieces: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(stray (n,) bool, piece key (n,)): accounts in a piece of their territory that must rejoin
    it. Locked accounts are left out of the graph (a lock inside another area is a decision).
    ``today_pieces`` (n,): each account's piece of its territory today (0 the main piece, -1 none,
    :func:`territory.engine.polish.today_pieces`); when given, a piece of accounts that stay is
    today's structure only when it was apart today from what stays in the territory's main body
    now (a piece of unmoved accounts cut off by the moves around it is stray too)."""
    from territory.geo import island_pieces, piece_labels

    free = problem.free
    codes = np.where(free, labels, -1)
    rank = piece_labels(graph, codes, weights=problem.weight)
    stray = rank > 0
    if not stray.any():
        return stray, rank
    stray &= ~island_pieces(graph, problem.xyz, codes, rank)
    key = codes.astype(np.int64) * (int(rank.max()) + 1) + rank
    if stray.any():
        # a piece across the sea from its territory's main body may stay where the territories
        # based on that island group cannot hold its load (an archipelago's island worth 2.6
        # territories needs a third territory's piece, a small island needs a mainland
        # territory): then the largest such piece there stays, the others must join a neighbour
        # (Alaska split between three mainland territories)
        n_groups, group = _island_groups(graph, problem.xyz)
        if n_groups > 1:
            stray &= ~_needed_overseas(problem, codes, rank, key, group, n_groups, stray)
    if problem.keep_today_pieces and stray.any():
        # a piece holding an account that stays where it is today is left alone: today's own
        # structure, or accounts the moves cut off (re-solving those made more pieces than it
        # joined on the sample, measured 2026-12-06); only pieces made entirely of moved accounts
        # are stray
        kept = (labels == problem.current) & (problem.current >= 0)
        # (an owner-based alignment kept at stability 1 is scattered today, and its heaviest
        # piece changes as accounts arrive: there any piece holding an account that stays is
        # today's structure)
        if today_pieces is not None and (problem.today_on_map or not problem.strict):
            kept &= ~_cut_from_today(labels, rank, problem.weight, today_pieces, kept)
        stray &= ~np.isin(key, np.unique(key[stray & kept]))
    return stray, rank


def _cut_from_today(labels: np.ndarray, rank: np.ndarray, weight: np.ndarray, today_pieces: np.ndarray,
                    kept: np.ndarray) -> np.ndarray:
    """(n,) bool over the staying accounts: those the moves cut off from the rest of their piece
    of today. Each piece of today is anchored where most of it stays (in the territory's main
    body when any of it does); its staying accounts anywhere else were cut off. A territory in
    pieces today whose main body changes (a smaller piece grows past it) keeps its old main piece
    whole: today's structure, not a cut."""
    members = np.flatnonzero(kept & (today_pieces >= 0))
    if members.size == 0:
        return np.zeros(labels.size, dtype=bool)
    today_key = labels[members].astype(np.int64) * (int(today_pieces.max()) + 1) + today_pieces[members]
    now_key = labels[members].astype(np.int64) * (int(rank.max()) + 1) + rank[members]
    pairs, pair_of = np.unique(np.column_stack([today_key, now_key]), axis=0, return_inverse=True)
    pair_of = pair_of.ravel()
    pair_weight = np.bincount(pair_of, weights=weight[members] + 1e-12, minlength=len(pairs))
    in_body = np.bincount(pair_of, weights=(rank[members] == 0).astype(float), minlength=len(pairs)) > 0
    # per piece of today: its pair in the main body first, else its heaviest
    order = np.lexsort((-pair_weight, ~in_body, pairs[:, 0]))
    first = order[np.r_[True, np.diff(pairs[order, 0]) != 0]]
    anchored = np.zeros(len(pairs), dtype=bool)
    anchored[first] = True
    out = np.zeros(labels.size, dtype=bool)
    out[members] = ~anchored[pair_of]
    return out


def _island_groups(graph, xyz: np.ndarray) -> tuple[int, np.ndarray]:
    """:func:`territory.geo.island_groups`, computed once per graph: they depend on the accounts'
    places only, and the repair steps ask for them about a hundred times a run (10% of the
    engine's time on a 20,000-account metro)."""
    from territory.geo import island_groups

    cached = getattr(graph, "_island_groups", None)
    if cached is not None and cached[0] is xyz:
        return cached[1]
    groups = island_groups(graph, xyz)
    try:
        graph._island_groups = (xyz, groups)
    except AttributeError:  # a graph type that takes no attributes: computed each time
        pass
    return groups


def _around(graph, labels: np.ndarray, stray: np.ndarray, k: int) -> np.ndarray:
    """(n,) bool: the accounts of the territories that hold or touch a stray piece, and of their
    neighbours: the part of the map a repair round re-solves (the rest keeps its labels)."""
    src, dst = graph_edges(graph)
    involved = np.zeros(k, dtype=bool)
    involved[labels[stray]] = True
    involved[labels[dst[stray[src]]]] = True
    cross = labels[src] != labels[dst]
    ring = involved.copy()
    ring[labels[dst[cross & involved[labels[src]]]]] = True
    return ring[labels]


def _needed_overseas(problem: Problem, codes: np.ndarray, rank: np.ndarray, key: np.ndarray, group: np.ndarray,
                     n_groups: int, stray: np.ndarray) -> np.ndarray:
    """(n,) bool: accounts of the one piece per island group that may stay across the sea."""
    home_pairs = np.unique(codes[rank == 0].astype(np.int64) * n_groups + group[rank == 0])
    overseas = stray & ~np.isin(codes.astype(np.int64) * n_groups + group, home_pairs)
    keep = np.zeros(codes.size, dtype=bool)
    if not overseas.any():
        return keep
    home_room = np.bincount(home_pairs % n_groups, weights=problem.target[home_pairs // n_groups]
                            * (1 + problem.tolerance), minlength=n_groups)
    group_load = np.bincount(group, weights=problem.weight, minlength=n_groups)
    short = group_load > home_room + 1e-9  # the territories based there cannot hold it all
    candidates = overseas & short[group]
    if not candidates.any():
        return keep
    piece_key, piece_of = np.unique(key[candidates], return_inverse=True)
    load = np.bincount(piece_of, weights=problem.weight[candidates] + 1e-12)
    piece_group = np.zeros(piece_key.size, dtype=np.int64)
    piece_group[piece_of] = group[candidates]
    order = np.lexsort((-load, piece_group))
    first = np.r_[True, piece_group[order][1:] != piece_group[order][:-1]]
    return np.isin(key, piece_key[order[first]])


def repair(problem: Problem, solution: Solution) -> tuple[np.ndarray, int]:
    """(labels, stray accounts left): each round re-solves the final assignment exactly (same
    cells and centres) with the accounts of stray pieces that moved barred from the territory
    they joined, and with moves priced against the territories' main bodies in the latest
    alignment instead of today's (a chain of moves can leave a territory's new accounts beyond
    the layer it handed on). The LP shifts every boundary a little instead of peeling one layer,
    which would cut new pieces. A round is kept only if it leaves less stray load, within the band."""
    graph = resolve_graph(problem.adjacency)
    labels = solution.labels
    if graph is None or problem.k < 2:
        return labels, 0
    stray, rank = stray_accounts(problem, graph, labels)
    if not stray.any():
        return labels, 0
    # the local re-balance draws no cells: its pieces are re-solved on the global solve's cells
    cells = solution.cells if solution.cells is not None else fine_cells(problem)
    forbid = np.full(labels.size, -1, dtype=np.int64)
    for _ in range(problem.config.contiguity_rounds):
        if not stray.any():
            break
        moved = (labels != problem.current) | (problem.current < 0)
        forbid = np.where(stray & moved, labels, forbid)
        bodies = None
        if problem.regions is not None:
            bodies = Regions(problem.xyz, np.where((rank == 0) & problem.free, labels, -1), problem.k)
        best = None
        # the territories around the pieces first; the whole map when a big piece needs more room
        for only in (_around(graph, labels, stray, problem.k), None):
            try:
                trial, _ = assign(problem, cells, labels, solution.centres, solution.scale, exact=True,
                                       reach=solution.reach, forbid=forbid, regions=bodies, only=only)
            except LimitsInfeasible:  # the move budget cannot pay for rejoining the pieces
                continue
            # the band has the last word: a round that leaves any load outside it (the LP was
            # feasible, but its split accounts could not all be made whole) is not taken
            if outside_band(problem, trial).sum() > outside_band(problem, labels).sum() + 1e-9:
                continue
            new_stray, new_rank = stray_accounts(problem, graph, trial)
            if problem.weight[new_stray].sum() < problem.weight[stray].sum():
                best = trial, new_stray, new_rank
                break
        if best is None:
            break
        trial, new_stray, new_rank = best
        changed = trial != labels
        solution.how[changed & stray] = MOVED_BY_CONTIGUITY
        solution.how[changed & ~stray] = MOVED_BY_BALANCE
        labels, stray, rank = trial, new_stray, new_rank
    return labels, int(stray.sum())


def graph_edges(graph) -> tuple[np.ndarray, np.ndarray]:
    coo = graph.tocoo()
    keep = coo.row != coo.col
    return coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)


def settle_strays(problem: Problem, labels: np.ndarray, how: np.ndarray) -> np.ndarray:
    """Hand each remaining stray piece, smallest first, to a territory it touches (back to where
    its accounts are today when that territory touches it), if every territory stays within the
    hard band; a piece whose hand-over would break the band stays. The last word on contiguity
    after the exact solves, which aim inside the band and so leave room for these few accounts."""
    graph = resolve_graph(problem.adjacency)
    if graph is None or problem.k < 2:
        return labels
    stray, rank = stray_accounts(problem, graph, labels)
    if not stray.any():
        return labels
    labels = labels.copy()
    k = problem.k
    load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
    lower = problem.target * (1 - problem.tolerance) - 1e-9
    upper = problem.target * (1 + problem.tolerance) + 1e-9
    src, dst = graph_edges(graph)
    budget = MoveBudget(problem, labels)
    key = labels.astype(np.int64) * (int(rank.max()) + 1) + rank
    pieces, piece_of = np.unique(key[stray], return_inverse=True)
    members = np.flatnonzero(stray)
    piece_load = np.bincount(piece_of, weights=problem.weight[members])
    position = np.full(labels.size, -1, dtype=np.int64)
    position[members] = piece_of
    # each piece's accounts and outgoing edges, in their original order (one pass, not one per piece)
    by_piece = np.argsort(piece_of, kind="stable")
    member_bounds = np.searchsorted(piece_of[by_piece], np.arange(pieces.size + 1))
    edges = np.flatnonzero(position[src] >= 0)
    edges = edges[np.argsort(position[src[edges]], kind="stable")]
    edge_bounds = np.searchsorted(position[src[edges]], np.arange(pieces.size + 1))
    for p in np.argsort(piece_load, kind="stable"):
        accounts = members[by_piece[member_bounds[p]:member_bounds[p + 1]]]
        here = int(labels[accounts[0]])
        ends = dst[edges[edge_bounds[p]:edge_bounds[p + 1]]]
        touching = labels[ends[labels[ends] != here]]
        if touching.size == 0:
            continue
        home = problem.current[accounts]
        home = home[home >= 0]
        options = np.unique(touching)
        counts = np.array([(touching == t).sum() for t in options])
        order = np.argsort(-counts, kind="stable")
        if home.size and np.isin(np.bincount(home).argmax(), options):
            first = int(np.bincount(home).argmax())
            order = np.r_[np.flatnonzero(options == first), order[options[order] != first]]
        w = float(problem.weight[accounts].sum())
        for to in options[order]:
            if not budget.allows(accounts, here, to):
                continue
            if load[here] - w >= lower[here] and load[to] + w <= upper[to]:
                budget.spend(accounts, here, to)
                labels[accounts] = to
                how[accounts] = MOVED_BY_CONTIGUITY
                load[here] -= w
                load[to] += w
                break
    return labels
