"""Back home where the band allows: accounts a redrawn alignment moved return to today's territory
by moves that cannot cut a territory.

When the solves from today's alignment leave pieces, the engine redraws a region around them (or
the whole map) by a recursive bisection (:mod:`territory.engine.redraw`), which is balanced and in
one piece by construction but knows nothing of today. This step gives today back what it can
without giving up either property:

1. single returns: an account goes back to today's territory when it touches that territory's main
   body, its own territory stays connected without it (:class:`territory.engine.polish.LocationMap`)
   and both territories stay in the hard band;
2. swaps: when a territory is at its band's edge, an account going home from it is paired with one
   coming home to it from the same neighbour, of similar load, so both stay in the band.

Passes repeat while anything returns; a pass that leaves more far accounts (a territory that gets
its own back changes shape) is undone and ends the step. Every move is one of the polish's safe
moves, so the territories stay in one piece and within the band by construction.
"""

from __future__ import annotations

import numpy as np

from territory.engine.polish import LocationMap, far_accounts
from territory.engine.solve import Problem

PASSES = 20
"""Most passes of returns and swaps (each pass runs while anything goes home)."""


def homeward(problem: Problem, graph, labels: np.ndarray, how: np.ndarray) -> np.ndarray:
    """``labels`` with moved accounts returned to today's territory (module docstring); ``how`` is
    cleared for the accounts that return."""
    from territory.geo import piece_labels

    labels = labels.copy()
    if problem.today is None or problem.limits:
        return labels
    k = problem.k
    weight = problem.weight
    home = problem.current
    lower = problem.target * (1 - problem.tolerance)
    upper = problem.target * (1 + problem.tolerance)
    far = int(far_accounts(problem, labels).sum())
    for _ in range(PASSES):
        away = np.flatnonzero(problem.free & (home >= 0) & (labels != home))
        if away.size == 0:
            break
        kept = labels.copy()
        terrain = LocationMap(problem, graph, labels)
        terrain.reset(piece_labels(graph, np.where(terrain.counted, labels, -1), weights=weight))
        away = away[terrain.counted[away]]
        away = away[np.argsort(-weight[away], kind="stable")]
        load = np.bincount(labels, weights=weight, minlength=k) + problem.fixed_load
        returned = _returns(terrain, away, weight, home, load, lower, upper)
        returned += _swaps(terrain, away, weight, home, load, lower, upper)
        if returned == 0:
            break
        # a territory that gets its accounts back changes shape: an account it holds from
        # elsewhere may now lie beyond the far rule's reach of its centre
        now_far = int(far_accounts(problem, labels).sum())
        if now_far > far:
            labels[:] = kept
            break
        far = now_far
    how[(labels == home) & (home >= 0)] = 0
    return labels


def _safe(terrain: LocationMap, i: int, to: int) -> bool:
    return terrain.touches(i, to) and terrain.stays_connected(i)


def _returns(terrain: LocationMap, away: np.ndarray, weight: np.ndarray, home: np.ndarray, load: np.ndarray,
             lower: np.ndarray, upper: np.ndarray) -> int:
    """Single returns within the band, heaviest first: how many."""
    labels = terrain.labels
    count = 0
    for i in away.tolist():
        a, b, w = int(labels[i]), int(home[i]), float(weight[i])
        if a == b or load[a] - w < lower[a] - 1e-9 or load[b] + w > upper[b] + 1e-9 or not _safe(terrain, i, b):
            continue
        terrain.move(i, b, True)
        load[a] -= w
        load[b] += w
        count += 1
    return count


def _swaps(terrain: LocationMap, away: np.ndarray, weight: np.ndarray, home: np.ndarray, load: np.ndarray,
           lower: np.ndarray, upper: np.ndarray) -> int:
    """Pairs of returns between two territories that keep both in the band: how many pairs."""
    labels = terrain.labels
    live = away[labels[away] != home[away]]
    if live.size < 2:
        return 0
    by_pair: dict[tuple[int, int], list[int]] = {}
    for i in live.tolist():
        by_pair.setdefault((int(labels[i]), int(home[i])), []).append(i)
    count = 0
    for (a, b), going in by_pair.items():
        coming = by_pair.get((b, a))
        if not coming or a > b:
            continue
        coming = sorted(coming, key=lambda j: weight[j])
        weights_coming = np.array([weight[j] for j in coming])
        used = np.zeros(len(coming), dtype=bool)
        for i in going:
            if labels[i] != a or not _safe(terrain, i, b):
                continue
            w = float(weight[i])
            # the partner: the one whose load keeps both territories in the band, nearest in load
            net = w - weights_coming  # a loses net, b gains net
            fits = ~used & (load[a] - net >= lower[a] - 1e-9) & (load[a] - net <= upper[a] + 1e-9) \
                & (load[b] + net >= lower[b] - 1e-9) & (load[b] + net <= upper[b] + 1e-9)
            for c in np.flatnonzero(fits)[np.argsort(np.abs(net[fits]), kind="stable")][:SWAP_TRIES].tolist():
                j = coming[c]
                if labels[j] != b:
                    used[c] = True
                    continue
                was_main = bool(terrain.in_main[i])
                terrain.move(i, b, True)
                if _safe(terrain, j, a):
                    terrain.move(j, a, True)
                    load[a] -= float(net[c])
                    load[b] += float(net[c])
                    used[c] = True
                    count += 1
                    break
                terrain.move(i, a, was_main)
    return count


SWAP_TRIES = 8
"""Partners tried per account going home (the nearest in load first)."""

