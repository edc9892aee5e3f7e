"""Local re-balancing for high stability: move the least load, across today's borders only.

When today's alignment is drawn on a map and the stability asks to keep it, a sales leader
expects border accounts to change hands between neighbours, and load to be passed on along a
chain of neighbours when a territory far away needs it, never an account handed to a territory
across the map or a piece cut out of the middle of a territory. Two exact steps do that:

1. **How much crosses each border**: a linear program on the territory graph (territories that
   share an edge of the accounts' Delaunay graph are neighbours; a dissolved territory is a node
   that must hand everything on). Flows ``f[a, b] >= 0`` on neighbour pairs bring every
   territory into its band and minimise the moved load ``sum f``. A territory passes on at most
   its own movable load (what it receives stays with it), so a flow never tunnels through a
   territory as a jump.
2. **Which accounts**: a transportation LP over the accounts near those borders (each may stay
   or join a neighbour its territory sends to), priced by ``1 + distance to the receiving
   territory's nearest account / mean distance``, so each border moves in layers from the
   outside in; then the small MIP of :func:`territory.engine.transport.round_split` for the
   few split accounts.

A dissolved territory (a rep leaves, fewer territories than today) is handed on first: each
territory around it takes the share the border flows send it, in one piece joined to it
(:func:`_hand_on_dissolved`), and the safe moves then pass any surplus on along the chain.

Returns None when the borders cannot carry the change (a lopsided start that needs load moved
across the whole map); the global solve then takes over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from territory.engine import direct
from territory.engine import transport as tp
from territory.engine.centres import centroids, medians
from territory.engine.flows import HOP_WEIGHT, border_flows, hop_costs
from territory.engine.polish import LocationMap, carry_flows, far_accounts, today_pieces
from territory.engine.repair import stray_accounts
from territory.engine.solve import (
    MOVED_BY_BALANCE,
    MoveBudget,
    Problem,
    Regions,
    Solution,
    mean_nearest_distance,
    outside_band,
    resolve_graph,
    whole_accounts,
)

SELECT_FACTOR = 3.0
"""Accounts considered per sending territory: the nearest to its receivers, up to this many times
its outflow (at least ``SELECT_MIN``)."""
SELECT_MIN = 50
ROUNDING_ROOM = 0.8
"""The border flows aim inside this share of the tolerance, so whole accounts fit in the rest."""


def least_moved_across_borders(problem: Problem) -> float | None:
    """The least load any alignment within the band must move when accounts move only to a
    territory bordering theirs today (load passed on along chains counts at every border it
    crosses): the border-flow LP over the whole band, a lower bound for the local re-balance.
    When a dissolved territory borders only dissolved ones, that has no answer; its accounts then
    move once, to the kept territory they end in, through the dissolved ones. None without today's
    alignment or a neighbour graph."""
    graph = resolve_graph(problem.adjacency)
    if graph is None or problem.today is None or problem.k < 2:
        return None
    full = replace(problem, aim=problem.tolerance, fix_outside_only=False)
    nodes = _nodes(full, problem.start)
    _, _, flow = border_flows(full, nodes, graph)
    if flow.size or not (nodes >= problem.k).any():
        return float(flow.sum())
    _, dst, flow = border_flows(full, nodes, graph, through_dissolved=True)
    return float(flow[dst < problem.k].sum())


def _node_centres(problem: Problem, nodes: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(nodes, 3) the territories' centres, then the dissolved territories' own centroids."""
    n_nodes = max(int(nodes.max()) + 1 if nodes.size else problem.k, problem.k)
    if n_nodes == problem.k:
        return centres
    extra = centroids(problem.xyz, problem.weight, np.maximum(nodes, 0), n_nodes, np.zeros((n_nodes, 3)))
    return np.vstack([centres, extra[problem.k:]])


def _nodes(problem: Problem, labels: np.ndarray) -> np.ndarray:
    """Node per account: its territory (today's, new accounts with the territory they sit in, a
    new territory's carved accounts with it), or k + the dissolved territory it came from."""
    nodes = labels.copy()
    if problem.dissolved is not None:
        gone = problem.dissolved >= 0
        nodes[gone] = problem.k + problem.dissolved[gone]
    return nodes


