"""Territory shapes from ZIP cells: no overlaps, accounts inside, ZIPs all owned, non-US data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from territory.data import schema
from territory.data.geocode import zip_table
from territory.data.sample import load_sample
from territory.planning.geography import territory_shapes, us_land, zip_territory_table

ZIPS = zip_table()


def at_zips(codes: list[str], labels: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Accounts at the centroids of the given ZIPs, with their territories."""
    slots = np.array([int(c) for c in codes])
    accounts = pd.DataFrame({
        schema.ACCOUNT_ID: [f"A{i}" for i in range(len(codes))],
        schema.POSTAL_CODE: codes,
        schema.LATITUDE: ZIPS.latitude[slots],
        schema.LONGITUDE: ZIPS.longitude[slots],
    })
    return accounts, pd.Series(labels, index=accounts.index)


def inside_own_shape(shapes, accounts: pd.DataFrame, labels: pd.Series) -> np.ndarray:
    """Per account: does its location lie in its own territory's shape?"""
    geoms = np.array([shapes.shape(str(t)) for t in labels], dtype=object)
    return shapely.intersects_xy(geoms, accounts[schema.LONGITUDE].to_numpy(float),
                                 accounts[schema.LATITUDE].to_numpy(float))


# Two clusters per territory, far apart: Boston and Denver for "E", Seattle and Dallas for "W".
BOSTON = ["02108", "02115", "02139", "02144"]
DENVER = ["80202", "80203", "80205", "80210"]
SEATTLE = ["98101", "98103", "98105", "98109"]
DALLAS = ["75201", "75204", "75205", "75206"]


@pytest.fixture(scope="module")
def four_cities():
    accounts, labels = at_zips(BOSTON + DENVER + SEATTLE + DALLAS, ["E"] * 8 + ["W"] * 8)
    return accounts, labels, territory_shapes(accounts, labels)


def test_shapes_of_different_territories_do_not_overlap(four_cities):
    _, _, shapes = four_cities
    e, w = shapes.shape("E"), shapes.shape("W")
    assert e.area > 1 and w.area > 1  # square degrees: each covers a real part of the country
    assert shapely.intersection(e, w).area == pytest.approx(0.0, abs=1e-9)
    assert shapes.overlap_area() == pytest.approx(0.0, abs=1e-9)


def test_every_account_lies_inside_its_territorys_shape(four_cities):
    accounts, labels, shapes = four_cities
    assert inside_own_shape(shapes, accounts, labels).all()
    assert shapes.accounts_outside == 0
    assert shapes.cells == "zip"


def test_cells_without_accounts_are_filled_so_the_shapes_cover_the_land(four_cities):
    _, _, shapes = four_cities
    covered = shapely.union_all(list(shapes.geometries)).area
    assert covered == pytest.approx(us_land().area, rel=1e-6)
    # an empty cell takes the territory of the nearest accounts: Portland (OR) is W's, Maine is E's
    assert shapes.shape("W").intersects(shapely.Point(-122.68, 45.52))
    assert shapes.shape("E").intersects(shapely.Point(-69.0, 45.0))


def test_shapes_are_clipped_to_the_land():
    """Boston's territory does not reach into the Atlantic: a point 100 km offshore is in no shape."""
    accounts, labels = at_zips(BOSTON + SEATTLE, ["E"] * 4 + ["W"] * 4)
    shapes = territory_shapes(accounts, labels)
    assert not shapes.shape("E").intersects(shapely.Point(-69.5, 42.3))
    assert shapes.shape("E").intersects(shapely.Point(-71.06, 42.36))


def test_no_polygon_spans_the_pacific():
    """A territory with accounts in Hawaii and California is a multipolygon with a part on the islands,
    and none of its polygons is wider than the lower 48."""
    accounts, labels = at_zips(["96813", "96815", "94103", "94110", "10001", "10002"],
                               ["P", "P", "P", "P", "N", "N"])
    shapes = territory_shapes(accounts, labels)
    parts = shapely.get_parts(shapes.shape("P"))
    widths = shapely.bounds(parts)[:, 2] - shapely.bounds(parts)[:, 0]
    assert widths.max() < 60  # the lower 48 are about 58 degrees wide
    assert any(p.intersects(shapely.Point(-157.86, 21.31)) for p in parts)  # Honolulu
    assert inside_own_shape(shapes, accounts, labels).all()


