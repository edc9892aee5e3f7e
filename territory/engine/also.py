"""Several measures within tolerance at once (private): a local search after the main solve.

The price solve balances one measure (or a weighted composite). Sales leaders often want two
things at once: every rep's *workload* and *revenue* within +/-5% of target. Prices for several
measures at once do not converge reliably (an account is one indivisible bundle of hours and
dollars), so this pass starts from the single-measure alignment and moves *boundary* accounts
between *neighbouring* territories (Delaunay edges), singly or as a swap of two, choosing the
options that most reduce

    sum over territories t and measures j of  dev[t, j]**2 + PENALTY * excess[t, j]**2

where ``dev`` is the relative deviation from target and ``excess`` is how far it lies outside the
band. The main measure (column 0) may never end further outside the band in either territory;
a further measure may not end further outside summed over the two territories, so an excess
can travel along a chain of neighbours. Each round a territory takes part in at most one option,
so every accepted option is scored exactly. Locked accounts never move. Territories stay in one
piece: an account leaves only if its territory's places around it stay connected through the ring
of triangles around it, and arrives only next to its new territory.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

MOVED_BY_SECONDARY = 4
"""Reason code (like territory.engine.solve.MOVED_BY_*) for a move made to balance a further measure."""
PENALTY = 400.0
"""Weight of the squared excess outside the band against the squared deviation inside it."""


def _excess(dev: np.ndarray, band: float) -> np.ndarray:
    return np.maximum(np.abs(dev) - band, 0.0)


def _score(dev: np.ndarray, band: float) -> np.ndarray:
    return dev ** 2 + PENALTY * _excess(dev, band) ** 2


def balance_measures(labels: np.ndarray, measures: np.ndarray, targets: np.ndarray, fixed_load: np.ndarray,
                     adjacency: sp.csr_matrix, xyz: np.ndarray, centres: np.ndarray, movable: np.ndarray,
                     band: float, passes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Bring every measure (columns of ``measures``) within ``band`` of ``targets`` if moves allow.

    ``labels`` (n,) territory index; ``measures`` (n, m) per-account values, column 0 the measure
    the main solve balanced; ``targets``/``fixed_load`` (k, m). Returns (labels, changed mask).
    Each pass is a local search followed by a clean-up that hands any stray piece it created to
    the neighbouring territory it touches most. Deterministic: ties break by account index.
    """
    start = np.asarray(labels, dtype=np.int64)
    labels = start.copy()
    places = _places(adjacency)
    for final in [False] * (passes - 1) + [True]:
        # the last pass only moves accounts that touch the new territory at least half as much as
        # their own (smoother borders once the big transfers are done)
        labels, _moved = _search(labels, measures, targets, fixed_load, adjacency, places, xyz, centres, movable,
                                 band, touch_ratio=0.5 if final else 0.0)
        labels, strays = _join_strays(labels, adjacency, measures[:, 0], movable)
        if not strays:
            break
    primary_ok = _worst(start, measures, targets, fixed_load)[0] <= band
    if primary_ok and _worst(labels, measures, targets, fixed_load)[0] > band:
        # a hand-over pushed the main measure out: bring it back on its own
        labels, _moved = _search(labels, measures[:, :1], targets[:, :1], fixed_load[:, :1], adjacency, places,
                                 xyz, centres, movable, band)
    if primary_ok and _worst(labels, measures, targets, fixed_load)[0] > band:
        return start, np.zeros(start.size, dtype=bool)  # never trade the main measure out of its band
    return labels, labels != start


def _worst(labels: np.ndarray, measures: np.ndarray, targets: np.ndarray, fixed_load: np.ndarray) -> np.ndarray:
    """Largest |deviation| per measure."""
    k = targets.shape[0]
    load = np.column_stack([np.bincount(labels, weights=measures[:, j], minlength=k)
                            for j in range(measures.shape[1])]) + fixed_load
    return np.abs(load / np.maximum(targets, 1e-12) - 1.0).max(axis=0)


