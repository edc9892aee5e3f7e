"""The exact balancing step: a transportation linear program at fixed centres, then rounding.

Groups of accounts (cells of the map, or single accounts) send their load to candidate
territories; every territory's load must land in its band. This is the Hess transportation
formulation of territory design, solved by HiGHS through :func:`scipy.optimize.milp`:

    minimise    sum_gj cost_gj y_gj + penalty * (shortfall_j + overflow_j)
    subject to  sum_j y_gj = mass_g                                        every group is served
                aim_lo_j <= sum_g y_gj + shortfall_j - overflow_j <= aim_hi_j
                0 <= shortfall_j <= aim_lo_j - lo_j, 0 <= overflow_j <= hi_j - aim_hi_j
                sum_gj moved_gj y_gj <= budget                               optional move limits

so every territory lands in its hard band [lo, hi] (the tolerance) and, where the costs allow, in
the tighter aim band (compactness decides how tight). When the hard band cannot be met with these
candidates the program is infeasible, which HiGHS proves; :func:`transport` then solves the
elastic version that minimises the load outside the band and reports it (``Flow.excess``).

A basic optimal solution splits at most about K groups between territories. :func:`round_split`
turns split accounts into whole assignments with a small mixed-integer program over just those
accounts (:mod:`territory.engine.mip`: HiGHS stopped by a count of work, not the clock), so the
balance of the final alignment is exact, not the result of a heuristic repair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from territory.engine import mip
from territory.engine.config import DEFAULT

SPLIT = 1e-7
"""A flow below this share of its group's mass counts as zero (solver round-off)."""
MIP_GAP = 0.05
"""The rounding stops within this relative gap of the best possible cost (it needs a good whole
assignment, not a proof that no better one exists)."""


MIP_NODES = 500
"""... or after this many branch-and-bound nodes, or after the caller's number of HiGHS' progress
checks, whichever comes first (limits of work, not of time: :mod:`territory.engine.mip`)."""


class LimitsInfeasible(RuntimeError):  # noqa: N818  a signal caught inside the engine (near.py), not an error users see; the lead's name
    """The move limits cannot be met at all (some accounts must move and the budget is smaller)."""


@dataclass(frozen=True)
class Band:
    """Load limits per territory (k,) for the accounts being assigned (fixed load already taken off)."""

    lower: np.ndarray  # hard
    upper: np.ndarray
    aim_lower: np.ndarray  # soft, inside the hard band
    aim_upper: np.ndarray

    def shifted(self, fixed: np.ndarray) -> Band:
        """The band for what is left once ``fixed`` load per territory is assigned elsewhere."""
        return Band(self.lower - fixed, self.upper - fixed, self.aim_lower - fixed, self.aim_upper - fixed)


@dataclass(frozen=True)
class MoveLimit:
    """At most ``budget`` of some amount may move: ``moved[g, c]`` per unit of mass sent to ``cand[g, c]``."""

    moved: np.ndarray
    budget: float


@dataclass(frozen=True)
class Flow:
    """The LP's answer: ``flow[g, c]`` is the mass group ``g`` sends to ``cand[g, c]``."""

    flow: np.ndarray  # (G, m)
    excess: np.ndarray  # (k,) load outside the hard band (0 everywhere when it is met)
    cost: float  # sum of cost x flow (without penalties)

    @property
    def feasible(self) -> bool:
        return bool(self.excess.max(initial=0.0) <= 1e-9 * max(1.0, float(self.flow.sum())))


def _soft_penalty(cost: np.ndarray) -> float:
    """Penalty per unit of load outside the aim band: more than any single rerouting saves."""
    spread = float(cost.max() - cost.min()) if cost.size else 0.0
    return 4.0 * spread + 1.0