def rebalance(problem: Problem) -> list[Solution]:
    """The local re-balance's answers (module docstring), none when the borders cannot carry it;
    several when the safe moves reach the band more than one way (landing an account far from its
    new territory and not; on from where a higher aim stalled and afresh): the repair pulls far
    accounts in at many times their load or at none, so the caller repairs them in order of moved
    load and keeps the best.

    When a territory must pass on more than its own accounts (a lopsided start: load must cross
    several territories), one step brings every territory as close to its band as the borders
    allow and the next step starts from there, up to ``MAX_STEPS``: each step still moves
    accounts only to a territory they border."""
    graph = resolve_graph(problem.adjacency)
    if graph is None or problem.k < 2:
        return []
    # aim inside the band so whole accounts fit, and a piece cut off can still be handed back
    aim = min(problem.aim, ROUNDING_ROOM * problem.tolerance)
    centres = medians(problem.xyz, problem.weight, problem.start, problem.k, problem.anchor_centres,
                      problem.config.median_steps)
    centres[problem.anchored] = problem.anchor_centres[problem.anchored]
    scale = mean_nearest_distance(problem.xyz, problem.weight, centres) or 1e-9
    if problem.strict and not problem.today_on_map and not problem.fix_outside_only:
        straight = direct.least_moves(problem, graph, centres)
        if straight is not None:
            return [straight]
    if problem.dissolved is not None:
        shares = (SAFE_AIMS if problem.strict else ()) + (aim / max(problem.tolerance, 1e-12),)
        handed_at = {}

        def handed(share: float) -> np.ndarray | None:
            if share not in handed_at:
                aimed = replace(problem, aim=share * problem.tolerance)
                handed_at[share] = _hand_on_dissolved(aimed, graph, centres, scale)
            return handed_at[share]

        aims = list(dict.fromkeys(round(y, 9) for y in shares))
        # with no account carried on landing far from its new territory (the repair spent seconds
        # pulling such accounts back), and with any: either may move less, the caller keeps the better
        answers = [answer for keep_near in (True, False)
                   for answer in _first_carried(replace(problem, dissolved=None), aims, graph, centres, scale,
                                                keep_near, fresh=handed)]
        gone = problem.dissolved >= 0
        for answer in answers:
            answer.how = np.where((answer.labels != problem.start) | gone, MOVED_BY_BALANCE, 0).astype(np.int8)
        if answers:
            return answers
    if problem.dissolved is None:
        # at stability 1 the flows aim near the band's edge (the least moved load), with less
        # room for whole accounts each time it fails
        shares = (SAFE_AIMS if problem.strict else ()) + (aim / max(problem.tolerance, 1e-12),)
        carved = _carve_new(problem, graph)
        starts = ((replace(problem, start=carved),) if carved is not None else ()) + (problem,)
        kept = []
        aims = list(dict.fromkeys(round(y, 9) for y in shares))
        for start in starts:
            carried = _first_carried(start, aims, graph, centres, scale, keep_near=False)
            if not carried:
                continue
            if not any(far_accounts(problem, answer.labels).any() for answer in carried):
                return carried
            # the same with no carried account landing far from its new territory
            near = [answer for answer in _first_carried(start, aims, graph, centres, scale, keep_near=True)
                    if not far_accounts(problem, answer.labels).any()]
            if near:
                return carried + near
            # a carve that leaves an account far from its new territory gives way to today's start
            kept = carried  # both leave one: today's start, the last tried
        if kept:
            return kept
    problem = replace(problem, aim=aim)
    nodes = _nodes(problem, problem.start)
    solution = None
    for _ in range(1 if problem.fix_outside_only else MAX_STEPS):
        step = _step(problem, nodes, graph, centres, scale)
        if step is None:
            return []
        nodes, solution, done = step.labels, step, bool(step.excess.max(initial=0.0) <= 0)
        if done:
            break
    if solution is None or (solution.excess.max(initial=0.0) > 0 and not problem.fix_outside_only):
        return []
    # a stray piece of moved accounts (a layer cut by the rounding or by a neighbour's own layer
    # leaving) is barred from the territory it joined, and the last step is taken again
    for _ in range(problem.config.contiguity_rounds):
        stray, _ = stray_accounts(problem, graph, solution.labels)
        if not stray.any():
            break
        trial = _step(problem, solution.start_nodes, graph, centres, scale, barred=np.where(stray, solution.labels, -1))
        if trial is None or trial.excess.sum() > solution.excess.sum() + 1e-9:
            break
        if problem.weight[stray_accounts(problem, graph, trial.labels)[0]].sum() >= problem.weight[stray].sum():
            break
        solution = trial
    return [Solution(solution.labels, centres, np.full(solution.labels.size, MOVED_BY_BALANCE, dtype=np.int8),
                     solution.excess, scale)]


