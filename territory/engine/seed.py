"""Starting alignments: balanced by construction, so every later step starts from a feasible point.

* :func:`bisect` splits the accounts recursively along their widest principal axis at the
  weighted quantile that matches the capacities on each side (recursive coordinate bisection on
  the sphere). Every part carries its share of the load up to one account per cut, it adapts to
  density (a metro gets small parts, Montana large ones) and it needs no randomness. It serves
  twice: K parts are the fresh start, and many small parts are the cells the LP works on.
* :func:`carve` gives new territories (more reps than today) part of the busiest ones, like a new
  hire taking over half of the busiest area.
* :func:`is_geographic` tells an alignment drawn on a map from one drawn by owner (round robin,
  named accounts): only the first is worth starting from and re-balancing locally.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def bisect(xyz: np.ndarray, weight: np.ndarray, capacity: np.ndarray, fill: bool = False) -> np.ndarray:
    """Part index (n,) in 0..len(capacity)-1, part j holding about capacity[j] / sum of the weight.

    All nodes of one level are split at once (one sort per level), so a million accounts cut into
    tens of thousands of parts takes about a second. With ``fill`` each cut is also made exact: a
    heavy account straddling it would leave the sides off by up to its weight, so the accounts in
    a window round the cut fill the left side greedily, heaviest first (widening the window while
    that is not enough); the cut gets a little ragged and the sides within 0.1% of their share.

    >>> xyz = np.array([[1.0, 0, 0], [0.99, 0.1, 0], [0.98, 0.2, 0], [0.97, 0.3, 0]])
    >>> bisect(xyz, np.ones(4), np.ones(2)).tolist()
    [0, 0, 1, 1]
    """
    n = xyz.shape[0]
    leaves = capacity.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = weight + (weight.mean() if weight.sum() > 0 else 1.0) * 1e-6
    if fill:
        return _bisect_filled(xyz, w, capacity)
    cap_cum = np.r_[0.0, np.cumsum(capacity)]
    # each account's node is the leaf range [lo, hi); nodes of one level are numbered 0..m-1
    lo = np.zeros(1, dtype=np.int64)
    hi = np.full(1, leaves, dtype=np.int64)
    node = np.zeros(n, dtype=np.int64)
    while (hi - lo > 1).any():
        m = lo.size
        mass = np.bincount(node, weights=w, minlength=m)
        safe = np.maximum(mass, 1e-300)
        sums = np.column_stack([np.bincount(node, weights=w * xyz[:, d], minlength=m) for d in range(3)])
        mean = sums / safe[:, None]
        centred = xyz - mean[node]
        cov = np.empty((m, 3, 3))
        for a in range(3):
            for b in range(a, 3):
                cov[:, a, b] = cov[:, b, a] = np.bincount(node, weights=w * centred[:, a] * centred[:, b], minlength=m)
        axis = np.linalg.eigh(cov)[1][:, :, -1]
        proj = np.einsum("ij,ij->i", centred, axis[node])
        # one sort by (node, projection): the projection squeezed into [0, 0.5) of each node's slot
        span = np.maximum(np.abs(proj).max(), 1e-300)
        order = np.argsort(node + 0.25 + 0.25 * proj / span, kind="stable")
        sorted_node = node[order]
        sorted_w = w[order]
        cum = np.cumsum(sorted_w)
        counts = np.bincount(node, minlength=m)
        ends = np.cumsum(counts)
        starts = ends - counts
        base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
        mid = lo + (hi - lo) // 2
        share = (cap_cum[mid] - cap_cum[lo]) / np.maximum(cap_cum[hi] - cap_cum[lo], 1e-300)
        # an account goes left when the middle of its share of the node's load lies left of the cut
        middle = cum - 0.5 * sorted_w
        cut = np.searchsorted(middle, base + share * (cum[ends - 1] - base), side="left") - starts
        cut = np.clip(cut, 1, np.maximum(counts - 1, 1))  # both halves keep at least one account
        position = np.arange(n) - starts[sorted_node]
        splits = (hi - lo > 1) & (counts > 1)
        left = position < cut[sorted_node]
        # children: a split node becomes two nodes, a finished or single-account node one
        n_children = np.where(splits, 2, 1)
        first = np.cumsum(n_children) - n_children
        child = first[sorted_node] + (splits[sorted_node] & ~left)
        new_node = np.empty(n, dtype=np.int64)
        new_node[order] = child
        new_lo = np.empty(int(n_children.sum()), dtype=np.int64)
        new_hi = np.empty_like(new_lo)
        new_lo[first] = lo
        new_hi[first] = np.where(splits, mid, hi)
        second = first[splits] + 1
        new_lo[second] = mid[splits]
        new_hi[second] = hi[splits]
        # a node with one account and several leaves keeps them all (the extra leaves stay empty)
        stuck = (hi - lo > 1) & (counts <= 1)
        new_hi[first[stuck]] = new_lo[first[stuck]] + 1
        lo, hi, node = new_lo, new_hi, new_node
    return lo[node]


def _bisect_filled(xyz: np.ndarray, w: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """:func:`bisect` with every cut made exact, one node at a time (K - 1 cuts): along the
    node's widest principal axis, everything before a window round the weighted quantile goes
    left, then the window's accounts fill the left side's share heaviest first (the window widens
    while that is not enough)."""
    labels = np.zeros(xyz.shape[0], dtype=np.int64)
    stack = [(np.arange(xyz.shape[0]), 0, capacity.size)]
    while stack:
        members, lo, hi = stack.pop()
        if hi - lo == 1 or members.size <= 1:
            labels[members] = lo
            continue
        mid = lo + (hi - lo) // 2
        pts, ww = xyz[members], w[members]
        centre = (ww @ pts) / ww.sum()
        cov = ((pts - centre) * ww[:, None]).T @ (pts - centre)
        # the widest of the principal directions (extent, not variance: heavy accounts would
        # otherwise decide the direction)
        proj = (pts - centre) @ np.linalg.eigh(cov)[1][:, 1:]
        along = proj[:, int(np.argmax(proj.max(axis=0) - proj.min(axis=0)))]
        order = members[np.argsort(along, kind="stable")]
        cum = np.cumsum(w[order])
        goal = cum[-1] * capacity[lo:mid].sum() / capacity[lo:hi].sum()
        cut = int(np.searchsorted(cum, goal))
        half = max(5, order.size // 40)
        left, right, short = _fill_cut(order, w, cum, goal, cut, half)
        while short > 1e-3 * goal and 2 * half < order.size:
            half *= 2
            left, right, short = _fill_cut(order, w, cum, goal, cut, half)
        if left.size == 0 or right.size == 0:  # fewer accounts than leaves: split by count
            at = max(1, order.size * (mid - lo) // (hi - lo))
            left, right = order[:at], order[at:]
        stack.append((right, mid, hi))
        stack.append((left, lo, mid))
    return labels


def _fill_cut(order: np.ndarray, w: np.ndarray, cum: np.ndarray, goal: float, cut: int,
              half: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(left, right, shortfall): the accounts (``order``, sorted along the axis) before a window of
    ``half`` each side of ``cut`` go left, then the window's accounts fill what is left of
    ``goal`` heaviest first."""
    low, high = max(0, cut - half), min(order.size, cut + half)
    room = goal - (cum[low - 1] if low else 0.0)
    window = order[low:high][np.argsort(-w[order[low:high]], kind="stable")]
    take = np.zeros(window.size, dtype=bool)
    for i, account in enumerate(window):
        if w[account] <= room:
            take[i] = True
            room -= w[account]
    return np.r_[order[:low], window[take]], np.r_[window[~take], order[high:]], room


