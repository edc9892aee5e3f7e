"""The numerical core (territory._assign): warm-start prices and the incremental balance repair."""

from __future__ import annotations

from dataclasses import replace

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


def test_medians_find_the_point_of_least_travel():
    # three towns on a meridian, the middle one heaviest: the median sits on it (a centroid would
    # be pulled towards the far town), and it never travels further than the centroid
    xyz = to_unit_vectors(np.array([40.0, 41.0, 45.0]), np.array([-100.0, -100.0, -100.0]))
    weight = np.array([1.0, 2.0, 1.0])
    labels = np.zeros(3, dtype=np.int64)
    start = np.full((1, 3), np.nan)
    median = _assign.medians(xyz, weight, labels, 1, start, steps=50)
    centroid = _assign.centroids(xyz, weight, labels, 1, start)

    def travel(c):
        return float(weight @ np.linalg.norm(xyz - c[0], axis=1))

    assert np.linalg.norm(median[0] - xyz[1]) < 1e-3
    assert travel(median) < travel(centroid)
    # an empty territory keeps its previous centre
    kept = _assign.medians(xyz, weight, labels, 2, np.vstack([start, xyz[:1]]))
    assert np.array_equal(kept[1], xyz[0])


def test_brute_force_candidates_match_the_kd_tree():
    rng = np.random.default_rng(3)
    n, k = 2_000, 40
    xyz = to_unit_vectors(30.0 + 15.0 * rng.random(n), -120.0 + 40.0 * rng.random(n))
    centres = xyz[rng.choice(n, k, replace=False)]
    none = np.full(n, -1)
    brute_cand, brute_d2 = _assign.candidates(xyz, centres, none, none, m=8)
    saved = _assign.BRUTE_FORCE_UP_TO
    try:
        _assign.BRUTE_FORCE_UP_TO = 0
        tree_cand, tree_d2 = _assign.candidates(xyz, centres, none, none, m=8)
    finally:
        _assign.BRUTE_FORCE_UP_TO = saved
    assert np.array_equal(brute_cand, tree_cand)
    assert np.allclose(brute_d2, tree_d2, rtol=0, atol=1e-12)


def test_dense_and_sparse_newton_steps_agree():
    rng = np.random.default_rng(4)
    k = 30
    a, b = rng.integers(0, k, 500), rng.integers(0, k, 500)
    keep = a != b
    a, b = a[keep], b[keep]
    vals = rng.random(a.size)
    resid = rng.normal(size=k)
    dense = _assign._newton_step(a, b, vals, resid, k)
    saved = _assign.DENSE_UP_TO
    try:
        _assign.DENSE_UP_TO = 0
        sparse = _assign._newton_step(a, b, vals, resid, k)
    finally:
        _assign.DENSE_UP_TO = saved
    assert np.allclose(dense, sparse, rtol=1e-8, atol=1e-10)


def test_levels_run_many_centre_moves_coarse_and_few_on_all_accounts():
    # a fresh solve on 10,000 accounts: a coarse subsample first, a short polish on all accounts
    levels, full = _assign._levels(10_000, 25, _assign.MAX_LLOYD)
    assert levels == [(_assign.COARSE_MIN, _assign.COARSE_LLOYD)] and full == _assign.FULL_POLISH
    # large inputs: one move on all accounts after the coarse level
    levels, full = _assign._levels(100_000, 100, _assign.MAX_LLOYD)
    assert [size for size, _ in levels] == [15_000] and full == 1
    # far above the subsample the final solve starts from the subsample's centres
    # (a coarse subsample that large gets fewer moves: each costs more)
    levels, full = _assign._levels(1_000_000, 500, _assign.MAX_LLOYD)
    assert levels == [(_assign.SUBSAMPLE_ABOVE, _assign.MAX_LLOYD)] and full == 0
    # a coarse subsample that would be over a quarter of the input is skipped
    assert _assign._levels(100_000, 500, _assign.MAX_LLOYD) == ([(_assign.SUBSAMPLE_ABOVE, _assign.MAX_LLOYD)], 1)
    assert _assign._levels(5_000, 20, _assign.MAX_LLOYD) == ([], _assign.COARSE_LLOYD)
    # mid-sized inputs polish on all accounts after the coarse level
    assert _assign._levels(40_000, 25, _assign.MAX_LLOYD) == ([(6_000, _assign.COARSE_LLOYD)], _assign.FULL_POLISH)
    # a re-run from today's centres (two moves allowed) never goes coarse
    assert _assign._levels(100_000, 100, 2) == ([], 2)
    # small inputs: every move on all accounts
    assert _assign._levels(1_000, 10, _assign.MAX_LLOYD) == ([], _assign.COARSE_LLOYD)


