"""Industry focus (private): let neighbouring territories trade accounts so each specialises.

``specialise`` runs after the balancing solve (``territory.engine.solve``) when
``BalanceParams.industry_focus > 0``. Plain numpy and a KD-tree on the K centres, no pandas.

Why a post-pass: a territory's industry mix is nearly flat after a geographic solve (8 industries,
top share about 20%), so an industry term in the assignment cost barely differs between
candidates, and the contiguity repair returns any account that crossed a border. Specialising
in the same area means two territories share a metro (one rep for Healthcare, one for
Manufacturing there), which is exactly what contiguity forbids; so the traded accounts are
allowed to sit inside a neighbour's area.

The method, in rounds (shares are recomputed after every round, so concentration feeds itself):

1. **Candidates**: each account with some load may go to its ``N_NEAR`` nearest territory
   centres (the solver's centres, kept fixed). Locked accounts never move.
2. **Gain** per unit of load of moving account ``i`` (industry ``c``) from ``p`` to ``q``:
   ``v[q, c] - v[p, c] - price * extra / mean``, where ``v[t, c] = share[t, c] * mean_load /
   load[t]`` is the first-order change of the territory's HHI (sum of squared shares), ``extra``
   the added distance to the new centre and ``mean`` the load-weighted mean distance. With a
   current alignment, leaving it costs ``STAY_SCALE`` x the engine's stay-bonus (stability).
   Every account keeps its best move if the gain is positive and its industry's share is higher
   in ``q`` (a move that only shortens travel is the solver's business, not focus's).
3. **Paired trades**: the moves between two territories are interleaved (p->q, q->p, ...) best
   first, and the longest prefix whose net load transfer fits both territories' room is
   accepted. A territory's room is shared among the pairs it trades in that round, so every
   territory stays within ``target x (1 +/- band)``, ``band = max(BAND_SHARE x tolerance, worst
   deviation before)`` (at most the tolerance): trades never make the worst deviation worse.
   ``also_balance`` measures get the same guarantee with ``ALSO_BAND_SHARE``; as one prefix
   rarely fits several rooms at once, their trades are accepted unit by unit (a swap or a single
   move), all pairs at once, while every measure's running net fits.
4. **Annealing and allowance**: ``price`` starts at ``PRICE_START`` and falls by ``PRICE_DECAY``
   per round to ``PRICE_FLOOR``, so the trades that buy the most concentration per km come first.
   The load-weighted distance to the centres may grow by at most ``MAX_EXTRA_TRAVEL x focus``
   (30% at focus 1); the round that reaches it is shortened pair by pair. Focus therefore only
   sets how far down this one path the trades go: concentration and travel both grow with it.

Deterministic: the only randomness is a seeded 1e-9 tie-break between exactly equal gains.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from territory.engine import codes
from territory.engine.notes import Note

MOVED_BY_FOCUS = 3
"""Reason code (like territory.engine.solve.MOVED_BY_*) of an account moved by the industry focus."""
N_NEAR = 4
"""Nearest territory centres each account may move to (besides its own)."""
MAX_ROUNDS = 60
"""At most this many rounds of trades (the price reaches its floor after about 20)."""
MAX_EXTRA_TRAVEL = 0.3
"""Focus f lets the load-weighted distance to the centres grow by at most 30% x f."""
PRICE_START = 0.5
"""Travel price in the first round: share points of HHI gain one mean distance must buy."""
PRICE_DECAY = 0.85
"""The travel price falls by this factor every round..."""
PRICE_FLOOR = 0.02
"""...down to this floor, where the rounds continue until trading settles or the allowance is spent."""
SETTLED = 0.001
"""Stop once the travel price is at its floor and a round trades fewer than 0.1% of the accounts."""
STAY_SCALE = 0.1
"""With a current alignment, leaving it costs STAY_SCALE x the engine's stay-bonus (share points)."""
BAND_SHARE = 0.2
"""Trades keep every territory within max(BAND_SHARE x tolerance, the worst deviation before)."""
ALSO_BAND_SHARE = 0.8
"""The same for the also_balance measures, with more room (they only need to be within tolerance)."""
UNITS_PER_ROUND = 64
"""With also_balance measures, each pair accepts trades from at most its 64 best units a round."""


