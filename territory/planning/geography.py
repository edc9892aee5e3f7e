"""Territories as geography: one non-overlapping (multi)polygon per territory, and a ZIP table.

Why: the convex hull of a territory's accounts overlaps its neighbours after a rebalance, crosses
water, and for an owner-based CRM alignment covers the whole country. Sales tools draw territories
from geographic units instead; so does this module, offline.

How (:func:`territory_shapes`):

1. **Cells.** US accounts sit in the Voronoi cells of the distinct ZIP centroids of the offline ZIP
   table (:mod:`territory.data.geocode`), clipped to the shipped state outlines. They do not depend
   on the accounts, so they are built once per process (:func:`zip_cells`, about 1 s). Accounts
   more than :data:`US_REACH_DEG` from every ZIP centroid (data outside the US) get the Voronoi
   cells of their own distinct locations, clipped to their concave hull plus a margin (and to
   outside the US outlines when US accounts are there too).
2. **A territory per cell.** An account lies in the cell of its nearest generator (what a Voronoi
   cell is), so a cell takes the territory most of its accounts have (ties: the lowest ID). A cell
   without accounts takes the territory of the nearest cell that has some: its neighbours fill it,
   so every ZIP, and a new account anywhere, has an owner.
3. **One union per territory.** Cells are disjoint, so the shapes of different territories never
   overlap. An account whose cell went to another territory (a ZIP split between territories) or
   whose location lies off the outlines is counted in ``accounts_outside``.

Cells are computed in plain longitude/latitude degrees, and the nearest-generator lookups use the
same metric, so "the cell an account is in" and "its nearest generator" agree exactly.

Alaska, Hawaii and Puerto Rico are clipped to their own outlines, so no shape spans the sea; a
territory holding a Hawaii ZIP is a multipolygon with a part there.

Industry-team territories (:mod:`territory.engine.teams`: every Healthcare account of the country
in HC-1, HC-2, ...) overlap the geographic territories by design. :func:`team_territories` finds
them by the engine's naming (an ID "<prefix>-<n>" whose accounts are mostly of the industry with
that prefix); the geographic territories are then tessellated from their own accounts, and each
team's territories from the team's accounts, as a layer of its own (:class:`TeamLayer`): the
geographic shapes do not overlap each other, a team's shapes do not overlap each other, and a
team's shapes lie over the geographic ones. The ZIP table is the geographic territories'.

Whether the alignment is drawn on a map at all is the engine's own test
(:func:`territory.engine.seed.is_geographic` on the accounts' neighbour graph): an owner-based
alignment has shapes too (every ZIP needs an owner) but ``geographic`` is False, and maps show its
accounts without boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from territory.data import schema
from territory.data.geocode import zip_table
from territory.data.sample import us_states_geojson
from territory.engine.seed import is_geographic
from territory.engine.teams import team_prefix

US_REACH_DEG = 0.3
"""An account farther than this (degrees, about 30 km) from every US ZIP centroid is outside the US
and gets cells of its own (data from another country)."""
HULL_MARGIN_SHARE = 0.05
"""Cells of non-US accounts reach this share of their extent beyond the accounts' concave hull..."""
HULL_MARGIN_DEG = (0.05, 1.0)
"""...but at least 0.05 and at most 1 degree."""
CONCAVE_RATIO = 0.3
"""Concave-hull ratio for the outline of non-US accounts (0 = tightest, 1 = convex hull)."""
GEOGRAPHIC_SHARE = 0.8
"""The engine's threshold: an alignment is geographic when this share of the accounts sits in its
territory's largest piece on the neighbour graph (:func:`territory.engine.seed.is_geographic`)."""
TEAM_ID_PATTERN = re.compile(r"^(?P<prefix>.+)-\d+$")
"""The engine's IDs of industry-team territories: the team's prefix, a hyphen, a number (HC-1)."""
TEAM_INDUSTRY_SHARE = 0.5
"""A territory so named is a team's when more than this share of its accounts are of that industry
(locked accounts of other industries may stay in a team territory; a geographic territory someone
named "HC-1" holds every industry)."""