def _first_carried(problem: Problem, aims: list[float], graph, centres: np.ndarray, scale: float,
                   keep_near: bool, fresh=None) -> list[Solution]:
    """The safe moves' answers at the first of ``aims`` (shares of the tolerance) that reaches the
    band. Each aim after a stall is tried on from where the stall left off and afresh: going on
    keeps the flows the higher aim carried at their least, starting afresh with more room
    carries them all again, and either can move less (the caller keeps the better). ``fresh``:
    the labels to start afresh from at a share (None: skip that share), else ``problem.start``."""
    closest = None
    for share in aims:
        start = problem.start if fresh is None else fresh(share)
        if start is None:
            continue
        begins = ([closest.labels] if closest is not None else []) + [start]
        carried, short = _carried_from(replace(problem, aim=share * problem.tolerance), begins, graph, centres,
                                       scale, keep_near)
        if carried:
            return carried
        closest = _closer(closest, short)
    return []


def _carried_from(problem: Problem, begins: list[np.ndarray], graph, centres: np.ndarray, scale: float,
                  keep_near: bool) -> tuple[list[Solution], Solution | None]:
    """The safe moves from each of ``begins`` (labels): (the answers within the band; the one
    nearest the band when none is, or None)."""
    within, closest = [], None
    for begin in begins:
        carried = _by_safe_moves(replace(problem, start=begin), graph, centres, scale, keep_near=keep_near)
        if carried is not None and _within_band(carried):
            within.append(carried)
        elif not within:
            closest = _closer(closest, carried)
    return within, (None if within else closest)


def _within_band(solution: Solution) -> bool:
    return not (solution.excess > 1e-9).any()


def _closer(a: Solution | None, b: Solution | None) -> Solution | None:
    """Of two answers (either may be None), the one with less load outside the band."""
    if a is None or b is None:
        return a if b is None else b
    return b if b.excess.sum() < a.excess.sum() else a


def _by_safe_moves(problem: Problem, graph, centres: np.ndarray, scale: float,
                   keep_near: bool = False) -> Solution | None:
    """The border flows carried by moves that cannot cut a territory (:mod:`territory.engine.polish`:
    each account joins the receiving territory's main body and leaves its own connected), one step
    after another; None when nothing could be carried or a move made a new piece. Otherwise the
    labels reached, with the load still outside the band in ``excess`` when the flows stalled
    short of it (:func:`_within_band` tells). First choice of the local re-balance: the LP's
    choice of accounts is cheaper in travel but can cut off a pocket of accounts that stay."""
    from territory.geo import piece_labels

    labels = problem.start.copy()
    if (labels < 0).any():
        return None
    terrain = LocationMap(problem, graph, labels)
    budget = MoveBudget(problem, labels)
    free = terrain.counted
    start = labels.copy()
    off_before = int((piece_labels(graph, np.where(free, labels, -1), weights=problem.weight) > 0).sum())
    how = np.zeros(labels.size, dtype=np.int8)
    blocked: set[tuple[int, int]] = set()
    least_outside, stalled = np.inf, 0
    for _ in range(2 * MAX_STEPS):
        outside = float(outside_band(problem, labels).sum())
        if outside <= 1e-9:
            break
        stalled = 0 if outside < 0.99 * least_outside else stalled + 1
        least_outside = min(least_outside, outside)
        if stalled >= STALLED_STEPS:
            break
        hop = hop_costs(_node_centres(problem, labels, centres), scale)
        src, dst, flow = border_flows(problem, labels, graph, hop, linked=free, blocked=blocked)
        if not flow.size:
            break
        terrain.reset(piece_labels(graph, np.where(free, labels, -1), weights=problem.weight))
        carried, exhausted = carry_flows(problem, terrain, budget, src, dst, flow, how, main_only=False,
                                         keep_near=keep_near)
        short = exhausted & (carried < 0.5 * flow)
        if not (carried > 0).any() and not short.any():
            break
        # a border that could not carry half its flow (a narrow neck, heavy accounts) is closed:
        # the next flows go round it
        blocked.update(zip(src[short].tolist(), dst[short].tolist()))
    excess = outside_band(problem, labels)
    if (labels == start).all() and (excess > 1e-9).any():
        return None
    # no new piece: no more accounts off their territory's main piece, or nothing cut off by the
    # polish's rule (a piece of today that grew past its territory's old main body cuts nothing)
    off_after = int((piece_labels(graph, np.where(free, labels, -1), weights=problem.weight) > 0).sum())
    if off_after > off_before:
        pieces = today_pieces(problem, graph)
        cut = stray_accounts(problem, graph, labels, pieces)[0] & ~stray_accounts(problem, graph, start, pieces)[0]
        if cut.any():
            return None
    return Solution(labels, centres, np.where(labels != problem.start, MOVED_BY_BALANCE, 0).astype(np.int8),
                    excess, scale)