def test_interleaved_owners_are_not_geographic_and_contiguous_territories_are():
    sample = load_sample()
    accounts = sample.accounts
    assert territory_shapes(accounts, accounts[schema.TERRITORY_ID]).geographic
    owners = pd.Series([f"O{i % 20:02d}" for i in range(len(accounts))], index=accounts.index)
    interleaved = territory_shapes(accounts, owners)
    assert not interleaved.geographic
    assert interleaved.overlap_area() == pytest.approx(0.0, abs=1e-9)  # shapes still partition the land


def test_sample_at_50_territories_has_no_overlap_and_few_accounts_outside():
    sample = load_sample()
    accounts = sample.accounts
    strips = pd.qcut(accounts[schema.LONGITUDE], 50, labels=False).map("S{:02d}".format)
    shapes = territory_shapes(accounts, strips)
    assert len(shapes.territory_ids) == 50
    assert shapes.overlap_area() == pytest.approx(0.0, abs=1e-9)
    inside = inside_own_shape(shapes, accounts, strips)
    # only accounts in a ZIP split between two strips (or off the outlines) are outside, and counted
    assert (~inside).sum() == shapes.accounts_outside
    assert shapes.accounts_outside < 0.02 * len(accounts)
    per_strip = strips[~inside].value_counts()
    assert shapes.outside_of(["S00", "S01"]) == per_strip.get("S00", 0) + per_strip.get("S01", 0)
    assert shapes.outside_of(shapes.territory_ids) == shapes.accounts_outside


def test_accounts_outside_the_us_get_cells_of_their_own():
    """German accounts (no US ZIP near): cells of their own points, clipped near them; no crash."""
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(48, 54, 60), rng.uniform(6, 14, 60)
    accounts = pd.DataFrame({schema.ACCOUNT_ID: [f"D{i}" for i in range(60)],
                             schema.LATITUDE: lat, schema.LONGITUDE: lon})
    labels = pd.Series(np.where(lon < 10, "West", "East"), index=accounts.index)
    shapes = territory_shapes(accounts, labels)
    assert shapes.cells == "account"
    assert shapes.overlap_area() == pytest.approx(0.0, abs=1e-9)
    assert inside_own_shape(shapes, accounts, labels).all()
    minx, miny, maxx, maxy = shapely.bounds(shapely.union_all(list(shapes.geometries)))
    assert 4 < minx and maxx < 16 and 46 < miny and maxy < 56  # near the accounts, not the world
    assert zip_territory_table(shapes).empty


def test_us_and_foreign_accounts_together():
    accounts, labels = at_zips(BOSTON + SEATTLE, ["E"] * 4 + ["W"] * 4)
    abroad = pd.DataFrame({schema.ACCOUNT_ID: ["L1", "L2", "P1"], schema.LATITUDE: [51.5, 51.52, 48.85],
                           schema.LONGITUDE: [-0.12, -0.1, 2.35]})
    accounts = pd.concat([accounts, abroad], ignore_index=True)
    labels = pd.Series([*labels, "E", "E", "W"], index=accounts.index)
    shapes = territory_shapes(accounts, labels)
    assert shapes.cells == "zip+account"
    assert shapes.overlap_area() == pytest.approx(0.0, abs=1e-9)
    assert inside_own_shape(shapes, accounts, labels).all()


@pytest.mark.parametrize("lat,lon", [([50.0], [8.0]), ([50.0, 50.0, 50.0], [8.0, 9.0, 10.0]), ([], [])])
def test_degenerate_inputs_do_not_crash(lat, lon):
    accounts = pd.DataFrame({schema.ACCOUNT_ID: [f"A{i}" for i in range(len(lat))],
                             schema.LATITUDE: lat, schema.LONGITUDE: lon})
    labels = pd.Series(["T1"] * len(lat), index=accounts.index, dtype="string")
    shapes = territory_shapes(accounts, labels)
    assert shapes.accounts_outside == 0
    assert len(shapes.territory_ids) == (1 if lat else 0)