def cells(xyz: np.ndarray, weight: np.ndarray, count: int) -> np.ndarray:
    """Cell index (n,) of about ``count`` equal-load cells (:func:`bisect` with equal shares)."""
    count = int(max(1, min(count, xyz.shape[0])))
    return bisect(xyz, weight, np.ones(count))


def carve(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, empty: np.ndarray,
          capacity: np.ndarray) -> np.ndarray:
    """Labels with each territory in ``empty`` carved out of the most loaded one (per capacity):
    its accounts are split in two along their widest axis at the share of the two capacities, the
    side nearer the old centre staying. Deterministic."""
    labels = labels.copy()
    k = capacity.size
    for j in empty:
        load = np.bincount(labels, weights=weight + 1e-12, minlength=k) / np.maximum(capacity, 1e-12)
        load[empty] = -np.inf
        load[j] = -np.inf
        busiest = int(np.argmax(load))
        members = np.flatnonzero(labels == busiest)
        if members.size < 2:
            continue
        part = bisect(xyz[members], weight[members], np.array([capacity[busiest], capacity[j]]))
        labels[members[part == 1]] = j
        empty = empty[empty != j]
    return labels


def nearest(xyz: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre per account."""
    if centres.shape[0] == 0:
        return np.zeros(xyz.shape[0], dtype=np.int64)
    return cKDTree(centres).query(xyz)[1].astype(np.int64)


def is_geographic(graph, weight: np.ndarray, labels: np.ndarray, threshold: float = 0.8) -> bool:
    """True when at least ``threshold`` of the load sits in its territory's largest piece on the
    accounts' neighbour graph: a map-drawn alignment (even a lopsided one, long strips, whole
    states) scores 0.9-1, an owner-based one (round robin, named accounts) far less."""
    from territory.geo import piece_labels

    have = labels >= 0
    if not have.any():
        return False
    rank = piece_labels(graph, np.where(have, labels, -1), weights=weight)
    w = weight + 1e-12
    return bool(w[have & (rank == 0)].sum() >= threshold * w[have].sum())
