"""Stray pieces the hand-backs could not place: one exact trade that joins them and cuts nothing.

A hand-back moves a piece into a territory it touches only when both stay in the band; after a
lopsided start re-balanced at high stability most territories sit at an edge of the band, so many
pieces stay. Here one integer program joins as many pieces as it can and makes room for them by
trading border accounts, under rules that make a new piece impossible by construction:

- a piece joins, whole, a territory whose main body it touches;
- before the program, each territory is given the locations it may empty: locations whose
  neighbours of the same territory are linked among themselves (every path through one has a way
  round), no two of them neighbours, the ones nearest the pieces first. Taking away such an
  independent set cannot cut a territory, since each one's way round uses none of the others. At
  any other location at least one of the territory's accounts stays;
- a border account (or a piece) may join a territory's main body only where that body keeps a
  location at or next to it that it may not empty;

with every territory involved in the hard band (or no farther outside than it was), the move
budgets kept, and every move landing within 0.9 x the far rule's reach. It maximises the joined load
(each unit worth ``JOIN_REWARD`` units of other moves), then minimises the change in moved load.
The territories that hold or touch the pieces trade, with ``RINGS`` rings of neighbours around
them; one trade moves one layer of border accounts, so the engine runs it in rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from territory.engine import mip
from territory.engine.polish import LocationMap, far_limits, row_indices, unit_km
from territory.engine.repair import stray_accounts
from territory.engine.solve import MOVED_BY_BALANCE, MOVED_BY_CONTIGUITY, Problem, _spent

JOIN_REWARD = 10.0
"""A unit of stray load joined is worth this many units of other load moved to make room for it."""

RINGS = 2
"""Rings of neighbouring territories around the pieces that may trade to make room."""

JOIN_GAP = 0.05
"""The program stops within 5% of the best trade it can prove."""

TRAVEL = 0.1
"""Weight of the distance to the new territory's centre (in median distances) against a move."""

REACH_SHARE = 0.9
"""Moves land within this share of the far rule's reach (the centres move a little with them)."""

MOST_VARIABLES = 150_000
"""A trade with more choices than this is not attempted."""


@dataclass
class _Map:
    """The alignment as the trade sees it: locations, main bodies, pieces and reach."""

    problem: Problem
    labels: np.ndarray
    terrain: LocationMap
    near: sp.csr_matrix  # (locations, locations): each location and its neighbours
    body_keys: set  # location * k + territory where the territory's main body has accounts
    body_at: dict  # location -> the territories whose main body has accounts there
    main: np.ndarray  # (n,) bool: counted accounts in their territory's main body
    landing: np.ndarray  # (k, 3) centres of the far rule
    reach: np.ndarray  # (k,) km
    scale_km: float  # the median distance of the main bodies' accounts to their centre

    @property
    def k(self) -> int:
        return self.problem.k

    def bodies_near(self, places) -> list[int]:
        """Territories whose main body is at or next to any of ``places``."""
        around = np.unique(row_indices(self.near, places))
        found: set[int] = set()
        for v in around.tolist():
            found.update(self.body_at.get(v, ()))
        return sorted(found)


@dataclass
class _Program:
    """Rows of the integer program, added one at a time."""

    rows: list = field(default_factory=list)
    cols: list = field(default_factory=list)
    vals: list = field(default_factory=list)
    lower: list = field(default_factory=list)
    upper: list = field(default_factory=list)

    def add(self, columns, values, low: float, high: float) -> None:
        columns = np.asarray(columns, dtype=np.int64)
        self.rows.append(np.full(columns.size, len(self.lower), dtype=np.int64))
        self.cols.append(columns)
        self.vals.append(np.asarray(values, dtype=np.float64))
        self.lower.append(low)
        self.upper.append(high)

    def at_most_one(self, columns: np.ndarray, groups: np.ndarray) -> None:
        """At most one of the columns of each group."""
        order = np.argsort(groups, kind="stable")
        bounds = np.r_[0, np.flatnonzero(np.diff(groups[order])) + 1, order.size]
        for s, e in zip(bounds[:-1], bounds[1:]):
            if e - s > 1:
                self.add(columns[order[s:e]], np.ones(e - s), 0.0, 1.0)

    def matrix(self, n_var: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """(matrix, lower, upper) of the rows added so far."""
        if not self.lower:
            return sp.csr_matrix((0, n_var)), np.zeros(0), np.zeros(0)
        matrix = sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                               shape=(len(self.lower), n_var))
        return matrix, np.asarray(self.lower, dtype=float), np.asarray(self.upper, dtype=float)


