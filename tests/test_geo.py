"""Spherical geometry: distances, centres, the Delaunay neighbour graph and piece counting."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from territory import geo
from territory.geo import (
    EARTH_RADIUS_KM,
    count_pieces,
    delaunay_neighbors,
    haversine_km,
    piece_labels,
    to_lat_lon,
    to_unit_vectors,
    unique_locations,
    weighted_center,
    weighted_centers,
)


def edge_set(adjacency: sp.spmatrix) -> set[tuple[int, int]]:
    coo = sp.triu(adjacency, k=1).tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


def planar_edges(points: np.ndarray) -> set[tuple[int, int]]:
    s = Delaunay(points).simplices
    pairs = np.sort(np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1)
    return set(map(tuple, np.unique(pairs, axis=0).tolist()))


def stereographic(xyz: np.ndarray, pole: np.ndarray) -> np.ndarray:
    """Project unit vectors from ``pole`` onto a plane (circles stay circles)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(pole[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(pole, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(pole, e1)
    scale = 1.0 / (1.0 - xyz @ pole)
    return np.column_stack([(xyz @ e1) * scale, (xyz @ e2) * scale])


def test_doctests_in_geo_pass():
    result = doctest.testmod(geo)
    assert result.attempted >= 8
    assert result.failed == 0


# --- distances and centres --------------------------------------------------------------------


def test_haversine_one_degree_of_equator_is_111_km():
    assert haversine_km(0, 0, 0, 1) == pytest.approx(np.pi * EARTH_RADIUS_KM / 180)


def test_haversine_pole_to_pole_is_half_circumference():
    assert haversine_km(90, 0, -90, 0) == pytest.approx(np.pi * EARTH_RADIUS_KM)


def test_haversine_new_york_to_london():
    assert haversine_km(40.7128, -74.0060, 51.5074, -0.1278) == pytest.approx(5570, abs=10)


def test_haversine_is_short_across_antimeridian():
    assert haversine_km(-17.0, 179.9, -17.0, -179.9) == pytest.approx(21.3, abs=0.1)


def test_haversine_broadcasts_row_against_column():
    d = haversine_km(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros(4), np.arange(4.0))
    assert d.shape == (3, 4)
    assert np.allclose(d[:, 0], 0.0)


def test_unit_vectors_round_trip_and_have_length_one():
    lat = np.array([0.0, 45.0, -89.0, 12.5])
    lon = np.array([0.0, -179.5, 179.5, 100.0])
    xyz = to_unit_vectors(lat, lon)
    assert np.allclose(np.linalg.norm(xyz, axis=1), 1.0)
    back_lat, back_lon = to_lat_lon(xyz)
    assert np.allclose(back_lat, lat) and np.allclose(back_lon, lon)


def test_weighted_center_across_antimeridian_is_near_180_not_0():
    lat, lon = weighted_center([-18.0, -18.0], [179.0, -179.0])
    assert abs(lon) == pytest.approx(180.0)
    assert lat == pytest.approx(-18.0, abs=0.01)


def test_weighted_center_follows_weights():
    lat, lon = weighted_center([0.0, 0.0], [0.0, 10.0], weights=[1.0, 0.0])
    assert (lat, lon) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_weighted_center_of_points_round_the_pole_is_the_pole():
    lat, _ = weighted_center([80.0] * 4, [0.0, 90.0, 180.0, -90.0])
    assert lat == pytest.approx(90.0)


def test_weighted_center_of_nothing_is_nan():
    assert np.isnan(weighted_center([np.nan], [1.0])[0])


def test_weighted_centers_match_the_single_group_function():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-30, 30, 50)
    lon = rng.uniform(170, 190, 50)
    lon = np.where(lon > 180, lon - 360, lon)
    w = rng.uniform(1, 5, 50)
    labels = np.array(["A", "B"] * 25)
    frame = weighted_centers(lat, lon, labels, w)
    for label in ["A", "B"]:
        mask = labels == label
        expected = weighted_center(lat[mask], lon[mask], w[mask])
        assert frame.loc[label].to_numpy() == pytest.approx(expected)


# --- locations --------------------------------------------------------------------------------


def test_unique_locations_merges_pole_longitudes_and_wrapped_longitudes():
    inverse, ulat, _ = unique_locations([90.0, 90.0, 10.0, 10.0, 10.0, np.nan], [0.0, 123.0, 180.0, -180.0, 540.0, 0.0])
    assert inverse[0] == inverse[1]
    assert inverse[2] == inverse[3] == inverse[4]
    assert inverse[5] == -1
    assert ulat.size == 2


# --- Delaunay graph ---------------------------------------------------------------------------


def test_delaunay_is_the_planar_delaunay_of_projected_points_less_long_outer_edges():
    rng = np.random.default_rng(7)
    lat = rng.uniform(25.0, 49.0, 400)
    lon = rng.uniform(-124.0, -67.0, 400)
    xyz = to_unit_vectors(lat, lon)
    edges, pole = geo._spherical_delaunay_edges(xyz)
    planar = planar_edges(stereographic(xyz, pole))
    ours = set(map(tuple, edges.tolist()))
    assert edge_set(delaunay_neighbors(lat, lon)) == ours
    assert ours < planar
    # what is missing are long edges along the outside (hull chords under the bowed 49th parallel)
    peeled = np.array(sorted(planar - ours))
    peeled_km = haversine_km(lat[peeled[:, 0]], lon[peeled[:, 0]], lat[peeled[:, 1]], lon[peeled[:, 1]])
    assert peeled_km.min() > geo.OUTER_EDGE_KM
    near_edge = (lat < 27.0) | (lat > 47.0) | (lon < -122.0) | (lon > -69.0)
    assert (near_edge[peeled[:, 0]] & near_edge[peeled[:, 1]]).all()
    assert connected_components(delaunay_neighbors(lat, lon))[0] == 1


def test_edges_across_empty_space_outside_the_accounts_are_peeled_off():
    """Accounts in a "C" (a northern and a southern band joined in the west): the planar Delaunay
    graph joins the two bands across the empty middle, as the sample's hull joined Maine to
    Washington State; peeled, a territory holding both eastern ends is two pieces, not one."""
    rng = np.random.default_rng(11)
    north = np.column_stack([rng.uniform(46.0, 49.0, 300), rng.uniform(-124.0, -70.0, 300)])
    west = np.column_stack([rng.uniform(30.0, 49.0, 120), rng.uniform(-124.0, -118.0, 120)])
    south = np.column_stack([rng.uniform(30.0, 33.0, 300), rng.uniform(-124.0, -70.0, 300)])
    lat, lon = np.vstack([north, west, south]).T
    adj = delaunay_neighbors(lat, lon)
    edges = np.array(sorted(edge_set(adj)))
    a, b = edges[:, 0], edges[:, 1]
    across = ((lat[a] > 45) & (lat[b] < 34)) | ((lat[b] > 45) & (lat[a] < 34))
    assert not (across & (lon[a] > -110) & (lon[b] > -110)).any()
    assert haversine_km(lat[a], lon[a], lat[b], lon[b]).max() < 1000.0
    assert connected_components(adj)[0] == 1
    east_ends = np.where((lon > -90) & ((lat > 45) | (lat < 34)), "East", "West")
    assert count_pieces(adj, east_ends)["East"] == 2


def test_peeling_never_cuts_off_a_remote_cluster():
    """Hawaii-like cluster 3,900 km off a mainland: still joined (the metrics call it an island)."""
    rng = np.random.default_rng(12)
    lat = np.r_[rng.uniform(30.0, 45.0, 300), rng.uniform(19.0, 22.0, 20)]
    lon = np.r_[rng.uniform(-120.0, -80.0, 300), rng.uniform(-160.0, -155.0, 20)]
    assert connected_components(delaunay_neighbors(lat, lon))[0] == 1


def test_delaunay_interior_edges_match_any_local_projection():
    """Away from the outer boundary the graph does not depend on the projection centre."""
    rng = np.random.default_rng(8)
    lat = rng.uniform(30.0, 45.0, 300)
    lon = rng.uniform(-110.0, -80.0, 300)
    xyz = to_unit_vectors(lat, lon)
    centre = -xyz.mean(axis=0) / np.linalg.norm(xyz.mean(axis=0))
    planar = planar_edges(stereographic(xyz, centre))
    ours = edge_set(delaunay_neighbors(lat, lon))
    inner = (lat > 32) & (lat < 43) & (lon > -107) & (lon < -83)
    inner_planar = {e for e in planar if inner[e[0]] and inner[e[1]]}
    inner_ours = {e for e in ours if inner[e[0]] and inner[e[1]]}
    assert inner_planar == inner_ours


def test_delaunay_is_the_same_graph_when_points_straddle_the_antimeridian():
    rng = np.random.default_rng(3)
    lat = rng.uniform(-22.0, -12.0, 200)  # Fiji
    lon = rng.uniform(-5.0, 5.0, 200)
    shifted = ((lon + 180.0 + 180.0) % 360.0) - 180.0  # now around +-180
    assert (shifted > 170).any() and (shifted < -170).any()
    assert edge_set(delaunay_neighbors(lat, lon)) == edge_set(delaunay_neighbors(lat, shifted))


def test_delaunay_joins_neighbours_across_the_antimeridian():
    lat = [-17.0, -17.0, -16.0, -16.0]
    lon = [179.8, -179.8, 179.8, -179.8]
    adj = delaunay_neighbors(lat, lon)
    assert adj[0, 1] == 1 and adj[2, 3] == 1
    assert connected_components(adj)[0] == 1


def test_delaunay_around_the_north_pole_joins_the_pole_to_every_ring_point():
    ring_lon = np.arange(0.0, 360.0, 45.0)
    lat = np.r_[np.full(8, 89.0), 90.0, 90.0]
    lon = np.r_[ring_lon, 0.0, -77.0]  # the pole twice, with different longitudes
    adj = delaunay_neighbors(lat, lon)
    assert adj.location_adjacency.shape == (9, 9)
    assert adj[8, 9] == 1  # the same place
    pole_neighbours = set(adj[8].indices.tolist()) | set(adj[9].indices.tolist())
    assert set(range(8)) <= pole_neighbours


def test_delaunay_spanning_several_continents_is_connected_and_planar_sized():
    rng = np.random.default_rng(5)
    centres = [(40, -100), (50, 10), (-25, 135), (35, 105), (-15, -60), (-18, 178)]
    lat = np.concatenate([rng.normal(c[0], 4, 300) for c in centres]).clip(-89, 89)
    lon = np.concatenate([rng.normal(c[1], 6, 300) for c in centres])
    adj = delaunay_neighbors(lat, lon)
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert connected_components(adj)[0] == 1
    assert adj.nnz / 2 <= 3 * lat.size - 3  # at most 3n - 6 edges on a sphere


def test_duplicate_locations_are_joined_and_share_neighbours():
    lat = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    lon = [0.0, 0.0, 0.0, 1.0, 0.5, 2.0]
    adj = delaunay_neighbors(lat, lon)
    assert connected_components(adj[:3][:, :3])[0] == 1  # the three co-located accounts
    assert adj.location_adjacency.shape == (4, 4)
    assert adj.nnz / 2 <= 2 + 5  # chain of 2 edges plus the 4-location graph: no cliques


def test_co_located_accounts_of_one_territory_are_one_piece_whatever_the_chain_order():
    # one ZIP holds A, B, A, B accounts; its neighbour (to the east) holds A only
    lat = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    lon = [0.0, 0.0, 0.0, 0.0, 0.1, 0.2]
    labels = ["A", "B", "A", "B", "A", "A"]
    adj = delaunay_neighbors(lat, lon)
    assert count_pieces(adj, labels).to_dict() == {"A": 1, "B": 1}
    assert piece_labels(adj, labels).tolist() == [0] * 6


def test_all_points_identical_gives_one_piece():
    adj = delaunay_neighbors([45.0] * 5, [7.0] * 5)
    assert adj.location_adjacency.shape == (1, 1)
    assert connected_components(adj)[0] == 1


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        ([0.0, 0.0, 0.0, 0.0, 0.0], [4.0, 0.0, 3.0, 1.0, 2.0]),  # equator: great circle
        ([4.0, 0.0, 3.0, 1.0, 2.0], [-90.0] * 5),  # a meridian
        ([40.0] * 5, [-104.0, -100.0, -103.0, -101.0, -102.0]),  # a parallel: small circle
    ],
    ids=["equator", "meridian", "parallel"],
)
def test_points_on_one_circle_become_a_chain_in_order(lat, lon):
    adj = delaunay_neighbors(lat, lon)
    order = np.argsort(lat if len(set(lat)) > 1 else lon)
    expected = {tuple(sorted((int(a), int(b)))) for a, b in zip(order[:-1], order[1:], strict=True)}
    assert edge_set(adj) == expected


