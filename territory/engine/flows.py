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
from territory.engine.transport import INT64_ROOM

HOP_WEIGHT = 0.1
"""Weight of the distance to the receiving territory's centre against a move (in mean distances):
among moves of the same load, hand accounts to the nearer territory."""


def hop_costs(centres: np.ndarray, scale: float) -> np.ndarray:
    """(nodes, nodes) the extra cost per unit of load passed from one territory to another:
    ``HOP_WEIGHT`` x the distance between their centres in mean distances (of two ways to pass
    the same load on, the shorter)."""
    return HOP_WEIGHT * np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)) / scale


def border_flows(problem: Problem, nodes: np.ndarray, graph, hop: np.ndarray | None = None,
                 linked: np.ndarray | None = None, blocked: set[tuple[int, int]] | None = None,
                 through_dissolved: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, flow): load to move across each border between the nodes (territories, then
    dissolved territories k, k+1, ...; -1 for none). The hard band is elastic (at a price far
    above any move), so when the borders cannot carry the whole change in one step the flows
    bring every territory as close as they can; a dissolved territory always hands on everything.
    ``hop`` (nodes, nodes): an extra cost per unit of load crossing from one to the other (the
    distance between their centres, so that of two ways to move the same load the shorter wins).
    ``linked`` (n,) bool: only edges between these accounts make two nodes neighbours;
    ``blocked``: (from, to) pairs that carry nothing (a border that could not carry its flow).
    ``through_dissolved``: load may cross dissolved territories on its way out (a dissolved
    territory that borders only dissolved ones hands on through them; the accounts move once, to
    the territory they end in, so crossing between two dissolved territories costs only its hop),
    and nothing flows into a dissolved territory from a kept one."""
    k = problem.k
    n_nodes = max(int(nodes.max()) + 1 if nodes.size else k, k)
    coo = graph.tocoo()
    a, b = nodes[coo.row], nodes[coo.col]
    keep = (a >= 0) & (b >= 0) & (a != b)
    if linked is not None:
        keep &= linked[coo.row] & linked[coo.col]
    # one key per (from, to) pair: sorted like the pairs themselves, and far quicker than rows
    keys = np.unique(a[keep].astype(np.int64) * n_nodes + b[keep])
    pairs = np.column_stack([keys // n_nodes, keys % n_nodes])
    if blocked:
        closed = np.array(sorted(blocked), dtype=np.int64).reshape(-1, 2)
        pairs = pairs[~np.isin(pairs[:, 0] * n_nodes + pairs[:, 1], closed[:, 0] * n_nodes + closed[:, 1])]
    if through_dissolved:
        pairs = pairs[(pairs[:, 0] >= k) | (pairs[:, 1] < k)]
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
    # each node's final load: lower, aim lower, aim upper, upper (a dissolved node keeps nothing)
    ghosts = np.zeros(n_nodes - k)
    band = [np.r_[target * (1 + share), ghosts]
            for share in (-problem.tolerance, -problem.aim, problem.aim, problem.tolerance)]
    real = np.arange(n_nodes) < k
    per_unit = np.ones(m) if hop is None else 1.0 + hop[src, dst]
    passes = None
    if through_dissolved:
        per_unit[(src >= k) & (dst >= k)] -= 1.0
        passes = ~real
    flow = _as_min_cost_flow(src, dst, per_unit, load, movable, *band, real, passes)
    if flow is None:
        gates = movable if passes is None else np.where(passes, np.inf, movable)
        flow = _as_lp(src, dst, per_unit, gates, *(bound - load for bound in band), real)
    if flow is None:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    used = flow > 1e-9 * max(1.0, float(problem.weight.sum()))
    return src[used], dst[used], flow[used]


FLOW_UNITS = 1e9
"""The min-cost flow's whole units: the total load is this many of them (fewer when its penalties
are large, so that penalty x flow fits in 64 bits)."""
COST_UNITS = 1e3
"""Cost steps per unit of the per-unit price of a move (1 + hop)..."""
MAX_COST = 1e6
"""... and at most this many steps for the dearest move."""


def _as_min_cost_flow(src: np.ndarray, dst: np.ndarray, per_unit: np.ndarray, load: np.ndarray, movable: np.ndarray,
                      lower: np.ndarray, aim_lower: np.ndarray, aim_upper: np.ndarray, upper: np.ndarray,
                      real: np.ndarray, passes: np.ndarray | None = None) -> np.ndarray | None:
    """The border-flow program as a min-cost flow (OR-Tools): each territory's load enters its hub;
    what it hands on leaves through a gate of capacity ``movable`` to its neighbours' hubs; each
    hub's final load reaches the sink through priced tiers (the band's absolute bounds: below the
    hard band rewarded by a penalty larger than any rerouting, up to the aim band by the soft
    penalty, the aim band free, above it the soft and then the hard penalty); a dissolved node keeps
    nothing. ``passes`` (nodes,) bool: gates without that limit (they pass on what they receive).
    None when it cannot be solved this way (the caller solves the LP)."""
    from ortools.graph.python import min_cost_flow

    n_nodes = load.size
    total = float(load.sum())
    if total <= 0 or not np.isfinite(per_unit).all():
        return None
    # the dearest move is at most MAX_COST steps (a hop priced in kilometres over a mean distance
    # near zero, all accounts at one point, is otherwise astronomically dear)
    unit_cost = np.rint(per_unit * min(COST_UNITS, MAX_COST / float(per_unit.max()))).astype(np.int64)
    soft = (n_nodes + 1) * int(unit_cost.max())
    hard = (2 * n_nodes + 2) * (int(unit_cost.max()) + 2 * soft)
    scale = min(FLOW_UNITS, INT64_ROOM / hard) / total
    have = np.rint(load * scale).astype(np.int64)
    gate = np.minimum(np.rint(movable * scale).astype(np.int64), np.maximum(have, 0))
    if passes is not None:  # these nodes pass on what they receive too
        gate[passes] = int(have.sum())

    def units(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x * scale), 0, None).astype(np.int64)

    lo = units(lower)
    alo = np.maximum(units(aim_lower), lo)
    ahi = np.maximum(units(aim_upper), alo)
    hi = np.maximum(units(upper), ahi)
    rest = int(have.sum())
    tiers = [(lo, -hard), (alo - lo, -soft), (ahi - alo, 0), (hi - ahi, soft), (np.full(n_nodes, rest), hard)]
    hub, gate_node, sink = np.arange(n_nodes), n_nodes + np.arange(n_nodes), 2 * n_nodes
    tails = [hub, gate_node[src]] + [hub[real]] * len(tiers)
    heads = [gate_node, hub[dst]] + [np.full(int(real.sum()), sink)] * len(tiers)
    caps = [gate, np.full(src.size, rest)] + [cap[real] for cap, _ in tiers]
    prices = [np.zeros(n_nodes, dtype=np.int64), unit_cost] + [np.full(int(real.sum()), price) for _, price in tiers]
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(np.concatenate(tails).astype(np.int32),
                                                np.concatenate(heads).astype(np.int32),
                                                np.concatenate(caps).astype(np.int64),
                                                np.concatenate(prices).astype(np.int64))
    solver.set_nodes_supplies(np.arange(2 * n_nodes + 1, dtype=np.int32),
                              np.r_[have, np.zeros(n_nodes, dtype=np.int64), [-rest]])
    if solver.solve() != solver.OPTIMAL:
        return None
    return solver.flows(np.arange(n_nodes, n_nodes + src.size, dtype=np.int32)) / scale


def _as_lp(src: np.ndarray, dst: np.ndarray, per_unit: np.ndarray, movable: np.ndarray,
           lower: np.ndarray, aim_lower: np.ndarray, aim_upper: np.ndarray, upper: np.ndarray,
           real: np.ndarray) -> np.ndarray | None:
    """The same program as an LP (HiGHS), bounds relative to today's load."""
    m = src.size
    n_nodes = real.size
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
    soft *= float(per_unit.max())
    hard *= float(per_unit.max())
    cost = np.r_[per_unit, np.full(2 * n_nodes, soft), np.full(2 * n_nodes, hard)]
    ub = np.r_[np.full(m, np.inf), np.maximum(aim_lower - lower, 0.0), np.maximum(upper - aim_upper, 0.0),
               np.where(real, np.inf, 0.0), np.where(real, np.inf, 0.0)]
    result = milp(cost, constraints=[LinearConstraint(a_band, aim_lower, aim_upper),
                                     LinearConstraint(a_out, -np.inf, movable)],
                  bounds=Bounds(np.zeros(m + 4 * n_nodes), ub))
    return None if result.x is None else result.x[:m]