def test_a_seed_in_an_empty_corner_moves_to_where_the_load_is():
    # one seed sits in a sparse corner with a handful of accounts, the rest in one dense metro:
    # it cannot fill at any sensible price, so it must move into the metro and the result balance
    rng = np.random.default_rng(5)
    n_metro, k = 3_000, 6
    lat = np.r_[40.0 + 0.8 * rng.random(n_metro), 47.0 + 0.2 * rng.random(12)]
    lon = np.r_[-90.0 + 0.8 * rng.random(n_metro), -110.0 + 0.2 * rng.random(12)]
    xyz = to_unit_vectors(lat, lon)
    n = xyz.shape[0]
    weight = rng.lognormal(2.0, 0.5, n)
    seeds = np.vstack([xyz[rng.choice(n_metro, k - 1, replace=False)], xyz[-1:]])
    problem = _assign.Problem(xyz=xyz, weight=weight, target=np.full(k, weight.sum() / k),
                              fixed_load=np.zeros(k), locked=np.full(n, -1), current=np.full(n, -1),
                              init_centres=seeds, anchored=np.zeros(k, bool),
                              adjacency=delaunay_neighbors(lat, lon), aim=0.02, max_lloyd=_assign.MAX_LLOYD)
    solution = _assign.solve(problem)
    load = np.bincount(solution.labels, weights=weight, minlength=k)
    assert np.abs(load / problem.target - 1).max() <= 0.05


def test_a_territory_short_for_several_moves_in_a_row_restarts_inside_the_busiest():
    rng = np.random.default_rng(6)
    n, k = 600, 3
    xyz = to_unit_vectors(40.0 + rng.random(n), -90.0 + rng.random(n))
    weight = np.ones(n)
    labels = np.r_[np.zeros(310), np.ones(200), np.full(90, 2)].astype(np.int64)  # loads 310/200/90
    centres = np.vstack([xyz[0], xyz[300], xyz[500]])
    args = (xyz, weight, labels, np.full(n, -1), np.full(k, 200.0), np.zeros(k), np.zeros(k, bool))
    # territory 2 is 55% short: restarted whatever its history
    _, reseeded = _assign._reseed_starved(centres, *args, np.random.default_rng(0))
    assert reseeded.tolist() == [2]
    # 30% short is not enough on its own ...
    args = (xyz, weight, np.r_[np.zeros(260), np.ones(200), np.full(140, 2)].astype(np.int64),
            np.full(n, -1), np.full(k, 200.0), np.zeros(k), np.zeros(k, bool))
    _, reseeded = _assign._reseed_starved(centres, *args, np.random.default_rng(0))
    assert reseeded.size == 0
    # ... but after several short moves in a row it restarts inside the busiest territory (0)
    moved, reseeded = _assign._reseed_starved(centres, *args, np.random.default_rng(0),
                                              np.array([False, False, True]))
    assert reseeded.tolist() == [2]
    assert np.min(np.linalg.norm(xyz[:260] - moved[2], axis=1)) < 1e-12  # drawn from its accounts


