"""The corpus's checker: judges an alignment from the accounts alone, never from the engine's own claims.

Definitions (``docs/robustness.md`` has the reasoning):

* target = total workload / K for every territory (equal capacities); balanceable unless one account
  is heavier than target x (1 + tol);
* max_dev = largest |load / target - 1|; ``unbalanced`` when balanceable and max_dev > tol;
* a *fragment* is a piece of a territory on the accounts' Delaunay graph that is not its largest
  piece and not a true island (``territory.geo.island_pieces``, 500 km); it *fails* only when it holds
  a moved account (pieces made only of unmoved accounts are the user's own structure);
* a *far move* is a moved account more than max(2 x radius, 300 km) from its new territory's centre
  (workload-weighted spherical median; radius = weighted 90th percentile distance to it), unless it
  is on a true island: an island group (``territory.geo.island_groups``: the 500 km rule) other than
  the one holding most of its territory's workload. (Puerto Rico joins Florida's piece through a
  1,600 km Delaunay edge, so the piece test alone would not see it as an island);
* ``empty``: a territory without accounts;
* the disruption lower bound of a start: the least workload any within-tolerance alignment must move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory.geo import EARTH_RADIUS_KM, island_groups, island_pieces, piece_labels

FAR_FLOOR_KM = 300.0
FAR_RADIUS_FACTOR = 2.0
FAR_NEAREST_FACTOR = 1.5
"""A far account is also farther than this from its territory's centre than from the nearest
centre: an isolated town in the territory nearest to it is not sent anywhere implausible."""
RADIUS_QUANTILE = 0.9
WEISZFELD_STEPS = 8


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle km of the straight-line distance between unit vectors."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def spherical_medians(xyz: np.ndarray, codes: np.ndarray, weights: np.ndarray, k: int,
                      steps: int = WEISZFELD_STEPS) -> np.ndarray:
    """(k, 3) workload-weighted spherical medians, a few Weiszfeld steps from the weighted mean
    direction (a median, so that one far outlier cannot drag the centre towards itself)."""

    def weighted_directions(w: np.ndarray) -> np.ndarray:
        sums = np.column_stack([np.bincount(codes, weights=w * xyz[:, d], minlength=k) for d in range(3)])
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.divide(sums, norms, out=np.full_like(sums, np.nan), where=norms > 0)

    centres = weighted_directions(weights)
    for _ in range(steps):
        distance = np.linalg.norm(xyz - centres[codes], axis=1)
        moved = weighted_directions(weights / np.maximum(distance, 1e-9))
        centres = np.where(np.isfinite(moved), moved, centres)
    return centres


def weighted_quantile_by_group(values: np.ndarray, codes: np.ndarray, weights: np.ndarray, k: int,
                               q: float) -> np.ndarray:
    """Per group 0..k-1: the smallest value whose cumulative weight reaches ``q`` of the group's
    weight (NaN for an empty group)."""
    order = np.lexsort((values, codes))
    sorted_codes, sorted_weights = codes[order], weights[order]
    cumulative = np.cumsum(sorted_weights)
    totals = np.bincount(codes, weights=weights, minlength=k)
    before = np.r_[0.0, np.cumsum(totals)][sorted_codes]
    reached = np.flatnonzero(cumulative - before >= q * totals[sorted_codes] - 1e-12)
    first = np.full(k, order.size, dtype=np.int64)
    np.minimum.at(first, sorted_codes[reached], reached)
    out = np.full(k, np.nan)
    found = first < order.size
    out[found] = values[order][first[found]]
    return out


def band(total: float, k: int, tolerance: float) -> tuple[float, float, float]:
    """(target, lower, upper) of every territory: equal capacities."""
    target = total / k
    return target, target * (1 - tolerance), target * (1 + tolerance)


def disruption_lower_bound(weights: np.ndarray, start: np.ndarray, k: int, tolerance: float) -> float:
    """Least workload any within-tolerance alignment into ``k`` territories must move from ``start``
    when accounts may go anywhere: max(excess over the upper bound, deficit under the lower bound).

    With more start territories than ``k``, the lightest are the ones to drop (all their load moves):
    dropping a lighter territory adds less excess and removes at least as much deficit, so that
    choice minimises both sums at once. With fewer, the new territories start empty.
    """
    _, lower, upper = band(float(weights.sum()), k, tolerance)
    loads = pd.Series(weights).groupby(pd.Series(start, dtype=object).to_numpy()).sum().sort_values(ascending=False)
    loads = loads.to_numpy()
    kept, dropped = loads[:k], loads[k:].sum()
    kept = np.r_[kept, np.zeros(max(0, k - kept.size))]
    excess = np.clip(kept - upper, 0, None).sum() + dropped
    deficit = np.clip(lower - kept, 0, None).sum()
    return float(max(excess, deficit))


def max_deviation(weights: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Largest |load / target - 1| of integer labels 0..k-1 (empty territories count as -100%)."""
    loads = np.bincount(labels, weights=weights, minlength=k)
    return float(np.max(np.abs(loads / (weights.sum() / k) - 1.0)))