def transport(mass: np.ndarray, cand: np.ndarray, cost: np.ndarray, band: Band,
              limits: tuple[MoveLimit, ...] = (), time_limit: float = 120.0) -> Flow:
    """Solve the band-constrained transportation LP over the candidate pairs.

    ``mass`` (G,) >= 0; ``cand`` (G, m) territory indices, -1 for none; ``cost`` (G, m) per unit
    of mass. Infeasible hard bands are answered by the elastic program (``Flow.excess`` > 0).
    """
    G, m = cand.shape
    k = band.lower.size
    g_idx, c_idx = np.nonzero(cand >= 0)
    terr = cand[g_idx, c_idx]
    nv = g_idx.size
    pair_cost = cost[g_idx, c_idx]
    soft = _soft_penalty(pair_cost)
    if not limits:
        as_flow = _min_cost_flow(mass, cand, cost, g_idx, c_idx, terr, soft, band, elastic=False)
        if as_flow is None:
            as_flow = _min_cost_flow(mass, cand, cost, g_idx, c_idx, terr, soft, band, elastic=True)
        if as_flow is not None:
            return as_flow
    serve = sp.csr_matrix((np.ones(nv), (g_idx, np.arange(nv))), shape=(G, nv))
    load = sp.csr_matrix((np.ones(nv), (terr, np.arange(nv))), shape=(k, nv))
    eye = sp.identity(k, format="csr")
    extra = [sp.csr_matrix((len(limits), 4 * k))]

    def solve(elastic: bool):
        # columns: pairs, shortfall, overflow (soft tier), under, over (beyond the hard band: elastic only)
        hard_width = np.inf if elastic else 0.0
        a = sp.vstack([sp.hstack([serve, sp.csr_matrix((G, 4 * k))]),
                       sp.hstack([load, eye, -eye, eye, -eye]),
                       *([sp.hstack([sp.csr_matrix(np.vstack([lim.moved[g_idx, c_idx] for lim in limits])), *extra])]
                         if limits else [])], format="csr")
        lower = np.r_[mass, band.aim_lower, [-np.inf] * len(limits)]
        upper = np.r_[mass, band.aim_upper, [lim.budget for lim in limits]]
        big = soft * (k + 1) * 10.0
        c = np.r_[pair_cost, np.full(2 * k, soft), np.full(2 * k, big)]
        ub = np.r_[mass[g_idx], np.maximum(band.aim_lower - band.lower, 0.0),
                   np.maximum(band.upper - band.aim_upper, 0.0), np.full(2 * k, hard_width)]
        return milp(c, constraints=LinearConstraint(a, lower, upper), bounds=Bounds(np.zeros(nv + 4 * k), ub),
                    options={"time_limit": time_limit})

    result = solve(elastic=False)
    if result.x is None:
        result = solve(elastic=True)
    if result.x is None and limits and result.status == 2:
        raise LimitsInfeasible(result.message)
    if result.x is None:
        raise RuntimeError(f"HiGHS found no solution for the transportation LP: {result.message}")
    x = np.maximum(result.x, 0.0)
    flow = np.zeros((G, m))
    np.add.at(flow, (g_idx, c_idx), x[:nv])
    excess = x[nv + 2 * k:nv + 3 * k] + x[nv + 3 * k:nv + 4 * k]
    return Flow(flow=flow, excess=excess, cost=float(pair_cost @ x[:nv]))


FLOW_UNITS = 1e9
"""The min-cost flow works in whole units: the total mass is this many of them (fewer in the
elastic form, so that its large penalty times the flow still fits in 64 bits)."""
COST_UNITS = 1e6
"""... and in whole cost steps: the spread of the pair costs is this many of them."""
INT64_ROOM = 2e18
"""Penalty x total flow stays below this (int64 ends at 9.2e18; OR-Tools adds path costs up)."""
MAX_PENALTY = 1e12
"""The most cost steps the soft penalty may take."""
ROUNDING_SLACK = 1e-9
"""Load outside the band, as a share of the total, that the integer rounding may cause."""


