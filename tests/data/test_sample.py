"""The shipped sample: canonical schema, consistent numbers, reproducible files, and a story to tell."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from territory.data import schema as S
from territory.data.sample import SAMPLE_DIR, Dataset, load_sample, us_states_geojson
from territory.data.workload import INDUSTRIES, derive_workload_hours

LOWER_48_AND_DC = frozenset(
    "AL AZ AR CA CO CT DE DC FL GA ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
EXPECTED_QUARTERS = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
SAMPLE_FILES = ("accounts.csv", "territories.csv", "bookings.csv")


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_sample()


@pytest.fixture(scope="module")
def accounts_with_region(data: Dataset) -> pd.DataFrame:
    return data.accounts.merge(data.territories[[S.TERRITORY_ID, S.REGION]], on=S.TERRITORY_ID)


# --- schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "schema"),
    [("accounts", S.ACCOUNT_SCHEMA), ("territories", S.TERRITORY_SCHEMA), ("bookings", S.BOOKING_SCHEMA)],
)
def test_tables_have_canonical_columns_and_dtypes(data: Dataset, table: str, schema) -> None:
    frame = getattr(data, table)
    assert list(frame.columns) == [c.name for c in schema]
    for column in schema:
        assert str(frame[column.name].dtype) == column.dtype, column.name


def test_about_5000_unique_accounts_with_readable_ids(data: Dataset) -> None:
    ids = data.accounts[S.ACCOUNT_ID]
    assert 4_500 <= len(ids) <= 5_500
    assert ids.is_unique
    assert ids.str.fullmatch(r"A\d{6}").all()
    assert data.accounts[S.NAME].notna().all() and data.accounts[S.NAME].is_unique


def test_required_values_are_present(data: Dataset) -> None:
    accounts = data.accounts
    for column in (S.LATITUDE, S.LONGITUDE, S.POSTAL_CODE, S.STATE, S.INDUSTRY, S.REVENUE, S.POTENTIAL,
                   S.WORKLOAD_HOURS, S.TERRITORY_ID, S.LOCKED):
        assert accounts[column].notna().all(), column
    assert (accounts[S.COUNTRY] == "US").all()
    assert set(accounts[S.INDUSTRY]) == set(INDUSTRIES)


def test_accounts_sit_at_real_zip_centroids_in_the_continental_us(data: Dataset) -> None:
    import zipcodes

    accounts = data.accounts
    assert set(accounts[S.STATE]) <= LOWER_48_AND_DC
    assert accounts[S.LATITUDE].between(24.4, 49.5).all()
    assert accounts[S.LONGITUDE].between(-124.9, -66.9).all()
    assert accounts[S.POSTAL_CODE].str.fullmatch(r"\d{5}").all()
    for row in accounts.sample(50, random_state=0).itertuples():
        (record,) = zipcodes.matching(row.postal_code)
        assert record["state"] == row.state
        assert float(record["lat"]) == pytest.approx(row.latitude)
        assert float(record["long"]) == pytest.approx(row.longitude)


def test_accounts_cluster_around_metros_with_some_rural_scatter(data: Dataset) -> None:
    from territory.data.workload import is_metro

    metro_share = is_metro(data.accounts[S.LATITUDE], data.accounts[S.LONGITUDE]).mean()
    assert 0.6 < metro_share < 0.95
    # Many accounts share a few dense ZIPs, like real customer bases do.
    assert data.accounts[S.POSTAL_CODE].nunique() < 0.8 * len(data.accounts)


# --- consistent numbers -----------------------------------------------------------------------


def test_workload_follows_the_documented_rule_exactly(data: Dataset) -> None:
    accounts = data.accounts
    expected = derive_workload_hours(
        accounts[S.POTENTIAL], accounts[S.INDUSTRY], accounts[S.LATITUDE], accounts[S.LONGITUDE]
    )
    np.testing.assert_array_equal(accounts[S.WORKLOAD_HOURS].to_numpy(), expected.to_numpy())


def test_revenue_is_the_sum_of_the_last_four_quarters(data: Dataset) -> None:
    last_four = data.bookings[data.bookings[S.QUARTER].isin(EXPECTED_QUARTERS[-4:])]
    t12m = last_four.groupby(S.ACCOUNT_ID)[S.AMOUNT].sum()
    revenue = data.accounts.set_index(S.ACCOUNT_ID)[S.REVENUE]
    expected = t12m.reindex(revenue.index, fill_value=0.0)
    np.testing.assert_allclose(revenue.to_numpy(), expected.to_numpy(), atol=0.05)
    assert (revenue > 0).mean() > 0.7  # most accounts are customers, some are prospects
    assert (revenue == 0).sum() > 100


def test_money_is_positive_and_revenue_below_potential(data: Dataset) -> None:
    accounts = data.accounts
    assert (accounts[S.POTENTIAL] > 0).all()
    assert (accounts[S.REVENUE] >= 0).all()
    assert (data.bookings[S.AMOUNT] >= 0).all()
    assert accounts[S.REVENUE].sum() < accounts[S.POTENTIAL].sum()


def test_bookings_cover_eight_quarters_for_every_account_with_history(data: Dataset) -> None:
    bookings = data.bookings
    assert sorted(bookings[S.QUARTER].unique()) == EXPECTED_QUARTERS
    per_account = bookings.groupby(S.ACCOUNT_ID)[S.QUARTER].nunique()
    assert (per_account == 8).all()
    assert set(bookings[S.ACCOUNT_ID]) <= set(data.accounts[S.ACCOUNT_ID])
    assert not bookings.duplicated([S.ACCOUNT_ID, S.QUARTER]).any()


def test_bookings_show_q4_seasonality_and_churn(data: Dataset) -> None:
    by_quarter = data.bookings.groupby(S.QUARTER)[S.AMOUNT].sum()
    assert by_quarter["2025Q4"] > 1.15 * by_quarter[["2025Q3", "2026Q1"]].max()
    assert by_quarter["2024Q4"] > 1.15 * by_quarter["2025Q1"]
    wide = data.bookings.pivot(index=S.ACCOUNT_ID, columns=S.QUARTER, values=S.AMOUNT)[EXPECTED_QUARTERS]
    churned = (wide[EXPECTED_QUARTERS[:4]].sum(axis=1) > 0) & (wide[EXPECTED_QUARTERS[-2:]].sum(axis=1) == 0)
    assert 50 <= churned.sum() <= 400


def test_growth_is_uneven_west_grows_east_declines(data: Dataset, accounts_with_region) -> None:
    merged = data.bookings.merge(accounts_with_region[[S.ACCOUNT_ID, S.REGION]], on=S.ACCOUNT_ID)
    yearly = merged.assign(recent=merged[S.QUARTER].isin(EXPECTED_QUARTERS[-4:]))
    totals = yearly.groupby([S.REGION, "recent"])[S.AMOUNT].sum().unstack()
    growth = totals[True] / totals[False] - 1
    assert growth["West"] > 0.05
    assert growth["East"] < -0.05
    assert growth.idxmax() == "West" and growth.idxmin() == "East"


# --- alignment and reps -----------------------------------------------------------------------


def test_twenty_territories_in_four_regions_drawn_along_state_lines(data: Dataset) -> None:
    territories = data.territories
    assert territories[S.TERRITORY_ID].tolist() == [f"T{i:02d}" for i in range(1, 21)]
    assert set(territories[S.REGION]) == {"West", "Central", "South", "East"}
    assert territories[S.REP_NAME].is_unique
    assert set(data.accounts[S.TERRITORY_ID]) == set(territories[S.TERRITORY_ID])
    # Whole states: every state's accounts belong to exactly one territory.
    assert (data.accounts.groupby(S.STATE)[S.TERRITORY_ID].nunique() == 1).all()


def test_capacity_is_full_time_except_one_or_two_ramping_reps(data: Dataset) -> None:
    capacity = data.territories[S.CAPACITY_FTE]
    assert set(capacity) <= {0.5, 1.0}
    assert 1 <= (capacity == 0.5).sum() <= 2


def test_about_one_percent_of_accounts_locked_and_they_are_big(data: Dataset) -> None:
    accounts = data.accounts
    locked = accounts[S.LOCKED]
    assert 0.005 <= locked.mean() <= 0.02
    assert accounts.loc[locked, S.POTENTIAL].min() >= accounts[S.POTENTIAL].quantile(0.9)


def test_rep_home_bases_lie_inside_their_territory(data: Dataset) -> None:
    outlines = {f["properties"]["abbr"]: shape(f["geometry"]) for f in us_states_geojson()["features"]}
    states_of = data.accounts.groupby(S.TERRITORY_ID)[S.STATE].unique()
    for row in data.territories.itertuples():
        area = unary_union([outlines[s] for s in states_of[row.territory_id]]).buffer(0.05)
        assert area.contains(Point(row.home_longitude, row.home_latitude)), row.territory_id


# --- the story --------------------------------------------------------------------------------


def test_current_alignment_is_out_of_balance_worth_fixing(data: Dataset) -> None:
    workload = data.accounts.groupby(S.TERRITORY_ID)[S.WORKLOAD_HOURS].sum()
    capacity = data.territories.set_index(S.TERRITORY_ID)[S.CAPACITY_FTE].reindex(workload.index)
    assert workload.max() / workload.min() > 2
    assert (workload > 1.25 * workload.mean()).sum() >= 3
    assert (workload < 0.7 * workload.mean()).sum() >= 3
    per_fte = workload / capacity
    assert per_fte.max() / per_fte.min() > 2  # still unbalanced after allowing for part-time reps


def test_industries_are_concentrated_in_different_places(accounts_with_region) -> None:
    share = pd.crosstab(accounts_with_region[S.INDUSTRY], accounts_with_region[S.REGION], normalize="index")
    assert share.loc["Energy"].max() > 0.5
    assert share.loc["Energy"].idxmax() == "Central"
    assert share.loc["Technology"].idxmax() == "West"
    assert share.loc["Government"].idxmax() == "East"
    assert share.loc["Manufacturing"].idxmax() == "Central"
    # Healthcare and Retail are everywhere: no region holds much more than its share of accounts.
    overall = accounts_with_region[S.REGION].value_counts(normalize=True)
    for industry in ("Healthcare", "Retail"):
        assert (share.loc[industry] - overall).abs().max() < 0.08, industry


def test_industries_have_different_revenue_profiles(data: Dataset) -> None:
    median_potential = data.accounts.groupby(S.INDUSTRY)[S.POTENTIAL].median()
    assert median_potential["Energy"] > 2 * median_potential["Retail"]


def test_penetration_differs_by_region(accounts_with_region) -> None:
    totals = accounts_with_region.groupby(S.REGION)[[S.REVENUE, S.POTENTIAL]].sum()
    penetration = totals[S.REVENUE] / totals[S.POTENTIAL]
    assert penetration.idxmin() == "South"
    assert penetration.max() > 1.8 * penetration.min()


# --- files, caching, boundaries ---------------------------------------------------------------


def test_generator_is_deterministic_and_matches_the_shipped_files(tmp_path) -> None:
    script = SAMPLE_DIR / "make_sample.py"
    command = [sys.executable, str(script), "--output-dir", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True)
    for name in SAMPLE_FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name


def test_sample_files_stay_small() -> None:
    total = sum((SAMPLE_DIR / name).stat().st_size for name in SAMPLE_FILES)
    assert total < 5 * 1024 * 1024


def test_load_sample_returns_copies_the_caller_may_change(data: Dataset) -> None:
    first = load_sample()
    first.accounts.loc[:, S.REVENUE] = -1.0
    first.territories.loc[:, S.REP_NAME] = "nobody"
    second = load_sample()
    assert (second.accounts[S.REVENUE] >= 0).all()
    assert (second.territories[S.REP_NAME] != "nobody").all()
    pd.testing.assert_frame_equal(second.accounts, data.accounts)


def test_us_states_geojson_has_the_lower_48_and_dc() -> None:
    collection = us_states_geojson()
    assert collection["type"] == "FeatureCollection"
    abbrs = {f["properties"]["abbr"] for f in collection["features"]}
    assert LOWER_48_AND_DC <= abbrs
    names = {f["properties"]["abbr"]: f["properties"]["name"] for f in collection["features"]}
    assert names["TX"] == "Texas" and names["DC"] == "District of Columbia"
    for feature in collection["features"]:
        geometry = shape(feature["geometry"])
        assert geometry.is_valid and not geometry.is_empty, feature["properties"]["abbr"]
    collection["features"].clear()
    assert len(us_states_geojson()["features"]) >= 49  # callers get their own copy


def test_geojson_file_is_small_and_compact() -> None:
    path = SAMPLE_DIR / "us_states.geojson"
    assert path.stat().st_size < 600 * 1024
    text = path.read_text(encoding="utf-8")
    coordinates = json.loads(text)["features"][0]["geometry"]["coordinates"]
    while isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    assert all(round(value, 4) == value for value in coordinates)


# --- the sample speaks the same language as the rest of the package ---------------------------


def test_sample_files_import_cleanly_through_the_importer(data: Dataset) -> None:
    from territory.data.io import load_accounts, load_bookings, load_territories

    result = load_accounts(SAMPLE_DIR / "accounts.csv")
    assert result.report.rows_rejected == 0
    assert result.report.warnings == []
    loaded = result.accounts[list(S.ACCOUNT_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded, data.accounts)
    pd.testing.assert_frame_equal(load_territories(SAMPLE_DIR / "territories.csv"), data.territories)
    pd.testing.assert_frame_equal(load_bookings(SAMPLE_DIR / "bookings.csv"), data.bookings)


def test_current_territories_are_each_one_connected_piece(data: Dataset) -> None:
    from territory.geo import count_pieces, delaunay_neighbors

    adjacency = delaunay_neighbors(data.accounts[S.LATITUDE].to_numpy(), data.accounts[S.LONGITUDE].to_numpy())
    pieces = count_pieces(adjacency, data.accounts[S.TERRITORY_ID])
    assert (pieces == 1).all(), pieces[pieces > 1].to_dict()