def test_points_all_round_the_equator_close_into_a_ring():
    lon = np.arange(-180.0, 180.0, 30.0)
    adj = delaunay_neighbors(np.zeros(lon.size), lon)
    assert adj.nnz / 2 == lon.size
    assert np.all(np.asarray(adj.sum(axis=1)).ravel() == 2)


def test_three_points_on_a_great_circle_are_a_chain_and_off_it_a_triangle():
    chain = delaunay_neighbors([0.0, 0.0, 0.0], [0.0, 20.0, 10.0])
    assert edge_set(chain) == {(0, 2), (1, 2)}
    triangle = delaunay_neighbors([0.0, 0.0, 10.0], [0.0, 20.0, 10.0])
    assert edge_set(triangle) == {(0, 1), (0, 2), (1, 2)}


def test_two_points_and_one_point():
    assert edge_set(delaunay_neighbors([0.0, 1.0], [0.0, 1.0])) == {(0, 1)}
    assert delaunay_neighbors([0.0], [0.0]).nnz == 0
    assert delaunay_neighbors([], []).shape == (0, 0)


def test_missing_coordinates_get_no_edges_and_count_as_their_own_piece():
    adj = delaunay_neighbors([0.0, 0.0, np.nan, 1.0], [0.0, 1.0, 5.0, 0.5])
    assert adj[2].nnz == 0
    assert count_pieces(adj, ["A", "A", "A", "A"]).to_dict() == {"A": 2}