@dataclass(frozen=True)
class Cells:
    """A tessellation: generator points (lon/lat degrees), their Voronoi cells (same order, not yet
    clipped: an exact coverage, so a union of them is fast) and the land a union is cut to."""

    lon: np.ndarray
    lat: np.ndarray
    polygons: np.ndarray  # shapely polygons, one per generator
    land_parts: np.ndarray  # the land's disjoint polygons (cutting by each keeps the pieces disjoint)
    tree: cKDTree  # on (lon, lat), the Voronoi metric

    def __len__(self) -> int:
        return len(self.lon)


@dataclass(frozen=True)
class ZipCells:
    """The ZIP tessellation and, for every ZIP of the offline table, its cell (-1: no location)."""

    cells: Cells
    postal_codes: np.ndarray  # int, every ZIP of the offline table
    cell_of_zip: np.ndarray  # int, index into cells; -1 for ZIPs without coordinates (military)
    state: np.ndarray  # object, the ZIP's state


@dataclass(frozen=True)
class TeamLayer:
    """One industry team's territories drawn over the geographic ones: ``shapes`` tessellate the
    country among the team's own territories (they do not overlap each other, and they overlap the
    geographic territories by design: the team covers its industry everywhere)."""

    industry: str
    shapes: TerritoryShapes


@dataclass(frozen=True)
class TerritoryShapes:
    """One (multi)polygon per territory (WGS84 lon/lat) and what the map needs to say about them.

    ``geographic``: the engine's test says the alignment is drawn on a map (False for owners
    interleaved in the same areas: draw points, not boundaries). ``cells``: what the shapes are made
    of ("zip", "account" or "zip+account"). ``accounts_outside``: accounts that do not lie in their own
    territory's shape (their ZIP's cell went to another territory, or they are off the outlines).
    ``zip_territory``: the territory (an index into ``territory_ids``) of every cell of
    :func:`zip_cells`, or None when no account is in the US. ``outside_by_territory``: the accounts
    outside per territory (same order as ``territory_ids``). ``teams``: industry-team territories,
    one layer per team (:func:`team_territories`); ``territory_ids`` and everything else above are
    then the geographic territories' (``accounts`` and ``accounts_outside`` count the teams' too).
    """

    territory_ids: tuple[str, ...]
    geometries: tuple
    geographic: bool
    cells: str
    accounts: int
    accounts_outside: int
    zip_territory: np.ndarray | None = None
    outside_by_territory: tuple[int, ...] = ()
    teams: tuple[TeamLayer, ...] = ()

    def outside_of(self, territory_ids) -> int:
        """Accounts outside their own shape among these territories' accounts (team territories too)."""
        wanted = set(territory_ids)
        own = int(sum(n for t, n in zip(self.territory_ids, self.outside_by_territory) if t in wanted))
        return own + sum(team.shapes.outside_of(wanted) for team in self.teams)

    def shape(self, territory_id: str):
        """The territory's (multi)polygon, a team territory's too (an empty polygon for an unknown ID)."""
        if territory_id in self.territory_ids:
            return self.geometries[self.territory_ids.index(territory_id)]
        for team in self.teams:
            if territory_id in team.shapes.territory_ids:
                return team.shapes.shape(territory_id)
        return shapely.Polygon()

    def team_of(self, territory_id: str) -> str | None:
        """The industry whose team holds this territory; None for a geographic territory."""
        return next((team.industry for team in self.teams if territory_id in team.shapes.territory_ids), None)

    def overlap_area(self) -> float:
        """Sum of the pairwise intersection areas of the shapes (square degrees; 0 when none overlap)."""
        geoms = np.asarray(self.geometries, dtype=object)
        if len(geoms) < 2:
            return 0.0
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        pair = left < right
        return float(shapely.area(shapely.intersection(geoms[left[pair]], geoms[right[pair]])).sum())


# --- cells ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def us_land():
    """The shipped state outlines dissolved into one (multi)polygon (once per process)."""
    states = [shapely.geometry.shape(f["geometry"]) for f in us_states_geojson()["features"] if f.get("geometry")]
    return shapely.union_all(states)