def test_accounts_without_coordinates_or_territory_are_left_out():
    accounts, labels = at_zips(BOSTON + SEATTLE, ["E"] * 4 + ["W"] * 4)
    accounts.loc[0, schema.LATITUDE] = np.nan
    labels.iloc[1] = None
    shapes = territory_shapes(accounts, labels)
    assert shapes.accounts == 6


# --- the ZIP table ----------------------------------------------------------------------------------


def test_zip_table_covers_every_zip_once(four_cities):
    _, _, shapes = four_cities
    table = zip_territory_table(shapes)
    assert len(table) == int(ZIPS.known.sum())
    assert table["postal_code"].is_unique
    assert table["territory_id"].notna().all()
    assert set(table["territory_id"]) == {"E", "W"}
    assert (table["postal_code"].str.len() == 5).all()
    assert set(table["basis"]) == {"cell", "nearest zip"}  # military ZIPs have no location


def test_zip_table_agrees_with_the_accounts_when_no_zip_is_split():
    sample = load_sample()
    accounts = sample.accounts
    by_state = accounts[schema.STATE].map(lambda s: "A" if s < "M" else "B")  # whole ZIPs per territory
    table = zip_territory_table(territory_shapes(accounts, by_state)).set_index("postal_code")
    assert (table.loc[accounts[schema.POSTAL_CODE], "territory_id"].to_numpy() == by_state.to_numpy()).all()


def test_zip_table_is_consistent_with_the_shapes(four_cities):
    """Each ZIP's centroid (on land) lies in the shape of the territory the table gives it."""
    _, _, shapes = four_cities
    table = zip_territory_table(shapes)
    slots = table["postal_code"].astype(int).to_numpy()
    lon, lat = ZIPS.longitude[slots], ZIPS.latitude[slots]
    on_land = np.isfinite(lon) & shapely.intersects_xy(us_land(), np.nan_to_num(lon), np.nan_to_num(lat))
    geoms = np.array([shapes.shape(t) for t in table["territory_id"]], dtype=object)
    assert on_land.sum() > 40_000
    assert shapely.intersects_xy(geoms[on_land], lon[on_land], lat[on_land]).all()


# --- neighbours -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [20, 50, 100])
def test_neighbours_hold_every_pair_of_shapes_that_share_a_border(k):
    from territory.planning.geography import territory_neighbours
    from tests.factories import clustered_alignment, shape_borders

    sample = load_sample()
    labels = sample.accounts["territory_id"] if k == 20 else clustered_alignment(sample.accounts, k)
    ids, pairs = territory_neighbours(sample.accounts, labels)
    found = {(ids[a], ids[b]) for a, b in pairs}
    borders = shape_borders(territory_shapes(sample.accounts, labels))
    assert len(ids) == k and len(borders) >= k  # a real map: most territories have several neighbours
    assert borders <= found
    # ...and not much more (pairs facing each other across water or meeting at a corner)
    assert len(found) <= 1.6 * len(borders)