def test_solve_runs_blas_single_threaded_while_the_triangulation_runs(monkeypatch):
    # the K x K Newton systems are small; OpenBLAS's waiting threads only competed with the
    # triangulation running on the other core (a cold run); a re-run keeps BLAS as it was
    from concurrent.futures import Future

    monkeypatch.setattr(_assign, "BLAS_LIMIT_FROM", 100)  # the real threshold is 50,000 accounts

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    rng = np.random.default_rng(8)
    n, k = 500, 4
    lat, lon = 40.0 + rng.random(n), -90.0 + rng.random(n)
    xyz = to_unit_vectors(lat, lon)
    graph = delaunay_neighbors(lat, lon)
    before = blas_threads()
    seen = []
    original = _assign._solve
    pending: Future = Future()
    later: Future = Future()

    def record(problem):
        seen.append(blas_threads())
        future = problem.adjacency
        if hasattr(future, "done") and not future.done():
            future.set_result(graph)  # the triangulation finishes while the prices are solved
        return original(problem)

    try:
        _assign._solve = record
        problem = _assign.Problem(xyz=xyz, weight=np.ones(n), target=np.full(k, n / k), fixed_load=np.zeros(k),
                                  locked=np.full(n, -1), current=np.full(n, -1),
                                  init_centres=_assign.bisection_seeds(xyz, np.ones(n), np.ones(k)),
                                  anchored=np.zeros(k, bool), adjacency=pending)
        _assign.solve(problem)
        _assign.solve(problem)  # the triangulation is done now: BLAS untouched
        monkeypatch.setattr(_assign, "BLAS_LIMIT_FROM", n + 1)
        _assign.solve(replace(problem, adjacency=later))  # too small to bother: untouched
    finally:
        _assign._solve = original
    assert all(t == 1 for t in seen[0])
    assert seen[1] == before
    assert seen[2] == before
    assert blas_threads() == before


def test_contiguity_repair_leaves_a_territorys_own_island_but_rejoins_a_mainland_stray():
    """Hawaii belongs to the east territory, whose only link to it is the long edge to a western
    account: it stays (it used to be handed to the west, thousands of accounts at 1M x 50). A
    mainland piece of the east inside the west is moved."""
    import scipy.sparse as sp

    # a mainland line of 6 accounts 100 km apart (W W W E E E), an E account stranded among the
    # W ones, and two Hawaii accounts joined to the westernmost account only
    lat = np.r_[np.full(7, 40.0), 21.0, 21.1]
    lon = np.r_[-120.0, -119.0, -118.0, -117.0, -116.0, -115.0, -118.5, -157.0, -157.1]
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1])
    edges = [(0, 1), (1, 2), (1, 6), (6, 2), (2, 3), (3, 4), (4, 5), (0, 7), (7, 8)]
    i, j = np.array(edges).T
    adjacency = sp.csr_matrix((np.ones(2 * len(edges)), (np.r_[i, j], np.r_[j, i])), shape=(9, 9))
    xyz = to_unit_vectors(lat, lon)
    n, k = 9, 2
    problem = _assign.Problem(xyz=xyz, weight=np.ones(n), target=np.full(k, n / k), fixed_load=np.zeros(k),
                              locked=np.full(n, -1), current=np.full(n, -1), init_centres=xyz[[1, 4]],
                              anchored=np.zeros(k, bool), adjacency=adjacency, aim=0.5)
    src, dst = _assign._directed_edges(adjacency)
    repaired, moved = _assign.contiguity_repair(problem, labels, np.zeros(n, np.int8), src, dst, np.ones(n, bool))
    assert moved == 1 and repaired[6] == 0  # the stranded mainland account joins the west
    assert repaired[7] == repaired[8] == 1  # Hawaii stays with the east
    # Hawaii shared with a western account is no island: the east's piece there is rejoined
    shared = labels.copy()
    shared[8] = 0
    repaired, _ = _assign.contiguity_repair(problem, shared, np.zeros(n, np.int8), src, dst, np.ones(n, bool))
    assert repaired[7] == 0