# --- pieces -----------------------------------------------------------------------------------


def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A slightly jittered n x n grid near the equator (jitter avoids cocircular ties)."""
    rng = np.random.default_rng(0)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    lat = ii.ravel() * 0.1 + rng.uniform(-0.01, 0.01, n * n)
    lon = jj.ravel() * 0.1 + rng.uniform(-0.01, 0.01, n * n)
    return lat, lon


def test_left_right_halves_of_a_grid_are_one_piece_each():
    lat, lon = grid(8)
    labels = np.where(lon < 0.35, "W", "E")
    assert count_pieces(delaunay_neighbors(lat, lon), labels).to_dict() == {"E": 1, "W": 1}


def test_checkerboard_split_of_a_triangular_lattice_counts_almost_every_account_as_a_piece():
    """The 3-colouring of a triangular lattice gives no two neighbours the same colour, so each
    account is its own piece (apart from a few thin boundary triangles of the projection)."""
    a, b = np.meshgrid(np.arange(10), np.arange(10), indexing="ij")
    a, b = a.ravel(), b.ravel()
    lat = 40.0 + b * np.sqrt(3) / 2 * 0.1
    lon = -100.0 + (a + 0.5 * b) * 0.1 / np.cos(np.radians(40.0))
    pieces = count_pieces(delaunay_neighbors(lat, lon), (a - b) % 3)
    assert pieces.sum() >= 90  # of 100 accounts
    assert (pieces >= 28).all()


def test_two_separate_clusters_are_one_piece_each():
    rng = np.random.default_rng(2)
    lat = np.r_[rng.normal(40, 0.5, 50), rng.normal(34, 0.5, 50)]
    lon = np.r_[rng.normal(-74, 0.5, 50), rng.normal(-118, 0.5, 50)]
    labels = ["NY"] * 50 + ["LA"] * 50
    assert count_pieces(delaunay_neighbors(lat, lon), labels).to_dict() == {"LA": 1, "NY": 1}


def test_count_pieces_on_a_plain_csr_matrix_uses_its_same_label_edges():
    path = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]))
    pieces = count_pieces(path, pd.Series(["A", "B", "A", None]))
    assert pieces.to_dict() == {"A": 2, "B": 1}


def test_piece_labels_rank_pieces_by_count_or_by_weight():
    # along the equator: A A B A  -> A has a 2-account piece and a 1-account piece
    adj = delaunay_neighbors([0.0] * 4, [0.0, 1.0, 2.0, 3.0])
    labels = ["A", "A", "B", "A"]
    assert piece_labels(adj, labels).tolist() == [0, 0, 0, 1]
    weighted = piece_labels(adj, labels, weights=[1.0, 1.0, 1.0, 10.0])
    assert weighted.tolist() == [1, 1, 0, 0]


def test_piece_labels_number_strays_1_2_3_by_size():
    # A B A B A A along a line: pieces of A are {0}, {2}, {4,5}
    adj = delaunay_neighbors([0.0] * 6, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    assert piece_labels(adj, list("ABABAA")).tolist() == [1, 0, 2, 1, 0, 0]


def test_labels_of_wrong_length_are_rejected():
    adj = delaunay_neighbors([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="3 values"):
        count_pieces(adj, ["A", "B", "C"])


def dense_reference_pieces(lat, lon, labels) -> dict:
    """Pieces on the textbook graph: co-located accounts form a clique and every account is joined
    to every account of each Delaunay-neighbouring location (the dense version we avoid building)."""
    adj = delaunay_neighbors(lat, lon)
    loc = adj.location_of
    loc_adj = adj.location_adjacency.toarray().astype(bool)
    same_or_next = (loc[:, None] == loc[None, :]) | loc_adj[loc][:, loc]
    labels = np.asarray(labels, dtype=object)
    same_label = labels[:, None] == labels[None, :]
    graph = sp.csr_matrix(same_or_next & same_label)
    _, component = connected_components(graph, directed=False)
    return {lab: len(set(component[labels == lab])) for lab in sorted(set(labels))}


@pytest.mark.parametrize("seed", range(12))
def test_sparse_pieces_equal_the_dense_clique_reference_with_many_shared_locations(seed):
    rng = np.random.default_rng(seed)
    n_loc = int(rng.integers(1, 15))
    loc_lat = rng.uniform(30, 45, n_loc)
    loc_lon = rng.uniform(-110, -80, n_loc)
    where = rng.integers(0, n_loc, 60)
    labels = rng.choice(["A", "B", "C"], 60)
    expected = dense_reference_pieces(loc_lat[where], loc_lon[where], labels)
    assert count_pieces(delaunay_neighbors(loc_lat[where], loc_lon[where]), labels).to_dict() == expected


def test_plain_csr_copy_gives_the_same_pieces_when_no_location_is_shared():
    rng = np.random.default_rng(9)
    lat, lon = rng.uniform(30, 45, 200), rng.uniform(-110, -80, 200)
    labels = np.where(lat + 0.3 * rng.normal(size=200) > 37, "N", "S")
    graph = delaunay_neighbors(lat, lon)
    plain = sp.csr_matrix(graph, copy=True)
    assert getattr(plain, "location_of", None) is None
    assert count_pieces(plain, labels).to_dict() == count_pieces(graph, labels).to_dict()


def test_integer_labels_treat_minus_one_as_unassigned():
    adj = delaunay_neighbors([0.0] * 4, [0.0, 1.0, 2.0, 3.0])
    labels = np.array([0, -1, 0, 1])
    assert count_pieces(adj, labels).to_dict() == {0: 2, 1: 1}
    assert piece_labels(adj, labels).tolist() == [0, -1, 1, 0]


@pytest.mark.parametrize("seed", range(4))
def test_delaunay_graph_does_not_depend_on_where_on_earth_the_points_are(seed):
    """Rotating the whole data set (to the poles, across the antimeridian, anywhere) keeps the graph."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(seed)
    lat = rng.uniform(-20.0, 20.0, 150)
    lon = rng.uniform(-30.0, 30.0, 150)
    xyz = to_unit_vectors(lat, lon)
    rotated = Rotation.random(random_state=seed).apply(xyz)
    rlat, rlon = to_lat_lon(rotated)
    assert edge_set(delaunay_neighbors(lat, lon)) == edge_set(delaunay_neighbors(rlat, rlon))