def needed_across_the_sea(piece_key: np.ndarray, codes: np.ndarray, rank: np.ndarray, groups: np.ndarray,
                          weights: np.ndarray, stray: np.ndarray, upper: float) -> np.ndarray:
    """True for the accounts of the one piece per island group that may lie across the sea from its
    territory's main piece: where the territories whose main piece is on that island group cannot
    hold the group's workload within the band (an island worth 2.6 territories, a small island with
    no territory of its own), the largest such piece is needed; elsewhere none is."""
    n_groups = int(groups.max()) + 1
    home = np.unique(codes[rank == 0].astype(np.int64) * n_groups + groups[rank == 0])
    overseas = stray & ~np.isin(codes.astype(np.int64) * n_groups + groups, home)
    room = np.bincount(home % n_groups, minlength=n_groups) * upper
    short = np.bincount(groups, weights=weights, minlength=n_groups) > room + 1e-9
    candidates = overseas & short[groups]
    needed = np.zeros(codes.size, dtype=bool)
    if candidates.any():
        load = pd.Series(weights[candidates]).groupby([groups[candidates], piece_key[candidates]]).sum()
        largest = load.groupby(level=0).idxmax().map(lambda pair: pair[1])
        needed = np.isin(piece_key, largest.to_numpy())
    return needed


def off_main_island(groups: np.ndarray, codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """True for accounts whose island group is not the one holding most of their territory's workload."""
    load = pd.Series(weights).groupby([codes, groups]).sum()
    main = load.groupby(level=0).idxmax().map(lambda pair: pair[1])
    return groups != main.reindex(codes).to_numpy()


def reach_km(xyz: np.ndarray, weights: np.ndarray, labels) -> tuple[float, float]:
    """(mean, largest) over the territories of ``labels`` of the workload-weighted 90th percentile
    distance from their centre, in km: how far each reaches."""
    ids, codes = np.unique(pd.Series(labels, dtype=object).astype(str).to_numpy(), return_inverse=True)
    radius = reach_of(xyz, codes, weights, ids.size)[2]
    return float(np.nanmean(radius)), float(np.nanmax(radius))


def reach_of(xyz: np.ndarray, codes: np.ndarray, weights: np.ndarray,
             k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """((k, 3) centres, (n,) each account's km to its centre, (k,) each territory's radius: the
    workload-weighted 90th percentile of those distances, NaN when empty)."""
    centres = spherical_medians(xyz, codes, weights, k)
    distance = chord_to_km(np.linalg.norm(xyz - centres[codes], axis=1))
    return centres, distance, weighted_quantile_by_group(distance, codes, weights, k, RADIUS_QUANTILE)


def check_alignment(xyz: np.ndarray, graph, weights: np.ndarray, labels, ids, start, tolerance: float,
                    groups: np.ndarray | None = None) -> dict:
    """Every quality figure of one alignment, from the accounts alone.

    ``labels``: the result's territory per account; ``ids``: the K territories of the result (so an
    empty one is seen); ``start``: the current alignment handed to the engine, or None (then every
    account counts as moved); ``graph``: ``territory.geo.delaunay_neighbors`` of the accounts;
    ``groups``: their ``island_groups`` (computed when not given).
    """
    ids = pd.Index(pd.Series(ids, dtype=object).astype(str))
    labels = pd.Series(labels, dtype=object).astype(str).to_numpy()
    codes = ids.get_indexer(labels)
    if (codes < 0).any():  # a label outside the declared territories: count it as a territory of its own
        extra = pd.Index(pd.unique(labels[codes < 0]))
        ids = ids.append(extra)
        codes = ids.get_indexer(labels)
    k = len(ids)
    total = float(weights.sum())
    target, _, upper = band(total, k, tolerance)
    if start is None:
        moved = np.ones(labels.size, dtype=bool)
    else:
        start = pd.Series(start, dtype=object)
        moved = start.isna().to_numpy() | (start.astype(str).to_numpy() != labels)

    rank = piece_labels(graph, codes, weights=weights)
    island = island_pieces(graph, xyz, codes, rank)
    if groups is None:
        groups = island_groups(graph, xyz)[1]
    stray = (rank > 0) & ~island
    piece_key = codes.astype(np.int64) * (int(rank.max()) + 1) + rank
    stray &= ~needed_across_the_sea(piece_key, codes, rank, groups, weights, stray, upper)
    # a piece holding an account that did not move is the start's own structure (an owner-based
    # start kept at stability 1, an enclave a moved account joined); only pieces made entirely of
    # moved accounts are fragments the engine made
    kept_keys = np.unique(piece_key[stray & ~moved])
    failing = stray & ~np.isin(piece_key, kept_keys)

    centres, distance, radius = reach_of(xyz, codes, weights, k)
    limit = np.maximum(FAR_RADIUS_FACTOR * radius, FAR_FLOOR_KM)
    nearest = np.full(codes.size, np.inf)
    for j in range(k):  # distance to the nearest territory centre (k is at most a few hundred)
        nearest = np.minimum(nearest, chord_to_km(np.linalg.norm(xyz - centres[j], axis=1)))
    far = (moved & ~island & ~off_main_island(groups, codes, weights) & (distance > limit[codes])
           & (distance > FAR_NEAREST_FACTOR * nearest))

    counts = np.bincount(codes, minlength=k)
    return {
        "balanceable": bool(weights.max() <= upper * (1 + 1e-12)),
        "max_dev": max_deviation(weights, codes, k),
        "empty_territories": int((counts == 0).sum()),
        "fragmented_territories": int(np.unique(codes[stray]).size),
        "fragmented_moved_territories": int(np.unique(codes[failing]).size),
        "fragment_moved_workload_pct": 100.0 * float(weights[failing].sum() / total),
        "far_moves": int(far.sum()),
        "worst_far_km": float(distance[far].max()) if far.any() else 0.0,
        # shape: how far a territory reaches (what the far rule, which grows with the territory,
        # does not judge); the summary compares it with the same instance's fresh alignment
        "reach_km_mean": float(radius[counts > 0].mean()) if (counts > 0).any() else 0.0,
        "reach_km_max": float(np.nanmax(radius)) if (counts > 0).any() else 0.0,
        "moved_accounts": int(moved.sum()),
        "moved_workload": float(weights[moved].sum()),
        "target": target,
    }