def _search(labels: np.ndarray, measures: np.ndarray, targets: np.ndarray, fixed_load: np.ndarray,
            adjacency: sp.csr_matrix, places: tuple, xyz: np.ndarray, centres: np.ndarray, movable: np.ndarray,
            band: float, touch_ratio: float = 0.0, max_rounds: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """One local search: rounds of non-conflicting improving moves and swaps until none is left."""
    labels = np.asarray(labels, dtype=np.int64).copy()
    n, m = measures.shape
    k = targets.shape[0]
    target = np.maximum(targets, 1e-12)
    moved = np.zeros(n, dtype=bool)
    coo = adjacency.tocoo()
    keep = coo.row != coo.col
    src, dst = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
    blocked = np.empty(0, dtype=np.int64)  # (account, destination) keys that proved unsafe
    d2 = lambda i, t: ((xyz[i] - centres[t]) ** 2).sum(axis=1)  # noqa: E731
    load = np.zeros((k, m))
    for j in range(m):
        load[:, j] = np.bincount(labels, weights=measures[:, j], minlength=k)
    load += fixed_load
    for _ in range(max_rounds):
        dev = load / target - 1.0
        if np.all(np.abs(dev) <= band):
            break
        ls, ld = labels[src], labels[dst]
        boundary = (ls != ld) & movable[src]
        if not boundary.any():
            break
        # (account, destination) pairs; the account must touch the destination on at least
        # touch_ratio times as many Delaunay edges as its own territory
        key, touch = np.unique(src[boundary] * k + ld[boundary], return_counts=True)
        if blocked.size:
            fresh = ~np.isin(key, blocked)
            key, touch = key[fresh], touch[fresh]
        i, b = key // k, key % k
        same = np.bincount(src[ls == ld], minlength=n)[i]
        ok = touch >= touch_ratio * same
        if not ok.any():
            break
        i, b = i[ok], b[ok]
        a = labels[i]
        single_gain = _gain(dev, a, b, measures[i], target, band)
        options = _moves_and_swaps(i, a, b, single_gain, dev, measures, target, band, k)
        if options is None:
            break
        out_i, out_a, out_b, back_j, gain = options
        extra = d2(out_i, out_b) - d2(out_i, out_a)
        order = np.lexsort((out_i, extra, -gain))[: 8 * k]
        used = np.zeros(k, dtype=bool)
        accepted = []
        for pos in order:
            ta, tb = out_a[pos], out_b[pos]
            if used[ta] or used[tb]:
                continue
            used[ta] = used[tb] = True
            accepted.append(pos)
            if len(accepted) * 2 >= k - 1:
                break
        acc = np.asarray(accepted, dtype=np.int64)
        ia, aa, ba, jb = out_i[acc], out_a[acc], out_b[acc], back_j[acc]
        # safety, checked only for the chosen options: leaving must not cut the old territory in
        # two, and a swap partner must not have been the arriving account's only link
        swap = jb >= 0
        cut = ~_can_leave(ia, labels, k, places)
        cut_back = np.zeros(ia.size, dtype=bool)
        cut_back[swap] = ~_can_leave(jb[swap], labels, k, places)
        trial = labels.copy()
        trial[ia] = ba
        trial[jb[swap]] = aa[swap]
        stranded = ~_touches_own(ia, trial, k, places)
        stranded[swap] |= ~_touches_own(jb[swap], trial, k, places)
        if (cut | stranded).any():  # never offer those again in this search
            blocked = np.union1d(blocked, ia[cut | stranded] * k + ba[cut | stranded])
        if cut_back.any():
            blocked = np.union1d(blocked, jb[cut_back] * k + aa[cut_back])
        unsafe = cut | cut_back | stranded
        ia, aa, ba, jb = ia[~unsafe], aa[~unsafe], ba[~unsafe], jb[~unsafe]
        if ia.size == 0:
            continue
        labels[ia] = ba
        moved[ia] = True
        np.subtract.at(load, aa, measures[ia])
        np.add.at(load, ba, measures[ia])
        swap = jb >= 0
        labels[jb[swap]] = aa[swap]
        moved[jb[swap]] = True
        np.subtract.at(load, ba[swap], measures[jb[swap]])
        np.add.at(load, aa[swap], measures[jb[swap]])
    return labels, moved


def _gain(dev: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray, target: np.ndarray,
          band: float) -> tuple[np.ndarray, np.ndarray]:
    """(score gain, allowed) of moving ``shift`` (c, m) of load from territory a to b. Allowed: the
    main measure (column 0) ends no further outside the band in either territory, and no further
    measure ends further outside the band summed over the two (so an excess can travel along a
    chain of neighbours, but one measure's balance is never bought with another's)."""
    dev_a, dev_b = dev[a] - shift / target[a], dev[b] + shift / target[b]
    gain = (_score(dev[a], band) + _score(dev[b], band) - _score(dev_a, band) - _score(dev_b, band)).sum(axis=1)
    before_a, before_b = _excess(dev[a], band), _excess(dev[b], band)
    after_a, after_b = _excess(dev_a, band), _excess(dev_b, band)
    worse = (after_a[:, 0] > before_a[:, 0] + 1e-12) | (after_b[:, 0] > before_b[:, 0] + 1e-12)
    worse |= ((after_a + after_b) > (before_a + before_b) + 1e-12).any(axis=1)
    return gain, ~worse


def _moves_and_swaps(i, a, b, single, dev, measures, target, band, k, per_pair: int = 6):
    """Improving options of one round as arrays (account out, from, to, account back or -1, gain):
    single moves, and swaps of an account a->b with one b->a (the few best of each direction per
    territory pair), which trade one measure for another at constant load of the first."""
    gain, allowed = single
    keep = allowed & (gain > 1e-12)
    opts = [(i[keep], a[keep], b[keep], np.full(int(keep.sum()), -1, dtype=np.int64), gain[keep])]
    # per directed territory pair, the per_pair best by raw gain and the per_pair best by gain on the
    # further measures per unit of the main one (the accounts that trade one for the other best)
    pair = a * k + b
    if measures.shape[1] > 1:
        further = _gain(dev[:, 1:], a, b, measures[i, 1:], target[:, 1:], band)[0]
        per_unit = further / (measures[i, 0] / target[a, 0] + 1e-9)
        rankings = (gain, per_unit)
    else:
        rankings = (gain,)
    top = np.unique(np.concatenate([_top_per_group(pair, score, i, per_pair) for score in rankings]))
    ti, ta, tb, tp = i[top], a[top], b[top], pair[top]
    # join a->b options with b->a options
    rev = tb * k + ta
    by_pair = np.argsort(tp, kind="stable")
    lo = np.searchsorted(tp[by_pair], rev, side="left")
    hi = np.searchsorted(tp[by_pair], rev, side="right")
    count = hi - lo
    if count.sum():
        left = np.repeat(np.arange(top.size), count)
        right = by_pair[np.repeat(lo, count) + np.arange(left.size) - np.repeat(np.cumsum(count) - count, count)]
        si, sj = ti[left], ti[right]
        sa, sb = ta[left], tb[left]
        shift = measures[si] - measures[sj]
        sg, sok = _gain(dev, sa, sb, shift, target, band)
        good = sok & (sg > 1e-12)
        opts.append((si[good], sa[good], sb[good], sj[good], sg[good]))
    out = [np.concatenate(parts) for parts in zip(*opts)]
    if out[0].size == 0:
        return None
    return out


def _link_edges(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every account i, the edges (u, v) between two of its neighbours (its "link": in a
    triangulation, the ring of triangles around i), as (pointer by i, u, v)."""
    n = adjacency.shape[0]
    indptr, indices = adjacency.indptr, adjacency.indices
    deg = np.diff(indptr)
    # all ordered pairs of neighbours of each node, then keep the pairs that are themselves edges
    pairs_per = deg * deg
    owner = np.repeat(np.arange(n), pairs_per)
    start = np.repeat(indptr[:-1], pairs_per)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(pairs_per) - pairs_per, pairs_per)
    d = deg[owner]
    u = indices[start + offset // np.maximum(d, 1)]
    v = indices[start + offset % np.maximum(d, 1)]
    keep = u < v
    owner, u, v = owner[keep], u[keep], v[keep]
    edge_keys = np.sort(np.repeat(np.arange(n), deg).astype(np.int64) * n + indices)
    key = u.astype(np.int64) * n + v
    pos = np.minimum(np.searchsorted(edge_keys, key), edge_keys.size - 1)
    hit = edge_keys[pos] == key
    owner, u, v = owner[hit], u[hit], v[hit]
    ptr = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))]
    return ptr, u, v


def _places(adjacency: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix, tuple]:
    """(location of each account, location graph, its link edges). Accounts at one location (a ZIP
    centroid) are one place: territory.geo's graph chains them and the piece count treats them as
    connected, so the cut test below works on places."""
    location_of = getattr(adjacency, "location_of", None)
    location_graph = getattr(adjacency, "location_adjacency", None)
    if location_of is None or location_graph is None or (location_of < 0).any():
        location_of, location_graph = np.arange(adjacency.shape[0]), adjacency
    location_graph = sp.csr_matrix(location_graph)
    return location_of, location_graph, _link_edges(location_graph)


def _touches_own(i: np.ndarray, labels: np.ndarray, k: int, places) -> np.ndarray:
    """Whether each account i shares its place, or a neighbouring place, with its own territory."""
    location_of, graph, _ = places
    keys, counts = np.unique(location_of * k + labels, return_counts=True)
    own = labels[i]
    place = location_of[i]

    def holds(at: np.ndarray, territory: np.ndarray) -> np.ndarray:
        key = at * k + territory
        pos = np.minimum(np.searchsorted(keys, key), keys.size - 1)
        return np.where(keys[pos] == key, counts[pos], 0)

    deg = graph.indptr[place + 1] - graph.indptr[place]
    owner = np.repeat(np.arange(i.size), deg)
    pos = np.repeat(graph.indptr[place], deg) + np.arange(owner.size) - np.repeat(np.cumsum(deg) - deg, deg)
    near = np.bincount(owner[holds(graph.indices[pos], own[owner]) > 0], minlength=i.size) > 0
    return near | (holds(place, own) > 1)


def _can_leave(i: np.ndarray, labels: np.ndarray, k: int, places) -> np.ndarray:
    """Whether each account i can leave its territory without cutting it in two (locally): another
    account of the territory shares its place, or the territory's places around i stay connected
    through the ring of triangles around i (one connected component of own-territory neighbour
    places on the link edges)."""
    location_of, graph, (ptr, u, v) = places
    keys, counts = np.unique(location_of * k + labels, return_counts=True)

    def holds(place: np.ndarray, territory: np.ndarray) -> np.ndarray:
        key = place * k + territory
        pos = np.minimum(np.searchsorted(keys, key), keys.size - 1)
        return np.where(keys[pos] == key, counts[pos], 0)

    own = labels[i]
    place = location_of[i]
    shared = holds(place, own) > 1
    n_places = graph.shape[0]
    # nodes: (candidate, own-territory neighbour place)
    deg = graph.indptr[place + 1] - graph.indptr[place]
    owner = np.repeat(np.arange(i.size), deg)
    pos = np.repeat(graph.indptr[place], deg) + np.arange(owner.size) - np.repeat(np.cumsum(deg) - deg, deg)
    neighbour = graph.indices[pos]
    keep = holds(neighbour, own[owner]) > 0
    node_key = np.sort(owner[keep].astype(np.int64) * n_places + neighbour[keep])
    node_owner = node_key // n_places
    # edges: link edges of i's place whose two ends are both nodes of that candidate
    count = ptr[place + 1] - ptr[place]
    owner = np.repeat(np.arange(i.size), count)
    pos = np.repeat(ptr[place], count) + np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    ku = owner.astype(np.int64) * n_places + u[pos]
    kv = owner.astype(np.int64) * n_places + v[pos]
    pu = np.minimum(np.searchsorted(node_key, ku), max(node_key.size - 1, 0))
    pv = np.minimum(np.searchsorted(node_key, kv), max(node_key.size - 1, 0))
    if node_key.size:
        both = (node_key[pu] == ku) & (node_key[pv] == kv)
    else:
        both = np.zeros(ku.size, dtype=bool)
    m = node_key.size
    link = sp.csr_matrix((np.ones(int(both.sum())), (pu[both], pv[both])), shape=(m, m))
    _, component = connected_components(link, directed=False)
    first = np.unique(component, return_index=True)[1]
    arcs = np.bincount(node_owner[first], minlength=i.size)
    return shared | (arcs <= 1)


def _top_per_group(group: np.ndarray, score: np.ndarray, tie: np.ndarray, count: int) -> np.ndarray:
    """Positions of the ``count`` highest scores within each group (ties by ``tie``)."""
    order = np.lexsort((tie, -score, group))
    grouped = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    return order[rank < count]


def _join_strays(labels: np.ndarray, adjacency: sp.csr_matrix, weight: np.ndarray,
                 movable: np.ndarray) -> tuple[np.ndarray, int]:
    """Every movable account outside its territory's largest piece joins the neighbouring
    territory it shares most edges with (locked accounts stay: they are allowed islands)."""
    from territory.geo import piece_labels

    piece = piece_labels(adjacency, labels, weights=weight)
    stray = np.flatnonzero((piece > 0) & movable)
    if stray.size == 0:
        return labels, 0
    labels = labels.copy()
    indptr, indices = adjacency.indptr, adjacency.indices
    for i in stray:
        neigh = indices[indptr[i]:indptr[i + 1]]
        options = labels[neigh[labels[neigh] != labels[i]]]
        if options.size:
            values, counts = np.unique(options, return_counts=True)
            labels[i] = values[np.argmax(counts)]
    return labels, int(stray.size)
