"""Per-territory table and scorecard on tiny hand-computed alignments."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest

from territory.data import schema
from territory.errors import ParameterError
from territory.geo import EARTH_RADIUS_KM, delaunay_neighbors
from territory.planning import metrics
from territory.planning.metrics import (
    TABLE_COLUMNS,
    industry_matrix,
    pareto_curve,
    scorecard,
    territory_table,
    top_share,
)
from tests.factories import make_accounts

ONE_DEGREE_KM = np.pi * EARTH_RADIUS_KM / 180.0


def test_doctests_in_metrics_pass():
    result = doctest.testmod(metrics)
    assert result.attempted >= 10
    assert result.failed == 0


# --- territory table --------------------------------------------------------------------------


def test_two_territories_90_110_deviate_10_percent_each_way():
    table = territory_table(make_accounts(workload_hours=[90.0, 110.0]), ["T1", "T2"])
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["target"].tolist() == [100.0, 100.0]
    assert table["deviation_pct"].tolist() == pytest.approx([-10.0, 10.0])
    assert table["utilisation_pct"].tolist() == pytest.approx([90.0, 110.0])


def test_half_fte_territory_with_half_the_load_is_on_target():
    accounts = make_accounts(workload_hours=[100.0, 50.0])
    territories = pd.DataFrame({"territory_id": ["FULL", "HALF"], "capacity_fte": [1.0, 0.5]})
    table = territory_table(accounts, ["FULL", "HALF"], territories=territories)
    assert table["target"].tolist() == pytest.approx([100.0, 50.0])
    assert table["deviation_pct"].tolist() == pytest.approx([0.0, 0.0])
    assert table["utilisation_pct"].tolist() == pytest.approx([100.0, 100.0])


def test_every_listed_territory_appears_even_without_accounts_and_extra_labels_are_added():
    accounts = make_accounts(workload_hours=[10.0, 20.0], latitude=[0.0, 0.0], longitude=[0.0, 1.0])
    territories = pd.DataFrame({"territory_id": ["T2", "T9"], "rep_name": ["Bo", "Ann"], "capacity_fte": [1.0, np.nan]})
    table = territory_table(accounts, ["T1", "T2"], territories=territories)
    assert table["territory_id"].tolist() == ["T2", "T9", "T1"]
    empty = table.set_index("territory_id").loc["T9"]
    assert empty["accounts"] == 0 and empty["pieces"] == 0
    assert empty["deviation_pct"] == pytest.approx(-100.0)
    assert empty["capacity_fte"] == 1.0 and empty["rep_name"] == "Ann"
    assert pd.isna(table.set_index("territory_id").loc["T1", "rep_name"])


def test_unassigned_accounts_are_left_out_of_every_territory():
    accounts = make_accounts(workload_hours=[10.0, 20.0, 1000.0])
    table = territory_table(accounts, ["T1", "T2", None])
    assert table["workload_hours"].tolist() == [10.0, 20.0]
    assert table["target"].tolist() == [15.0, 15.0]


def test_labels_series_is_aligned_by_index_not_position():
    accounts = make_accounts(workload_hours=[1.0, 2.0, 3.0])
    labels = pd.Series(["B", "A", "A"], index=accounts.index)[::-1]  # same labels, reversed order
    table = territory_table(accounts, labels).set_index("territory_id")
    assert table.loc["A", "workload_hours"] == 5.0 and table.loc["B", "workload_hours"] == 1.0


def test_labels_of_the_wrong_length_raise_parameter_error():
    with pytest.raises(ParameterError, match="2 values for 3 accounts"):
        territory_table(make_accounts(workload_hours=[1.0, 2.0, 3.0]), ["T1", "T2"])


def test_distance_is_to_the_workload_weighted_centroid_never_the_rep_home():
    accounts = make_accounts(workload_hours=[1.0, 1.0], latitude=[0.0, 0.0], longitude=[0.0, 2.0])
    row = territory_table(accounts, ["T", "T"]).iloc[0]
    assert (row["center_latitude"], row["center_longitude"]) == pytest.approx((0.0, 1.0))
    assert row["mean_distance_km"] == pytest.approx(ONE_DEGREE_KM)
    # A rep home far away changes nothing: the centre comes from the accounts and labels alone.
    home = pd.DataFrame({"territory_id": ["T"], "home_latitude": [0.0], "home_longitude": [0.0]})
    at_home = territory_table(accounts, ["T", "T"], territories=home).iloc[0]
    assert at_home["center_longitude"] == pytest.approx(1.0)
    assert at_home["mean_distance_km"] == pytest.approx(ONE_DEGREE_KM)
    assert at_home["max_distance_km"] == pytest.approx(ONE_DEGREE_KM)
    assert "center_source" not in TABLE_COLUMNS


def test_centre_and_distance_do_not_depend_on_the_territory_names():
    accounts = make_accounts(workload_hours=[1.0, 2.0, 3.0, 4.0], latitude=[0.0, 0.0, 5.0, 5.0],
                             longitude=[0.0, 1.0, 0.0, 1.0])
    a = metrics.account_distances(accounts, ["T1", "T1", "T2", "T2"])
    b = metrics.account_distances(accounts, ["T2", "T2", "T1", "T1"])
    np.testing.assert_array_equal(a, b)
    assert metrics.weighted_mean_distance_km(accounts, ["T1", "T1", "T2", "T2"]) == scorecard(
        accounts, ["T2", "T2", "T1", "T1"])["weighted_mean_distance_km"]


def test_a_territory_without_workload_gets_the_plain_centroid():
    accounts = make_accounts(workload_hours=[0.0, 0.0, 5.0], latitude=[0.0, 0.0, 9.0], longitude=[0.0, 2.0, 9.0])
    centres = metrics.territory_centres(accounts, ["Z", "Z", "W"]).set_index("territory_id")
    assert centres.loc["Z", "longitude"] == pytest.approx(1.0)
    assert centres.loc["W", "latitude"] == pytest.approx(9.0)
    row = territory_table(accounts, ["Z", "Z", "W"]).set_index("territory_id").loc["Z"]
    assert row["weighted_mean_distance_km"] == pytest.approx(ONE_DEGREE_KM)  # no workload: plain mean
    # ... and it carries no weight in the scorecard's workload-weighted mean (W's one account is at 0 km)
    assert scorecard(accounts, ["Z", "Z", "W"])["weighted_mean_distance_km"] == pytest.approx(0.0, abs=1e-6)


def test_distances_work_across_the_antimeridian():
    accounts = make_accounts(workload_hours=[1.0, 1.0], latitude=[-17.0, -17.0], longitude=[179.5, -179.5])
    row = territory_table(accounts, ["FJ", "FJ"]).iloc[0]
    assert abs(row["center_longitude"]) == pytest.approx(180.0)
    assert row["max_distance_km"] < 60  # not 38,000 km round the wrong way


def test_weighted_mean_distance_weights_by_workload():
    # 3 h at 0 degrees and 1 h at 4 degrees: the centre is the weighted centroid, near 1 degree
    accounts = make_accounts(workload_hours=[3.0, 1.0], latitude=[0.0, 0.0], longitude=[0.0, 4.0])
    row = territory_table(accounts, ["T", "T"]).iloc[0]
    centre = row["center_longitude"]
    assert centre == pytest.approx(np.degrees(np.arctan2(np.sin(np.radians(4)), 3 + np.cos(np.radians(4)))))
    near, far = centre * ONE_DEGREE_KM, (4 - centre) * ONE_DEGREE_KM
    assert row["mean_distance_km"] == pytest.approx((near + far) / 2)
    assert row["weighted_mean_distance_km"] == pytest.approx((3 * near + far) / 4)
    assert scorecard(accounts, ["T", "T"])["weighted_mean_distance_km"] == pytest.approx((3 * near + far) / 4)


def test_top_industry_is_by_revenue_and_concentration_is_herfindahl():
    accounts = make_accounts(
        industry=["Retail", "Retail", "Retail", "Energy", "Energy", None],
        revenue=[10.0, 10.0, 10.0, 60.0, 50.0, 5.0],
    )
    table = territory_table(accounts, ["A", "A", "A", "A", "B", "B"], balance_on="revenue").set_index("territory_id")
    assert table.loc["A", "top_industry"] == "Energy"  # 60 of revenue beats 3 accounts with 30
    assert table.loc["A", "industry_concentration"] == pytest.approx((1 / 3) ** 2 + (2 / 3) ** 2)
    assert table.loc["B", "industry_concentration"] == pytest.approx((50 / 55) ** 2 + (5 / 55) ** 2)


def test_single_industry_territory_has_concentration_one():
    accounts = make_accounts(industry=["Retail", "Retail"], revenue=[1.0, 2.0])
    assert territory_table(accounts, ["A", "A"])["industry_concentration"].tolist() == [1.0]


def test_two_clusters_are_one_piece_each_and_interleaving_is_counted():
    rng = np.random.default_rng(0)
    lat = np.r_[rng.normal(40, 0.3, 20), rng.normal(34, 0.3, 20)]
    lon = np.r_[rng.normal(-74, 0.3, 20), rng.normal(-118, 0.3, 20)]
    accounts = make_accounts(workload_hours=np.ones(40), latitude=lat, longitude=lon)
    clean = territory_table(accounts, ["NY"] * 20 + ["LA"] * 20)
    assert clean["pieces"].tolist() == [1, 1]
    # one NY account handed to LA: LA now has a stray piece in New York
    swapped = ["NY"] * 20 + ["LA"] * 20
    innermost = int(np.argmin((lat[:20] - lat[:20].mean()) ** 2 + (lon[:20] - lon[:20].mean()) ** 2))
    swapped[innermost] = "LA"
    assert territory_table(accounts, swapped).set_index("territory_id").loc["LA", "pieces"] == 2


def test_pieces_are_missing_without_coordinates():
    table = territory_table(make_accounts(workload_hours=[1.0]), ["T"])
    assert pd.isna(table["pieces"].iloc[0])


def test_wrong_size_adjacency_is_rejected():
    accounts = make_accounts(workload_hours=[1.0, 2.0], latitude=[0.0, 1.0], longitude=[0.0, 1.0])
    with pytest.raises(ParameterError, match="adjacency is 3 x 3"):
        territory_table(accounts, ["A", "B"], adjacency=delaunay_neighbors([0, 1, 2], [0, 1, 2]))


# --- scorecard --------------------------------------------------------------------------------


def test_scorecard_of_loads_90_and_110():
    card = scorecard(make_accounts(workload_hours=[90.0, 110.0]), ["T1", "T2"])
    assert card["territories"] == 2
    assert card["max_deviation_pct"] == pytest.approx(10.0)
    assert card["cv"] == pytest.approx(0.1)
    assert card["gini"] == pytest.approx(0.05)  # |90 - 110| * 2 / (2 * 2^2 * 100)
    assert card["max_min_ratio"] == pytest.approx(110 / 90)
    assert card["measures"]["workload"]["cv"] == card["workload_cv"] == card["cv"]


def test_equal_loads_have_zero_gini_and_zero_cv():
    card = scorecard(make_accounts(workload_hours=[5.0, 5.0, 5.0]), ["A", "B", "C"])
    assert card["gini"] == 0.0 and card["cv"] == 0.0 and card["max_deviation_pct"] == 0.0
    assert card["max_min_ratio"] == 1.0


def test_half_fte_with_half_the_load_is_perfectly_balanced_after_capacity_adjustment():
    accounts = make_accounts(workload_hours=[100.0, 50.0])
    territories = pd.DataFrame({"territory_id": ["FULL", "HALF"], "capacity_fte": [1.0, 0.5]})
    card = scorecard(accounts, ["FULL", "HALF"], territories=territories)
    assert card["max_deviation_pct"] == pytest.approx(0.0)
    assert card["cv"] == pytest.approx(0.0)
    assert card["gini"] == pytest.approx(0.0)


def test_empty_territory_makes_max_min_ratio_none():
    territories = pd.DataFrame({"territory_id": ["A", "B"]})
    card = scorecard(make_accounts(workload_hours=[1.0]), ["A"], territories=territories)
    assert card["max_min_ratio"] is None
    assert card["max_deviation_pct"] == pytest.approx(100.0)


def test_scorecard_covers_every_measure_and_the_chosen_balance_measure():
    accounts = make_accounts(workload_hours=[90.0, 110.0], revenue=[1.0, 3.0], potential=[2.0, 2.0])
    card = scorecard(accounts, ["T1", "T2"], balance_on="revenue")
    assert set(card["measures"]) == set(schema.MEASURES)
    assert card["max_deviation_pct"] == pytest.approx(50.0)  # revenue 1 vs 3 around 2
    assert card["potential_max_deviation_pct"] == 0.0
    assert card["accounts_cv"] == 0.0
    assert card["balance_on"] == "Revenue (USD/year)"


def test_scorecard_is_the_same_up_to_relabelling():
    rng = np.random.default_rng(4)
    accounts = make_accounts(
        workload_hours=rng.uniform(1, 10, 30),
        revenue=rng.uniform(1, 10, 30),
        latitude=rng.uniform(30, 40, 30),
        longitude=rng.uniform(-100, -90, 30),
    )
    labels = np.where(accounts["longitude"] < -95, "West", "East")
    renamed = np.where(labels == "West", "T2", "T1")
    assert scorecard(accounts, labels) == {**scorecard(accounts, renamed)}


def test_scorecard_is_strict_json():
    accounts = make_accounts(workload_hours=[1.0, 0.0], revenue=[0.0, 0.0], latitude=[0.0, 1.0], longitude=[0.0, 1.0])
    territories = pd.DataFrame({"territory_id": ["A", "B", "C"]})
    card = scorecard(accounts, ["A", "B"], previous=["A", None], territories=territories)
    json.dumps(card, allow_nan=False)
    assert all(isinstance(v, (int, float, str, bool, dict, type(None))) for v in card.values())


def test_moves_count_changed_labels_and_not_newly_assigned_accounts():
    accounts = make_accounts(workload_hours=[1.0, 2.0, 4.0, 8.0], revenue=[10.0, 20.0, 30.0, 40.0])
    card = scorecard(accounts, ["A", "B", "B", "B"], previous=["A", "A", None, "B"])
    assert card["compared_with_previous"] is True
    assert card["moved_accounts"] == 1
    assert card["moved_workload_hours"] == 2.0
    assert card["moved_revenue"] == 20.0
    assert card["moved_revenue_pct"] == pytest.approx(20.0)  # of all 100 revenue
    assert card["moved_accounts_pct"] == pytest.approx(25.0)
    assert card["newly_assigned_accounts"] == 1


def test_moved_revenue_share_is_undefined_without_revenue():
    """A file without revenue (every account 0) moves no share of revenue: the card says None
    (the Rebalance KPI shows '-'), not a reassuring 0%."""
    accounts = make_accounts(workload_hours=[1.0, 2.0], revenue=[0.0, 0.0])
    card = scorecard(accounts, ["A", "B"], previous=["A", "A"])
    assert card["moved_accounts"] == 1 and card["moved_revenue_pct"] is None


def test_without_previous_nothing_moved():
    card = scorecard(make_accounts(workload_hours=[1.0]), ["A"])
    assert card["compared_with_previous"] is False and card["moved_accounts"] == 0


def test_fragmentation_and_stray_workload():
    # along the equator: A A B A -> A is in two pieces; the stray A account has workload 1 of 7
    accounts = make_accounts(workload_hours=[3.0, 3.0, 5.0, 1.0], latitude=[0.0] * 4, longitude=[0.0, 1.0, 2.0, 3.0])
    card = scorecard(accounts, ["A", "A", "B", "A"])
    assert card["fragmented_territories"] == 1
    assert card["contiguous_territories_pct"] == pytest.approx(50.0)
    assert card["stray_workload_pct"] == pytest.approx(100 * 1 / 12)


def test_stray_piece_is_the_lighter_one_by_workload():
    # A's two accounts on the left weigh 1 + 1, the right one weighs 10: the left pair is stray
    accounts = make_accounts(workload_hours=[1.0, 1.0, 5.0, 10.0], latitude=[0.0] * 4, longitude=[0.0, 1.0, 2.0, 3.0])
    card = scorecard(accounts, ["A", "A", "B", "A"])
    assert card["stray_workload_pct"] == pytest.approx(100 * 2 / 17)


def test_contiguity_is_none_without_coordinates():
    card = scorecard(make_accounts(workload_hours=[1.0]), ["A"])
    assert card["fragmented_territories"] is None and card["stray_workload_pct"] is None


# --- industry matrix and 80/20 ----------------------------------------------------------------


def test_industry_matrix_sums_and_counts():
    accounts = make_accounts(industry=["Retail", "Energy", "Retail", None], revenue=[1.0, 5.0, 2.0, 4.0])
    revenue = industry_matrix(accounts, ["T1", "T1", "T2", "T2"])
    assert revenue.loc["Retail", "T2"] == 2.0 and revenue.loc["Other", "T2"] == 4.0
    assert revenue.index[0] == "Energy"  # largest total first
    counts = industry_matrix(accounts, ["T1", "T1", "T2", None], value="accounts")
    assert counts.to_numpy().sum() == 3.0


def test_industry_matrix_rejects_unknown_value():
    with pytest.raises(ParameterError, match="unknown value 'profit'"):
        industry_matrix(make_accounts(industry=["Retail"]), ["T1"], value="profit")


def test_pareto_curve_sorts_largest_first():
    curve = pareto_curve([1.0, 6.0, 3.0])
    assert curve["value_share"].tolist() == pytest.approx([0.0, 0.6, 0.9, 1.0])
    assert curve["account_share"].tolist() == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])


def test_top_share_of_top_20_percent():
    values = [80.0, 5.0, 5.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert top_share(values, 0.2) == pytest.approx(0.85)
    assert top_share([1.0] * 10, 0.2) == pytest.approx(0.2)
    assert np.isnan(top_share([]))
    with pytest.raises(ParameterError):
        top_share([1.0], 1.5)


def test_graph_is_reused_for_the_same_coordinates_and_rebuilt_for_new_ones():
    accounts = make_accounts(workload_hours=[1.0, 2.0, 3.0], latitude=[0.0, 0.0, 0.0], longitude=[0.0, 1.0, 2.0])
    assert territory_table(accounts, ["A", "B", "A"])["pieces"].tolist() == [2, 1]
    first = metrics._neighbour_graph(accounts["latitude"].to_numpy(float), accounts["longitude"].to_numpy(float))
    again = metrics._neighbour_graph(accounts["latitude"].to_numpy(float), accounts["longitude"].to_numpy(float))
    assert first is again
    moved = accounts.assign(latitude=[0.0, 5.0, 0.0])  # B moves away: A is joined again
    assert territory_table(moved, ["A", "B", "A"])["pieces"].tolist() == [1, 1]


def test_accounts_without_coordinates_do_not_fragment_their_territory():
    accounts = make_accounts(workload_hours=[1.0, 1.0, 1.0], latitude=[0.0, 0.0, np.nan], longitude=[0.0, 1.0, np.nan])
    card = scorecard(accounts, ["A", "A", "A"])
    assert card["fragmented_territories"] == 0 and card["stray_workload_pct"] == 0.0


def test_a_locked_account_left_inside_another_territory_is_not_a_fragment():
    # Two side-by-side blocks on a grid; one locked T1 account sits in the middle of T2's block.
    lat, lon, labels = [], [], []
    for i in range(6):
        for j in range(6):
            lat.append(40.0 + 0.1 * i)
            lon.append(-100.0 + 0.1 * j)
            labels.append("T1" if j < 3 else "T2")
    accounts = pd.DataFrame({"latitude": lat, "longitude": lon, "workload_hours": 1.0, "revenue": 1.0})
    inside_t2 = 2 * 6 + 4  # row 2, column 4: surrounded by T2
    labels[inside_t2] = "T1"
    unlocked = scorecard(accounts, labels)
    assert unlocked["fragmented_territories"] == 1  # an unlocked stray really is a fragment
    accounts["locked"] = False
    accounts.loc[inside_t2, "locked"] = True
    locked = scorecard(accounts, labels)
    assert locked["fragmented_territories"] == 0 and locked["stray_workload_pct"] == 0.0
    table = territory_table(accounts, labels)
    assert table.set_index("territory_id")["pieces"].tolist() == [1, 1]
    accounts["locked"] = True  # every account locked: nothing to count, nothing fragmented
    assert scorecard(accounts, labels)["fragmented_territories"] == 0


def test_a_territorys_own_island_is_not_a_fragment_but_an_interleaved_piece_is():
    rng = np.random.default_rng(0)
    lat = np.r_[rng.uniform(35, 45, 400), rng.uniform(19, 21.5, 20)]  # mainland, then "Hawaii"
    lon = np.r_[rng.uniform(-120, -80, 400), rng.uniform(-158, -155, 20)]
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(420)], "latitude": lat, "longitude": lon,
                             "workload_hours": 1.0})
    east_owns_hawaii = np.where(lon < -100, "W", "E")
    east_owns_hawaii[400:] = "E"  # E's main piece is far east; the islands touch only W on the graph
    card = scorecard(accounts, pd.Series(east_owns_hawaii))
    assert card["fragmented_territories"] == 0 and card["stray_workload_pct"] == 0.0
    # shared islands are interleaved: whoever is not connected there is fragmented
    shared = east_owns_hawaii.copy()
    shared[400:410] = "W"
    assert scorecard(accounts, pd.Series(shared))["fragmented_territories"] >= 1
    # a stray on the mainland, inside the other territory, still counts
    inside = east_owns_hawaii.copy()
    inside[np.flatnonzero((lon > -112) & (lon < -110))[:3]] = "E"
    assert scorecard(accounts, pd.Series(inside))["fragmented_territories"] == 1


def test_the_benchmark_tables_measure_travel_and_balance_as_the_metrics_do():
    """benchmarks/bench_balance.py scores every method itself (it also scores k-means-constrained
    runs in a child process); its figures must be these metrics' figures, or the tables in docs/benchmarks.md
    and the app would disagree."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_balance
    from generate import generate_accounts

    accounts = generate_accounts(2_000, seed=1)
    labels = np.asarray(pd.qcut(accounts["longitude"], 7, labels=False).astype(str).radd("T"))
    graph = delaunay_neighbors(accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy())
    scored = bench_balance.quality(accounts, labels, graph)
    card = scorecard(accounts, labels, adjacency=graph)
    assert scored.weighted_mean_distance_km == pytest.approx(card["weighted_mean_distance_km"], rel=1e-12)
    assert scored.max_deviation_pct == pytest.approx(card["max_deviation_pct"], rel=1e-12)
    assert scored.fragmented == card["fragmented_territories"]
