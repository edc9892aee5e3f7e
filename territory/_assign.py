"""Numerical core of the balancing engine (private): arrays in, territory labels out.

``territory.balance`` turns tables into the arrays below and back; everything here is plain numpy
and scipy so it can be tested and profiled without pandas. The method, in the order it runs:

1. **Seeding**: recursive weighted bisection (balanced by construction), or the centres the
   caller gives (current territories' centres, rep homes) with any extra territory carved out of
   the busiest one (:func:`split_seeds`); small problems also try k-means++ restarts.
2. **Sparse candidates**: each account's ``m`` nearest centres (3-D unit vectors, so it works
   anywhere on Earth; a KD-tree on the centres, or all distances when K is small), plus its
   current territory.
3. **Prices**: each account goes to the candidate with the lowest ``cost - price``; the cost is
   the chordal distance (monotone in great-circle distance) scaled by compactness, plus a
   stay-bonus for the current territory (stability). Additive prices on distance make the cells
   of an additively weighted Voronoi diagram; with great-circle distance each cell is star-shaped
   around its centre (every point between a member and the centre belongs to the cell too), so
   territories do not interleave (the chord is within 0.1% of it up to 1,000 km, and the
   contiguity repair below catches what is left). Prices are raised for under-loaded and lowered
   for over-loaded territories by a vectorised Newton step: each territory's price moves by the
   margin at which just enough accounts would change sides (a semi-discrete optimal-transport /
   auction dual ascent on the sparse graph, never the dense N x K problem).
4. **Lloyd**: free centres move to the weighted spherical median of their accounts (the point of
   least travel; squared distances with centroids, which this replaced, left 3-4% more travel on
   the benchmark data at 10,000-100,000 accounts),
   until travel settles. A fresh solve first runs many centre moves on a coarse subsample, then
   polishes on all accounts (:func:`_levels`). A
   territory short of load for several moves in a row, or that high prices cannot fill, restarts
   inside the most over-loaded one.
5. **Repair** on the account Delaunay graph: single boundary accounts move between *neighbouring*
   territories to remove the residual imbalance, and every non-largest piece of a territory joins
   the neighbouring territory it touches most (contiguity). Locked accounts never move.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree
from threadpoolctl import ThreadpoolController

QUERY_WORKERS = 2
"""Threads for the nearest-centre KD-tree query (results do not depend on it)."""
N_CANDIDATES = 10
"""Nearest centres each account may join (plus its current territory)."""
BRUTE_FORCE_UP_TO = 64
"""Up to this many centres, candidates come from all account-centre distances (no KD-tree)."""
SUBSAMPLE_ABOVE = 50_000
"""Inputs larger than 1.5x the subsample first run the Lloyd loop on a subsample of max(this,
SUBSAMPLE_PER_TERRITORY x K) accounts (coarse-to-fine)."""
SUBSAMPLE_PER_TERRITORY = 100
FULL_PASS_UP_TO = 4
"""Subsampled inputs up to this many times SUBSAMPLE_ABOVE (or 100 x K) get one centre move on all
accounts (0.3% shorter travel at 100k x 100, 1.2% at 1M x 100; far above, a full loose solve costs
~10 s at 1M x 100 and biased the centres at 1M x 500); inputs up to 1.5 times it get FULL_POLISH."""
FULL_POLISH = 2
MAX_LLOYD = 6
"""Most centre moves (Lloyd iterations) per level; it usually stops earlier when the centres settle."""
COARSE_MIN = 2_500
COARSE_PER_TERRITORY = 100
COARSE_MAX_PER_TERRITORY = 300
COARSE_SHARE = 0.15
COARSE_LLOYD = 40
COARSE_WORK = 300_000
"""A fresh solve first moves the centres up to COARSE_LLOYD times (at most COARSE_WORK / subsample
size, at least MAX_LLOYD) on a subsample of COARSE_SHARE x (accounts per territory), clipped to
100-300, x K accounts (at least COARSE_MIN, at most SUBSAMPLE_ABOVE; see :func:`_levels`).
Measured: 40 moves on 50,000 accounts cost 17 s at 100k x 500 for 0.2% less travel than 6."""
COARSE_FROM = 4
"""The coarse level runs only on inputs at least this many times its size (below, it saves little
and its noise cost 14% travel on the sample with today's alignment and locked accounts)."""
SETTLED = 0.002
"""The centre moves stop when travel fell by less than this share over the last three moves."""
STARVED = 0.5
SHORT_MOVES = 3
SHORT_MIN_ACCOUNTS = COARSE_PER_TERRITORY
"""A free territory restarts elsewhere when it is more than STARVED short of its target, or short
of twice the loose band for SHORT_MOVES centre moves in a row (a territory in a sparse area next
to another short one: prices alone stalled 24% off at 200k x 500) while the level has at least
SHORT_MIN_ACCOUNTS accounts per territory (coarse levels always do). With fewer, heavy-tailed
workloads leave many territories short by whole accounts, not by place, and restarting them all
went chaotic: at 50 per territory, 2,000 accounts in five Australian and NZ cities at K = 30 / 40
ended 35% / 159% off after 1.4 s; at 100, 3.1% / 3.8% in 0.15 s."""
RESEED_SHARE = 0.05
"""At most this share of the territories restarts in one centre move (at least one)."""
LOOSE_ITER = 30
"""Price steps per Lloyd iteration (loose band); the final solve gets FINAL_ITER."""
FINAL_ITER = 150
MEDIAN_STEPS = 8
"""Weiszfeld steps per centre move (from the centroid; the median moves little after a few)."""
STRICT_PENALTY = 1e6
"""Stay-bonus (in units of the mean distance to the nearest centre) used for stability = 1."""

# reasons recorded per account by the repair passes (balance.py turns them into sentences)
MOVED_BY_PRICE = 0
MOVED_BY_BALANCE_REPAIR = 1
MOVED_BY_CONTIGUITY = 2


@dataclass
class Problem:
    """Everything the solver needs, as arrays. ``n`` geo-located accounts, ``k`` territories."""

    xyz: np.ndarray  # (n, 3) unit vectors
    weight: np.ndarray  # (n,) balance measure, >= 0
    target: np.ndarray  # (k,) target load of each territory (whole measure, incl. fixed load)
    fixed_load: np.ndarray  # (k,) load from accounts outside the solve (no coordinates)
    locked: np.ndarray  # (n,) territory index the account is locked to, -1 when free
    current: np.ndarray  # (n,) current territory index, -1 when none (or dropped)
    init_centres: np.ndarray  # (k, 3)
    anchored: np.ndarray  # (k,) bool: centre fixed (rep home)
    distance_scale: float = 1.0  # multiplies distances (compactness)
    stay_bonus: float = 0.0  # in units of the mean distance (stability); 0 = none
    aim: float = 0.01  # relative band the prices aim for
    tolerance: float = 0.05  # hard band
    goal_fraction: float = 0.5  # out-of-band territories are brought to goal_fraction x aim
    adjacency: sp.csr_matrix | None = None  # Delaunay graph of the n accounts (or a Future of it)
    repair_contiguity: bool = True
    seed: int = 0
    max_lloyd: int = 15


@dataclass
class Solution:
    labels: np.ndarray  # (n,) territory index
    centres: np.ndarray  # (k, 3)
    prices: np.ndarray  # (k,)
    how: np.ndarray  # (n,) MOVED_BY_* code of the last change of each account
    n_iter: int = 0
    notes: list[str] = field(default_factory=list)


# --- seeding ----------------------------------------------------------------------------------


def kmeans_plus_plus(xyz: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator,
                     sample: int = 20_000) -> np.ndarray:
    """Weighted k-means++ seeds (k, 3) drawn from the accounts (a subsample when large); used for
    the extra restarts of small problems (new territories next to given centres: :func:`split_seeds`)."""
    n = xyz.shape[0]
    if n > sample:
        idx = np.sort(rng.choice(n, size=sample, replace=False))
        pts, w = xyz[idx], weight[idx]
    else:
        pts, w = xyz, weight
    # a floor keeps zero-weight accounts selectable (a territory of only zero-weight accounts)
    w = w + (w.mean() if w.sum() > 0 else 1.0) * 1e-3
    centres = np.empty((k, 3))
    first = rng.choice(pts.shape[0], p=w / w.sum())
    centres[0] = pts[first]
    d2 = ((pts - pts[first]) ** 2).sum(axis=1)
    start = 1
    for j in range(start, k):
        prob = w * d2
        total = prob.sum()
        if total <= 0:  # fewer distinct locations than territories: reuse a random location
            pick = rng.integers(pts.shape[0])
        else:
            pick = rng.choice(pts.shape[0], p=prob / total)
        centres[j] = pts[pick]
        d2 = np.minimum(d2, ((pts - pts[pick]) ** 2).sum(axis=1))
    return centres


def bisection_seeds(xyz: np.ndarray, weight: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Balanced seeds (k, 3) by recursive bisection: split the accounts along their widest
    principal axis at the weighted quantile that matches the capacities on each side, until one
    group per territory; each seed is its group's spherical centroid.

    Every seed starts with (nearly) its exact share of the load, so the Lloyd loop only has to
    improve compactness, and a remote island (Hawaii) cannot capture a territory of its own.
    Deterministic (no randomness)."""
    k = capacity.size
    seeds = np.empty((k, 3))
    w = weight + (weight.mean() if weight.sum() > 0 else 1.0) * 1e-6
    stack = [(np.arange(xyz.shape[0]), 0, k)]
    while stack:
        idx, lo, hi = stack.pop()
        if hi - lo == 1 or idx.size <= 1:
            sub = w[idx] @ xyz[idx] if idx.size else np.array([0.0, 0.0, 1.0])
            for j in range(lo, hi):
                seeds[j] = sub
            continue
        mid = lo + (hi - lo) // 2
        share = capacity[lo:mid].sum() / capacity[lo:hi].sum()
        pts = xyz[idx]
        centre = (w[idx] @ pts) / w[idx].sum()
        cov = ((pts - centre) * w[idx, None]).T @ (pts - centre)
        axis = np.linalg.eigh(cov)[1][:, -1]
        proj = (pts - centre) @ axis
        order = np.argsort(proj, kind="stable")
        cum = np.cumsum(w[idx][order])
        cut = int(np.searchsorted(cum, share * cum[-1]))
        cut = min(max(cut, 1), idx.size - 1)
        stack.append((idx[order[cut:]], mid, hi))
        stack.append((idx[order[:cut]], lo, mid))
    return normalise(seeds)


def island_seeds(xyz: np.ndarray, weight: np.ndarray, adjacency: sp.spmatrix,
                 capacity: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray | None:
    """Seeds (k, 3) that give every island group (accounts joined by neighbour edges of at most
    ``geo.ISLAND_GAP_KM``: Perth, New Zealand, Hawaii) its share of the territories, rounded by
    largest remainder, split within the group by :func:`bisection_seeds`; None when the accounts
    form one group, or when ``labels`` already give every group its share (a territory counts for
    the group that holds most of its load): then the seeds would not help.

    Prices cannot move load between clusters thousands of km apart (every account there is about
    equally far from the other cluster's centres), so a cluster that starts with one territory too
    many or too few stays unbalanced: 4,000 accounts in five Australian and New Zealand cities at
    K = 60 ended 23% off; seeded per group, 2.4%."""
    from territory.geo import island_groups

    n_groups, group = island_groups(adjacency, xyz)
    if n_groups < 2 or weight.sum() <= 0:
        return None
    k = capacity.size
    # each group's share in territories, rounded by largest remainder so that the counts add to k
    share = np.bincount(group, weights=weight, minlength=n_groups) / weight.sum() * k
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[:k - counts.sum()]] += 1
    if labels is not None:
        load = np.bincount(labels * n_groups + group, weights=weight, minlength=k * n_groups).reshape(k, n_groups)
        if np.array_equal(np.bincount(load.argmax(axis=1), minlength=n_groups), counts):
            return None
    seeds = np.empty((k, 3))
    start = 0
    for g in np.flatnonzero(counts):
        members = group == g
        end = start + counts[g]
        seeds[start:end] = bisection_seeds(xyz[members], weight[members], capacity[start:end])
        start = end
    return seeds


def split_seeds(xyz: np.ndarray, weight: np.ndarray, init: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Seeds for the territories whose ``init`` row is NaN (new territories), carved out of the
    most loaded ones: accounts go to their nearest given centre; then, one new territory at a
    time, the group with the most load per unit of capacity is split along its widest principal
    axis at the weighted quantile that matches the two capacities, the side nearer the old centre
    keeps it (moved to its half's centroid) and the other side seeds the new territory.

    Like a new hire taking over part of the busiest area, so every seed starts with about its
    share of the load (k-means++ seeds could land where too few accounts can reach them, and the
    prices then never balanced). Deterministic."""
    centres = init.copy()
    filled = np.flatnonzero(np.isfinite(centres[:, 0]))
    missing = np.flatnonzero(~np.isfinite(centres[:, 0]))
    if missing.size == 0:
        return centres
    w = weight + (weight.mean() if weight.sum() > 0 else 1.0) * 1e-6
    _, nearest = cKDTree(centres[filled]).query(xyz)
    owner = filled[nearest]
    for j in missing:
        load = np.bincount(owner, weights=w, minlength=centres.shape[0])
        busiest = int(np.argmax(np.where(np.isfinite(centres[:, 0]), load / np.maximum(capacity, 1e-12), -np.inf)))
        idx = np.flatnonzero(owner == busiest)
        if idx.size < 2:
            centres[j] = xyz[idx[0]] if idx.size else centres[busiest]
            continue
        pts = xyz[idx]
        centre = (w[idx] @ pts) / w[idx].sum()
        cov = ((pts - centre) * w[idx, None]).T @ (pts - centre)
        axis = np.linalg.eigh(cov)[1][:, -1]
        proj = (pts - centre) @ axis
        if (centres[busiest] - centre) @ axis > 0:  # the old centre's side first
            proj = -proj
        order = np.argsort(proj, kind="stable")
        cum = np.cumsum(w[idx][order])
        share = capacity[busiest] / (capacity[busiest] + capacity[j])
        cut = min(max(int(np.searchsorted(cum, share * cum[-1])), 1), idx.size - 1)
        keep, give = idx[order[:cut]], idx[order[cut:]]
        owner[give] = j
        centres[busiest] = normalise((w[keep] @ xyz[keep])[None, :])[0]
        centres[j] = normalise((w[give] @ xyz[give])[None, :])[0]
    return centres


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def medians(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, k: int,
            previous: np.ndarray, steps: int = MEDIAN_STEPS) -> np.ndarray:
    """Weighted spherical median per territory (the point of least weighted travel), by a few
    Weiszfeld steps from the centroid; an empty territory keeps its previous centre."""
    centres = centroids(xyz, weight, labels, k, previous)
    w = weight + 1e-9
    for _ in range(steps):
        inverse = w / (np.sqrt(((xyz - centres[labels]) ** 2).sum(axis=1)) + 1e-7)
        sums = np.column_stack([np.bincount(labels, weights=inverse * xyz[:, d], minlength=k) for d in range(3)])
        norms = np.linalg.norm(sums, axis=1)
        ok = norms > 1e-12
        centres[ok] = sums[ok] / norms[ok, None]
    return centres


def centroids(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, k: int,
              previous: np.ndarray) -> np.ndarray:
    """Weighted spherical centroid per territory; an empty territory keeps its previous centre."""
    w = weight + 1e-9  # zero-weight territories still get a centre
    sums = np.column_stack([np.bincount(labels, weights=w * xyz[:, d], minlength=k) for d in range(3)])
    norms = np.linalg.norm(sums, axis=1)
    out = previous.copy()
    ok = norms > 1e-12
    out[ok] = sums[ok] / norms[ok, None]
    return out


# --- candidates and costs ---------------------------------------------------------------------


def candidates(xyz: np.ndarray, centres: np.ndarray, current: np.ndarray, locked: np.ndarray,
               m: int = N_CANDIDATES, account_tree: cKDTree | None = None,
               reach: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """(cand, d2): each account's m nearest centres, its current/locked territory and every
    territory for which it is among the ``reach x n / k`` accounts nearest to the centre.

    The last set lets any territory fill itself even when its centre sits away from everyone's
    nearest few (a centre pulled offshore by an island). d2 is the squared chordal distance on the
    unit sphere (~ (km / 6371)^2 for short distances)."""
    n = xyz.shape[0]
    k = centres.shape[0]
    m = max(1, min(m, k))
    if k <= BRUTE_FORCE_UP_TO:
        # few centres: all distances at once beat a KD-tree's per-query overhead
        all_d2 = np.maximum(2.0 - 2.0 * (xyz @ centres.T), 0.0)
        idx = np.argpartition(all_d2, m - 1, axis=1)[:, :m] if m < k else np.broadcast_to(np.arange(k), (n, k))
        near_d2 = np.take_along_axis(all_d2, idx, axis=1)
        order = np.argsort(near_d2, axis=1, kind="stable")
        idx = np.take_along_axis(idx, order, axis=1)
        dist = np.sqrt(np.take_along_axis(near_d2, order, axis=1))
    else:
        # threads pay off only for large queries (starting them cost more than 10k queries take)
        dist, idx = cKDTree(centres).query(xyz, k=m, workers=QUERY_WORKERS if n > 20_000 else 1)
        if m == 1:
            dist, idx = dist[:, None], idx[:, None]
    extra = np.where(locked >= 0, locked, np.where(current >= 0, current, idx[:, 0]))
    columns = [idx, extra[:, None]]
    q = int(min(n, reach * n / k + 10))
    listed = np.bincount(idx.ravel(), minlength=k)
    short = np.flatnonzero(listed < q)  # territories too few accounts can even see
    if k > m and account_tree is not None and n > 1 and short.size:
        _, near = account_tree.query(centres[short], k=q, workers=1)
        near = np.asarray(near).reshape(short.size, -1)
        acct = near.ravel()
        terr = np.repeat(short, near.shape[1])
        valid = acct < n
        acct, terr = acct[valid], terr[valid]
        new = ~(idx[acct] == terr[:, None]).any(axis=1)
        acct, terr = acct[new], terr[new]
        if acct.size:
            order = np.argsort(acct, kind="stable")
            acct, terr = acct[order], terr[order]
            starts = np.r_[0, np.flatnonzero(np.diff(acct)) + 1]
            rank = np.arange(acct.size) - np.repeat(starts, np.diff(np.r_[starts, acct.size]))
            width = int(rank.max()) + 1
            more = np.repeat(idx[:, :1], width, axis=1)
            more[acct, rank] = terr
            columns.append(more)
    cand = np.column_stack(columns).astype(np.int64)
    d2 = np.empty(cand.shape)
    d2[:, :m] = dist**2
    for c in range(m, cand.shape[1]):
        d2[:, c] = ((xyz - centres[cand[:, c]]) ** 2).sum(axis=1)
    return cand, d2


def cost_matrix(problem: Problem, cand: np.ndarray, d2: np.ndarray, current: np.ndarray,
                scale: float) -> np.ndarray:
    """Per-unit cost of each candidate: chordal distance and stay-bonus (``scale`` is the mean
    distance to the nearest centre, the unit of the stay-bonus)."""
    cost = problem.distance_scale * np.sqrt(d2)
    # a tiny seeded tie-break so that accounts at one location (a ZIP centroid) can be split
    # between territories by the prices instead of moving all-or-nothing
    n = cand.shape[0]
    tie = np.random.default_rng(problem.seed + 7)
    cost = cost + (1e-6 * scale) * tie.random(n)[:, None] * tie.random(problem.target.size)[cand]
    if problem.stay_bonus > 0:
        has = current >= 0
        leave = (cand != current[:, None]) & has[:, None]
        cost = cost + leave * (problem.stay_bonus * scale)
    return cost


# --- prices -----------------------------------------------------------------------------------


def _low_and_median(values: np.ndarray, q: float = 0.1) -> tuple[float, float]:
    """(np.quantile(values, q), np.median(values)), bit for bit, from one partition."""
    n = values.size
    if n < 4:
        return float(np.quantile(values, q)), float(np.median(values))
    virtual = (n - 1) * q  # numpy's "linear" virtual index
    lo = int(np.floor(virtual))
    hi = lo + 1
    mid = [n // 2 - 1, n // 2] if n % 2 == 0 else [(n - 1) // 2]
    if not (0 <= lo and hi <= n - 1 and virtual < n - 1):
        return float(np.quantile(values, q)), float(np.median(values))
    part = np.partition(values, sorted({lo, hi, *mid, n - 1}))
    if np.isnan(part[-1]):
        return float(np.quantile(values, q)), float(np.median(values))
    a, b = part[lo], part[hi]
    t = virtual - lo
    diff = b - a
    low = (b - diff * (1 - t)) if t >= 0.5 else (a + diff * t)
    med = np.mean(part[mid[0]:mid[-1] + 1])
    return float(low), float(med)


def _group_threshold(group: np.ndarray, gap: np.ndarray, w: np.ndarray, need: np.ndarray,
                     k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group g: the smallest gap at which the cumulative weight of its members reaches
    need[g] (sorted by gap). Returns (threshold, enough) where enough says the need was met."""
    if group.size == 0:
        return np.full(k, np.nan), np.zeros(k, dtype=bool)
    # same order as np.lexsort((gap, group)) (group, then gap, then position), but faster: a
    # stable sort by gap, then a stable (radix, for small k) sort by group
    order = np.argsort(gap, kind="stable")
    g_small = group.astype(np.int16) if k <= np.iinfo(np.int16).max else group
    order = order[np.argsort(g_small[order], kind="stable")]
    counts = np.bincount(group, minlength=k)
    ends = np.cumsum(counts)
    starts = ends - counts
    cum = np.cumsum(w[order])
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    pos = np.searchsorted(cum, base + need, side="left")
    pos = np.minimum(pos, ends - 1)
    has = ends > starts
    threshold = np.full(k, np.nan)
    threshold[has] = gap[order[pos[has]]]
    reached = np.zeros(k, dtype=bool)
    reached[has] = cum[pos[has]] - base[has] >= need[has] - 1e-12
    return threshold, reached


def _threshold_step(labels: np.ndarray, second: np.ndarray, gap: np.ndarray, finite: np.ndarray,
                    weight: np.ndarray, load: np.ndarray, dev: np.ndarray, target: np.ndarray,
                    aim: float, goal: float, k: int, cand: np.ndarray | None = None,
                    rel: np.ndarray | None = None, score: np.ndarray | None = None,
                    best_score: np.ndarray | None = None,
                    median_gap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per territory, the price change at which just enough accounts switch (to or from their
    second choice) to bring it to the goal band, all others held fixed (exact coordinate step)."""
    over = dev > aim
    under = dev < -aim
    delta = np.zeros(k)
    if median_gap is None:
        median_gap = float(np.median(gap[finite])) if finite.any() else 0.0
    eps = 1e-9 * median_gap + 1e-300
    if over.any():
        need = np.where(over, load - target * (1 + goal * aim), 0.0)
        sel = finite & over[labels]
        thr, _ = _group_threshold(labels[sel], gap[sel], weight[sel], need, k)
        ok = over & np.isfinite(thr)
        delta[ok] -= thr[ok] * 1.000001 + eps
    stuck = np.zeros(k, dtype=bool)
    if under.any():
        need = np.where(under, target * (1 - goal * aim) - load, 0.0)
        sel = finite & under[second]
        thr, reached = _group_threshold(second[sel], gap[sel], weight[sel], need, k)
        ok = under & np.isfinite(thr)
        delta[ok] += thr[ok] * 1.000001 + eps
        stuck = under & ~reached
        if rel is None and stuck.any() and score is not None and best_score is not None:
            rel = score - best_score[:, None]  # built only when needed (rarely)
        if stuck.any() and rel is not None:
            # not enough accounts have it as second choice: use every candidate pair
            mask = stuck[cand] & (cand != labels[:, None])
            if mask.any():
                thr2, _ = _group_threshold(cand[mask], rel[mask],
                                           np.broadcast_to(weight[:, None], cand.shape)[mask], need, k)
                ok2 = stuck & np.isfinite(thr2)
                delta[ok2] = thr2[ok2] * 1.000001 + eps
    return delta, stuck


DENSE_UP_TO = 200
"""Territories up to which the Newton system is solved densely (scipy.sparse's per-call overhead
dominated the price steps of small problems)."""


def _newton_step(a: np.ndarray, b: np.ndarray, vals: np.ndarray, resid: np.ndarray, k: int) -> np.ndarray:
    """Solve L x = resid for the territory graph Laplacian L weighted by the boundary accounts
    (a, b, vals), regularised so that it is invertible; zeros if the solve fails."""
    try:
        if k <= DENSE_UP_TO:
            pair_w = np.bincount(np.r_[a * k + b, b * k + a], weights=np.r_[vals, vals],
                                 minlength=k * k).reshape(k, k)
            diag = pair_w.sum(axis=1)
            reg = 1e-3 * (diag[diag > 0].mean() if (diag > 0).any() else 1.0)
            lap = -pair_w
            lap[np.diag_indices(k)] += diag + reg
            return np.linalg.solve(lap, resid)
        pair_w = sp.coo_matrix((np.r_[vals, vals], (np.r_[a, b], np.r_[b, a])), shape=(k, k)).tocsr()
        diag = np.asarray(pair_w.sum(axis=1)).ravel()
        reg = 1e-3 * (diag[diag > 0].mean() if (diag > 0).any() else 1.0)
        lap = (sp.diags(diag + reg) - pair_w).tocsc()
        return np.asarray(spsolve(lap, resid)).ravel()
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return np.zeros(k)


def solve_prices(cost: np.ndarray, cand: np.ndarray, weight: np.ndarray, target: np.ndarray,
                 fixed: np.ndarray, prices: np.ndarray, aim: float,
                 goal: float = 0.5, max_iter: int = 40,
                 trace: list | None = None, wide: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """Dual price ascent: labels whose loads sit within +/- aim of the targets (when reachable).

    Each iteration takes a damped Newton step on the dual: the Jacobian of the loads with respect
    to the prices is the graph Laplacian of the territories weighted by the accounts close to a
    boundary (within a bandwidth of the indifference margin), estimated from the accounts'
    best/second-best gaps. A backtracking line search on the squared excess beyond the band, with
    an exact per-territory threshold step as the fallback, keeps every accepted step improving.
    The Newton step is clipped to 20 bandwidths; ``wide`` clips it to 20 median gaps instead (large
    inputs: the bandwidth shrinks with density and the tight cap stalls crowded metros).
    """
    n, _ = cost.shape
    k = target.size
    rows = np.arange(n)
    safe_target = np.maximum(target, 1e-12)

    def evaluate(p: np.ndarray):
        score = cost - p[cand]
        bj = score.argmin(axis=1)
        labels = cand[rows, bj]
        load = np.bincount(labels, weights=weight, minlength=k) + fixed
        dev = (load - target) / safe_target
        return labels, score, bj, load, dev

    def merit(dev: np.ndarray) -> float:
        excess = np.maximum(np.abs(dev) - goal * aim, 0.0)
        return float((excess**2 * safe_target).sum())

    prices = prices.copy()
    labels, score, bj, load, dev = evaluate(prices)
    current_merit = merit(dev)
    history = [current_merit]
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        worst = float(np.abs(dev).max()) if k else 0.0
        if trace is not None:
            trace.append((worst, int((dev > aim).sum()), int((dev < -aim).sum())))
        if worst <= aim or n == 0 or k < 2:
            break
        best_score = score[rows, bj]
        other = np.where(cand == labels[:, None], np.inf, score)
        sj = other.argmin(axis=1)
        second = cand[rows, sj]
        gap = other[rows, sj] - best_score
        finite = np.isfinite(gap)
        if not finite.any():
            break
        # band-aware residual: in-band territories are left alone, out-of-band go to the goal edge
        resid = np.where(dev > aim, target * (1 + goal * aim) - load,
                         np.where(dev < -aim, target * (1 - goal * aim) - load, 0.0))
        h, median_gap = _low_and_median(gap[finite], 0.1)  # one partition for both
        if h <= 0:
            h = float(gap[finite & (gap > 0)].min()) if (finite & (gap > 0)).any() else 1e-12
        near = finite & (gap <= h)
        a_near, b_near = labels[near], second[near]
        newton = _newton_step(a_near, b_near, weight[near] / h, resid, k)
        if not np.all(np.isfinite(newton)):
            newton = np.zeros(k)
        # trust region (the linearisation is local); ``wide``: in units of the median gap, as the
        # bandwidth h shrinks with density and a cap tied to it stalled the final solve at 1M x 500
        # (a metro of over-loaded territories that must lower their prices together)
        cap = 20 * (max(median_gap, h) if wide else h)
        newton = np.clip(newton, -cap, cap)
        thresh, stuck = _threshold_step(labels, second, gap, finite, weight, load, dev, target, aim, goal,
                                        k, cand, score=score, best_score=best_score,
                                        median_gap=median_gap)
        combo = np.where(stuck, thresh, newton)
        worst_only = np.zeros(k)
        j = int(np.argmax(np.abs(dev)))
        worst_only[j] = thresh[j]
        stuck_only = np.where(stuck, thresh, 0.0)
        accepted = False
        for candidate in (combo, 0.5 * combo, np.where(stuck, 0.0, newton), 0.5 * thresh, stuck_only,
                          0.25 * newton, 0.2 * thresh, worst_only, 0.1 * newton, 0.5 * worst_only,
                          0.05 * thresh):
            if not np.any(candidate):
                continue
            trial = prices + candidate
            t_labels, t_score, t_bj, t_load, t_dev = evaluate(trial)
            m = merit(t_dev)
            if m < current_merit - 1e-15 * max(current_merit, 1.0):
                prices = trial - trial.mean()
                labels, score, bj, load, dev = t_labels, t_score - trial.mean(), t_bj, t_load, t_dev
                current_merit = m
                accepted = True
                break
        if not accepted:
            break
        history.append(current_merit)
        # stalled: whole accounts cannot get closer (less than 2% progress in 8 steps)
        if len(history) > 8 and history[-1] > 0.98 * history[-9]:
            break
    return labels, prices, it


def prices_from_labels(cost: np.ndarray, cand: np.ndarray, current: np.ndarray, k: int) -> np.ndarray:
    """Prices under which every account already prefers its current territory, when such prices
    exist: the warm start of a re-run on today's alignment (the prices of the run that made it
    are not kept, and starting from zero prices re-solves the whole balance).

    Account i at c asks p_c - p_j >= cost_ic - cost_ij of every other candidate j; the largest
    ask per pair (c, j) is a difference constraint and the smallest prices meeting them all are
    longest paths (Bellman-Ford on the territory graph). Zeros when fewer than 90% of the accounts
    have their current territory among their candidates, or when the constraints contradict each
    other (the alignment is not a price diagram of these costs)."""
    n = cost.shape[0]
    zero = np.zeros(k)
    if n == 0 or k < 2:
        return zero
    is_cur = cand == current[:, None]
    has = is_cur.any(axis=1)
    if has.mean() < 0.9:
        return zero
    rows = np.flatnonzero(has)
    c_rows, is_cur_rows = cand[rows], is_cur[rows]
    own = cost[rows, is_cur_rows.argmax(axis=1)]
    ask = own[:, None] - cost[rows]
    use = c_rows != current[rows][:, None]
    key = (current[rows].astype(np.int64) * k)[:, None] + c_rows
    key, ask = key[use], ask[use]
    if key.size == 0:
        return zero
    if k * k <= 4_000_000:
        most = np.full(k * k, -np.inf)
        np.maximum.at(most, key, ask)
        pair = np.flatnonzero(np.isfinite(most))
        need = most[pair]
    else:
        order = np.argsort(key, kind="stable")
        key, ask = key[order], ask[order]
        starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
        pair, need = key[starts], np.maximum.reduceat(ask, starts)
    src, dst = pair // k, pair % k
    prices = zero.copy()
    for _ in range(k + 1):  # longest paths: p[src] >= p[dst] + need
        lifted = np.full(k, -np.inf)
        np.maximum.at(lifted, src, prices[dst] + need)
        new = np.maximum(prices, lifted)
        if np.array_equal(new, prices):
            return prices - prices.mean()
        prices = new
    return zero


def _warm_prices(cost: np.ndarray, cand: np.ndarray, current: np.ndarray, weight: np.ndarray,
                 target: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """prices_from_labels, kept only when its loads are no further from the targets than those
    of zero prices (an alignment drawn by hand is no price diagram)."""
    k = target.size
    warm = prices_from_labels(cost, cand, current, k)
    if not np.any(warm):
        return warm
    rows = np.arange(cost.shape[0])
    safe = np.maximum(target, 1e-12)

    def worst(p):
        labels = cand[rows, (cost - p[cand]).argmin(axis=1)]
        return np.abs(np.bincount(labels, weights=weight, minlength=k) + fixed - target) / safe

    return warm if worst(warm).max() <= worst(np.zeros(k)).max() else np.zeros(k)


# --- Lloyd loop -------------------------------------------------------------------------------


def _reseed_starved(centres: np.ndarray, xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray,
                    locked: np.ndarray, target: np.ndarray, fixed: np.ndarray, anchored: np.ndarray,
                    rng: np.random.Generator, persistent: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A free territory that even high prices cannot fill (an island seed, a new territory in an
    empty area; ``persistent``: short of load for several centre moves in a row) restarts inside
    the most over-loaded territory, at an account drawn with probability ~ weight x squared
    distance from that territory's centre."""
    k = target.size
    load = np.bincount(labels, weights=weight, minlength=k) + fixed
    dev = (load - target) / np.maximum(target, 1e-12)
    has_lock = np.zeros(k, dtype=bool)
    has_lock[locked[locked >= 0]] = True
    short = dev < -STARVED
    if persistent is not None:
        short |= persistent
    starved = np.flatnonzero(short & ~anchored & ~has_lock)
    if starved.size == 0:
        return centres, starved
    # the shortest first, and only a few per move: restarting a dozen or more at once overloaded
    # the donors and the next move restarted more (4,000 accounts in five Australian and NZ cities
    # at K = 40: up to 21 restarts in one move, loads from -55% to +425%)
    starved = starved[np.argsort(dev[starved], kind="stable")][:max(1, int(RESEED_SHARE * k))]
    centres = centres.copy()
    for j in starved:
        donor = int(np.argmax(dev))
        members = np.flatnonzero(labels == donor)
        if members.size < 2:
            break
        d2 = ((xyz[members] - centres[donor]) ** 2).sum(axis=1)
        p = weight[members] * d2 + 1e-18
        centres[j] = xyz[members[rng.choice(members.size, p=p / p.sum())]]
        dev[donor] -= 0.5 * (dev[donor] + 1) if dev[donor] > 0 else 0.0
    return centres, starved


def _lloyd(problem: Problem, xyz: np.ndarray, weight: np.ndarray, locked: np.ndarray,
           current: np.ndarray, target: np.ndarray,
           fixed: np.ndarray, centres: np.ndarray, prices: np.ndarray, max_iter: int,
           scale: float | None, final: bool,
           wide_final: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """Alternate balanced assignment (loose band, few price steps) and centre moves; when
    ``final``, finish with one tight price solve at the last centres (labels match centres)."""
    k = target.size
    rng = np.random.default_rng(problem.seed + 1)
    free = locked < 0
    locked_load = np.bincount(locked[~free], weights=weight[~free], minlength=k)
    labels = np.where(locked >= 0, locked, 0)
    have_labels = False
    account_tree = cKDTree(xyz)
    loose = max(problem.aim, min(3 * problem.aim, 0.5 * problem.tolerance))
    spacing = None
    it = 0
    travel: list[float] = []
    short = np.zeros(k, dtype=np.int64)  # consecutive centre moves each territory ended short of load

    def assign(centres, prices, aim, max_iter):
        cand, d2 = candidates(xyz, centres, current, locked, account_tree=account_tree)
        nonlocal scale
        if scale is None:
            scale = float(np.average(np.sqrt(d2[:, 0]), weights=weight + 1e-12)) or 1e-12
        cost = cost_matrix(problem, cand[free], d2[free], current[free], scale)
        if not have_labels and not np.any(prices) and (current >= 0).any():
            prices = _warm_prices(cost, cand[free], current[free], weight[free], target, fixed + locked_load)
        free_labels, prices, _ = solve_prices(cost, cand[free], weight[free], target, fixed + locked_load,
                                              prices, aim, problem.goal_fraction, max_iter=max_iter,
                                              wide=wide_final and max_iter == FINAL_ITER)
        new_labels = labels.copy()
        new_labels[free] = free_labels
        return new_labels, prices, d2

    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        new_labels, new_prices, d2 = assign(centres, prices, loose, LOOSE_ITER)
        # solve_prices only accepts improving steps, so its prices are a sound warm start
        prices = new_prices
        if spacing is None:
            spacing = float(np.sqrt(np.median(d2[:, 0]))) + 1e-12
        changed = int((new_labels != labels).sum()) if have_labels else len(labels)
        labels, have_labels = new_labels, True
        new_centres = medians(xyz, weight, labels, k, centres)
        load = np.bincount(labels, weights=weight, minlength=k) + fixed
        short = np.where(load < target * (1 - 2 * loose), short + 1, 0)
        # (with few accounts per territory, falling short is whole-account granularity, not place)
        persistent = short >= SHORT_MOVES if len(labels) >= SHORT_MIN_ACCOUNTS * k else None
        new_centres, reseeded = _reseed_starved(new_centres, xyz, weight, labels, locked, target, fixed,
                                                problem.anchored, rng, persistent)
        short[reseeded] = 0
        if reseeded.size:  # a price earned far away means nothing at the new place
            prices[reseeded] = np.median(prices)
        new_centres[problem.anchored] = problem.init_centres[problem.anchored]
        shift = float(np.sqrt(((new_centres - centres) ** 2).sum(axis=1)).max()) if k else 0.0
        centres = new_centres
        if reseeded.size:
            travel.clear()  # a restarted territory: the travel so far no longer compares
        else:
            travel.append(float(np.average(np.sqrt(((xyz - centres[labels]) ** 2).sum(axis=1)),
                                            weights=weight + 1e-12)))
        if reseeded.size == 0 and (changed <= max(1, 0.002 * len(labels)) or shift < 0.02 * spacing):
            break
        # settled: travel fell by less than SETTLED over the last 3 moves
        if reseeded.size == 0 and len(travel) > 3 and travel[-1] > (1 - SETTLED) * travel[-4]:
            break
    if final:
        labels, prices, _ = assign(centres, prices, problem.aim, FINAL_ITER)
    return labels, centres, prices, float(scale), it


def resolve_graph(adjacency):
    """The neighbour graph itself: ``adjacency`` may be a Future (a triangulation still running on
    a background thread, see ``geo.delaunay_neighbors_background``); wait for it only here."""
    if adjacency is not None and not sp.issparse(adjacency) and hasattr(adjacency, "result"):
        return adjacency.result()
    return adjacency


def _levels(n: int, k: int, max_lloyd: int) -> tuple[list[tuple[int, int]], int]:
    """(subsample size, centre moves) of the coarse-to-fine Lloyd levels before the full data, and
    the centre moves on the full data.

    A fresh solve needs many centre moves to settle (travel kept falling for 25 moves on metro
    data); they are cheap on a coarse subsample of 100-300 accounts per territory, then the full
    data polishes the centres. Without a coarse level (small inputs, or one a quarter of the input
    or more), large inputs move the centres on a 50,000-account subsample as before. Re-runs from
    today's centres (few moves allowed) skip the coarse level."""
    fresh = max_lloyd >= MAX_LLOYD
    per = min(max(COARSE_SHARE * n / max(k, 1), COARSE_PER_TERRITORY), COARSE_MAX_PER_TERRITORY)
    coarse = min(max(COARSE_MIN, int(per * k)), SUBSAMPLE_ABOVE)
    fine = max(SUBSAMPLE_ABOVE, SUBSAMPLE_PER_TERRITORY * k)
    levels = []
    if fresh and n >= COARSE_FROM * coarse:
        # a large coarse subsample gets fewer moves (each costs more and helps less)
        levels.append((coarse, int(min(COARSE_LLOYD, max(MAX_LLOYD, COARSE_WORK // coarse)))))
    elif max_lloyd > 3 and n > 1.5 * fine:
        levels.append((fine, max_lloyd))
    if not levels:
        full = COARSE_LLOYD if fresh else max_lloyd
    elif n <= 1.5 * fine:
        full = FULL_POLISH
    else:
        full = 1 if n <= FULL_PASS_UP_TO * fine else 0
    return levels, full


BLAS_LIMIT_FROM = 50_000
"""Accounts from which a cold solve runs BLAS single-threaded while the triangulation runs."""


def solve(problem: Problem) -> Solution:
    """Labels for the n accounts: Lloyd with balanced prices, then neighbour repair.

    While the triangulation still runs on the second core (a cold run), BLAS runs
    single-threaded: OpenBLAS's waiting threads competed with it (100k x 100 cold: 2.6-3.8 s with
    them, 1.8-2.5 s without, bench_balance.py --pairs 100000:100). Once it is done (every re-run
    on the same accounts) BLAS keeps both cores. Below ``BLAS_LIMIT_FROM`` accounts the matrices
    are too small for BLAS to start threads, and finding the BLAS libraries (10-15 ms in a fresh
    process) would cost more than it saves."""
    graph = problem.adjacency
    if (graph is None or sp.issparse(graph) or not hasattr(graph, "done") or graph.done()
            or problem.xyz.shape[0] < BLAS_LIMIT_FROM):
        return _solve(problem)
    with _blas().limit(limits=1, user_api="blas"):
        return _solve(problem)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """One ThreadpoolController per process (it finds the loaded BLAS libraries once, 5-15 ms)."""
    return ThreadpoolController()


def _solve(problem: Problem) -> Solution:
    n = problem.xyz.shape[0]
    k = problem.target.size
    rng = np.random.default_rng(problem.seed)
    centres = problem.init_centres.copy()
    prices = np.zeros(k)
    scale = None
    total_iter = 0
    notes: list[str] = []
    if n == 0:
        return Solution(np.zeros(0, dtype=np.int64), centres, prices, np.zeros(0, dtype=np.int8))
    levels, full_iter = _levels(n, k, problem.max_lloyd)
    for size, iterations in levels:
        idx = np.sort(rng.choice(n, size=size, replace=False))
        w_sub = problem.weight[idx]
        # the subsample carries the same share of every territory's free target
        total_free = problem.weight.sum()
        ratio = w_sub.sum() / total_free if total_free > 0 else size / n
        _, centres, prices, scale, it = _lloyd(
            problem, problem.xyz[idx], w_sub, problem.locked[idx], problem.current[idx],
            problem.target * ratio, problem.fixed_load * ratio, centres, prices,
            iterations, scale, final=False)
        total_iter += it
    # large inputs (dense accounts, small bandwidth h) get the wider trust region in the final solve
    labels, centres, prices, scale, it = _lloyd(
        problem, problem.xyz, problem.weight, problem.locked, problem.current,
        problem.target, problem.fixed_load, centres, prices, full_iter, scale, final=True,
        wide_final=n > 1.5 * max(SUBSAMPLE_ABOVE, SUBSAMPLE_PER_TERRITORY * k))
    total_iter += it
    how = np.full(n, MOVED_BY_PRICE, dtype=np.int8)
    if problem.adjacency is not None and k > 1:
        problem = replace(problem, adjacency=resolve_graph(problem.adjacency))
        labels = repair(problem, labels, centres, how, notes)
        new_centres = centroids(problem.xyz, problem.weight, labels, k, centres)
        new_centres[problem.anchored] = problem.init_centres[problem.anchored]
        centres = new_centres
    return Solution(labels, centres, prices, how, total_iter, notes)


# --- repair on the neighbour graph ------------------------------------------------------------


def _directed_edges(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    coo = adjacency.tocoo()
    keep = coo.row != coo.col
    return coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)


def balance_repair(problem: Problem, labels: np.ndarray, centres: np.ndarray, how: np.ndarray,
                   band: float, src_e: np.ndarray, dst_e: np.ndarray, movable: np.ndarray,
                   max_rounds: int = 200, edge_index: dict | None = None) -> np.ndarray:
    """Move single boundary accounts between neighbouring territories until every territory is
    within +/- band (or no improving move is left). Over-loaded territories push to lighter
    neighbours, under-loaded ones pull from heavier neighbours, so imbalance travels along chains.
    Moves are chosen by the smallest increase in distance to the centre."""
    k = problem.target.size
    w = problem.weight
    target = np.maximum(problem.target, 1e-12)
    labels = labels.copy()
    xyz = problem.xyz
    # the boundary edges (ends in different territories) are tracked incrementally: a round only
    # changes edges at the accounts it moves, and a full pass over all edges per round dominated
    # the run time (hundreds of rounds at 1M accounts)
    # (``edge_index`` caches _edge_index across calls; it is built only once a call needs a second
    # round, so a repair with nothing to do stays cheap)
    cache = {} if edge_index is None else edge_index
    is_bnd = None
    for rnd in range(max_rounds):
        load = np.bincount(labels, weights=w, minlength=k) + problem.fixed_load
        dev = (load - problem.target) / target
        out_hi = dev > band
        out_lo = dev < -band
        if not (out_hi.any() or out_lo.any()):
            break
        if is_bnd is None:  # full pass
            is_bnd = labels[src_e] != labels[dst_e]
        bnd = np.flatnonzero(is_bnd)
        src_b, dst_b = src_e[bnd], dst_e[bnd]
        ls, ld = labels[src_b], labels[dst_b]
        cand = movable[src_b] & (out_hi[ls] | out_lo[ld])
        if not cand.any():
            break
        i = src_b[cand]
        a = ls[cand]
        b = ld[cand]
        # dedupe (account, destination) pairs
        key = np.unique(i * k + b)
        i, b = key // k, key % k
        a = labels[i]
        wi = w[i]
        dev_a_after = dev[a] - wi / target[a]
        dev_b_after = dev[b] + wi / target[b]
        # the move must lower the larger deviation of the pair
        improves = np.maximum(np.abs(dev_a_after), np.abs(dev_b_after)) < np.maximum(
            np.abs(dev[a]), np.abs(dev[b])) - 1e-12
        improves &= dev[a] > dev[b]
        if not improves.any():
            break
        i, a, b, wi = i[improves], a[improves], b[improves], wi[improves]
        extra = (np.sqrt(((xyz[i] - centres[b]) ** 2).sum(axis=1))
                 - np.sqrt(((xyz[i] - centres[a]) ** 2).sum(axis=1)))
        order = np.argsort(extra, kind="stable")
        i, a, b, wi = i[order], a[order], b[order], wi[order]
        # one move per account per round
        _, first = np.unique(i, return_index=True)
        first = np.sort(first)
        i, a, b, wi = i[first], a[first], b[first], wi[first]
        # per source: shed at most its excess over the band middle; per destination: at most its room
        shed_cap = np.maximum(load - problem.target * (1 - 0.5 * band), 0.0)
        take_cap = np.maximum(problem.target * (1 + 0.5 * band) - load, 0.0)
        # an over-loaded source may push into a destination that is itself in band but lighter
        take_cap = np.where(out_hi, 0.0, np.maximum(take_cap, 0.0))
        shed_cap = np.where(out_lo, 0.0, shed_cap)
        cum_src = _cumsum_by_group(a, wi)
        cum_dst = _cumsum_by_group(b, wi)
        accept = (cum_src <= shed_cap[a] + 1e-9) & (cum_dst <= take_cap[b] + wi * (dev[b] < -band) + 1e-9)
        # always allow the single best move of a pair to avoid stalling on big accounts
        if not accept.any():
            accept[0] = True
        # moving both endpoints of an edge in one round can strand accounts; keep it simple:
        labels[i[accept]] = b[accept]
        how[i[accept]] = MOVED_BY_BALANCE_REPAIR
        if rnd >= 1 and "index" not in cache:
            cache["index"] = _edge_index(src_e, dst_e, labels.size)
        index = cache.get("index")
        if index is None:  # not built yet, or the edges are not in CSR order
            is_bnd = None
        else:  # only the edges at the accounts just moved can change
            starts, reverse = index
            moved = i[accept]
            counts = starts[moved + 1] - starts[moved]
            out = np.repeat(starts[moved] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            touched = np.concatenate([out, reverse[out]])
            is_bnd[touched] = labels[src_e[touched]] != labels[dst_e[touched]]
    return labels


def _edge_index(src_e: np.ndarray, dst_e: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(starts, reverse) for directed edges sorted by (src, dst) of a symmetric graph: node u's
    edges are positions starts[u]:starts[u + 1] and reverse[e] is the position of e's twin.
    None when the edges are not in that order or not symmetric."""
    if src_e.size == 0:
        return None
    key = src_e * n + dst_e
    if np.any(key[1:] <= key[:-1]):
        return None
    reverse = np.searchsorted(key, dst_e * n + src_e)
    if reverse.max() >= key.size or not np.array_equal(key[reverse], dst_e * n + src_e):
        return None
    return np.searchsorted(src_e, np.arange(n + 1)), reverse


def _cumsum_by_group(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of values within each group, in the given order (vectorised)."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    v = values[order]
    cum = np.cumsum(v)
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    base = np.repeat(np.r_[0.0, cum[starts[1:] - 1]], np.diff(np.r_[starts, g.size]))
    out = np.empty_like(cum)
    out[order] = cum - base
    return out


def contiguity_repair(problem: Problem, labels: np.ndarray, how: np.ndarray,
                      src_e: np.ndarray, dst_e: np.ndarray, movable: np.ndarray) -> tuple[np.ndarray, int]:
    """Every non-largest piece of a territory joins the neighbouring territory it shares most
    edges with (its movable accounts do; locked accounts stay as islands). A piece on an island
    the territory has to itself (Hawaii: more than ``geo.ISLAND_GAP_KM`` from anyone else) stays:
    with only a thin link to the mainland it would be handed, thousands of accounts at once, to
    whichever territory the link reaches (1M x 50: 4,239 Hawaii accounts went back and forth and
    rebalancing took 11 s)."""
    from territory.geo import island_pieces, piece_labels

    piece = piece_labels(problem.adjacency, labels, weights=problem.weight)
    stray = (piece > 0) & movable
    if not stray.any():
        return labels, 0
    piece = np.where(island_pieces(problem.adjacency, problem.xyz, labels, piece), 0, piece)
    stray = (piece > 0) & movable
    if not stray.any():
        return labels, 0
    k = problem.target.size
    # a piece id per account: (label, rank) packed
    piece_id = labels.astype(np.int64) * (int(piece.max()) + 1) + np.maximum(piece, 0)
    e = stray[src_e] & (labels[dst_e] != labels[src_e])
    if not e.any():
        return labels, 0
    pid = piece_id[src_e[e]]
    dest = labels[dst_e[e]]
    # count edges per (piece, destination) and pick the destination with most edges
    pairs, counts = np.unique(np.column_stack([pid, dest]), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs = pairs[order]
    firsts = np.r_[0, np.flatnonzero(np.diff(pairs[:, 0])) + 1]
    best_pid = pairs[firsts, 0]
    best_dest = pairs[firsts, 1]
    lookup_pos = np.searchsorted(best_pid, piece_id[stray])
    lookup_pos = np.minimum(lookup_pos, best_pid.size - 1)
    found = best_pid[lookup_pos] == piece_id[stray]
    idx = np.flatnonzero(stray)[found]
    new = best_dest[lookup_pos[found]]
    labels = labels.copy()
    labels[idx] = new
    how[idx] = MOVED_BY_CONTIGUITY
    del k
    return labels, int(idx.size)


def compactness_repair(problem: Problem, labels: np.ndarray, centres: np.ndarray, how: np.ndarray,
                       band: float, src_e: np.ndarray, dst_e: np.ndarray, movable: np.ndarray,
                       rounds: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Local search on the weighted travel distance (the p-median objective): boundary accounts
    move to a neighbouring territory whose centre is closer when both territories stay within
    +/- band; centres follow. With a stay-bonus, an account never leaves its current territory
    for compactness alone."""
    k = problem.target.size
    w = problem.weight
    xyz = problem.xyz
    labels = labels.copy()
    allowed_src = movable.copy()
    for _ in range(rounds):
        load = np.bincount(labels, weights=w, minlength=k) + problem.fixed_load
        ls, ld = labels[src_e], labels[dst_e]
        e = (ls != ld) & allowed_src[src_e]
        if not e.any():
            break
        key = np.unique(src_e[e] * k + ld[e])
        i, b = key // k, key % k
        a = labels[i]
        if problem.stay_bonus > 0:
            cur = problem.current[i]
            keep = (cur < 0) | (b == cur)
            i, a, b = i[keep], a[keep], b[keep]
        gain = w[i] * (np.sqrt(((xyz[i] - centres[a]) ** 2).sum(axis=1))
                       - np.sqrt(((xyz[i] - centres[b]) ** 2).sum(axis=1)))
        ok = gain > 0
        i, a, b, gain = i[ok], a[ok], b[ok], gain[ok]
        if i.size == 0:
            break
        order = np.argsort(-gain, kind="stable")
        i, a, b = i[order], a[order], b[order]
        _, first = np.unique(i, return_index=True)
        first = np.sort(first)
        i, a, b = i[first], a[first], b[first]
        wi = w[i]
        slack = np.maximum(load - problem.target * (1 - band), 0.0)
        room = np.maximum(problem.target * (1 + band) - load, 0.0)
        # a territory may also take in as much as it gives away (exchanges keep it in band)
        accept = (_cumsum_by_group(a, wi) <= slack[a] + 1e-9) & (_cumsum_by_group(b, wi) <= room[b] + 1e-9)
        # do not move both ends of one edge in a round (keeps pieces connected)
        if not accept.any():
            break
        mi, mb = i[accept], b[accept]
        labels[mi] = mb
        how[mi] = MOVED_BY_PRICE
        new_centres = centroids(xyz, w, labels, k, centres)
        new_centres[problem.anchored] = problem.init_centres[problem.anchored]
        centres = new_centres
    return labels, centres


def worst_deviation(labels: np.ndarray, problem: Problem) -> float:
    """Largest |load - target| / target over the territories (fixed load included)."""
    k = problem.target.size
    load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
    return float((np.abs(load - problem.target) / np.maximum(problem.target, 1e-12)).max(initial=0.0))


def repair(problem: Problem, labels: np.ndarray, centres: np.ndarray, how: np.ndarray,
           notes: list[str]) -> np.ndarray:
    """Alternate balance repair and contiguity repair; balance within tolerance has the last word.

    When the contiguity repairs leave the balance outside the tolerance and the balance repair
    cannot bring it back (a territory whose second piece is on another continent: moving that
    piece overloads its neighbour, and only a few long edges cross the ocean to move accounts
    back), the best-balanced state seen is returned: the tolerance is a hard target, contiguity
    is not (worldwide data at K = 20 ended 17.5% off instead of 1.9%)."""
    src_e, dst_e = _directed_edges(problem.adjacency)
    movable = problem.locked < 0
    band = problem.aim
    index: dict = {}  # the edge index of balance_repair, shared by its calls
    k = problem.target.size
    safe_target = np.maximum(problem.target, 1e-12)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(4):
        labels = balance_repair(problem, labels, centres, how, band, src_e, dst_e, movable,
                                edge_index=index)
        deviation = worst_deviation(labels, problem)
        if best is None or deviation < best[0]:
            best = (deviation, labels.copy(), how.copy())
        if not problem.repair_contiguity:
            break
        labels, moved = contiguity_repair(problem, labels, how, src_e, dst_e, movable)
        if moved == 0:
            break
    if problem.repair_contiguity:
        labels, centres = compactness_repair(problem, labels, centres, how, band, src_e, dst_e, movable)
        labels, _ = contiguity_repair(problem, labels, how, src_e, dst_e, movable)
    load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
    dev = np.abs(load - problem.target) / safe_target
    if (dev > problem.aim).any():
        labels = balance_repair(problem, labels, centres, how, problem.aim, src_e, dst_e, movable,
                                edge_index=index)
        if problem.repair_contiguity:
            # the moves of that last pass can cut a territory: rejoin its pieces, then rebalance
            # only if the rejoining pushed a territory out of the hard band
            for _ in range(2):
                labels, moved = contiguity_repair(problem, labels, how, src_e, dst_e, movable)
                if moved == 0:
                    break
                load = np.bincount(labels, weights=problem.weight, minlength=k) + problem.fixed_load
                dev = np.abs(load - problem.target) / np.maximum(problem.target, 1e-12)
                if not (dev > problem.tolerance).any():
                    break
                labels = balance_repair(problem, labels, centres, how, problem.aim, src_e, dst_e, movable,
                                        edge_index=index)
    final = worst_deviation(labels, problem)
    if best is not None and final > problem.tolerance + 1e-9 and best[0] < final:
        notes.append(f"contiguity repairs undone: they left the balance {100 * final:.1f}% off, "
                     f"{100 * best[0]:.1f}% without them")
        labels = best[1]
        how[:] = best[2]
    return labels
