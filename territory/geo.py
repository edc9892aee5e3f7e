"""Geometry on the sphere: great-circle distances, centroids and the account neighbour graph.

Everything here works anywhere on Earth (across the antimeridian, near the poles, across
continents) because it never treats longitude and latitude as planar coordinates: points become
unit vectors in 3-D, distances are great-circle (haversine) and the neighbour graph is the
*spherical* Delaunay triangulation.

The neighbour graph is what "contiguous" means in Territory Studio: a territory is in one piece
when its accounts are connected by Delaunay edges between accounts of that same territory.

How ``delaunay_neighbors`` builds the graph, and why:

1. Deduplicate locations. Many accounts share a ZIP centroid (a million accounts sit on ~40,000
   US ZIPs), so the triangulation runs on the unique locations only. Coordinates are compared
   after rounding to 1e-9 degrees (0.1 mm), with the longitude wrapped to [-180, 180) and set to 0
   at the poles, so (90, 10) and (90, -50) are one location.
2. Triangulate the unique points on the sphere: the convex hull of their unit vectors is exactly
   their spherical Delaunay triangulation. When the points cover only part of the globe the hull
   also "closes the hole" with facets spanning it (the US would get edges straight across the
   rest of the world). We drop them the same way every time: take the centre ``P`` of the largest
   empty spherical cap (the outward normal of the facet with the largest empty cap) and drop every
   facet visible from ``P``. In exact arithmetic what remains is the planar Delaunay triangulation
   of the stereographic projection from ``P`` (circles map to circles), so a continent gets its
   familiar planar Delaunay graph, while a worldwide data set loses only the few edges spanning
   its largest empty cap (an ocean, typically).
   The planar graph's outer boundary is its convex hull, though, whose edges cross whatever empty
   space lies outside the accounts (Maine to Washington State across Canada, Miami to Texas across
   the Gulf); a territory would count as one piece across them and repairs would move accounts
   along them. Long outer triangles are therefore peeled off, longest edge first, like a
   chi-shape, without ever splitting the graph (see ``_erode_outer_facets``).
   Double precision cannot resolve points a few metres apart inside a continent-wide set, so
   locations closer than ``CLOSE_KM`` (20 m) are also joined to their nearest such neighbours.
3. Degenerate inputs: one location has no edges; two are joined; three are a triangle unless they
   lie on one great circle (then a chain); four or more on one circle (all on the equator, one
   meridian or one parallel), where Qhull cannot build a hull, become a chain in order along that
   circle (closed into a ring when they go all the way round).
4. Expand to accounts *sparsely*: the accounts at one location are joined in a chain (not a
   clique: 500 accounts on one ZIP would otherwise make 124,750 edges), and each Delaunay edge
   between two locations joins the first account of each. That keeps the graph connected exactly
   like the location graph. The returned matrix also carries the location structure
   (``location_of`` and ``location_adjacency``, see :class:`NeighborGraph`), which
   :func:`count_pieces` and :func:`piece_labels` use so that co-located accounts of one territory
   always count as one piece and inherit all their location's neighbours, whatever their order in
   the chain.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError, cKDTree

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km: the radius every great-circle distance here uses."""

CLOSE_KM = 0.02
"""Locations closer than this (20 m) are always neighbours (see ``_close_pairs``)."""
RISKY_KM = 0.2
"""Only locations with a Delaunay edge shorter than this (200 m) are checked for close pairs."""
OUTER_EDGE_KM = 25.0
"""Outer edges shorter than this are never peeled off (see ``_erode_outer_facets``). At 200 km a
metro's or a small region's hull joined its two far ends, so territories on opposite sides of it
were neighbours."""
OUTER_EDGE_FACTOR = 3.0
"""An outer edge is peeled off when longer than this many times the local spacing at both ends."""
SPACING_NEIGHBOURS = 6
"""Local spacing: distance from a location to its 6th nearest other location."""

_ROUND_DECIMALS = 9  # 1e-9 degrees ~ 0.1 mm: identical ZIP centroids dedupe, real places do not

__all__ = [
    "EARTH_RADIUS_KM",
    "ISLAND_GAP_KM",
    "NeighborGraph",
    "count_pieces",
    "delaunay_neighbors",
    "delaunay_neighbors_background",
    "haversine_km",
    "island_groups",
    "island_pieces",
    "piece_labels",
    "piece_summary",
    "to_lat_lon",
    "to_unit_vectors",
    "unique_locations",
    "weighted_center",
    "weighted_centers",
]


