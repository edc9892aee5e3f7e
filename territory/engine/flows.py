"""How much load crosses each border: a linear program on the territory graph.

Territories that share an edge of the accounts' Delaunay graph are neighbours. Flows
``f[a, b] >= 0`` on neighbour pairs bring every territory into its band and minimise the moved
load (each unit priced ``1 + hop``: of two ways to pass the same load on, the shorter). The local
re-balance (:mod:`territory.engine.local`) and the polish (:mod:`territory.engine.polish`) then
decide which accounts carry each flow; the same LP over the whole band is the border-move lower
bound on disruption.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from territory.engine.solve import Problem

HOP_WEIGHT = 0.1
"""Weight of the distance to the receiving territory's centre against a move (in mean distances):
among moves of the same load, hand accounts to the nearer territory."""


def hop_costs(centres: np.ndarray, scale: float) -> np.ndarray:
    """(nodes, nodes) the extra cost per unit of load passed from one territory to another:
    ``HOP_WEIGHT`` x the distance between their centres in mean distances (of two ways to pass
    the same load on, the shorter)."""
    return HOP_WEIGHT * np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)) / scale


def border_flows(problem: Problem, nodes: np.ndarray, graph, hop: np.ndarray | None = None,
                 linked: np.ndarray | None = None,
                 blocked: set[tuple[int, int]] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, flow): load to move across each border between the nodes (territories, then
    dissolved territories k, k+1, ...; -1 for none). The hard band is elastic (at a price far
    above any move), so when the borders cannot carry the whole change in one step the flows
    bring every territory as close as they can; a dissolved territory always hands on everything.
    ``hop`` (nodes, nodes): an extra cost per unit of load crossing from one to the other (the
    distance between their centres, so that of two ways to move the same load the shorter wins).
    ``linked`` (n,) bool: only edges between these accounts make two nodes neighbours;
    ``blocked``: (from, to) pairs that carry nothing (a border that could not carry its flow)."""
    k = problem.k
    n_nodes = max(int(nodes.max()) + 1 if nodes.size else k, k)
    coo = graph.tocoo()
    a, b = nodes[coo.row], nodes[coo.col]
    keep = (a >= 0) & (b >= 0) & (a != b)
    if linked is not None:
        keep &= linked[coo.row] & linked[coo.col]
    pairs = np.unique(np.column_stack([a[keep], b[keep]]), axis=0)
    if blocked:
        pairs = pairs[[(int(x), int(y)) not in blocked for x, y in pairs]].reshape(-1, 2)
    if pairs.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    src, dst = pairs[:, 0], pairs[:, 1]
    m = src.size
    placed = nodes >= 0
    load = np.bincount(nodes[placed], weights=problem.weight[placed], minlength=n_nodes)
    load[:k] += problem.fixed_load
    movable = np.bincount(nodes[placed & problem.free], weights=problem.weight[placed & problem.free],
                          minlength=n_nodes)
    target = problem.target
    if problem.fix_outside_only:  # only territories above their band (and dissolved ones) hand accounts on
        over = np.r_[load[:k] > target * (1 + problem.tolerance) + 1e-9, np.ones(n_nodes - k, dtype=bool)]
        movable = np.where(over, movable, 0.0)
    ghosts = np.zeros(n_nodes - k)
    aim_lower = np.r_[target * (1 - problem.aim), ghosts] - load
    aim_upper = np.r_[target * (1 + problem.aim), ghosts] - load
    lower = np.r_[target * (1 - problem.tolerance), ghosts] - load
    upper = np.r_[target * (1 + problem.tolerance), ghosts] - load
    columns = np.arange(m)
    inflow = sp.csr_matrix((np.ones(m), (dst, columns)), shape=(n_nodes, m))
    outflow = sp.csr_matrix((np.ones(m), (src, columns)), shape=(n_nodes, m))
    # columns: flows, then per node: shortfall / overflow within the hard band (soft aim), and
    # under / over beyond it (elastic, priced far higher; a dissolved node has no room at all)
    eye = sp.identity(n_nodes, format="csr")
    a_band = sp.hstack([inflow - outflow, eye, -eye, eye, -eye], format="csr")
    a_out = sp.hstack([outflow, sp.csr_matrix((n_nodes, 4 * n_nodes))], format="csr")
    soft = float(n_nodes + 1)
    hard = soft * (n_nodes + 1) * 10.0
    per_unit = np.ones(m) if hop is None else 1.0 + hop[src, dst]
    soft *= float(per_unit.max())
    hard *= float(per_unit.max())
    cost = np.r_[per_unit, np.full(2 * n_nodes, soft), np.full(2 * n_nodes, hard)]
    real = np.r_[np.ones(k), ghosts]
    ub = np.r_[np.full(m, np.inf), np.maximum(aim_lower - lower, 0.0), np.maximum(upper - aim_upper, 0.0),
               np.where(real > 0, np.inf, 0.0), np.where(real > 0, np.inf, 0.0)]
    result = milp(cost, constraints=[LinearConstraint(a_band, aim_lower, aim_upper),
                                     LinearConstraint(a_out, -np.inf, movable)],
                  bounds=Bounds(np.zeros(m + 4 * n_nodes), ub))
    if result.x is None:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    flow = result.x[:m]
    used = flow > 1e-9 * max(1.0, float(problem.weight.sum()))
    return src[used], dst[used], flow[used]