def join_pieces(problem: Problem, graph, labels: np.ndarray, how: np.ndarray) -> np.ndarray | None:
    """The labels with stray pieces joined by the trade above; None when nothing joins. ``how`` is
    updated for the accounts that move."""
    if graph is None or problem.k < 2 or problem.fix_outside_only:
        return None
    stray, rank = stray_accounts(problem, graph, labels)
    if not stray.any():
        return None
    where = _map(problem, graph, labels, stray, rank)
    members, piece_of, p_piece, p_to = _piece_choices(where, stray, rank)
    if p_piece.size == 0:
        return None
    involved = _involved(where, piece_of, members, p_piece, p_to)
    m_acc, m_to = _mover_choices(where, involved)
    loc = where.terrain.location_of
    k = problem.k
    mover_keys, m_place = np.unique(loc[m_acc] * k + labels[m_acc], return_inverse=True)
    emptiable = _emptiable(where, mover_keys, members)
    n_x, n_z = m_acc.size, p_piece.size
    n_var = n_x + n_z
    if n_var > MOST_VARIABLES:
        return None
    z0 = n_x  # the movers' columns come first, then the pieces'
    program = _Program()
    program.at_most_one(np.arange(n_x), m_acc)
    program.at_most_one(z0 + np.arange(n_z), p_piece)
    _keep_one_unless_emptiable(where, program, m_place, mover_keys, emptiable)
    allowed = np.ones(n_var, dtype=bool)
    allowed[:z0] = [_supported(where, [place], t, emptiable) for place, t in zip(loc[m_acc].tolist(), m_to.tolist())]
    piece_places = [np.unique(loc[members[piece_of == p]]) for p in range(int(piece_of.max()) + 1)]
    allowed[z0:] = [_supported(where, piece_places[p], t, emptiable) for p, t in zip(p_piece.tolist(), p_to.tolist())]
    w = problem.weight
    piece_load = np.bincount(piece_of, weights=w[members])
    piece_owner = np.zeros(piece_load.size, dtype=np.int64)
    piece_owner[piece_of] = labels[members]
    gains = np.r_[w[m_acc], piece_load[p_piece]]
    _band(where, program, involved, np.r_[m_to, p_to], np.r_[labels[m_acc], piece_owner[p_piece]], gains)
    accounts_of = [m_acc[j:j + 1] for j in range(n_x)] + [members[piece_of == p] for p in p_piece]
    destinations = np.r_[m_to, p_to]
    if problem.limits:
        _budgets(where, program, accounts_of, destinations)
    cost = np.array([_move_cost(where, accounts, int(t)) for accounts, t in zip(accounts_of, destinations)])
    cost[z0:] -= JOIN_REWARD * piece_load[p_piece]
    matrix, lower, upper = program.matrix(n_var)
    result = mip.solve(cost, matrix, lower, upper, np.zeros(n_var), allowed.astype(float), np.ones(n_var, dtype=bool),
                       mip.Work(checks=mip.scaled_checks(problem.config.join_checks, problem.config.join_work, n_var),
                                gap=JOIN_GAP))
    if result.x is None or not (result.x[z0:] > 0.5).any():
        return None
    chosen = result.x > 0.5
    out = labels.copy()
    for j in np.flatnonzero(chosen):
        out[accounts_of[j]] = destinations[j]
        how[accounts_of[j]] = MOVED_BY_CONTIGUITY if j >= z0 else MOVED_BY_BALANCE
    return out