# --- distances and vectors ------------------------------------------------------------------


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km between points given in degrees; numpy broadcasting applies.

    The haversine form is accurate for tiny and large distances alike (no arccos cancellation).

    >>> round(float(haversine_km(0.0, 0.0, 0.0, 1.0)), 3)  # one degree of the equator
    111.195
    >>> round(float(haversine_km(-17.8, 179.5, -17.8, -179.5)), 1)  # across the antimeridian
    105.9
    >>> haversine_km([0.0, 90.0], 0.0, 0.0, 0.0).round(1).tolist()
    [0.0, 10007.6]
    """
    lat1 = np.radians(np.asarray(lat1, dtype=float))
    lat2 = np.radians(np.asarray(lat2, dtype=float))
    dlat = lat2 - lat1
    dlon = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def to_unit_vectors(lat: Any, lon: Any) -> np.ndarray:
    """(n, 3) unit vectors (x towards 0N 0E, z towards the North Pole) for degrees lat/lon.

    Averaging, nearest-neighbour search and triangulation on these vectors have no seam at the
    antimeridian and no singularity at the poles.

    >>> to_unit_vectors([0.0, 90.0], [90.0, 0.0]).round(12).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    phi = np.radians(np.asarray(lat, dtype=float).ravel())
    lam = np.radians(np.asarray(lon, dtype=float).ravel())
    cos_phi = np.cos(phi)
    return np.column_stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