def _min_cost_flow(mass: np.ndarray, cand: np.ndarray, cost: np.ndarray, g_idx: np.ndarray, c_idx: np.ndarray,
                   terr: np.ndarray, soft: float, band: Band, elastic: bool) -> Flow | None:
    """The same program as a min-cost flow (OR-Tools), several times faster than the simplex on
    it: groups -> candidate territories -> a sink, each territory's load in tiers (the hard lower
    bound; up to the aim band at a reward of the soft penalty; the aim band, free; up to the hard
    upper bound at the soft penalty). The hard form makes the lower bound a demand and stops at
    the upper bound (None when that is infeasible); the elastic form rewards the lower tier and
    charges what goes beyond the upper bound a penalty larger than any rerouting saves, like the
    LP's elastic program. Masses and costs are scaled to integers; each group's flow is scaled
    back to its exact mass. None too when the scaling does not fit (the caller solves the LP)."""
    from ortools.graph.python import min_cost_flow

    G, m = cand.shape
    k = band.lower.size
    pair_cost = cost[g_idx, c_idx]
    total = float(mass.sum())
    if G == 0 or total <= 0 or not np.isfinite(pair_cost).all() or (cand < 0).all(axis=1).any():
        return None
    spread = float(pair_cost.max() - pair_cost.min())
    # the spread of the pair costs is COST_UNITS steps, unless that makes the penalty too many to
    # add up in 64 bits (costs within a hair of each other: the penalty is then MAX_PENALTY steps)
    cost_scale = min(COST_UNITS / spread if spread > 0 else 1.0, MAX_PENALTY / soft)
    unit_cost = np.rint((pair_cost - pair_cost.min()) * cost_scale).astype(np.int64)
    penalty = int(np.rint(soft * cost_scale))
    # a path of the flow crosses each territory at most twice: beyond it no rerouting pays
    big = (2 * k + 2) * (int(unit_cost.max()) + 2 * penalty + 1) if elastic else penalty
    scale = min(FLOW_UNITS, INT64_ROOM / big) / total
    supply = np.rint(mass * scale).astype(np.int64)
    lower = np.ceil(np.maximum(band.lower, 0.0) * scale - 1e-6).astype(np.int64)
    upper = np.floor(band.upper * scale + 1e-6).astype(np.int64)
    if (upper < lower).any() or lower.sum() > supply.sum():
        if not elastic:
            return None
        upper = np.maximum(upper, lower)
    aim_lower = np.clip(np.rint(band.aim_lower * scale).astype(np.int64), lower, upper)
    aim_upper = np.clip(np.rint(band.aim_upper * scale).astype(np.int64), aim_lower, upper)
    territory = G + np.arange(k)
    sink = G + k
    tiers = [(aim_lower - lower, -penalty), (aim_upper - aim_lower, 0), (upper - aim_upper, penalty)]
    if elastic:
        tiers = [(lower, -big)] + tiers + [(np.full(k, supply.sum()), big)]
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.r_[g_idx, np.tile(territory, len(tiers))].astype(np.int32),
        np.r_[G + terr, np.full(len(tiers) * k, sink)].astype(np.int32),
        np.concatenate([supply[g_idx]] + [cap for cap, _ in tiers]),
        np.concatenate([unit_cost] + [np.full(k, price, dtype=np.int64) for _, price in tiers]))
    demand = np.zeros(k, dtype=np.int64) if elastic else lower
    solver.set_nodes_supplies(np.arange(G + k + 1, dtype=np.int32),
                              np.r_[supply, -demand, [-(supply.sum() - demand.sum())]])
    if solver.solve() != solver.OPTIMAL:
        return None
    units = solver.flows(np.arange(g_idx.size, dtype=np.int32)).astype(float)
    flow = np.zeros((G, m))
    flow[g_idx, c_idx] = units
    sent = flow.sum(axis=1)
    served = sent > 0
    flow[served] *= (mass[served] / sent[served])[:, None]
    # a group too light for one unit: all of it to its cheapest candidate
    light = np.flatnonzero(~served & (mass > 0))
    if light.size:
        cheapest = np.where(cand[light] >= 0, cost[light], np.inf).argmin(axis=1)
        flow[light, cheapest] = mass[light]
    load = np.bincount(terr, weights=flow[g_idx, c_idx], minlength=k)
    excess = np.maximum(load - band.upper, 0.0) + np.maximum(band.lower - load, 0.0)
    # whole units round each group's mass (half a unit each) and each bound (one unit): an answer
    # off the band by no more than that rounding is for the exact LP to settle, either way
    rounding = (0.5 * G + 2 * k) / scale
    unclear = excess.sum() <= rounding if elastic else excess.sum() > ROUNDING_SLACK * total
    if unclear:
        return None
    return Flow(flow=flow, excess=excess if elastic else np.zeros(k),
                cost=float((pair_cost * flow[g_idx, c_idx]).sum()))