def _hand_on_dissolved(problem: Problem, graph, centres: np.ndarray, scale: float) -> np.ndarray | None:
    """Labels with every dissolved territory's accounts handed to the territories around it, as
    much to each as the border flows send it, and each share in one piece joined to its receiver.

    A transportation LP over the dissolved accounts alone, priced by the shortest path on the
    neighbour graph from each receiver's border: an account goes where ``path - price`` is least,
    so the account before it on its path goes there too, and every receiver's share is connected
    to it (up to the few accounts the rounding settles; a piece those cut off joins the touching
    territory furthest below its share). The other territories keep their accounts; the safe moves
    then pass the surplus on. None when a dissolved account cannot be reached."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from territory.geo import piece_labels

    k, n = problem.k, problem.weight.size
    nodes = _nodes(problem, problem.start)
    hop = hop_costs(_node_centres(problem, nodes, centres), scale)
    src, dst, flow = border_flows(problem, nodes, graph, hop)
    into = (src >= k) & (dst < k)
    if not into.any():
        return None
    share = np.bincount(dst[into], weights=flow[into], minlength=k)
    receivers = np.flatnonzero(share > 1e-9)
    idx = np.flatnonzero(nodes >= k)
    if idx.size * receivers.size > HAND_ON_MAX_PAIRS:  # most of the map dissolved: the steps below
        return None
    labels = np.where(nodes < k, nodes, -1)
    # the dissolved accounts' graph, plus one source per receiver joined to the accounts it touches
    coo = graph.tocoo()
    row, col = coo.row.astype(np.int64), coo.col.astype(np.int64)
    length = np.sqrt(((problem.xyz[row] - problem.xyz[col]) ** 2).sum(axis=1)) + 1e-12
    position = np.full(n, -1, dtype=np.int64)
    position[idx] = np.arange(idx.size)
    source = np.full(k, -1, dtype=np.int64)
    source[receivers] = idx.size + np.arange(receivers.size)
    inside = (position[row] >= 0) & (position[col] >= 0)
    contact = (position[row] >= 0) & (labels[col] >= 0)
    contact[contact] = source[labels[col[contact]]] >= 0
    tails = np.r_[position[row[inside]], source[labels[col[contact]]]]
    heads = np.r_[position[col[inside]], position[row[contact]]]
    lengths = np.r_[length[inside], length[contact]]
    order = np.lexsort((lengths, heads, tails))
    tails, heads, lengths = tails[order], heads[order], lengths[order]
    first = np.r_[True, (np.diff(tails) != 0) | (np.diff(heads) != 0)]
    size = idx.size + receivers.size
    paths = csr_matrix((lengths[first], (tails[first], heads[first])), shape=(size, size))
    reach = dijkstra(paths, directed=True, indices=idx.size + np.arange(receivers.size))[:, :idx.size].T
    if not np.isfinite(reach).any(axis=1).all():
        return None
    width = int(np.isfinite(reach).sum(axis=1).max())
    nearest = np.argsort(reach, axis=1, kind="stable")[:, :width]
    depth = np.take_along_axis(reach, nearest, axis=1)
    cand = np.where(np.isfinite(depth), receivers[nearest], -1)
    cost = np.where(cand >= 0, depth / scale, 0.0)
    room = 0.5 * problem.tolerance * problem.target
    band = tp.Band(np.maximum(share - room, 0.0), share + room, share, share)
    w = problem.weight[idx]
    answer = tp.transport(w, cand, cost, band, time_limit=problem.config.lp_seconds)
    choice = whole_accounts(problem, answer, cand, cost, w, band, ())
    labels[idx] = cand[np.arange(idx.size), choice]
    got = np.bincount(labels[idx], weights=w, minlength=k)
    handed = position >= 0
    for _ in range(HAND_ON_ROUNDS):
        rank = piece_labels(graph, np.where(problem.free, labels, -1), weights=problem.weight)
        key = labels.astype(np.int64) * (int(rank.max()) + 1) + rank
        cut = handed & ~np.isin(key, key[~handed & (labels >= 0)])
        edge = cut[row] & (labels[col] != labels[row]) & ~cut[col]
        if not edge.any():
            break
        pieces, piece_of = np.unique(key[row[edge]], return_inverse=True)
        touched = labels[col[edge]]
        for p in range(pieces.size):
            options = np.unique(touched[piece_of == p])
            members = np.flatnonzero(cut & (key == pieces[p]))
            to = int(options[np.argmax(share[options] - got[options])])
            got[labels[members[0]]] -= problem.weight[members].sum()
            got[to] += problem.weight[members].sum()
            labels[members] = to
    return labels


def _carve_new(problem: Problem, graph) -> np.ndarray | None:
    """The start with each new territory (none of today's accounts) carved where the border
    flows then move least: for each new territory in turn, a share of one of the busiest
    territories (cut along its widest axis), the choice whose carved load plus the border-flow
    LP's moved load from there is least. Today's start carves half of the busiest, which leaves
    two territories half empty. None when there is no new territory (or one holds accounts
    without a territory today)."""
    from territory.engine import seed as seeding

    k = problem.k
    have = problem.current >= 0
    new = np.flatnonzero(np.bincount(problem.current[have], minlength=k) == 0)
    if new.size == 0 or problem.dissolved is not None or np.isin(problem.start[~have], new).any():
        return None
    labels = problem.start.copy()
    carved = np.isin(labels, new) & have
    labels[carved] = problem.current[carved]
    full = replace(problem, aim=problem.tolerance)
    pieces = today_pieces(problem, graph)
    for j in new:
        load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
        best_cost, best = np.inf, None
        for t in np.argsort(-load / np.maximum(problem.target, 1e-12), kind="stable")[:CARVE_FROM]:
            members = np.flatnonzero((labels == t) & problem.free)
            if members.size < 2 or t in new:
                continue
            for share in CARVE_SHARES:
                part = seeding.bisect(problem.xyz[members], problem.weight[members], np.array([1 - share, share]))
                trial = labels.copy()
                trial[members[part == 1]] = j
                _, _, flow = border_flows(full, trial, graph)
                cost = float(problem.weight[members[part == 1]].sum() + flow.sum())
                if cost < best_cost and _carves_cleanly(problem, graph, trial, j, pieces):
                    best_cost, best = cost, trial
        for seed in _junction_seeds(problem, graph, labels, load, new):
            trial = labels.copy()
            trial[seed] = j
            _, _, flow = border_flows(full, trial, graph)
            cost = float(problem.weight[seed].sum() + flow.sum())
            if cost < best_cost and _carves_cleanly(problem, graph, trial, j, pieces):
                best_cost, best = cost, trial
        if best is None:
            return None
        labels = best
    return labels


def _carves_cleanly(problem: Problem, graph, trial: np.ndarray, new: int, pieces: np.ndarray | None) -> bool:
    """Is the carve of territory ``new`` one piece, and did it cut no piece off the territories
    it was carved from? (A new territory grows from its carve: a carve in pieces grows pieces, and
    a pocket it cuts off is moved again by the repair.)"""
    from territory.geo import piece_labels

    members = trial == new
    if not members.any() or int(piece_labels(graph, np.where(members, 0, -1)).max()) != 0:
        return False
    return not stray_accounts(problem, graph, trial, pieces)[0].any()


def _junction_seeds(problem: Problem, graph, labels: np.ndarray, load: np.ndarray, new: np.ndarray) -> list:
    """Small seeds for a new territory where three or more territories meet, busiest first: an
    account there and its neighbours. Grown by the border flows, a territory started there takes a
    share of each territory around it instead of half of one (which its own neighbours then refill)."""
    k = problem.k
    graph = graph.tocsr()
    coo = graph.tocoo()
    row, col = coo.row.astype(np.int64), coo.col.astype(np.int64)
    usable = problem.free & (labels >= 0) & ~np.isin(labels, new)
    keep = usable[row] & usable[col]
    row, col = row[keep], col[keep]
    pairs = np.unique(np.r_[row * k + labels[col], np.flatnonzero(usable) * k + labels[usable]])
    account, territory = pairs // k, pairs % k  # sorted by account
    distinct = np.bincount(account, minlength=labels.size)
    busy = np.bincount(account, weights=(load / np.maximum(problem.target, 1e-12))[territory], minlength=labels.size)
    junction = np.flatnonzero(distinct >= 3)
    if junction.size == 0:
        return []
    order = junction[np.argsort(-busy[junction] / distinct[junction], kind="stable")]
    seeds, seen = [], set()
    first, last = np.searchsorted(account, order), np.searchsorted(account, order, side="right")
    for a, lo, hi in zip(order, first, last):
        around = frozenset(territory[lo:hi].tolist())
        if around in seen:
            continue
        seen.add(around)
        touching = graph.indices[graph.indptr[a]:graph.indptr[a + 1]]
        seeds.append(np.unique(np.r_[a, touching[usable[touching]]]))
        if len(seeds) >= JUNCTIONS:
            break
    return seeds


CARVE_FROM = 3
"""The busiest territories (per target) a new territory may be carved from..."""
CARVE_SHARES = (0.15, 0.35, 0.5)
"""... and the shares of one tried: the carve plus the border flows from it, least wins."""
JUNCTIONS = 12
"""Junctions of three or more territories tried as a new territory's seed (busiest first)."""
HAND_ON_ROUNDS = 10
"""Rounds in which a piece of dissolved accounts cut off from its receiver joins a neighbour."""
HAND_ON_MAX_PAIRS = 4_000_000
"""Most (dissolved account, receiver) path lengths held at once (32 MB)."""

STALLED_STEPS = 4
"""The safe-move re-balance gives up after this many steps without 1% less load outside the band."""
SAFE_AIMS = (0.95, 0.8)
"""At stability 1, the shares of the tolerance the safe-move re-balance aims at, tried in turn."""
MAX_STEPS = 12
"""Most local steps when load must cross several territories (one territory further per step)."""


@dataclass
class _Step:
    labels: np.ndarray  # (n,) territory per account after the step
    excess: np.ndarray  # (k,) load still outside the hard band
    start_nodes: np.ndarray  # (n,) the nodes the step started from


def _step(problem: Problem, nodes: np.ndarray, graph, centres: np.ndarray, scale: float,
          barred: np.ndarray | None = None) -> _Step | None:
    """One local step from ``nodes``: border flows, then which accounts (an account-level LP and
    the rounding). ``barred`` (n,): a territory an account may not join (-1 for none)."""
    k = problem.k
    hop = hop_costs(_node_centres(problem, nodes, centres), scale)
    src, dst, flow = border_flows(problem, nodes, graph, hop)
    labels = np.where(nodes < k, nodes, -1)
    if not flow.size:
        if (labels < 0).any():
            return None
        load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
        return _Step(labels, _outside(problem, load), nodes)
    order = np.lexsort((dst, src))
    src, dst, flow = src[order], dst[order], flow[order]
    senders, first = np.unique(src, return_index=True)
    width = int(np.diff(np.r_[first, src.size]).max())
    receivers = np.full((int(nodes.max()) + 1, width), -1, dtype=np.int64)
    for s_node, lo, hi in zip(senders, first, np.r_[first[1:], src.size]):
        receivers[s_node, :hi - lo] = dst[lo:hi]
    out_load = np.bincount(src, weights=flow, minlength=receivers.shape[0])
    movable = problem.free & (nodes >= 0) & np.isin(nodes, senders)
    idx = np.flatnonzero(movable)
    cand = np.column_stack([np.where(nodes[idx] < k, nodes[idx], -1), receivers[nodes[idx]]])
    if barred is not None:
        cand[:, 1:][cand[:, 1:] == barred[idx][:, None]] = -1
    depth = Regions(problem.xyz, labels, k).distance(problem.xyz[idx], np.where(cand[:, 1:] < k, cand[:, 1:], -1))
    depth = np.where(cand[:, 1:] >= 0, depth, np.inf)
    # only the accounts nearest their receivers (plenty to choose from), all of a dissolved territory's
    chosen = _nearest_per_sender(nodes[idx], depth.min(axis=1), problem.weight[idx], out_load, k)
    idx, cand, depth = idx[chosen], cand[chosen], depth[chosen]
    # a move costs 1, plus how deep the account sits from the receiver, plus a little for how far
    # the receiver's centre is (a border account of Texas goes to the nearer of two neighbours)
    to_centre = np.sqrt(((problem.xyz[idx][:, None, :] - centres[np.maximum(cand[:, 1:], 0)]) ** 2).sum(axis=2))
    cost = np.column_stack([np.zeros(idx.size), 1.0 + depth / scale + HOP_WEIGHT * to_centre / scale])
    cost[~np.isfinite(cost)] = 0.0
    moved = _assign_moves(problem, labels.copy(), idx, cand, cost)
    if moved is None:
        return None
    new_labels, excess = moved
    return _Step(new_labels, excess, nodes)


def _outside(problem: Problem, load: np.ndarray) -> np.ndarray:
    t = problem.target
    return np.maximum(load - t * (1 + problem.tolerance), 0.0) + np.maximum(t * (1 - problem.tolerance) - load, 0.0)


def _nearest_per_sender(node: np.ndarray, nearest: np.ndarray, weight: np.ndarray, out_load: np.ndarray,
                        k: int) -> np.ndarray:
    """Boolean over the candidates: per sending node, its accounts nearest its receivers until
    SELECT_FACTOR x its outflow (at least SELECT_MIN accounts); every account of a dissolved one."""
    order = np.lexsort((nearest, node))
    sorted_node = node[order]
    cum = np.cumsum(weight[order])
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_node)) + 1]
    base = np.repeat(np.r_[0.0, cum[starts[1:] - 1]], np.diff(np.r_[starts, order.size]))
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    within = (cum - base - weight[order] <= SELECT_FACTOR * out_load[sorted_node]) | (rank < SELECT_MIN)
    within |= sorted_node >= k
    keep = np.zeros(node.size, dtype=bool)
    keep[order[within]] = True
    return keep


