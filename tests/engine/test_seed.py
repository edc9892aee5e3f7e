"""Starting alignments: recursive bisection, carving new territories, map-drawn or not."""

from __future__ import annotations

import numpy as np

from territory.engine import seed
from territory.geo import delaunay_neighbors, to_unit_vectors


def grid(n_side: int = 20):
    lat, lon = np.meshgrid(40 + 0.05 * np.arange(n_side), -100 + 0.05 * np.arange(n_side), indexing="ij")
    return lat.ravel(), lon.ravel()


def test_bisection_gives_every_part_its_capacity_share():
    rng = np.random.default_rng(0)
    lat, lon = grid(30)
    xyz = to_unit_vectors(lat, lon)
    weight = rng.lognormal(0, 0.5, lat.size)
    capacity = np.array([1.0, 1.0, 0.5, 1.0, 1.5, 1.0, 1.0])
    parts = seed.bisect(xyz, weight, capacity)
    share = np.bincount(parts, weights=weight, minlength=capacity.size) / weight.sum()
    np.testing.assert_allclose(share, capacity / capacity.sum(), atol=weight.max() * 3 / weight.sum())


def test_bisection_puts_co_located_accounts_on_both_sides_of_a_cut():
    """A tower of 100 accounts at one point is two territories' worth: it is cut, not kept whole."""
    xyz = to_unit_vectors(np.r_[np.full(100, 40.0), 41.0, 42.0], np.r_[np.full(100, -100.0), -99.0, -98.0])
    parts = seed.bisect(xyz, np.ones(102), np.ones(2))
    assert abs(np.bincount(parts).tolist()[0] - 51) <= 1


def test_carving_takes_half_of_the_busiest_territory():
    lat, lon = grid(10)
    xyz = to_unit_vectors(lat, lon)
    labels = (lon > -99.83).astype(np.int64)  # territory 1 holds 6 of the 10 columns
    carved = seed.carve(xyz, np.ones(lat.size), labels, np.array([2]), np.ones(3))
    counts = np.bincount(carved, minlength=3)
    assert counts[0] == (labels == 0).sum()  # the lighter territory is untouched
    assert counts[2] == counts[1] == (labels == 1).sum() // 2


def test_a_map_drawn_alignment_is_told_from_an_owner_based_one():
    lat, lon = grid(20)
    graph = delaunay_neighbors(lat, lon)
    weight = np.ones(lat.size)
    strips = np.digitize(lon, [-99.7, -99.4, -99.2])  # lopsided strips are still map-drawn
    owners = np.arange(lat.size) % 4  # round robin
    assert seed.is_geographic(graph, weight, strips)
    assert not seed.is_geographic(graph, weight, owners)