def _centroids(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    w = weight + 1e-9
    sums = np.column_stack([np.bincount(labels, weights=w * xyz[:, d], minlength=k) for d in range(3)])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.where(norms > 1e-12, sums / np.maximum(norms, 1e-12), np.array([1.0, 0.0, 0.0]))


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Index of the first element of each element's run of equal keys."""
    n = sorted_keys.size
    new = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if n else np.zeros(0, dtype=bool)
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def _loads(labels: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """(k, j) sums of each column of ``values`` (n, j) by territory."""
    return np.column_stack([np.bincount(labels, weights=values[:, j], minlength=k) for j in range(values.shape[1])])


def _limits(load: np.ndarray, target: np.ndarray, tolerance: float,
            share: float = BAND_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per territory and measure (k, j): ``target x (1 +/- band)`` with ``band`` =
    max(share x tolerance, the measure's worst deviation now), at most the tolerance, and
    widened to today's load where a territory is already outside (it may only improve)."""
    worst = np.abs(load / np.maximum(np.abs(target), 1e-12) - 1.0).max(axis=0)
    band = np.where(worst <= tolerance, np.clip(worst, share * tolerance, tolerance), share * tolerance)
    return np.minimum(target * (1.0 - band), load), np.maximum(target * (1.0 + band), load)


def _greedy_units(pair: np.ndarray, unit: np.ndarray, signed: np.ndarray, cost: np.ndarray,
                  upper: np.ndarray, lower: np.ndarray, allowance: float) -> np.ndarray:
    """Accept whole units (elements sharing ``pair`` and ``unit`` rank) best rank first, all pairs
    at once rank by rank, while each pair's running net (``signed`` summed, one column per
    measure) stays within ``[lower, upper]`` of its pair and the total ``cost`` within
    ``allowance``. At most ``UNITS_PER_ROUND`` ranks: the rest wait for the next round."""
    n_units = int(unit.max()) + 1 if unit.size else 0
    uid = pair * n_units + unit
    keys, inverse = np.unique(uid, return_inverse=True)
    unet = np.zeros((keys.size, signed.shape[1]))
    np.add.at(unet, inverse, signed)
    ucost = np.bincount(inverse, weights=cost, minlength=keys.size)
    upair, urank = keys // n_units, keys % n_units
    running = np.zeros((upper.shape[0], signed.shape[1]))
    accepted = np.zeros(keys.size, dtype=bool)
    spent = 0.0
    order = np.lexsort((upair, urank))
    bounds = np.searchsorted(urank[order], np.arange(min(n_units, UNITS_PER_ROUND) + 1))
    for r in range(bounds.size - 1):
        level = order[bounds[r]:bounds[r + 1]]  # rank r of every pair (one unit per pair)
        p = upair[level]
        new = running[p] + unet[level]
        ok = (new <= upper[p]).all(axis=1) & (new >= lower[p]).all(axis=1)
        level, p, new = level[ok], p[ok], new[ok]
        if ucost[level].sum() > allowance - spent:  # the cheapest-first part that fits the allowance
            by_cost = np.argsort(ucost[level], kind="stable")
            fit = np.cumsum(np.maximum(ucost[level][by_cost], 0.0)) <= allowance - spent
            keep = np.zeros(level.size, dtype=bool)
            keep[by_cost[fit]] = True
            level, p, new = level[keep], p[keep], new[keep]
        running[p] = new
        accepted[level] = True
        spent += float(ucost[level].sum())
    return accepted[inverse]


def _prefix(ok: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Within each group (contiguous, in order), everything up to its last ``ok`` element."""
    index = np.arange(ok.size)
    last = np.full(n_groups, -1, dtype=np.int64)
    np.maximum.at(last, group[ok], index[ok])
    return index <= last[group]


def specialise(labels: np.ndarray, xyz: np.ndarray, weight: np.ndarray, industry: np.ndarray,
               target: np.ndarray, tolerance: float, locked: np.ndarray, focus: float, *,
               how: np.ndarray | None = None, centres: np.ndarray | None = None,
               fixed_load: np.ndarray | None = None, current: np.ndarray | None = None,
               stay: float = 0.0, also: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels, how) after trading accounts between nearby territories towards fewer industries.

    ``labels`` (n,) territory index per account, ``xyz`` (n, 3) unit vectors, ``weight`` (n,) the
    balance measure, ``industry`` (n,) integer codes, ``target`` (k,) target loads (including
    ``fixed_load``, the load of accounts outside ``labels``), ``locked`` (n,) bool or the
    engine's territory-index array (>= 0 locked), ``focus`` in 0..1. ``how`` (n,) reason codes:
    moved accounts get ``MOVED_BY_FOCUS``. ``centres`` (k, 3) the territories' centres (default:
    load-weighted centroids of ``labels``). ``current`` (n,) current territory index (-1: none)
    and ``stay`` (the engine's stay-bonus) make leaving the current territory cost
    ``STAY_SCALE x stay`` share points. ``also`` = (values (n, j), targets (k, j), fixed loads
    (k, j)) of further measures (``also_balance``) that the trades keep within the band too.
    Focus 0 returns the inputs unchanged (copies).

    Two territories at one place, mostly industry 0 and mostly industry 1, trade their odd ones:

    >>> xyz = np.array([[1.0, 0, 0]] * 6)
    >>> labels, how = specialise(np.array([0, 0, 0, 1, 1, 1]), xyz, np.ones(6),
    ...                          np.array([0, 0, 1, 1, 1, 0]), np.array([3.0, 3.0]), 0.05,
    ...                          np.zeros(6, bool), 1.0)
    >>> labels.tolist(), how.tolist()
    ([0, 0, 1, 1, 1, 0], [0, 0, 3, 0, 0, 3])
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    n = labels.size
    how = np.zeros(n, dtype=np.int8) if how is None else np.asarray(how, dtype=np.int8).copy()
    target = np.asarray(target, dtype=float)
    k = target.size
    if focus <= 0 or n == 0 or k < 2:
        return labels, how
    weight = np.asarray(weight, dtype=float)
    industry = np.asarray(industry, dtype=np.int64)
    n_ind = int(industry.max()) + 1 if n else 0
    if n_ind < 2:
        return labels, how
    locked = np.asarray(locked)
    frozen = locked >= 0 if locked.dtype != bool else locked.copy()
    fixed = np.zeros(k) if fixed_load is None else np.asarray(fixed_load, dtype=float)
    start = labels.copy()

    mean_centres = _centroids(xyz, weight, labels, k)
    centres = mean_centres if centres is None else np.asarray(centres, dtype=float).copy()
    unusable = ~np.isfinite(centres).all(axis=1)
    centres[unusable] = mean_centres[unusable]
    own_d = np.sqrt(((xyz - centres[labels]) ** 2).sum(axis=1))
    travel0 = float(weight @ own_d)
    mean_d = travel0 / max(float(weight.sum()), 1e-12)
    if mean_d <= 1e-12:
        mean_d = 1.0
    budget = travel0 * MAX_EXTRA_TRAVEL * float(min(max(focus, 0.0), 1.0))
    spent = 0.0

    load = np.bincount(labels, weights=weight, minlength=k) + fixed
    lo, hi = _limits(load[:, None], target[:, None], tolerance)
    lo, hi = lo[:, 0], hi[:, 0]
    eps = 1e-9 * max(float(np.abs(target).max()), 1.0)
    more = None
    if also is not None and np.asarray(also[0]).size:
        more = np.asarray(also[0], dtype=float).reshape(n, -1)
        more_fixed = np.asarray(also[2], dtype=float).reshape(k, -1)
        more_target = np.asarray(also[1], dtype=float).reshape(k, -1)
        more_load = _loads(labels, more, k) + more_fixed
        more_lo, more_hi = _limits(more_load, more_target, tolerance, ALSO_BAND_SHARE)
        more_eps = 1e-9 * np.maximum(np.abs(more_target).max(axis=0), 1.0)

    # only free accounts with some load trade (a zero-load account changes no mix); distances in
    # units of the mean distance
    free = np.flatnonzero(~frozen & (weight > 0))
    if free.size == 0:
        return labels, how
    m = min(N_NEAR + 1, k)
    near_d, cand = cKDTree(centres).query(xyz[free], k=m)
    cand = cand.reshape(free.size, m).astype(np.int64)
    near = (near_d.reshape(free.size, m) / mean_d).astype(np.float32)  # float32: half the memory traffic
    ind = industry[free]
    slot = cand * n_ind + ind[:, None]  # flat (territory, industry) index of every candidate
    w_free = weight[free]
    lab = labels[free]
    own = (own_d[free] / mean_d).astype(np.float32)
    rows = np.arange(free.size)
    # stability: leaving the current territory costs STAY_SCALE x the engine's stay-bonus
    keep = STAY_SCALE * float(stay) if current is not None else 0.0
    if keep > 0:
        cur = np.asarray(current, dtype=np.int64)[free]
        stay_gain = (keep * (cand == cur[:, None])).astype(np.float32)
    # a tiny deterministic tie-break so equal gains do not depend on the input order
    tie = 1e-9 * np.random.default_rng(seed + 11).random(free.size)

    for round_no in range(MAX_ROUNDS):
        price = max(PRICE_FLOOR, PRICE_START * PRICE_DECAY ** round_no)
        mix = np.bincount(labels * n_ind + industry, weights=weight, minlength=k * n_ind).reshape(k, n_ind)
        size = mix.sum(axis=1)
        mean_size = float(size.mean()) if size.sum() > 0 else 1.0
        value = (mix / np.maximum(size, 1e-12)[:, None] ** 2 * mean_size).ravel().astype(np.float32)
        better = value[slot] - value[lab * n_ind + ind][:, None]  # concentration gained
        gain = better - np.float32(price) * (near - own[:, None])
        if keep > 0:
            gain += stay_gain - (np.float32(keep) * (lab == cur))[:, None]
        best = np.argmax(gain, axis=1)
        g = gain[rows, best].astype(np.float64) + tie
        q_all = cand[rows, best]
        # every trade must concentrate both mixes' industry (or return an account to its current
        # territory): moves that only shorten travel are the solver's business, not focus's
        why = better[rows, best] > 1e-6
        if keep > 0:
            why |= q_all == cur
        sel = np.flatnonzero((g > 1e-6) & (q_all != lab) & why)
        if sel.size == 0:
            if price <= PRICE_FLOOR:
                break
            continue  # a lower travel price may find trades
        mover, p, q, gm = free[sel], lab[sel], q_all[sel], g[sel]
        wm = w_free[sel]
        cost = wm * (near[sel, best[sel]] - own[sel]) * mean_d
        # group the moves by territory pair (a < b), each direction best-first
        a, b = np.minimum(p, q), np.maximum(p, q)
        backward = (p > q).astype(np.int64)
        key = a * k + b
        order = np.lexsort((-gm, backward, key))
        sel, mover, q, gm, wm, cost, key, backward = (
            x[order] for x in (sel, mover, q, gm, wm, cost, key, backward))
        rank = np.arange(mover.size) - _group_starts(key * 2 + backward)
        pair_keys, pair_of = np.unique(key, return_inverse=True)
        # room for the net transfer a -> b: each territory's room is shared among its pairs
        pa, pb = pair_keys // k, pair_keys % k
        degree = np.maximum(np.bincount(pa, minlength=k) + np.bincount(pb, minlength=k), 1)
        up = np.maximum(hi - load, 0.0) / degree
        down = np.maximum(load - lo, 0.0) / degree
        xhi, xlo = np.minimum(down[pa], up[pb]), -np.minimum(up[pa], down[pb])
        # interleave a->b and b->a trades, starting with the direction that has more room
        first_dir = (-xlo > xhi).astype(np.int64)[pair_of]
        counts = np.bincount(pair_of * 2 + backward, minlength=2 * pair_keys.size).reshape(-1, 2)
        both = counts.min(axis=1)[pair_of]
        pos = np.where(rank < both, 2 * rank + (backward ^ first_dir), both + rank)
        order = np.lexsort((pos, pair_of))
        sel, mover, q, gm, wm, cost, pair_of, backward = (
            x[order] for x in (sel, mover, q, gm, wm, cost, pair_of, backward))
        first = _group_starts(pair_of)
        if more is None:
            csum = np.cumsum(np.where(backward == 0, wm, -wm))
            net = csum - np.r_[0.0, csum][first]  # net transfer a -> b after each prefix
            fits = (net <= xhi[pair_of] + eps) & (net >= xlo[pair_of] - eps)
            take = _prefix(fits, pair_of, pair_keys.size)
        else:
            # further measures: one prefix rarely fits several rooms at once, so trades go in units
            # (a swap p->q + q->p, or a single move), accepted one by one while every net fits
            mup = np.maximum(more_hi - more_load, 0.0) / degree[:, None]
            mdown = np.maximum(more_load - more_lo, 0.0) / degree[:, None]
            values = np.column_stack([wm, more[mover]])
            upper = np.column_stack([xhi, np.minimum(mdown[pa], mup[pb])]) + np.r_[eps, more_eps]
            lower = np.column_stack([xlo, -np.minimum(mup[pa], mdown[pb])]) - np.r_[eps, more_eps]
            rank_in_pair = np.arange(mover.size) - first
            both_sorted = counts.min(axis=1)[pair_of]
            unit = np.where(rank_in_pair < 2 * both_sorted, rank_in_pair // 2, rank_in_pair - both_sorted)
            take = _greedy_units(pair_of, unit, np.where(backward == 0, 1.0, -1.0)[:, None] * values, cost,
                                 upper, lower, budget - spent)
        if not take.any():
            if price <= PRICE_FLOOR:
                break
            continue
        round_cost = float(cost[take].sum())
        if more is None and spent + round_cost > budget:
            # travel allowance: share what is left among the pairs by their cost, shorten each prefix
            pair_cost = np.maximum(np.bincount(pair_of[take], weights=cost[take], minlength=pair_keys.size), 0.0)
            allowance = max(budget - spent, 0.0) * pair_cost / max(float(pair_cost.sum()), 1e-300)
            ccost = np.cumsum(cost)
            within = ccost - np.r_[0.0, ccost][first]
            take = _prefix(fits & (within <= allowance[pair_of] + 1e-12), pair_of, pair_keys.size)
            if not take.any():
                break
            round_cost = float(cost[take].sum())
        spent += round_cost
        labels[mover[take]] = q[take]
        lab[sel[take]] = q[take]
        own[sel[take]] = near[sel[take], best[sel[take]]]
        load = np.bincount(labels, weights=weight, minlength=k) + fixed
        if more is not None:
            more_load = _loads(labels, more, k) + more_fixed
        if price <= PRICE_FLOOR and take.sum() < SETTLED * free.size:
            break  # settled: further rounds would only polish
    changed = labels != start
    how[changed] = MOVED_BY_FOCUS
    return labels, how


def concentration(labels: np.ndarray, weight: np.ndarray, industry: np.ndarray, k: int) -> tuple[float, float]:
    """(mean HHI, mean top-industry share) over the k territories, by ``weight``.

    >>> concentration(np.array([0, 0, 1, 1]), np.ones(4), np.array([0, 0, 0, 1]), 2)
    (0.75, 0.75)
    """
    n_ind = int(industry.max()) + 1 if industry.size else 1
    mix = np.bincount(labels * n_ind + industry, weights=weight, minlength=k * n_ind).reshape(k, n_ind)
    share = mix / np.maximum(mix.sum(axis=1, keepdims=True), 1e-12)
    return float((share**2).sum(axis=1).mean()), float(share.max(axis=1).mean())


def apply(solution, problem, industry: np.ndarray, focus: float, strict: bool,
          also: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> Note:
    """Run :func:`specialise` on a solution in place; return the note for the messages.

    ``solution`` and ``problem`` are ``territory.engine.solve.Solution`` / ``Problem`` (labels and
    how are replaced). With ``strict`` (stability 1) nothing is traded: only moves the tolerance
    needs are allowed."""
    if strict:
        return Note(codes.FOCUS_IGNORED, f"Industry focus {focus:.2f} was not applied: stability 1 keeps every "
                    "account whose move the tolerance does not need.", data={"focus": focus})
    k = problem.target.size
    before = solution.labels
    labels, how = specialise(
        before, problem.xyz, problem.weight, industry, problem.target, problem.tolerance, problem.locked,
        focus, how=solution.how, centres=solution.centres, fixed_load=problem.fixed_load,
        current=problem.current, stay=problem.stay_bonus, also=also, seed=problem.seed)
    solution.labels, solution.how = labels, how
    moved = int((labels != before).sum())
    if moved == 0:
        text = (f"Industry focus {focus:.2f}: no trade between nearby territories made their industry mix "
                "more concentrated within the balance band and the travel allowance"
                + (" while keeping accounts with their current territory (stability)." if problem.stay_bonus > 0
                   else "."))
        return Note(codes.FOCUS, text, data={"focus": focus, "moved": 0})
    h0, t0 = concentration(before, problem.weight, industry, k)
    h1, t1 = concentration(labels, problem.weight, industry, k)
    centres = solution.centres
    d0 = float(problem.weight @ np.linalg.norm(problem.xyz - centres[before], axis=1))
    d1 = float(problem.weight @ np.linalg.norm(problem.xyz - centres[labels], axis=1))
    travel = 100.0 * (d1 / d0 - 1.0) if d0 > 0 else 0.0
    text = (f"Industry focus {focus:.2f}: {moved:,} accounts were traded between nearby territories so "
            f"each specialises in fewer industries (mean top-industry share {100 * t0:.0f}% -> {100 * t1:.0f}%, "
            f"mean HHI {h0:.3f} -> {h1:.3f}) for {travel:+.1f}% travel to the territory centres. "
            "Specialised territories overlap where they share a metro, so contiguity is relaxed for "
            "the traded accounts.")
    return Note(codes.FOCUS, text, data={"focus": focus, "moved": moved, "hhi": (h0, h1), "top_share": (t0, t1),
                                         "travel_pct": travel})