def _voronoi(xy: np.ndarray, margin: float) -> np.ndarray:
    """Voronoi cells of distinct points, in their order, reaching ``margin`` beyond their box."""
    if len(xy) == 1:
        x, y = xy[0]
        return np.array([shapely.box(x - margin, y - margin, x + margin, y + margin)], dtype=object)
    lo, hi = xy.min(axis=0) - margin, xy.max(axis=0) + margin
    cells = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=shapely.box(*lo, *hi), ordered=True)
    return np.asarray(shapely.get_parts(cells), dtype=object)


def _make_cells(xy: np.ndarray, margin: float, land) -> Cells:
    if not land.is_valid:
        land = shapely.make_valid(land)
    parts = np.asarray(shapely.get_parts(land), dtype=object)
    parts = parts[shapely.get_type_id(parts) == 3]  # polygons only
    return Cells(lon=xy[:, 0], lat=xy[:, 1], polygons=_voronoi(xy, margin), land_parts=parts, tree=cKDTree(xy))


def clip_to_land(shape, cells: Cells):
    """``shape`` cut to the land, piece by piece of land: the land's parts are disjoint, so the
    pieces are too and make a valid MultiPolygon without another union."""
    if shape.is_empty:
        return shapely.MultiPolygon()
    parts = cells.land_parts
    near = parts[shapely.intersects(parts, shape)]
    pieces = shapely.get_parts(shapely.intersection(near, shape))
    polygons = [p for p in shapely.get_parts(pieces) if p.geom_type == "Polygon" and not p.is_empty]
    return shapely.MultiPolygon(polygons)


@lru_cache(maxsize=1)
def zip_cells() -> ZipCells:
    """The Voronoi cells of the distinct ZIP centroids and the state outlines that territory unions
    are cut to (built once per process)."""
    table = zip_table()
    postal = np.flatnonzero(table.known)
    located = np.isfinite(table.latitude[postal]) & np.isfinite(table.longitude[postal])
    xy_all = np.column_stack([table.longitude[postal[located]], table.latitude[postal[located]]])
    xy, inverse = np.unique(xy_all, axis=0, return_inverse=True)
    cell_of_zip = np.full(len(postal), -1)
    cell_of_zip[located] = inverse.ravel()
    return ZipCells(cells=_make_cells(xy, 5.0, us_land()), postal_codes=postal, cell_of_zip=cell_of_zip,
                    state=table.state[postal])


def _hull_region(xy: np.ndarray):
    """The accounts' concave hull plus a margin: where cells of accounts outside the US may reach."""
    points = shapely.multipoints(xy)
    hull = shapely.concave_hull(points, ratio=CONCAVE_RATIO) if len(xy) >= 3 else points
    extent = float(np.max(xy.max(axis=0) - xy.min(axis=0))) if len(xy) > 1 else 0.0
    return hull.buffer(float(np.clip(HULL_MARGIN_SHARE * extent, *HULL_MARGIN_DEG)))


def account_cells(xy: np.ndarray, exclude=None) -> Cells:
    """Voronoi cells of distinct account locations (lon, lat), clipped to their hull region (minus
    ``exclude``, e.g. the US outlines when US accounts have cells of their own)."""
    xy = np.unique(xy, axis=0)
    region = _hull_region(xy)
    if exclude is not None:
        region = shapely.difference(region, exclude)
    margin = float(np.clip(HULL_MARGIN_SHARE * 4 * max(float(np.ptp(xy, axis=0).max()), 1.0), 2.0, 20.0))
    return _make_cells(xy, margin, region)


# --- territories ------------------------------------------------------------------------------------


def _cell_territory(cell: np.ndarray, code: np.ndarray, cells: Cells, k: int,
                    preset: np.ndarray | None = None) -> np.ndarray:
    """Per cell: the territory most of its accounts have (lowest code on ties); a cell without
    accounts takes ``preset``'s territory where it has one (>= 0: its unit's), else that of the
    nearest cell with some."""
    pairs, count = np.unique(cell.astype(np.int64) * k + code, return_counts=True)
    pair_cell, pair_code = pairs // k, pairs % k
    order = np.lexsort((pair_code, -count, pair_cell))  # by cell, most accounts first, then lowest code
    first = order[np.r_[True, pair_cell[order][1:] != pair_cell[order][:-1]]]
    owner = np.zeros(len(cells), dtype=np.int64)
    owner[pair_cell[first]] = pair_code[first]
    occupied = np.zeros(len(cells), dtype=bool)
    occupied[pair_cell[first]] = True
    if preset is not None:
        take = ~occupied & (preset >= 0)
        owner[take] = preset[take]
        occupied |= take
    if not occupied.all():
        tree_xy = np.column_stack([cells.lon, cells.lat])
        full = np.flatnonzero(occupied)
        _, nearest = cKDTree(tree_xy[full]).query(tree_xy[~occupied])
        owner[~occupied] = owner[full[nearest]]
    return owner


