"""The numerical core (territory._assign): warm-start prices and the incremental balance repair."""

from __future__ import annotations

import numpy as np
import pytest

from territory import _assign
from territory.geo import delaunay_neighbors, to_unit_vectors


def _power_diagram(n: int = 3_000, k: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    xyz = to_unit_vectors(38.0 + 4.0 * rng.random(n), -100.0 + 6.0 * rng.random(n))
    centres = xyz[rng.choice(n, k, replace=False)]
    current = np.full(n, -1)
    locked = np.full(n, -1)
    cand, d2 = _assign.candidates(xyz, centres, current, locked, m=6)
    prices = rng.normal(0.0, 0.3, k) * float(np.median(d2[:, 0]))
    cost = d2 / float(np.mean(d2[:, 0]))
    labels = cand[np.arange(n), (cost - prices[cand] / float(np.mean(d2[:, 0]))).argmin(axis=1)]
    return cost, cand, labels, k


def test_prices_from_labels_reproduce_a_price_diagram():
    cost, cand, labels, k = _power_diagram()
    # the current territory is always a candidate (as in the engine: the extra column)
    cand = np.column_stack([cand, labels])
    cost = np.column_stack([cost, cost[np.arange(len(labels)), (cand[:, :-1] == labels[:, None]).argmax(axis=1)]])
    prices = _assign.prices_from_labels(cost, cand, labels, k)
    assert np.any(prices)
    score = cost - prices[cand]
    again = cand[np.arange(len(labels)), score.argmin(axis=1)]
    assert np.mean(again == labels) > 0.99
    # the only accounts that change are ties: the one account that sets each pair's price gap
    flipped = np.flatnonzero(again != labels)
    own = score[flipped, -1]
    assert np.allclose(own, score[flipped].min(axis=1), rtol=0, atol=1e-9)


def test_prices_from_labels_are_zero_without_a_current_alignment():
    cost, cand, labels, k = _power_diagram()
    assert not np.any(_assign.prices_from_labels(cost, cand, np.full(len(labels), -1), k))


@pytest.mark.parametrize("band", [0.01, 0.05])
def test_incremental_balance_repair_matches_the_full_pass(band):
    rng = np.random.default_rng(1)
    n, k = 4_000, 8
    lat, lon = 40.0 + 3.0 * rng.random(n), -95.0 + 4.0 * rng.random(n)
    xyz = to_unit_vectors(lat, lon)
    adjacency = delaunay_neighbors(lat, lon)
    weight = rng.lognormal(3.0, 1.0, n)
    centres = xyz[rng.choice(n, k, replace=False)]
    labels = ((xyz[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    target = np.full(k, weight.sum() / k)
    problem = _assign.Problem(xyz=xyz, weight=weight, target=target, fixed_load=np.zeros(k),
                              locked=np.full(n, -1), current=np.full(n, -1), init_centres=centres,
                              anchored=np.zeros(k, bool), adjacency=adjacency, aim=band)
    src, dst = _assign._directed_edges(adjacency)
    movable = rng.random(n) > 0.1
    assert _assign._edge_index(src, dst, n) is not None
    how_a, how_b = np.zeros(n, np.int8), np.zeros(n, np.int8)
    cache: dict = {}
    fast = _assign.balance_repair(problem, labels, centres, how_a, band, src, dst, movable, edge_index=cache)
    assert cache.get("index") is not None  # the incremental path was used
    # edges out of CSR order: the repair falls back to a full pass per round, same result
    order = np.random.default_rng(2).permutation(src.size)
    assert _assign._edge_index(src[order], dst[order], n) is None
    full = _assign.balance_repair(problem, labels, centres, how_b, band, src[order], dst[order], movable)
    assert np.array_equal(fast, full) and np.array_equal(how_a, how_b)
    assert (fast != labels).sum() > 0
    assert np.array_equal(fast[~movable], labels[~movable])