def test_repair_keeps_the_balance_when_rejoining_a_piece_would_break_it():
    """A territory with a piece on another continent: handing that piece to its neighbour there
    overloads it, and locks block every move back. Balance is the hard target: the repair returns
    the balanced state (with the piece) instead of ending 20% off (worldwide data, K = 20: 17.5%)."""
    import scipy.sparse as sp

    # continent A: accounts 0-9 along the equator; continent B: 10-14, 10,000 km east
    lat = np.zeros(15)
    lon = np.r_[np.arange(10.0), 90.0 + np.arange(5.0)]
    labels = np.array([0] * 5 + [1] * 4 + [2] + [2] * 4 + [1])
    edges = [(i, i + 1) for i in range(14)]  # a chain; 9-10 crosses the ocean
    i, j = np.array(edges).T
    adjacency = sp.csr_matrix((np.ones(2 * len(edges)), (np.r_[i, j], np.r_[j, i])), shape=(15, 15))
    locked = np.full(15, -1)
    locked[[8, 9]] = labels[[8, 9]]  # the only boundary between territories 1 and 2 on A
    xyz = to_unit_vectors(lat, lon)
    k = 3
    problem = _assign.Problem(xyz=xyz, weight=np.ones(15), target=np.full(k, 5.0), fixed_load=np.zeros(k),
                              locked=locked, current=np.full(15, -1), init_centres=xyz[[2, 6, 12]],
                              anchored=np.zeros(k, bool), adjacency=adjacency, aim=0.02, tolerance=0.05)
    how = np.zeros(15, np.int8)
    notes: list[str] = []
    repaired = _assign.repair(problem, labels, xyz[[2, 6, 12]], how, notes)
    assert np.array_equal(np.bincount(repaired, minlength=k), [5, 5, 5])
    assert repaired[14] == 1 and how[14] == _assign.MOVED_BY_PRICE  # the piece stays, no reason claims a move
    assert notes and "undone" in notes[0]


def test_island_seeds_give_each_far_cluster_its_share_of_territories():
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    # 300 accounts near Sydney, 100 near Perth (3,300 km away): 4 territories -> 3 + 1
    lat = np.r_[rng.normal(-33.9, 0.5, 300), rng.normal(-31.9, 0.5, 100)]
    lon = np.r_[rng.normal(151.0, 0.5, 300), rng.normal(116.0, 0.5, 100)]
    xyz = to_unit_vectors(lat, lon)
    graph = delaunay_neighbors(lat, lon)
    assert sp.issparse(graph)
    weight, capacity = np.ones(400), np.ones(4)
    seeds = _assign.island_seeds(xyz, weight, graph, capacity)
    in_perth = ((seeds - to_unit_vectors([-31.9], [116.0])) ** 2).sum(axis=1) < 1e-3
    assert in_perth.sum() == 1
    right = np.r_[np.repeat([0, 1, 2], 100), np.full(100, 3)]
    assert _assign.island_seeds(xyz, weight, graph, capacity, right) is None  # already 3 + 1
    wrong = np.r_[np.repeat([0, 1], 150), np.repeat([2, 3], 50)]  # 2 + 2
    assert _assign.island_seeds(xyz, weight, graph, capacity, wrong) is not None
    one_place = delaunay_neighbors(lat[:300], lon[:300])
    assert _assign.island_seeds(xyz[:300], weight[:300], one_place, capacity) is None


def test_only_a_few_short_territories_restart_per_move():
    rng = np.random.default_rng(4)
    n, k = 2_000, 40
    xyz = to_unit_vectors(40.0 + rng.random(n), -90.0 + rng.random(n))
    labels = np.arange(n) % k
    weight = np.where(labels < 20, 2.0, 1.0)  # territories 20-39 carry a third less than target
    target = np.full(k, weight.sum() / k)
    persistent = np.zeros(k, dtype=bool)
    persistent[20:] = True
    centres = xyz[:k].copy()
    _, reseeded = _assign._reseed_starved(centres, xyz, weight, labels, np.full(n, -1), target, np.zeros(k),
                                          np.zeros(k, bool), rng, persistent)
    assert reseeded.size == 2  # 5% of 40, not all 20 short ones