def test_points_all_over_the_globe_keep_the_spherical_delaunay_edges_but_those_across_the_largest_gap():
    """Spread over the whole sphere, the graph is the full spherical triangulation (the convex
    hull of the unit vectors, 3n - 6 edges) minus the few edges spanning the largest empty cap."""
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(11)
    xyz = rng.normal(size=(500, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    lat, lon = to_lat_lon(xyz)
    adj = delaunay_neighbors(lat, lon)
    s = ConvexHull(to_unit_vectors(lat, lon)).simplices
    full = set(
        map(
            tuple,
            np.unique(np.sort(np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1), axis=0).tolist(),
        )
    )
    ours = edge_set(adj)
    assert len(full) == 3 * 500 - 6
    assert ours <= full
    assert len(full - ours) <= 10
    assert connected_components(adj)[0] == 1


def test_a_tight_cluster_inside_a_continent_wide_set_is_not_shattered_by_rounding():
    """300 accounts geocoded within 10 m of each other (one office park) among 2,000 across the
    US: double precision cannot triangulate them, the close-pairs guard keeps them joined, so
    splitting the park into a west and an east half gives exactly one piece each."""
    rng = np.random.default_rng(0)
    size = 1e-4  # degrees, about 10 m
    lat = np.r_[rng.uniform(25, 49, 2000), 40 + rng.uniform(0, size, 300)]
    lon = np.r_[rng.uniform(-124, -67, 2000), -100 + rng.uniform(0, size, 300)]
    labels = np.r_[np.where(lon[:2000] < -100, "W", "E"), np.where(lon[2000:] < -100 + size / 2, "W", "E")]
    assert count_pieces(delaunay_neighbors(lat, lon), labels).to_dict() == {"E": 1, "W": 1}



def test_background_triangulation_matches_synchronous_call_exactly():
    rng = np.random.default_rng(4)
    lat, lon = 40.0 + rng.random(1_500), -90.0 + rng.random(1_500)
    lat[:40], lon[:40] = lat[40:80], lon[40:80]  # some shared locations
    expected = delaunay_neighbors(lat, lon)
    future = geo.delaunay_neighbors_background(lat, lon)
    lat[:] = 0.0  # the coordinates were copied: the caller may reuse its arrays at once
    graph = future.result()
    assert isinstance(graph, geo.NeighborGraph)
    assert (graph != expected).nnz == 0
    assert np.array_equal(graph.location_of, expected.location_of)
    assert (graph.location_adjacency != expected.location_adjacency).nnz == 0


def test_engine_and_metrics_share_one_triangulation_per_coordinate_set():
    import pandas as pd

    from territory.engine.params import BalanceParams
    from territory.engine.prepare import prepare
    from territory.planning import metrics

    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(30, 40, 300), rng.uniform(-100, -90, 300)
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(300)], "latitude": lat, "longitude": lon,
                             "workload_hours": 1.0})
    engine_graph = prepare(accounts, BalanceParams(n_territories=3), None).problem.adjacency.result()
    assert metrics._neighbour_graph(lat.copy(), lon.copy()) is engine_graph  # same values, same graph
    moved = lat.copy()
    moved[0] += 1.0
    assert metrics._neighbour_graph(moved, lon) is not engine_graph  # new coordinates, new graph


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_island_pieces_match_the_groups_cut_at_the_gap(seed):
    """island_pieces looks only at the edges leaving stray pieces; it must agree with the
    definition: cut every edge longer than the gap, and a stray piece is an island when every
    group it touches holds no other territory's accounts."""
    rng = np.random.default_rng(seed)
    lat = np.r_[rng.uniform(30, 45, 300), rng.uniform(19, 22, 30), rng.uniform(58, 64, 30)]
    lon = np.r_[rng.uniform(-120, -80, 300), rng.uniform(-160, -155, 30), rng.uniform(-155, -145, 30)]
    adj = delaunay_neighbors(lat, lon)
    codes = np.digitize(lon, [-107.0, -93.0])  # three mainland bands, west to east
    flipped = rng.choice(300, 15, replace=False)
    codes[flipped] = (codes[flipped] + 1) % 3  # stray accounts inside a neighbour's band
    # the graph links Hawaii and Alaska to western accounts only (thin links across the ocean)
    codes[300:330] = 2  # Hawaii: the eastern territory's island
    codes[330:] = 1  # Alaska: the middle one's
    if seed == 2:
        codes[300] = 0  # a western account on Hawaii: shared, so the east's piece there is no island
    rank = piece_labels(adj, codes)
    got = geo.island_pieces(adj, to_unit_vectors(lat, lon), codes, rank)
    coo = sp.coo_matrix(adj)
    short = haversine_km(lat[coo.row], lon[coo.row], lat[coo.col], lon[coo.col]) <= geo.ISLAND_GAP_KM
    _, group = connected_components(sp.csr_matrix((np.ones(short.sum()), (coo.row[short], coo.col[short])),
                                                  shape=adj.shape), directed=False)
    own = {g: len(set(codes[group == g])) == 1 for g in np.unique(group)}
    key = codes * (rank.max() + 1) + rank
    expected = np.zeros(lat.size, dtype=bool)
    for piece in np.unique(key[rank > 0]):
        members = key == piece
        expected[members] = all(own[g] for g in np.unique(group[members]))
    assert np.array_equal(got, expected)
    assert got[330:].all()  # Alaska is the middle territory's own island
    assert got[301:330].all() == (seed != 2)  # Hawaii is the western one's, unless shared
    assert not got[flipped].all()  # strays inside a neighbour's band are fragments