def to_lat_lon(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Degrees (lat, lon) of 3-D vectors (any length > 0; they are normalised). Inverse of
    :func:`to_unit_vectors`; the longitude is in [-180, 180]."""
    v = np.atleast_2d(np.asarray(vectors, dtype=float))
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    lon = np.degrees(np.arctan2(y, x))
    return lat, lon


def weighted_center(lat: Any, lon: Any, weights: Any = None) -> tuple[float, float]:
    """Spherical weighted centre (lat, lon) in degrees: the normalised weighted mean unit vector.

    Unlike the mean of latitudes and longitudes this is right across the antimeridian (Fiji's
    accounts at 179.9E and 179.9W are centred near 180, not at 0). Rows with missing coordinates
    or weights are ignored; (nan, nan) when nothing is left. If the vectors cancel out (points
    spread evenly round the globe), the location with the largest weight is returned.

    >>> lat, lon = weighted_center([10.0, 10.0], [179.0, -179.0])
    >>> round(lat, 3), round(abs(lon), 3)
    (10.001, 180.0)
    >>> weighted_center([0.0, 0.0], [0.0, 10.0], weights=[3.0, 1.0])[1] < 5.0
    True
    """
    lat = np.asarray(lat, dtype=float).ravel()
    lon = np.asarray(lon, dtype=float).ravel()
    w = np.ones_like(lat) if weights is None else np.asarray(weights, dtype=float).ravel()
    ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(w) & (w >= 0)
    if not ok.any() or w[ok].sum() <= 0:
        return float("nan"), float("nan")
    xyz = to_unit_vectors(lat[ok], lon[ok])
    total = w[ok] @ xyz
    if np.linalg.norm(total) < 1e-12 * w[ok].sum():
        k = int(np.argmax(w[ok]))
        return float(lat[ok][k]), float(lon[ok][k])
    clat, clon = to_lat_lon(total)
    return float(clat[0]), float(clon[0])


def weighted_centers(lat: Any, lon: Any, labels: Any, weights: Any = None) -> pd.DataFrame:
    """Spherical weighted centre of each label's points, vectorised (one pass, no loop per label).

    Returns a frame indexed by label (sorted) with columns ``latitude`` and ``longitude``; missing
    labels (NaN/None, or negative integers), coordinates or weights are ignored. A label whose
    vectors cancel exactly gets NaN.
    """
    lat = np.asarray(lat, dtype=float).ravel()
    lon = np.asarray(lon, dtype=float).ravel()
    w = np.ones_like(lat) if weights is None else np.asarray(weights, dtype=float).ravel()
    codes, uniques = _label_codes(labels, lat.size)
    ok = (codes >= 0) & np.isfinite(lat) & np.isfinite(lon) & np.isfinite(w)
    xyz = to_unit_vectors(lat[ok], lon[ok]) * w[ok, None]
    k = len(uniques)
    sums = np.column_stack([np.bincount(codes[ok], weights=xyz[:, d], minlength=k) for d in range(3)])
    norms = np.linalg.norm(sums, axis=1)
    sums[norms < 1e-12] = np.nan
    clat, clon = to_lat_lon(sums) if k else (np.empty(0), np.empty(0))
    return pd.DataFrame({"latitude": clat, "longitude": clon}, index=pd.Index(uniques, name="label"))


# --- neighbour graph --------------------------------------------------------------------------


class NeighborGraph(sp.csr_matrix):
    """A symmetric CSR adjacency of accounts that also remembers which accounts share a location.

    It *is* a ``scipy.sparse.csr_matrix`` (n x n, 0/1 entries), so any sparse code works on it.
    Extra attributes (lost by sparse arithmetic, which returns a plain csr_matrix):

    * ``location_of``: int array (n,), the unique-location index of each account (-1 when the
      account has no valid coordinates);
    * ``location_adjacency``: symmetric CSR adjacency of the unique locations (Delaunay edges).
    """

    location_of: np.ndarray | None = None
    location_adjacency: sp.csr_matrix | None = None


def unique_locations(lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deduplicate coordinates: (inverse, unique_lat, unique_lon).

    ``inverse[i]`` is the location of account i (-1 when its coordinates are missing or out of
    range). Coordinates match after rounding to 1e-9 degrees, longitude wrapped to [-180, 180)
    and set to 0 at the poles.
    """
    lat = np.asarray(lat, dtype=float).ravel()
    lon = np.asarray(lon, dtype=float).ravel()
    if lat.shape != lon.shape:
        raise ValueError(f"latitude has {lat.size} values but longitude has {lon.size}")
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0)
    rlat = np.round(lat[ok], _ROUND_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    rlon = np.round(((lon[ok] + 180.0) % 360.0) - 180.0, _ROUND_DECIMALS) + 0.0
    rlon[rlon >= 180.0] -= 360.0
    rlon[np.abs(rlat) == 90.0] = 0.0
    inverse = np.full(lat.size, -1, dtype=np.int64)
    if not ok.any():
        return inverse, np.empty(0), np.empty(0)
    order = np.lexsort((rlon, rlat))
    new_location = np.r_[True, (np.diff(rlat[order]) != 0) | (np.diff(rlon[order]) != 0)]
    codes = np.empty(order.size, dtype=np.int64)
    codes[order] = np.cumsum(new_location) - 1
    inverse[ok] = codes
    starts = order[new_location]
    return inverse, rlat[starts], rlon[starts]


def _edges_to_csr(i: np.ndarray, j: np.ndarray, n: int, cls: type = sp.csr_matrix) -> sp.csr_matrix:
    """Symmetric 0/1 CSR from an undirected edge list (duplicates and self-loops dropped)."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    keep = i != j
    rows = np.concatenate([i[keep], j[keep]])
    cols = np.concatenate([j[keep], i[keep]])
    matrix = sp.coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    matrix.data[:] = 1
    if cls is not sp.csr_matrix:
        matrix = cls((matrix.data, matrix.indices, matrix.indptr), shape=(n, n))
    return matrix


def _circle_chain(xyz: np.ndarray) -> np.ndarray:
    """Edges of a chain along the circle the (coplanar) points lie on, in order round the circle.

    Used when every location lies on one great or small circle (equator, a meridian, a parallel)
    where no triangulation exists. The chain is closed into a ring when no gap exceeds 180 degrees
    of the circle (the points go all the way round).
    """
    centre = xyz.mean(axis=0)
    _, _, vt = np.linalg.svd(xyz - centre, full_matrices=True)
    normal = vt[2]
    circle_centre = (normal @ centre) * normal
    e1, e2 = vt[0], vt[1]
    rel = xyz - circle_centre
    angle = np.arctan2(rel @ e2, rel @ e1)
    order = np.argsort(angle, kind="stable")
    sorted_angle = angle[order]
    gaps = np.diff(np.concatenate([sorted_angle, sorted_angle[:1] + 2 * np.pi]))
    start = (int(np.argmax(gaps)) + 1) % order.size  # open the ring at its largest gap
    chain = np.roll(order, -start)
    edges = np.column_stack([chain[:-1], chain[1:]])
    if gaps.max() < np.pi and order.size > 2:
        edges = np.vstack([edges, [[chain[-1], chain[0]]]])
    return edges


def _spherical_delaunay_edges(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Undirected edges (m, 2) of the spherical Delaunay graph of distinct unit vectors, and the
    pole ``P`` used to drop the facets spanning the empty part of the globe (None if no hull)."""
    n = xyz.shape[0]
    if n < 2:
        return np.empty((0, 2), dtype=np.int64), None
    if n == 2:
        return np.array([[0, 1]], dtype=np.int64), None
    if n == 3:
        if abs(np.linalg.det(xyz)) < 1e-12:  # on one great circle: a chain, not a triangle
            return _circle_chain(xyz), None
        return np.array([[0, 1], [1, 2], [0, 2]], dtype=np.int64), None
    try:
        hull = ConvexHull(xyz, qhull_options="Qc")
    except QhullError:  # all on one circle (flat hull)
        return _circle_chain(xyz), None
    normals = hull.equations[:, :3]
    offsets = hull.equations[:, 3]
    pole = normals[int(np.argmax(offsets))]  # centre of the largest empty cap
    visible = normals @ pole + offsets > 1e-12
    simplices = hull.simplices[_erode_outer_facets(xyz, hull.simplices, hull.neighbors, ~visible)]
    edges = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    if hull.coplanar.size:  # points Qhull found (numerically) on a facet: join to nearest vertex
        edges = np.vstack([edges, hull.coplanar[:, [0, 2]]])
    degree = np.bincount(edges.ravel(), minlength=n)
    lonely = np.flatnonzero(degree == 0)
    if lonely.size:  # numerical leftovers: join each to its nearest other location
        _, nearest = cKDTree(xyz).query(xyz[lonely], k=2)
        edges = np.vstack([edges, np.column_stack([lonely, nearest[:, 1]])])
    edges = np.vstack([edges, _close_pairs(xyz, edges)])
    return _unique_edges(edges, n), pole


def _erode_outer_facets(xyz: np.ndarray, simplices: np.ndarray, neighbors: np.ndarray,
                        kept: np.ndarray) -> np.ndarray:
    """Facets kept after peeling long outer triangles off the triangulation (a chi-shape).

    Dropping the facets visible from the pole leaves the planar Delaunay graph, whose outer
    boundary is the convex hull: across the ocean, the Gulf or Canada it joins accounts thousands
    of km apart (Maine to Washington State), and the balance and contiguity repairs would follow
    those edges. Like the chi-shape of Duckham et al. (2008), the longest outer edge is removed
    with its triangle while it is longer than ``OUTER_EDGE_KM`` and ``OUTER_EDGE_FACTOR`` times the
    local spacing at both ends (the distance to the ``SPACING_NEIGHBOURS``-th nearest location), and
    only when the triangle's third corner is not already on the boundary: the graph then never
    splits and the outline stays one simple polygon; only triangles spanning empty space go.
    """
    kept = kept.copy()
    n = xyz.shape[0]
    side_t, side_s = np.nonzero(kept[:, None] & ~kept[neighbors])
    first = simplices[side_t, (side_s + 1) % 3]
    second = simplices[side_t, (side_s + 2) % 3]
    chord = np.linalg.norm(xyz[first] - xyz[second], axis=1)
    floor = OUTER_EDGE_KM / EARTH_RADIUS_KM
    if not (chord > floor).any():
        return kept
    on_boundary = np.bincount(np.concatenate([first, second]), minlength=n)
    tree = cKDTree(xyz, balanced_tree=False, compact_nodes=False)
    k = min(SPACING_NEIGHBOURS + 1, n)
    spacing: dict[int, float] = {}

    def local_spacing(v: int) -> float:
        if v not in spacing:
            spacing[v] = float(tree.query(xyz[v], k=k)[0][-1])
        return spacing[v]

    heap: list[tuple[float, int, int]] = []

    def consider(t: int, s: int) -> None:
        a, b = simplices[t, (s + 1) % 3], simplices[t, (s + 2) % 3]
        length = float(np.linalg.norm(xyz[a] - xyz[b]))
        if length > floor and length > OUTER_EDGE_FACTOR * max(local_spacing(a), local_spacing(b)):
            heapq.heappush(heap, (-length, t, s))

    for t, s in zip(side_t[chord > floor].tolist(), side_s[chord > floor].tolist(), strict=True):
        consider(t, s)
    while heap:
        _, t, s = heapq.heappop(heap)
        if not kept[t] or kept[neighbors[t, s]] or on_boundary[simplices[t, s]]:
            continue  # already peeled, or the third corner is on the boundary (would pinch)
        kept[t] = False
        on_boundary[simplices[t, (s + 1) % 3]] -= 1
        on_boundary[simplices[t, (s + 2) % 3]] -= 1
        for other in ((s + 1) % 3, (s + 2) % 3):
            beyond = neighbors[t, other]
            if kept[beyond]:
                on_boundary[simplices[t, (other + 1) % 3]] += 1
                on_boundary[simplices[t, (other + 2) % 3]] += 1
                consider(int(beyond), int(np.flatnonzero(neighbors[beyond] == t)[0]))
    return kept


def _close_pairs(xyz: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Precision guard: join locations closer than ``CLOSE_KM`` to their 6 nearest such neighbours.

    Double precision cannot triangulate points a few metres apart inside a continent-wide set
    (Qhull then merges or drops facets and edges go missing). Places that close are one site for
    territory purposes, so joining them can only remove spurious pieces, never create any. Only
    points with a Delaunay edge shorter than ``RISKY_KM`` are searched, so the guard costs
    nothing on ordinary data.
    """
    delta = xyz[edges[:, 0]] - xyz[edges[:, 1]]
    short = np.einsum("ij,ij->i", delta, delta) < (RISKY_KM / EARTH_RADIUS_KM) ** 2
    if not short.any():
        return np.empty((0, 2), dtype=np.int64)
    risky = np.flatnonzero(np.bincount(edges[short].ravel(), minlength=xyz.shape[0]))
    if risky.size < 2:
        return np.empty((0, 2), dtype=np.int64)
    k = min(7, risky.size)
    dist, nearest = cKDTree(xyz[risky]).query(xyz[risky], k=k, distance_upper_bound=CLOSE_KM / EARTH_RADIUS_KM)
    found = np.isfinite(dist[:, 1:])
    rows = np.repeat(risky, k - 1).reshape(-1, k - 1)[found]
    return np.column_stack([rows, risky[nearest[:, 1:][found]]]).astype(np.int64)


def _unique_edges(edges: np.ndarray, n: int) -> np.ndarray:
    """Distinct undirected edges as (min, max) rows, sorted; one int64 sort instead of a row sort."""
    lo = np.minimum(edges[:, 0], edges[:, 1]).astype(np.int64)
    hi = np.maximum(edges[:, 0], edges[:, 1]).astype(np.int64)
    keys = np.sort(lo * n + hi)
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
    return np.column_stack([keys // n, keys % n])


def delaunay_neighbors(lat: Any, lon: Any) -> NeighborGraph:
    """Symmetric adjacency (n x n CSR) of the spherical Delaunay graph of the accounts.

    Accounts at identical coordinates are joined to each other (as a chain) and share their
    location's neighbours; see the module docstring for the construction and the degenerate
    cases. Accounts without valid coordinates get no edges. The result is a
    :class:`NeighborGraph`, a ``csr_matrix`` that also records the location structure so that
    :func:`count_pieces` is exact for co-located accounts.

    >>> adj = delaunay_neighbors([0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.5])
    >>> adj.shape, bool((adj != adj.T).nnz == 0), int(adj[0, 1])
    ((4, 4), True, 1)
    """
    inverse, ulat, ulon = unique_locations(lat, lon)
    n = inverse.size
    n_loc = ulat.size
    loc_edges, _ = _spherical_delaunay_edges(to_unit_vectors(ulat, ulon))
    location_adjacency = _edges_to_csr(loc_edges[:, 0], loc_edges[:, 1], n_loc)

    located = np.flatnonzero(inverse >= 0)
    order = located[np.argsort(inverse[located], kind="stable")]
    same = inverse[order[1:]] == inverse[order[:-1]]
    chain_i, chain_j = order[:-1][same], order[1:][same]
    first = np.full(n_loc, -1, dtype=np.int64)
    starts = order[np.r_[0, np.flatnonzero(~same) + 1]] if order.size else order
    first[inverse[starts]] = starts  # the first account (lowest position) of each location
    graph = _edges_to_csr(
        np.concatenate([chain_i, first[loc_edges[:, 0]]]),
        np.concatenate([chain_j, first[loc_edges[:, 1]]]),
        n,
        cls=NeighborGraph,
    )
    graph.location_of = inverse
    graph.location_adjacency = location_adjacency
    return graph


_BACKGROUND: ThreadPoolExecutor | None = None
_BACKGROUND_LOCK = threading.Lock()


def delaunay_neighbors_background(lat: Any, lon: Any) -> Future:
    """:func:`delaunay_neighbors` started on a background thread; ``.result()`` gives the graph.

    Qhull and most of the numpy work release the GIL, so on a machine with two or more cores the
    triangulation runs while the caller does other work (the balancing engine needs the graph
    only for its final repair). The coordinates are copied first, so the caller may reuse its
    arrays. The result is identical to the synchronous call (same function, same inputs);
    exceptions are raised by ``.result()``.
    """
    global _BACKGROUND
    lat = np.array(lat, dtype=float, copy=True)
    lon = np.array(lon, dtype=float, copy=True)
    with _BACKGROUND_LOCK:
        if _BACKGROUND is None:
            _BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="territory-delaunay")
        return _BACKGROUND.submit(delaunay_neighbors, lat, lon)


_SHARED: OrderedDict[bytes, Future] = OrderedDict()
_SHARED_SIZE = 3
"""Graphs kept: the accounts', the unlocked accounts' (metrics and also_balance with locks), one more."""
_SHARED_LOCK = threading.Lock()


def shared_delaunay_neighbors(lat: Any, lon: Any) -> Future:
    """:func:`delaunay_neighbors_background`, memoised on the exact coordinates for every caller.

    The engine, the metrics and the app triangulate the same accounts again and again (before and
    after, every slider move); keyed by a hash of the coordinate bytes, so a changed data set never
    gets a stale graph, and a triangulation that failed is not kept. A few recent graphs are kept,
    so memory stays bounded at any N.
    """
    lat = np.ascontiguousarray(lat, dtype=float)
    lon = np.ascontiguousarray(lon, dtype=float)
    key = hashlib.blake2b(lat.tobytes() + b"|" + lon.tobytes(), digest_size=20).digest()
    with _SHARED_LOCK:
        future = _SHARED.pop(key, None)
        if future is None or (future.done() and future.exception() is not None):
            future = delaunay_neighbors_background(lat, lon)
        _SHARED[key] = future  # most recent last
        while len(_SHARED) > _SHARED_SIZE:
            _SHARED.popitem(last=False)
    return future


# --- pieces (contiguity) ----------------------------------------------------------------------


def _label_codes(labels: Any, n: int) -> tuple[np.ndarray, pd.Index]:
    """Sorted factorisation of the labels (-1 for missing) without converting strings to objects."""
    if isinstance(labels, (pd.Series, pd.Index, pd.Categorical)):
        values = labels
    else:
        values = np.asarray(labels)
        if values.dtype.kind not in "biuf":
            values = pd.Series(values.astype(object), dtype=object)
    if len(values) != n:
        raise ValueError(f"labels has {len(values)} values but the adjacency has {n} accounts")
    if isinstance(values, np.ndarray) and values.dtype.kind == "i":
        assigned = values >= 0  # -1 means unassigned (scikit-learn's habit for labels_)
        codes = np.full(n, -1, dtype=np.int64)
        assigned_codes, uniques = pd.factorize(values[assigned], sort=True)
        codes[assigned] = assigned_codes
        return codes, pd.Index(uniques)
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _upper_edges(location_adjacency: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the location edges with row < col, memoised on the matrix (the repair and
    the metrics count pieces on one graph many times)."""
    cached = getattr(location_adjacency, "_territory_upper", None)
    if cached is None:
        coo = sp.triu(location_adjacency, k=1).tocoo()
        cached = (coo.row.astype(np.int64), coo.col.astype(np.int64))
        try:
            location_adjacency._territory_upper = cached
        except AttributeError:  # a matrix type without instance attributes: recompute next time
            pass
    return cached


def _piece_of_accounts(adjacency: sp.spmatrix, codes: np.ndarray) -> np.ndarray:
    """Component id per account on the graph restricted to same-label edges (-1: unlabelled).

    Uses the location structure when the adjacency carries it (exact for co-located accounts),
    otherwise the same-label edges of the matrix itself. One ``connected_components`` call.
    """
    n = codes.size
    location_of = getattr(adjacency, "location_of", None)
    location_adjacency = getattr(adjacency, "location_adjacency", None)
    labelled = codes >= 0
    if location_of is not None and location_adjacency is not None and len(location_of) == n:
        # nodes = distinct (location, label) pairs; edge when two adjacent locations share a label
        k = int(codes.max()) + 1 if labelled.any() else 1
        use = labelled & (location_of >= 0)
        keys = location_of[use] * k + codes[use]
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        new_node = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if keys.size else np.empty(0, bool)
        node_keys = sorted_keys[new_node]
        node_of_used = np.empty(keys.size, dtype=np.int64)
        node_of_used[order] = np.cumsum(new_node) - 1
        node_loc = node_keys // k
        node_code = node_keys % k
        row, col = _upper_edges(location_adjacency)
        m = node_keys.size
        n_loc = location_adjacency.shape[0]
        if m == n_loc:  # one node per location (distinct coordinates): node i is location i
            hit = node_code[row] == node_code[col]
            node_a, node_b = row[hit], col[hit]
        else:
            # for each location edge (u, v) and each label present at u: does (v, label) exist?
            loc_start = np.searchsorted(node_loc, np.arange(n_loc + 1))
            counts = loc_start[row + 1] - loc_start[row]
            edge_rep = np.repeat(np.arange(row.size), counts)
            offsets = np.arange(edge_rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
            node_u = loc_start[row][edge_rep] + offsets
            target = col[edge_rep].astype(np.int64) * k + node_code[node_u]
            pos = np.searchsorted(node_keys, target)
            pos_ok = pos < node_keys.size
            hit = np.zeros(target.size, dtype=bool)
            hit[pos_ok] = node_keys[pos[pos_ok]] == target[pos_ok]
            node_a, node_b = node_u[hit], pos[hit]
        # one direction per edge is enough: connected_components(directed=False) reads both
        graph = sp.csr_matrix((np.ones(node_a.size, dtype=np.int8), (node_a, node_b)), shape=(m, m))
        _, node_component = connected_components(graph, directed=False)
        component = np.full(n, -1, dtype=np.int64)
        component[use] = node_component[node_of_used]
        # accounts with a label but no coordinates: each is its own piece
        lost = labelled & (location_of < 0)
        component[lost] = (node_component.max() + 1 if m else 0) + np.arange(int(lost.sum()))
        return component
    coo = sp.coo_matrix(adjacency)
    keep = (codes[coo.row] == codes[coo.col]) & labelled[coo.row] & (coo.row != coo.col)
    graph = _edges_to_csr(coo.row[keep], coo.col[keep], n)
    _, component = connected_components(graph, directed=False)
    component = component.astype(np.int64)
    component[~labelled] = -1
    return component


def count_pieces(adjacency: sp.spmatrix, labels: Any) -> pd.Series:
    """Number of connected pieces of each territory on the neighbour graph (label -> int).

    A territory's piece is a set of its accounts connected by edges whose both ends belong to
    that territory; 1 means contiguous. Unlabelled accounts (NaN/None, or a negative integer in
    an integer array, as in scikit-learn's ``labels_``) belong to no territory. Accounts without
    coordinates count as pieces of their own.

    >>> adj = delaunay_neighbors([0, 0, 0, 0], [0, 1, 2, 3])  # four points along the equator
    >>> count_pieces(adj, ["A", "B", "A", "B"]).to_dict()
    {'A': 2, 'B': 2}
    >>> count_pieces(adj, ["A", "A", "B", "B"]).to_dict()
    {'A': 1, 'B': 1}
    """
    return piece_summary(adjacency, labels)[0]


def piece_labels(adjacency: sp.spmatrix, labels: Any, weights: Any = None) -> np.ndarray:
    """Per account: 0 when it is in its territory's largest piece, else that piece's rank k > 0.

    Pieces of a territory are ranked by size (account count, or total ``weights`` when given,
    ties broken by account count, then by the lowest account position), so the main body is 0
    and strays are 1, 2, ... Unlabelled accounts get -1.

    >>> adj = delaunay_neighbors([0, 0, 0, 0, 0], [0, 1, 2, 3, 4])
    >>> piece_labels(adj, ["A", "A", "B", "A", None]).tolist()
    [0, 0, 0, 1, -1]
    """
    return piece_summary(adjacency, labels, weights)[1]


def piece_summary(adjacency: sp.spmatrix, labels: Any, weights: Any = None) -> tuple[pd.Series, np.ndarray]:
    """``(count_pieces(...), piece_labels(...))`` from a single connected-components pass."""
    n = adjacency.shape[0]
    codes, uniques = _label_codes(labels, n)
    component = _piece_of_accounts(adjacency, codes)
    rank = np.full(n, -1, dtype=np.int64)
    labelled = np.flatnonzero(codes >= 0)
    if labelled.size == 0:
        return pd.Series(np.zeros(len(uniques), dtype=int), index=uniques, name="pieces"), rank
    w = np.ones(n) if weights is None else np.nan_to_num(np.asarray(weights, dtype=float).ravel())
    comp_of, comp_ids = pd.factorize(component[labelled])  # hashing: no sort of n values
    size = np.bincount(comp_of, weights=w[labelled])
    count = np.bincount(comp_of)
    first_pos = np.full(comp_ids.size, n, dtype=np.int64)
    np.minimum.at(first_pos, comp_of, labelled)
    comp_code = np.empty(comp_ids.size, dtype=np.int64)
    comp_code[comp_of] = codes[labelled]
    pieces = np.bincount(comp_code, minlength=len(uniques)).astype(int)
    # rank within the territory: by code, then size desc, then count desc, then first position
    order = np.lexsort((first_pos, -count, -size, comp_code))
    sorted_code = comp_code[order]
    group_start = np.r_[0, np.flatnonzero(np.diff(sorted_code)) + 1]
    rank_sorted = np.arange(order.size) - np.repeat(group_start, np.diff(np.r_[group_start, order.size]))
    comp_rank = np.empty(order.size, dtype=np.int64)
    comp_rank[order] = rank_sorted
    rank[labelled] = comp_rank[comp_of]
    return pd.Series(pieces, index=uniques, name="pieces"), rank


# --- islands ----------------------------------------------------------------------------------

ISLAND_GAP_KM = 500.0
"""A group of accounts more than this far from every other account (Hawaii, Alaska, Puerto Rico
from the mainland) is an island: a territory's piece there is not a fragment."""


def island_groups(adjacency: sp.spmatrix, xyz: np.ndarray, gap_km: float = ISLAND_GAP_KM) -> tuple[int, np.ndarray]:
    """(number of groups, group per account): the connected groups of the neighbour graph once
    edges longer than ``gap_km`` are cut (the mainland; Hawaii; Perth apart from Sydney).
    ``xyz``: unit vectors."""
    coo = sp.coo_matrix(adjacency)
    delta = xyz[coo.row] - xyz[coo.col]
    short = np.einsum("ij,ij->i", delta, delta) <= (2.0 * np.sin(gap_km / (2.0 * EARTH_RADIUS_KM))) ** 2
    count, group = connected_components(_edges_to_csr(coo.row[short], coo.col[short], adjacency.shape[0]),
                                        directed=False)
    return int(count), group


def island_pieces(adjacency: sp.spmatrix, xyz: np.ndarray, codes: np.ndarray, rank: np.ndarray,
                  gap_km: float = ISLAND_GAP_KM) -> np.ndarray:
    """True for the accounts of stray pieces (``rank`` > 0, from :func:`piece_labels`) on an island
    of their territory's own: every neighbour edge from the piece to another account (of another
    territory; accounts with ``codes`` < 0 are ignored) is longer than ``gap_km``. Such a piece is
    part of its territory, not a fragment to count or repair (issue #3: "apart from true islands").

    Equivalently: cut the edges longer than ``gap_km`` and the piece's accounts share their groups
    with no other territory (Hawaii, Alaska, Puerto Rico from the mainland). Checking only the
    edges that leave stray pieces keeps this cheap at a million accounts. ``xyz``: unit vectors.
    """
    stray = rank > 0
    if not stray.any():
        return stray
    csr = adjacency if isinstance(adjacency, sp.csr_matrix) else sp.csr_matrix(adjacency)
    idx = np.flatnonzero(stray)
    starts, counts = csr.indptr[idx], np.diff(csr.indptr)[idx]
    src = np.repeat(idx, counts)
    pos = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    dst = csr.indices[pos]
    base = int(rank.max()) + 1
    key = codes.astype(np.int64) * base + rank
    leaves = (key[dst] != key[src]) & (codes[dst] >= 0)
    src, dst = src[leaves], dst[leaves]
    delta = xyz[src] - xyz[dst]
    near = np.einsum("ij,ij->i", delta, delta) <= (2.0 * np.sin(gap_km / (2.0 * EARTH_RADIUS_KM))) ** 2
    attached = np.unique(key[src[near]])
    return stray & ~np.isin(key, attached)