def _assign_moves(problem: Problem, labels: np.ndarray, idx: np.ndarray, cand: np.ndarray,
                  cost: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, load outside the band): the account-level LP over the chosen accounts, everyone
    else staying, then the rounding; None when a dissolved territory's account has nowhere to go."""
    others = np.ones(labels.size, dtype=bool)
    others[idx] = False
    if (labels[others] < 0).any() or ((cand >= 0).sum(axis=1) == 0).any():
        return None
    fixed = problem.fixed_load + np.bincount(labels[others], weights=problem.weight[others], minlength=problem.k)
    band = problem.band(fixed)
    w = problem.weight[idx]
    limits = round_limits(problem, idx, cand, labels, others)
    try:
        flow = tp.transport(w, cand, cost, band, limits, time_limit=problem.config.lp_seconds)
    except tp.LimitsInfeasible:
        return None
    choice = whole_accounts(problem, flow, cand, cost, w, band, limits)
    labels[idx] = cand[np.arange(idx.size), choice]
    load = np.bincount(labels, weights=problem.weight, minlength=problem.k) + problem.fixed_load
    return labels, _outside(problem, load)


def round_limits(problem: Problem, idx: np.ndarray, cand: np.ndarray, labels: np.ndarray,
                 others: np.ndarray) -> tuple[tp.MoveLimit, ...]:
    """The move limits for the chosen accounts (what the others already spent taken off)."""
    out = []
    current = problem.current
    others_moved = others & (current >= 0) & (labels != current)
    leaving = (cand != current[idx][:, None]) & (current[idx][:, None] >= 0)
    w = np.maximum(problem.weight[idx], 1e-300)
    for lim in problem.limits:
        out.append(tp.MoveLimit(leaving * (lim.amount[idx] / w)[:, None],
                                lim.budget - float(lim.amount[others_moved].sum())))
    return tuple(out)
