"""Redraw only around the pieces: the territories left in pieces and their neighbours are
re-cut by a recursive bisection of their own accounts, everything else stays as it is.

The whole-map bisection is balanced and in one piece by construction, but it forgets today
everywhere; the pieces the solves leave sit in a few territories. Cutting only those territories
and one or two rings of their neighbours again keeps the rest of the map: the region's accounts
are bisected into as many parts as it has territories, each filled to its territory's target
(less what is locked there), so each part is within the band whenever the region's total is;
the parts take the region's territory IDs by the load they share with today's territories.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from territory.engine import ids
from territory.engine.seed import bisect
from territory.engine.solve import Problem


def redraw_around(problem: Problem, graph, labels: np.ndarray, stray: np.ndarray,
                  rings: int) -> tuple[np.ndarray, int] | None:
    """(``labels`` with the territories holding ``stray`` accounts and ``rings`` rings of their
    neighbours re-cut (module docstring), how many territories were re-cut); None when there is
    nothing to re-cut, the region is the whole map (the whole-map bisection is the same cut) or its
    targets leave no room for its free accounts."""
    k = problem.k
    if not stray.any() or graph is None:
        return None
    coo = sp.coo_matrix(graph)
    a, b = labels[coo.row], labels[coo.col]
    across = a != b
    touching = sp.csr_matrix((np.ones(int(across.sum())), (a[across], b[across])), shape=(k, k))
    region = np.zeros(k, dtype=bool)
    region[np.unique(labels[stray])] = True
    for _ in range(rings):
        region |= np.asarray(touching @ region.astype(float)).ravel() > 0
    territories = np.flatnonzero(region)
    if territories.size < 2 or territories.size == k:  # the whole map: the caller's own bisection
        return None
    free = problem.free
    members = np.flatnonzero(free & region[labels])
    locked_load = np.bincount(labels[~free], weights=problem.weight[~free], minlength=k)
    room = problem.target[territories] - problem.fixed_load[territories] - locked_load[territories]
    if members.size < territories.size or (room <= 0).any():
        return None
    parts = bisect(problem.xyz[members], problem.weight[members], room, fill=True)
    # each part takes the region's territory it shares most load with today (or now, without today)
    reference = problem.current[members] if problem.today is not None else labels[members]
    slot = np.full(k, -1, dtype=np.int64)
    slot[territories] = np.arange(territories.size)
    inside = (reference >= 0) & (slot[np.maximum(reference, 0)] >= 0)
    m = territories.size
    overlap = np.bincount(parts[inside] * m + slot[reference[inside]],
                          weights=problem.weight[members][inside] + 1e-9, minlength=m * m).reshape(m, m)
    perm = ids.match(overlap, room, np.empty(0, dtype=np.int64))
    out = labels.copy()
    out[members] = territories[perm[parts]]
    return out, int(territories.size)


RINGS = (1, 2)
"""Rings of neighbours re-cut with the territories in pieces, tried in turn (the whole map last)."""