def _map(problem: Problem, graph, labels: np.ndarray, stray: np.ndarray, rank: np.ndarray) -> _Map:
    terrain = LocationMap(problem, graph, labels.copy())
    terrain.reset(rank)
    n_loc = terrain.adjacency.shape[0]
    near = (terrain.adjacency + sp.identity(n_loc, format="csr")).tocsr()
    main = terrain.counted & (rank == 0) & ~stray
    pairs = np.unique(terrain.location_of[main] * problem.k + labels[main]).tolist()
    body_at: dict[int, list[int]] = {}
    for key in pairs:
        body_at.setdefault(key // problem.k, []).append(key % problem.k)
    landing, reach = far_limits(problem, labels)
    inner = np.flatnonzero(main)
    scale_km = float(np.median(unit_km(problem.xyz[inner], landing[labels[inner]]))) if inner.size else 1.0
    return _Map(problem, labels, terrain, near, set(pairs), body_at, main, landing, reach, max(scale_km, 1e-9))


def _piece_choices(where: _Map, stray: np.ndarray,
                   rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(stray accounts, their piece, (choices,) piece, (choices,) territory): each piece may join a
    territory whose main body it touches, when every account of it lands within its reach."""
    labels, problem = where.labels, where.problem
    key = labels.astype(np.int64) * (int(rank.max()) + 1) + rank
    members = np.flatnonzero(stray)
    _, piece_of = np.unique(key[members], return_inverse=True)
    p_piece, p_to = [], []
    for p in range(int(piece_of.max()) + 1):
        accounts = members[piece_of == p]
        here = int(labels[accounts[0]])
        for t in where.bodies_near(np.unique(where.terrain.location_of[accounts])):
            if t != here and unit_km(problem.xyz[accounts], where.landing[t]).max() <= REACH_SHARE * where.reach[t]:
                p_piece.append(p)
                p_to.append(t)
    return members, piece_of, np.asarray(p_piece, dtype=np.int64), np.asarray(p_to, dtype=np.int64)


def _involved(where: _Map, piece_of: np.ndarray, members: np.ndarray, p_piece: np.ndarray,
              p_to: np.ndarray) -> np.ndarray:
    """(k,) bool: the territories holding or receiving pieces, and ``RINGS`` rings around them."""
    k = where.k
    involved = np.zeros(k, dtype=bool)
    involved[where.labels[members[np.isin(piece_of, p_piece)]]] = True
    involved[p_to] = True
    loc = where.terrain.location_of
    main = np.flatnonzero(where.main)
    pairs = np.unique(loc[main] * k + where.labels[main])
    body = sp.csr_matrix((np.ones(pairs.size), (pairs // k, pairs % k)), shape=(where.near.shape[0], k))
    touching = ((body.T @ where.near @ body) > 0).tocsr()  # main bodies at or next to each other
    for _ in range(RINGS):
        involved = involved | (touching[np.flatnonzero(involved)].sum(axis=0).A1 > 0)
    return involved


def _mover_choices(where: _Map, involved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((choices,) account, (choices,) territory): main-body accounts of the involved territories
    may join another involved territory's main body at or next to their location, within reach."""
    labels, problem = where.labels, where.problem
    loc = where.terrain.location_of
    accounts = np.flatnonzero(where.main & involved[labels])
    m_acc, m_to = [], []
    by_place: dict[int, list[int]] = {}
    for i, place in zip(accounts.tolist(), loc[accounts].tolist()):
        options = by_place.get(place)
        if options is None:
            options = by_place[place] = where.bodies_near(place)
        for t in options:
            if t != labels[i] and involved[t]:
                m_acc.append(i)
                m_to.append(t)
    m_acc = np.asarray(m_acc, dtype=np.int64)
    m_to = np.asarray(m_to, dtype=np.int64)
    if m_acc.size == 0:
        return m_acc, m_to
    keep = unit_km(problem.xyz[m_acc], where.landing[m_to]) <= REACH_SHARE * where.reach[m_to]
    return m_acc[keep], m_to[keep]


def _emptiable(where: _Map, keys: np.ndarray, members: np.ndarray) -> set:
    """(location * k + territory) keys a territory may empty in this trade: locations whose
    neighbours of the same territory are linked among themselves, no two of them neighbours, the
    ones nearest the pieces first (a greedy independent set: fixed before the program, so that
    the program stays a plain assignment)."""
    k = where.k
    places = keys // k
    xyz = where.problem.xyz
    spot = np.zeros((where.near.shape[0], 3))
    spot[where.terrain.location_of[where.terrain.counted]] = xyz[where.terrain.counted]
    distance, _ = cKDTree(xyz[members]).query(spot[places])
    chosen: set[int] = set()
    for key in keys[np.argsort(distance, kind="stable")].tolist():
        u, t = divmod(int(key), k)
        if any(int(v) * k + t in chosen for v in where.terrain.around(u).tolist()):
            continue
        if where.terrain.ring_linked(u, t):
            chosen.add(int(key))
    return chosen


def _keep_one_unless_emptiable(where: _Map, program: _Program, m_place: np.ndarray, keys: np.ndarray,
                               emptiable: set) -> None:
    """At a location its territory may not empty, at least one of its accounts stays."""
    count = where.terrain.count
    order = np.argsort(m_place, kind="stable")
    bounds = np.r_[0, np.flatnonzero(np.diff(m_place[order])) + 1, order.size]
    for s, e in zip(bounds[:-1], bounds[1:]):
        key = int(keys[m_place[order[s]]])
        if key not in emptiable:
            program.add(order[s:e], np.ones(e - s), -np.inf, count.get(key, 0) - 1.0)


def _supported(where: _Map, places, territory: int, emptiable: set) -> bool:
    """May accounts at ``places`` join the territory: does its main body keep a location at or next
    to them (one it may not empty)?"""
    k = where.k
    around = np.unique(row_indices(where.near, places))
    return any((key := v * k + territory) in where.body_keys and key not in emptiable for v in around.tolist())


def _band(where: _Map, program: _Program, involved: np.ndarray, to: np.ndarray, source: np.ndarray,
          gains: np.ndarray) -> None:
    """Every involved territory ends in the hard band, or no farther outside than it is."""
    problem = where.problem
    load = np.bincount(where.labels, weights=problem.weight, minlength=problem.k) + problem.fixed_load
    low = problem.target * (1 - problem.tolerance)
    high = problem.target * (1 + problem.tolerance)
    for t in np.flatnonzero(involved):
        columns = np.r_[np.flatnonzero(to == t), np.flatnonzero(source == t)]
        if columns.size:
            values = np.r_[gains[to == t], -gains[source == t]]
            program.add(columns, values, min(low[t], load[t]) - load[t], max(high[t], load[t]) - load[t])


def _budgets(where: _Map, program: _Program, accounts_of: list, destinations: np.ndarray) -> None:
    """The move budgets: what each choice adds to the moved amount, within what is left."""
    problem, labels = where.problem, where.labels
    current = problem.current
    spent = _spent(problem, np.flatnonzero(problem.free), labels[problem.free])
    for limit, used in zip(problem.limits, spent):
        extra = [float((np.where((current[a] >= 0) & (t != current[a]), limit.amount[a], 0.0)
                        - np.where((current[a] >= 0) & (labels[a] != current[a]), limit.amount[a], 0.0)).sum())
                 for a, t in zip(accounts_of, destinations.tolist())]
        program.add(np.arange(len(extra)), extra, -np.inf, limit.budget - float(used))


def _move_cost(where: _Map, accounts: np.ndarray, to: int) -> float:
    """The change in moved load, plus a little travel to the new territory's centre."""
    problem, labels = where.problem, where.labels
    current = problem.current[accounts]
    w = problem.weight[accounts]
    moved_now = (current < 0) | (labels[accounts] != current)
    moved_after = (current < 0) | (current != to)
    travel = unit_km(problem.xyz[accounts], where.landing[to]) / where.scale_km
    return float((w * (moved_after.astype(float) - moved_now + TRAVEL * travel)).sum())