def split_groups(flow: Flow, mass: np.ndarray) -> np.ndarray:
    """Boolean (G,): groups whose mass the LP sends to more than one territory."""
    positive = flow.flow > SPLIT * np.maximum(mass, 1e-300)[:, None]
    return positive.sum(axis=1) > 1


def main_choice(flow: Flow, cand: np.ndarray) -> np.ndarray:
    """(G,) the territory receiving most of each group's mass."""
    return cand[np.arange(cand.shape[0]), flow.flow.argmax(axis=1)]


def round_split(weight: np.ndarray, cand: np.ndarray, cost: np.ndarray, allowed: np.ndarray, band: Band,
                limits: tuple[MoveLimit, ...] = (), checks: int = DEFAULT.rounding_checks,
                work: int = DEFAULT.rounding_work) -> np.ndarray | None:
    """Whole assignments for some accounts: choice index (n,) into ``cand``, or None.

    A mixed-integer program over these accounts only: each takes one of its ``allowed``
    candidates and every territory's load (``band`` already net of everyone else's load) lands in
    its hard band, in its aim band where possible; minimises cost x weight. None when no such
    rounding exists (the caller widens the set or reports). The search stops after ``checks`` of
    HiGHS' progress checks, fewer on a large program (:func:`mip.scaled_checks`).
    """
    n, _ = cand.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g_idx, c_idx = np.nonzero(allowed & (cand >= 0))
    terr = cand[g_idx, c_idx]
    nv = g_idx.size
    k = band.lower.size
    touched = np.unique(terr)
    t = touched.size
    rank = np.full(k, -1, dtype=np.int64)
    rank[touched] = np.arange(t)
    pair_cost = cost[g_idx, c_idx] * weight[g_idx]
    soft = _soft_penalty(cost[g_idx, c_idx])
    one = sp.csr_matrix((np.ones(nv), (g_idx, np.arange(nv))), shape=(n, nv))
    load = sp.csr_matrix((weight[g_idx], (rank[terr], np.arange(nv))), shape=(t, nv))
    eye = sp.identity(t, format="csr")
    blocks = [sp.hstack([one, sp.csr_matrix((n, 2 * t))]), sp.hstack([load, eye, -eye])]
    lower = [np.ones(n), band.aim_lower[touched]]
    upper = [np.ones(n), band.aim_upper[touched]]
    for lim in limits:
        blocks.append(sp.hstack([sp.csr_matrix(lim.moved[g_idx, c_idx][None, :] * weight[g_idx]),
                                 sp.csr_matrix((1, 2 * t))]))
        lower.append([-np.inf])
        upper.append([lim.budget])
    c = np.r_[pair_cost, np.full(2 * t, soft)]
    ub = np.r_[np.ones(nv), np.maximum(band.aim_lower - band.lower, 0.0)[touched],
               np.maximum(band.upper - band.aim_upper, 0.0)[touched]]
    result = mip.solve(c, sp.vstack(blocks, format="csr"), np.concatenate(lower), np.concatenate(upper),
                       np.zeros(nv + 2 * t), ub, np.r_[np.ones(nv, dtype=bool), np.zeros(2 * t, dtype=bool)],
                       mip.Work(checks=mip.scaled_checks(checks, work, nv), gap=MIP_GAP,
                                nodes=MIP_NODES))
    if result.x is None:
        return None
    chosen = result.x[:nv] > 0.5
    choice = np.full(n, -1, dtype=np.int64)
    choice[g_idx[chosen]] = c_idx[chosen]
    return choice if (choice >= 0).all() else None