def _unions(cells: Cells, owner: np.ndarray, k: int) -> list:
    """One shape per territory: the union of its cells (an exact coverage: fast), cut to the land."""
    out = [shapely.MultiPolygon()] * k
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(k + 1))
    for t in range(k):
        members = cells.polygons[order[bounds[t]:bounds[t + 1]]]
        if len(members):
            out[t] = clip_to_land(shapely.coverage_union_all(members), cells)
    return out


def _located(accounts: pd.DataFrame, labels: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float)
    lab = labels.reindex(accounts.index).astype("string")
    lab = lab.where(lab.str.strip().str.len() > 0)
    ok = np.isfinite(lat) & np.isfinite(lon) & lab.notna().to_numpy()
    return lat[ok], lon[ok], lab[ok]


def _unit_cells(accounts: pd.DataFrame, lab: pd.Series, codes: np.ndarray, zips: ZipCells, units: str,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """For an alignment by ``units`` (:mod:`territory.planning.units`): (the ZIP cell of each located
    account by its ZIP code, -1 without a known located ZIP; per cell, the territory of its lowest ZIP's
    unit where the alignment has accounts in that unit, else -1)."""
    from territory.planning.units import unit_keys, us_zip_numbers, zip_unit_keys

    rows = accounts.loc[lab.index]
    number = us_zip_numbers(rows)
    slot = np.searchsorted(zips.postal_codes, np.maximum(number, 0))
    slot = np.minimum(slot, len(zips.postal_codes) - 1)
    known = (number >= 0) & (zips.postal_codes[slot] == number)
    by_zip = np.where(known, zips.cell_of_zip[slot], -1)
    keys = unit_keys(rows, units).to_numpy(dtype=object, na_value=None)
    frame = pd.DataFrame({"key": keys, "code": codes}).dropna()
    unit_code = (frame.groupby(["key", "code"]).size().reset_index(name="n")
                 .sort_values(["key", "n", "code"], ascending=[True, False, True]).drop_duplicates("key")
                 .set_index("key")["code"])
    located = zips.cell_of_zip >= 0
    first = np.unique(zips.cell_of_zip[located], return_index=True)[1]  # the lowest ZIP of each cell
    cell_key = zip_unit_keys(zips.postal_codes[located][first], units)
    preset = pd.Series(cell_key, dtype=object).map(unit_code).fillna(-1).to_numpy(dtype=np.int64)
    return by_zip, np.where(preset < k, preset, -1)


def team_territories(accounts: pd.DataFrame, labels: pd.Series) -> dict[str, str]:
    """Territory ID -> industry for the industry-team territories of an alignment
    (:mod:`territory.engine.teams`): an ID "<prefix>-<n>" where more than :data:`TEAM_INDUSTRY_SHARE`
    of the territory's accounts are of the industry whose team prefix that is ("HC" for Healthcare).

    >>> accounts = pd.DataFrame({"industry": ["Healthcare", "Healthcare", "Retail", "Retail"]})
    >>> team_territories(accounts, pd.Series(["HC-1", "HC-1", "T01", "HC-2"]))
    {'HC-1': 'Healthcare'}
    """
    if schema.INDUSTRY not in accounts:
        return {}
    frame = pd.DataFrame({"t": labels.reindex(accounts.index).astype("string"),
                          "industry": accounts[schema.INDUSTRY].astype("string").fillna("Other")}).dropna()
    named = frame["t"].str.match(TEAM_ID_PATTERN.pattern).fillna(False).astype(bool)
    found = {}
    for tid, rows in frame[named.to_numpy()].groupby("t"):
        shares = rows["industry"].value_counts(normalize=True)
        industry, share = str(shares.index[0]), float(shares.iloc[0])
        if share > TEAM_INDUSTRY_SHARE and team_prefix(industry) == TEAM_ID_PATTERN.match(str(tid))["prefix"]:
            found[str(tid)] = industry
    return found


def territory_shapes(accounts: pd.DataFrame, labels: pd.Series, units: str = "account") -> TerritoryShapes:
    """One non-overlapping (multi)polygon per territory of ``labels`` (territory per account, index
    aligned with ``accounts``; accounts without coordinates or territory are left out).

    ``units`` other than ``account`` (an alignment that moves whole ZIPs, ZIP3s, counties or states,
    :mod:`territory.planning.units`) places every account with a known US ZIP in its ZIP's cell
    (whatever its own coordinates), and gives a cell without accounts the territory of its unit when
    the unit has accounts elsewhere: the ZIP table then gives every ZIP its unit's territory.

    Industry-team territories (:func:`team_territories`) are left out of the geographic shapes and
    tessellated per team, as :attr:`TerritoryShapes.teams`: they overlap the geographic shapes by design.

    >>> from territory.data.sample import load_sample
    >>> sample = load_sample()
    >>> shapes = territory_shapes(sample.accounts, sample.accounts["territory_id"])
    >>> len(shapes.territory_ids), shapes.geographic, shapes.overlap_area() < 1e-9
    (20, True, True)
    """
    teams = team_territories(accounts, labels)
    if not teams:
        return _layer_shapes(accounts, labels, units)
    lab = labels.reindex(accounts.index).astype("string")
    team = lab.map(teams).to_numpy(dtype=object, na_value=None)
    base = _layer_shapes(accounts[pd.isna(team)], lab[pd.isna(team)], units)
    layers = tuple(
        TeamLayer(industry, _layer_shapes(accounts[team == industry], lab[team == industry], "account"))
        for industry in sorted(set(teams.values()))
    )
    return replace(base, teams=layers, accounts=base.accounts + sum(t.shapes.accounts for t in layers),
                   accounts_outside=base.accounts_outside + sum(t.shapes.accounts_outside for t in layers))


def is_drawn_on_map(accounts: pd.DataFrame, labels: pd.Series) -> bool:
    """:attr:`TerritoryShapes.geographic` of :func:`territory_shapes` without building the shapes: the
    engine's test on the accounts' neighbour graph (shared with the metrics, so mostly built already)
    for the geographic territories (industry teams left out, as the shapes leave them out). False for
    an alignment by owner (round robin, named accounts: every territory spread over the country).

    >>> from territory.data.sample import load_sample
    >>> accounts = load_sample().accounts
    >>> is_drawn_on_map(accounts, accounts["territory_id"])
    True
    >>> is_drawn_on_map(accounts, pd.Series([f"O{i % 20}" for i in range(len(accounts))], index=accounts.index))
    False
    """
    teams = team_territories(accounts, labels)
    lab = labels.reindex(accounts.index).astype("string")
    geographic_layer = ~lab.isin(list(teams)).to_numpy(dtype=bool, na_value=True)
    lat, lon, lab = _located(accounts[geographic_layer], lab[geographic_layer])
    codes = pd.factorize(lab, sort=True)[0]
    return _drawn_on_map(_neighbour_graph(lat, lon, codes), codes)


def _neighbour_graph(lat: np.ndarray, lon: np.ndarray, codes: np.ndarray):
    """The shared neighbour graph of the located accounts (a future) for :func:`_drawn_on_map`; None
    when there is nothing to test (one territory, or three accounts or fewer)."""
    from territory.geo import shared_delaunay_neighbors

    return shared_delaunay_neighbors(lat, lon) if codes.max(initial=0) > 0 and len(codes) > 3 else None


def _drawn_on_map(graph, codes: np.ndarray) -> bool:
    """The engine's geographic test (:data:`GEOGRAPHIC_SHARE` of the accounts in their territory's
    largest piece); True without a ``graph`` to test on."""
    return True if graph is None else is_geographic(graph.result(), np.ones(len(codes)), codes,
                                                    threshold=GEOGRAPHIC_SHARE)


def _layer_shapes(accounts: pd.DataFrame, labels: pd.Series, units: str) -> TerritoryShapes:
    """:func:`territory_shapes` for one layer of territories (no team split)."""
    lat, lon, lab = _located(accounts, labels)
    codes, ids = pd.factorize(lab, sort=True)
    k = len(ids)
    if not len(codes):
        return TerritoryShapes((), (), True, "", 0, 0)
    graph = _neighbour_graph(lat, lon, codes)  # builds on another thread meanwhile
    xy = np.column_stack([lon, lat])
    zips = zip_cells()
    distance, zip_cell = zips.cells.tree.query(xy)
    in_us = distance <= US_REACH_DEG
    preset = None
    if units != "account":
        by_zip, preset = _unit_cells(accounts, lab, codes, zips, units, k)
        zip_cell = np.where(by_zip >= 0, by_zip, zip_cell)
        in_us |= by_zip >= 0
    geoms: list = [shapely.MultiPolygon()] * k
    zip_owner = None
    kinds = []
    if in_us.any():
        kinds.append("zip")
        zip_owner = _cell_territory(zip_cell[in_us], codes[in_us], zips.cells, k, preset)
        geoms = _unions(zips.cells, zip_owner, k)
    if (~in_us).any():
        kinds.append("account")
        cells = account_cells(xy[~in_us], exclude=us_land() if in_us.any() else None)
        _, own_cell = cells.tree.query(xy[~in_us])
        owner = _cell_territory(own_cell, codes[~in_us], cells, k)
        extra = _unions(cells, owner, k)
        geoms = [a if b.is_empty else b if a.is_empty else shapely.MultiPolygon([*a.geoms, *b.geoms])
                 for a, b in zip(geoms, extra)]
    geographic = _drawn_on_map(graph, codes)
    # an account whose cell went to another territory lies in that one's shape, so outside its own
    outside = np.bincount(codes[_off_shapes(geoms, codes, xy)], minlength=k)
    return TerritoryShapes(
        territory_ids=tuple(str(t) for t in ids), geometries=tuple(geoms), geographic=bool(geographic),
        cells="+".join(kinds), accounts=int(len(codes)), accounts_outside=int(outside.sum()),
        zip_territory=zip_owner, outside_by_territory=tuple(int(n) for n in outside),
    )


def _off_shapes(geoms: list, codes: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Per account: its location is not in its own territory's shape (its cell went to another
    territory, or it lies beyond the outlines: a ZIP centroid on an island the simplified outlines
    leave out)."""
    off = np.zeros(len(codes), dtype=bool)
    for t, geom in enumerate(geoms):
        mine = np.flatnonzero(codes == t)
        off[mine] = ~shapely.intersects_xy(geom, xy[mine, 0], xy[mine, 1])
    return off


# --- the ZIP table ----------------------------------------------------------------------------------


def zip_territory_table(shapes: TerritoryShapes) -> pd.DataFrame:
    """Every ZIP of the offline table with exactly one territory, consistent with the shapes.

    Columns ``postal_code`` (5 digits), ``territory_id``, ``state`` and ``basis``: "cell" when the
    ZIP's centroid cell gave it (the cell's accounts or, without any, its neighbours), "nearest zip"
    for ZIPs without a location (military APO/FPO codes), which take the territory of the
    numerically nearest located ZIP. Empty when no account is in the US.
    """
    columns = ["postal_code", "territory_id", "state", "basis"]
    if shapes.zip_territory is None or not shapes.territory_ids:
        return pd.DataFrame(columns=columns)
    zips = zip_cells()
    located = zips.cell_of_zip >= 0
    owner = np.full(len(zips.postal_codes), -1)
    owner[located] = shapes.zip_territory[zips.cell_of_zip[located]]
    if (~located).any():
        # ZIPs are sorted: the nearest located ZIP by number, the lower one on ties
        have = np.flatnonzero(located)
        pos = np.clip(np.searchsorted(zips.postal_codes[have], zips.postal_codes[~located]), 1, len(have) - 1)
        lower, upper = have[pos - 1], have[pos]
        target = zips.postal_codes[~located]
        pick = np.where(target - zips.postal_codes[lower] <= zips.postal_codes[upper] - target, lower, upper)
        owner[~located] = owner[pick]
    ids = np.asarray(shapes.territory_ids, dtype=object)
    return pd.DataFrame({
        "postal_code": pd.Series(zips.postal_codes).map("{:05d}".format).astype("string"),
        "territory_id": pd.Series(ids[owner], dtype="string"),
        "state": pd.Series(zips.state, dtype="string"),
        "basis": pd.Series(np.where(located, "cell", "nearest zip"), dtype="string"),
    }, columns=columns)


# --- neighbours -------------------------------------------------------------------------------------


def _cell_edges(cells: Cells) -> np.ndarray:
    """Pairs of cells that share a Voronoi edge (the Delaunay edges of their generators), (m, 2) with
    the lower index first. Cells that meet only across water count too: a neighbour too many is
    harmless for colouring, a missing one is not."""
    from scipy.spatial import Delaunay, QhullError

    xy = np.column_stack([cells.lon, cells.lat])
    if len(xy) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if len(xy) < 4:
        return np.array([(i, j) for i in range(len(xy)) for j in range(i + 1, len(xy))], dtype=np.int64)
    try:
        simplices = Delaunay(xy).simplices
    except QhullError:  # all on one line: consecutive points along it are the neighbours
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        return np.sort(np.column_stack([order[:-1], order[1:]]), axis=1)
    edges = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    return np.unique(np.sort(edges, axis=1), axis=0)


@lru_cache(maxsize=1)
def zip_cell_edges() -> np.ndarray:
    """:func:`_cell_edges` of the ZIP cells (built once per process)."""
    return _cell_edges(zip_cells().cells)


def territory_neighbours(accounts: pd.DataFrame, labels: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """Which territories border each other on the map: (territory IDs, (m, 2) index pairs into them).

    The cells and their owners are those of :func:`territory_shapes`, so two territories are
    neighbours when their shapes share a border (or face each other across a strait). Cheaper than the
    shapes: no unions, so colouring a map does not wait for them.

    Industry-team territories (:func:`team_territories`) border the other territories of their team
    by the team's own cells, and each geographic territory that holds a geographic account nearest to
    one of their accounts: their outlines are drawn over those territories' fills.

    >>> from territory.data.sample import load_sample
    >>> sample = load_sample()
    >>> ids, pairs = territory_neighbours(sample.accounts, sample.accounts["territory_id"])
    >>> len(ids), bool(len(pairs)), bool((pairs[:, 0] < pairs[:, 1]).all())
    (20, True, True)
    """
    lat, lon, lab = _located(accounts, labels)
    codes, ids = pd.factorize(lab, sort=True)
    xy = np.column_stack([lon, lat])
    teams = team_territories(accounts, labels)
    team_of = np.array([teams.get(str(t)) for t in ids], dtype=object)[codes] if len(ids) else np.array([])
    found = [np.zeros((0, 2), dtype=np.int64)]
    geo = pd.isna(team_of)
    for group in [geo, *(team_of == industry for industry in sorted(set(teams.values())))]:
        if group.any():
            local, local_ids = pd.factorize(codes[group], sort=True)
            found.append(np.asarray(local_ids)[_neighbour_pairs(xy[group], local, len(local_ids))])
    if teams and geo.any() and (~geo).any():  # a team territory borders the geographic ones it lies over
        _, nearest = cKDTree(xy[geo]).query(xy[~geo])
        found.append(np.column_stack([codes[~geo], codes[geo][nearest]]))
    pairs = np.sort(np.concatenate(found), axis=1)
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    return tuple(str(t) for t in ids), pairs.astype(np.int64)


def _neighbour_pairs(xy: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """:func:`territory_neighbours` of one layer of territories: (m, 2) index pairs, maybe repeated."""
    found = [np.zeros((0, 2), dtype=np.int64)]
    if k > 1:
        zips = zip_cells()
        distance, zip_cell = zips.cells.tree.query(xy)
        in_us = distance <= US_REACH_DEG
        if in_us.any():
            owner = _cell_territory(zip_cell[in_us], codes[in_us], zips.cells, k)
            found.append(owner[zip_cell_edges()])
        if (~in_us).any():
            cells = account_cells(xy[~in_us])
            _, own_cell = cells.tree.query(xy[~in_us])
            owner = _cell_territory(own_cell, codes[~in_us], cells, k)
            found.append(owner[_cell_edges(cells)])
    return np.concatenate(found)