def test_neighbours_outside_the_us_and_of_a_single_territory():
    from territory.planning.geography import territory_neighbours

    # a grid over Germany: three columns of territories, west to east
    lon, lat = np.meshgrid(np.linspace(7.0, 13.0, 9), np.linspace(48.0, 53.0, 6))
    accounts = pd.DataFrame({schema.LATITUDE: lat.ravel(), schema.LONGITUDE: lon.ravel()})
    labels = pd.Series(np.array(["W", "M", "E"])[np.minimum(np.arange(lon.size) % 9 // 3, 2)])
    ids, pairs = territory_neighbours(accounts, labels)
    assert ids == ("E", "M", "W")
    assert {(ids[a], ids[b]) for a, b in pairs} == {("E", "M"), ("M", "W")}  # west and east never meet
    ids, pairs = territory_neighbours(accounts, pd.Series("T1", index=accounts.index))
    assert ids == ("T1",) and pairs.shape == (0, 2)


# --- industry teams overlaid on geographic territories -----------------------------------------------


@pytest.fixture(scope="module")
def sample_with_teams():
    """The sample balanced with a Healthcare team of three territories over 19 geographic ones (its
    locked accounts hold 19)."""
    from territory.balance import BalanceParams, balance

    sample = load_sample()
    params = BalanceParams(n_territories=22, industry_teams=("Healthcare",),
                           industry_team_sizes=(("Healthcare", 3),), seed=0)
    labels = balance(sample.accounts, params, sample.territories).assignment[schema.TERRITORY_ID]
    return sample.accounts, labels, territory_shapes(sample.accounts, labels)


def test_team_territories_are_named_by_the_engine_and_hold_their_industry(sample_with_teams):
    from territory.planning.geography import team_territories

    accounts, labels, _ = sample_with_teams
    assert team_territories(accounts, labels) == {"HC-1": "Healthcare", "HC-2": "Healthcare", "HC-3": "Healthcare"}
    # a geographic territory that happens to be named like a team holds every industry: not a team
    renamed = labels.replace({"T01": "HC-9"})
    assert "HC-9" not in team_territories(accounts, renamed)
    assert team_territories(accounts.drop(columns=[schema.INDUSTRY]), labels) == {}


def test_team_territories_overlay_the_geographic_ones_and_keep_them_drawn(sample_with_teams):
    accounts, labels, shapes = sample_with_teams
    # the team territories are a layer of their own, not 3 more cells of one tessellation (where they
    # lost most ZIPs to the geographic territories and with one team territory read as owner-based)
    assert shapes.geographic
    assert not any(t.startswith("HC-") for t in shapes.territory_ids) and len(shapes.territory_ids) == 19
    assert shapes.overlap_area() == pytest.approx(0.0, abs=1e-9)  # geographic shapes: no overlap
    (team,) = shapes.teams
    assert team.industry == "Healthcare" and team.shapes.territory_ids == ("HC-1", "HC-2", "HC-3")
    assert team.shapes.overlap_area() == pytest.approx(0.0, abs=1e-9)  # the team's own shapes: no overlap
    team_area = shapely.union_all(team.shapes.geometries)
    base_area = shapely.union_all(shapes.geometries)
    # by design: the team covers the same country as the geographic territories, on top of them
    assert shapely.intersection(team_area, base_area).area == pytest.approx(base_area.area, rel=1e-3)
    assert shapes.team_of("HC-2") == "Healthcare" and shapes.team_of("T02") is None
    assert shapes.shape("HC-2").area > 1
    inside = inside_own_shape(shapes, accounts, labels)
    assert (~inside).sum() == shapes.accounts_outside and shapes.accounts_outside < 0.02 * len(accounts)
    assert shapes.accounts == len(accounts)


def test_zip_table_of_a_team_alignment_names_geographic_territories(sample_with_teams):
    _, _, shapes = sample_with_teams
    table = zip_territory_table(shapes)
    assert len(table) == int(ZIPS.known.sum()) and table["territory_id"].notna().all()
    assert not table["territory_id"].str.startswith("HC-").any()


def test_team_territories_neighbour_their_team_and_the_geographic_territories_they_overlay(sample_with_teams):
    from territory.planning.geography import territory_neighbours

    accounts, labels, shapes = sample_with_teams
    ids, pairs = territory_neighbours(accounts, labels)
    named = {(ids[a], ids[b]) for a, b in pairs}
    assert ("HC-1", "HC-2") in named or ("HC-2", "HC-3") in named  # the team's own borders
    over = {b for a, b in named if a.startswith("HC-")} | {a for a, b in named if b.startswith("HC-")}
    assert len(over - {"HC-1", "HC-2", "HC-3"}) >= 10  # a team territory lies over many geographic ones
    # geographic territories border each other as their own shapes do (the team's accounts left out)
    geographic = {(a, b) for a, b in named if not a.startswith("HC-") and not b.startswith("HC-")}
    alone = ~labels.str.startswith("HC-").to_numpy(dtype=bool)
    geo_ids, geo_pairs = territory_neighbours(accounts[alone], labels[alone])
    assert geographic == {(geo_ids[a], geo_ids[b]) for a, b in geo_pairs}
