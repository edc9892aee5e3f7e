"""Quarterly review on a tiny hand-made dataset: every expected number is worked out by hand.

Dataset: 4 accounts, 2 territories (T1 rep home at (0, 0), T2 at (0, 10)), 5 quarters 2025Q3..2026Q3.

    account  territory  potential  workload  bookings 25Q3 25Q4 26Q1 26Q2 26Q3
    a1       T1         1000       10                 100  100  100  100  200
    a2       T1          600       20                  50   50    0    0   50
    a3       T2         2000       30                   0    0  100  100  100
    a4       T2          400       40                  10   20   30   40   50

T1 per quarter: 150 150 100 100 250; T2: 10 20 130 140 150.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territory.errors import DataError, ParameterError
from territory.geo import haversine_km
from territory.planning import review as R

QUARTERS = ["2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
BOOKED = {
    "a1": [100, 100, 100, 100, 200],
    "a2": [50, 50, 0, 0, 50],
    "a3": [0, 0, 100, 100, 100],
    "a4": [10, 20, 30, 40, 50],
}
T1_BY_QUARTER = [150.0, 150.0, 100.0, 100.0, 250.0]
T2_BY_QUARTER = [10.0, 20.0, 130.0, 140.0, 150.0]


@pytest.fixture
def accounts() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": pd.array(["a1", "a2", "a3", "a4"], dtype="string"),
        "name": pd.array(["Alpha", "Beta", "Gamma", "=Delta"], dtype="string"),
        "latitude": [0.0, 0.0, 0.0, 0.0],
        "longitude": [1.0, 2.0, 9.0, 12.0],
        "revenue": [500.0, 100.0, 300.0, 140.0],
        "potential": [1000.0, 600.0, 2000.0, 400.0],
        "workload_hours": [10.0, 20.0, 30.0, 40.0],
        "territory_id": pd.array(["T1", "T1", "T2", "T2"], dtype="string"),
    })


@pytest.fixture
def territories() -> pd.DataFrame:
    return pd.DataFrame({
        "territory_id": pd.array(["T1", "T2"], dtype="string"),
        "rep_name": pd.array(["Ann", "Bob"], dtype="string"),
        "region": pd.array(["North", "South"], dtype="string"),
        "home_latitude": [0.0, 0.0],
        "home_longitude": [0.0, 10.0],
        "capacity_fte": [1.0, 0.5],
    })


@pytest.fixture
def bookings() -> pd.DataFrame:
    rows = [(a, q, float(v)) for a, values in BOOKED.items() for q, v in zip(QUARTERS, values) if v]
    frame = pd.DataFrame(rows, columns=["account_id", "quarter", "amount"])
    return frame.astype({"account_id": "string", "quarter": "string"})


def lenient(**changes) -> R.ReviewSettings:
    """Settings under which nothing flags, so one threshold at a time can be tested; far_km alone
    decides "far" (far_reach_factor 0) unless a test sets the factor."""
    base = dict(max_utilisation_pct=1e6, max_accounts_per_fte=1e6, far_km=1e6, far_reach_factor=0.0,
                high_potential_ratio=100.0, low_penetration_pct=0.0, max_quota_vs_potential_pct=1e6,
                max_quota_vs_last_pct=1e6, quota_total=1000.0)
    base.update(changes)
    return R.ReviewSettings(**base)


def kinds(review: R.QuarterlyReview, territory: str | None = None) -> list[str]:
    flags = review.flags
    if territory is not None:
        flags = flags[flags["territory_id"] == territory]
    return flags["flag"].tolist()


# --- quarters -------------------------------------------------------------------------------------


def test_quarter_arithmetic_crosses_years():
    assert R.next_quarter("2026Q4") == "2027Q1"
    assert R.quarter_index("2026Q1") - R.quarter_index("2025Q1") == 4
    assert R.quarter_index("Q3 2026") == R.quarter_index("2026-Q3") == R.quarter_index("2026Q3")
    with pytest.raises(DataError, match="2026Q3"):
        R.quarter_index("2026 third")


# --- aggregation ----------------------------------------------------------------------------------


def test_bookings_by_territory_by_hand(accounts, bookings, territories):
    table, notes = R.bookings_by_territory(accounts, accounts["territory_id"], bookings, territories)
    assert list(table.columns) == QUARTERS
    assert table.loc["T1"].tolist() == T1_BY_QUARTER
    assert table.loc["T2"].tolist() == T2_BY_QUARTER
    assert notes == []


def test_a_moved_account_takes_its_bookings_along(accounts, bookings, territories):
    """Scenario: a2 moves from T1 to T2; its bookings (50, 50, 0, 0, 50) follow it, in every quarter."""
    scenario = pd.Series({"a1": "T1", "a2": "T2", "a3": "T2", "a4": "T2"})  # indexed by account_id
    table, _ = R.bookings_by_territory(accounts, scenario, bookings, territories)
    assert table.loc["T1"].tolist() == [100.0, 100.0, 100.0, 100.0, 200.0]
    assert table.loc["T2"].tolist() == [60.0, 70.0, 130.0, 140.0, 200.0]
    # the total does not depend on the alignment
    assert table.to_numpy().sum() == sum(T1_BY_QUARTER) + sum(T2_BY_QUARTER)
    review = R.build_review(accounts, scenario, bookings, territories, lenient())
    row = review.table.set_index("territory_id")
    assert row.loc["T2", "accounts"] == 3 and row.loc["T1", "accounts"] == 1
    assert row.loc["T2", "potential"] == 600.0 + 2000.0 + 400.0


def test_scenario_labels_missing_an_account_keep_its_own_territory(accounts):
    partial = pd.Series({"a2": "T2"})
    aligned = R.align_labels(accounts, partial)
    assert aligned.tolist() == ["T1", "T2", "T2", "T2"]


def test_gap_quarters_are_zero_and_unknown_accounts_are_reported(accounts):
    bookings = pd.DataFrame({"account_id": ["a1", "a1", "zz"], "quarter": ["2025Q1", "2025Q3", "2025Q3"],
                             "amount": [5.0, 7.0, 99.0]})
    table, notes = R.bookings_by_territory(accounts, accounts["territory_id"], bookings)
    assert list(table.columns) == ["2025Q1", "2025Q2", "2025Q3"]
    assert table.loc["T1"].tolist() == [5.0, 0.0, 7.0]
    assert len(notes) == 1 and "1 booking row(s) ($99)" in notes[0]


def test_bookings_without_needed_columns_say_what_is_needed(accounts):
    with pytest.raises(DataError, match="account_id, quarter"):
        R.bookings_by_territory(accounts, accounts["territory_id"], pd.DataFrame({"account_id": ["a1"]}))


# --- growth and penetration -----------------------------------------------------------------------


def test_growth_and_penetration_by_hand(accounts, bookings, territories):
    review = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient())
    t = review.table.set_index("territory_id")
    # T1: latest 250, previous 100 -> QoQ +150%; a year earlier (2025Q3) 150 -> YoY +66.67%
    assert t.loc["T1", "qoq_pct"] == pytest.approx(150.0)
    assert t.loc["T1", "yoy_pct"] == pytest.approx((250 / 150 - 1) * 100)
    # T2: 150 vs 140 -> +7.14%; vs 10 -> +1400%
    assert t.loc["T2", "qoq_pct"] == pytest.approx((150 / 140 - 1) * 100)
    assert t.loc["T2", "yoy_pct"] == pytest.approx(1400.0)
    # trailing 4 quarters: T1 150+100+100+250 = 600 of potential 1600 -> 37.5%; T2 440 / 2400
    assert t.loc["T1", "trailing_4q"] == 600.0
    assert t.loc["T1", "penetration_pct"] == pytest.approx(37.5)
    assert t.loc["T2", "trailing_4q"] == 440.0
    assert t.loc["T2", "penetration_pct"] == pytest.approx(440 / 2400 * 100)
    assert review.quarters == tuple(QUARTERS) and review.next_quarter == "2026Q4"


def test_growth_is_blank_when_the_base_is_zero():
    by_q = pd.DataFrame({"2026Q1": [0.0], "2026Q2": [10.0]}, index=["T1"])
    growth = R.growth_table(by_q)
    assert np.isnan(growth.loc["T1", "qoq_pct"]) and np.isnan(growth.loc["T1", "yoy_pct"])
    # only 2 quarters: trailing-4 is annualised, 10 x 4 / 2
    assert growth.loc["T1", "trailing_4q"] == 20.0


def test_account_trailing_bookings(accounts, bookings):
    trailing = R.account_trailing_bookings(accounts, bookings)
    assert trailing.tolist() == [500.0, 100.0, 300.0, 140.0]


# --- quota ----------------------------------------------------------------------------------------


def test_quota_blend_by_hand(accounts, bookings, territories):
    """Potential shares 1600/4000 = 0.4, 0.6; trailing-4 shares 600/1040, 440/1040."""
    review = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                            lenient(quota_total=10_000, potential_weight=0.25))
    t = review.table.set_index("territory_id")
    share_t1 = 0.25 * 0.4 + 0.75 * 600 / 1040
    assert t.loc["T1", "quota_share_pct"] == pytest.approx(share_t1 * 100)
    assert t.loc["T1", "quota"] == round(10_000 * share_t1)  # 5326.92: floor 5326 plus the leftover dollar
    assert t["quota"].sum() == 10_000
    # quota / potential compares with a quarter of the annual potential; quota / last with 2026Q3
    assert t.loc["T1", "quota_vs_potential_pct"] == pytest.approx(t.loc["T1", "quota"] / 400 * 100)
    assert t.loc["T2", "quota_vs_last_pct"] == pytest.approx(t.loc["T2", "quota"] / 150 * 100)


@pytest.mark.parametrize("total", [0, 1, 2, 999, 1000, 123_457, 31_192_503])
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 1.0])
def test_quotas_sum_exactly_to_the_total(accounts, bookings, territories, total, weight):
    review = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                            lenient(quota_total=total, potential_weight=weight))
    quotas = review.table["quota"]
    assert int(quotas.sum()) == total == review.quota_total
    assert (quotas == quotas.round()).all() and (quotas >= 0).all()


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**9),
    shares=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30),
)
def test_largest_remainder_always_adds_up(total, shares):
    parts = R.largest_remainder(total, shares)
    assert int(parts.sum()) == total
    assert (parts >= 0).all()
    weights = np.asarray(shares)
    if weights.sum() > 0:
        exact = total * weights / weights.sum()
        assert np.all(np.abs(parts - exact) < 1.0 + 1e-6)  # never more than a dollar from the exact share


def test_largest_remainder_gives_leftovers_to_largest_fractions():
    # exact: 3.5, 3.3, 3.2 -> floors 3, 3, 3 and one leftover dollar to the .5
    assert R.largest_remainder(10, [0.35, 0.33, 0.32]).tolist() == [4, 3, 3]


def test_quota_weights_fall_back_when_one_side_is_all_zero():
    potential = pd.Series([0.0, 0.0])
    recent = pd.Series([1.0, 3.0])
    assert R.quota_shares(potential, recent, 0.9).tolist() == [0.25, 0.75]
    assert R.quota_shares(recent, potential, 0.1).tolist() == [0.25, 0.75]
    capacity = pd.Series([1.0, 0.5])
    assert R.quota_shares(potential, potential, 0.5, capacity).tolist() == pytest.approx([2 / 3, 1 / 3])


def test_bad_quota_settings_are_refused(accounts, bookings):
    with pytest.raises(ParameterError, match="potential_weight"):
        R.build_review(accounts, accounts["territory_id"], bookings, settings=R.ReviewSettings(potential_weight=1.5))
    with pytest.raises(ParameterError, match="quota total"):
        R.build_review(accounts, accounts["territory_id"], bookings, settings=R.ReviewSettings(quota_total=-1))
    for factor in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="far_reach_factor"):
            R.ReviewSettings(far_reach_factor=factor).validate()
    assert R.ReviewSettings(far_reach_factor=0.0).validate().far_reach_factor == 0.0  # far_km alone


def test_default_total_is_same_quarter_last_year_plus_growth():
    by_q = pd.DataFrame({q: [v] for q, v in zip(QUARTERS, [160.0, 170.0, 230.0, 240.0, 400.0])})
    # next quarter is 2026Q4; the same quarter a year earlier is 2025Q4 = 170 -> 187
    assert R.default_quota_total(by_q, 10.0) == 187


def test_backtest_attainment_by_hand(accounts, bookings, territories):
    """2026Q3 quota from data up to 2026Q2 (T1 500, T2 300 over 4 quarters) and the Q3 total 400."""
    review = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient(potential_weight=0.5))
    t = review.table.set_index("territory_id")
    share_t1 = 0.5 * 0.4 + 0.5 * 500 / 800  # 0.5125 of 400 -> 205
    quota_t1 = round(400 * share_t1)
    assert t.loc["T1", "backtest_quota"] == quota_t1
    assert t.loc["T1", "backtest_quota"] + t.loc["T2", "backtest_quota"] == 400
    assert t.loc["T1", "attainment_pct"] == pytest.approx(250 / quota_t1 * 100)


# --- flags: exactly at the threshold no flag, beyond it a flag -------------------------------------


def test_over_capacity_threshold(accounts, bookings, territories):
    # T1 workload 30 h/yr at 1.0 FTE; T2 70 h/yr at 0.5 FTE: the team averages 100 / 1.5 h/yr per FTE,
    # so T1 carries 30 / 66.7 = 45% of a fair share and T2 70 / 33.3 = 210% (the engine's basis)
    at = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient(max_utilisation_pct=210.0))
    assert at.table.set_index("territory_id")["utilisation_pct"].round(6).to_dict() == {"T1": 45.0, "T2": 210.0}
    assert R.OVER_CAPACITY not in kinds(at)  # exactly at the threshold
    beyond = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                            lenient(max_utilisation_pct=209.99))
    assert kinds(beyond) == [R.OVER_CAPACITY] and kinds(beyond, "T2") == [R.OVER_CAPACITY]
    flag = beyond.flags.iloc[0]
    assert (flag["value"], flag["threshold"], flag["unit"]) == (pytest.approx(210.0), 209.99, "%")
    assert "T2 (Bob)" in flag["detail"] and "70 h/yr on 0.5 FTE is 210%" in flag["detail"]


def test_owner_file_at_one_fte_each_flags_only_the_owner_above_the_team_average(accounts, bookings):
    # A CRM export: owners, no territories file. Rule-estimated hours far above 1,600 h/yr per owner
    # must not flag every owner; only the one carrying more than its share does.
    heavy = accounts.assign(workload_hours=accounts["workload_hours"] * 1000)
    review = R.build_review(heavy, heavy["territory_id"], bookings, None, R.ReviewSettings())
    assert review.default_capacity == ("T1", "T2")
    assert review.table["utilisation_pct"].round(6).tolist() == [60.0, 140.0]  # 30k and 70k h/yr at 1 FTE each
    assert kinds(review).count(R.OVER_CAPACITY) == 1 and R.OVER_CAPACITY in kinds(review, "T2")
    intro = R.review_sections_html(review)[0][1]
    assert "No capacity is given for all 2 territories, so each counts as 1 FTE" in intro


def test_default_capacity_ids_names_only_the_territories_without_a_capacity(territories):
    assert R.default_capacity_ids(territories, ["T1", "T2"]) == ()
    assert R.default_capacity_ids(territories.drop(columns="capacity_fte"), ["T1", "T2"]) == ("T1", "T2")
    assert R.default_capacity_ids(territories, ["T1", "T2", "T9"]) == ("T9",)


def test_too_many_accounts_threshold(accounts, bookings, territories):
    # T1: 2 accounts at 1.0 FTE; T2: 2 accounts at 0.5 FTE -> limit 0.5 x per-FTE
    at = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient(max_accounts_per_fte=4.0))
    assert R.TOO_MANY_ACCOUNTS not in kinds(at)  # T1 2 <= 4, T2 2 <= 2
    above = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                           lenient(max_accounts_per_fte=3.99))
    assert kinds(above) == [R.TOO_MANY_ACCOUNTS] and above.flags["territory_id"].tolist() == ["T2"]


def test_far_accounts_threshold(accounts, bookings, territories):
    # a2 is the farthest T1 account from T1's home (0, 0): 2 degrees of longitude on the equator
    distance = float(haversine_km(0.0, 2.0, 0.0, 0.0))
    at = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient(far_km=distance))
    assert R.FAR_ACCOUNTS not in kinds(at, "T1")
    above = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                           lenient(far_km=distance - 0.01))
    assert R.FAR_ACCOUNTS in kinds(above, "T1")
    # a4 is 2 degrees from T2's home too: same distance, so it flags as well
    assert set(above.far_accounts["account_id"]) == {"a2", "a4"}
    detail = above.flags[above.flags["flag"] == R.FAR_ACCOUNTS]["detail"].iloc[0]
    assert "T1 (Ann)" in detail and "Beta (a2)" in detail and f"{distance:,.0f} km" in detail


def test_territory_reach_is_the_workload_weighted_90th_percentile():
    # T1: 90% of 31 h is 27.9 h, reached at the 2nd account (10 + 20 = 30 h): its distance, not the far one's
    reach = R.territory_reach_km([111.0, 222.0, 667.0, 50.0, np.nan], ["T1", "T1", "T1", "T2", "T2"],
                                 [10.0, 20.0, 1.0, np.nan, 5.0])
    assert reach.to_dict() == {"T1": 222.0, "T2": 50.0}  # T2's account without a distance is left out
    # no workload at all (blank or negative): every account weighs alike, 90% of 10 accounts is the 9th
    unweighted = R.territory_reach_km(np.arange(1.0, 11.0), ["T"] * 10, [0.0] * 9 + [-3.0])
    assert unweighted["T"] == 9.0
    # a territory of one account reaches that account
    assert R.territory_reach_km([300.0], ["T"], [0.0])["T"] == 300.0


def wide_t1(accounts: pd.DataFrame) -> pd.DataFrame:
    """The fixture plus a5 in T1 at 6 degrees east of T1's home (667 km), carrying 1 h of T1's 31 h."""
    planted = pd.DataFrame({"account_id": ["a5"], "name": ["Epsilon"], "latitude": [0.0], "longitude": [6.0],
                            "revenue": [0.0], "potential": [0.0], "workload_hours": [1.0], "territory_id": ["T1"]})
    return pd.concat([accounts, planted.astype({"account_id": "string", "name": "string",
                                                "territory_id": "string"})], ignore_index=True)


def test_the_reach_rule_raises_the_limit_for_a_wide_territory(accounts, bookings, territories):
    """T1's reach is a2's distance (222 km: a1 and a2 hold 30 of its 31 h): with far_km 100 alone all
    three T1 accounts are far; with 2 x the reach only a5, past 445 km, is."""
    wide = wide_t1(accounts)
    reach = float(haversine_km(0.0, 2.0, 0.0, 0.0))
    alone = R.build_review(wide, wide["territory_id"], bookings, territories, lenient(far_km=100.0))
    assert set(alone.far_accounts.loc[alone.far_accounts["territory_id"] == "T1", "account_id"]) == {"a1", "a2", "a5"}
    relative = R.build_review(wide, wide["territory_id"], bookings, territories,
                              lenient(far_km=100.0, far_reach_factor=2.0))
    far = relative.far_accounts[relative.far_accounts["territory_id"] == "T1"]
    assert far["account_id"].tolist() == ["a5"]
    assert far["reach_km"].iloc[0] == pytest.approx(reach)
    assert far["limit_km"].iloc[0] == pytest.approx(2 * reach)
    flag = relative.flags[(relative.flags["flag"] == R.FAR_ACCOUNTS) & (relative.flags["territory_id"] == "T1")]
    assert flag["threshold"].iloc[0] == pytest.approx(2 * reach) and flag["unit"].iloc[0] == "km"
    assert flag["value"].iloc[0] == pytest.approx(float(haversine_km(0.0, 6.0, 0.0, 0.0)))
    assert (f"than {2 * reach:,.0f} km (2 x this territory's reach of {reach:,.0f} km; at least 100 km)"
            in flag["detail"].iloc[0])
    # the floor wins where 2 x the reach is shorter: far_km 500 leaves a5 (667 km) flagged at 500 km
    floor = R.build_review(wide, wide["territory_id"], bookings, territories,
                           lenient(far_km=500.0, far_reach_factor=2.0))
    assert floor.far_accounts["limit_km"].tolist() == [500.0]
    assert "than 500 km (the floor: 2 x this territory's reach of 222 km is less)" in floor.flags["detail"].iloc[0]


def test_an_account_that_carries_no_load_weighs_nothing_in_the_reach(accounts, territories):
    """a2 (20 of T1's 30 h) does not count: the reach is then a1's 111 km, and a2 at 222 km is beyond
    1.5 x 111 (counted, T1 reaches 222 km and nothing is far)."""
    assert R.far_accounts(accounts, accounts["territory_id"], territories, 100.0, 1.5).empty
    counted = [True, False, True, True]
    far = R.far_accounts(accounts, accounts["territory_id"], territories, 100.0, 1.5, counted=counted)
    assert far.loc[far["territory_id"] == "T1", "account_id"].tolist() == ["a2"]
    assert far.loc[far["territory_id"] == "T1", "reach_km"].iloc[0] == pytest.approx(haversine_km(0.0, 1.0, 0.0, 0.0))


def test_on_the_sample_the_far_flag_names_outliers_not_every_wide_territory():
    """The sample's 20 territories cover the US: 300 km alone flags 18 of them (1,683 accounts);
    measured against each territory's own reach, 3 territories with 5 accounts are left."""
    from territory.data.sample import load_sample

    sample = load_sample()
    labels = sample.accounts["territory_id"]
    review = R.build_review(sample.accounts, labels, sample.bookings, sample.territories)
    flags = review.flags[review.flags["flag"] == R.FAR_ACCOUNTS]
    assert flags["territory_id"].tolist() == ["T04", "T19", "T20"]
    assert len(review.far_accounts) == 5
    t04 = flags.set_index("territory_id").loc["T04"]
    assert "than 835 km (2 x this territory's reach of 418 km; at least 300 km)" in t04["detail"]
    assert round(t04["threshold"]) == 835 and round(t04["value"]) == 872
    alone = R.far_accounts(sample.accounts, labels, sample.territories, 300.0, 0.0)
    assert (alone["territory_id"].nunique(), len(alone)) == (18, 1_683)


def test_a_seattle_account_in_the_miami_territory_is_flagged_with_the_territory_limit():
    from territory.data.sample import load_sample

    sample = load_sample()
    accounts = sample.accounts.copy()
    row = accounts.index[accounts["territory_id"] == "T11"][0]
    planted = str(accounts.loc[row, "account_id"])
    accounts.loc[row, ["latitude", "longitude"]] = [47.61, -122.20]  # Bellevue, WA
    review = R.build_review(accounts, accounts["territory_id"], sample.bookings, sample.territories)
    # T11's reach by hand: the nearest distance from the Miami home holding 90% of T11's workload
    home = sample.territories.set_index("territory_id").loc["T11"]
    t11 = accounts[accounts["territory_id"] == "T11"]
    distance = haversine_km(t11["latitude"].to_numpy(float), t11["longitude"].to_numpy(float),
                            home["home_latitude"], home["home_longitude"])
    order = np.argsort(distance)
    running = np.cumsum(t11["workload_hours"].to_numpy(float)[order])
    reach = distance[order][np.searchsorted(running, 0.9 * running[-1])]
    limit = max(300.0, 2 * reach)
    far = review.far_accounts.set_index("account_id")
    assert far.loc[planted, "territory_id"] == "T11" and far.loc[planted, "distance_km"] > 4_000
    assert far.loc[planted, "limit_km"] == pytest.approx(limit)
    flag = review.flags[(review.flags["flag"] == R.FAR_ACCOUNTS) & (review.flags["territory_id"] == "T11")].iloc[0]
    assert flag["threshold"] == pytest.approx(limit) and f"({planted}) at " in flag["detail"]


def test_under_covered_threshold(accounts, bookings, territories):
    # mean territory potential 2000: T2 has 2400 = 1.2x, penetration 18.33%; T1 1600 = 0.8x
    penetration_t2 = 440 / 2400 * 100
    def review(ratio, low):
        return R.build_review(accounts, accounts["territory_id"], bookings, territories,
                              lenient(high_potential_ratio=ratio, low_penetration_pct=low))
    assert R.UNDER_COVERED in kinds(review(1.19, penetration_t2 + 0.01), "T2")
    assert R.UNDER_COVERED not in kinds(review(1.2, penetration_t2 + 0.01), "T2")  # potential exactly at 1.2x
    assert R.UNDER_COVERED not in kinds(review(1.19, penetration_t2), "T2")  # penetration exactly at threshold
    assert R.UNDER_COVERED in kinds(review(0.5, 37.51), "T1")
    assert R.UNDER_COVERED not in kinds(review(0.5, 37.5), "T1")


def test_quota_thresholds(accounts, bookings, territories):
    base = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient())
    t = base.table.set_index("territory_id")
    vs_potential = float(t.loc["T1", "quota_vs_potential_pct"])
    vs_last = float(t.loc["T1", "quota_vs_last_pct"])
    at = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                        lenient(max_quota_vs_potential_pct=vs_potential, max_quota_vs_last_pct=vs_last))
    assert R.QUOTA_VS_POTENTIAL not in kinds(at, "T1") and R.QUOTA_VS_LAST not in kinds(at, "T1")
    above = R.build_review(accounts, accounts["territory_id"], bookings, territories,
                           lenient(max_quota_vs_potential_pct=vs_potential - 0.01,
                                   max_quota_vs_last_pct=vs_last - 0.01))
    assert R.QUOTA_VS_POTENTIAL in kinds(above, "T1") and R.QUOTA_VS_LAST in kinds(above, "T1")
    row = above.flags[(above.flags["territory_id"] == "T1") & (above.flags["flag"] == R.QUOTA_VS_LAST)].iloc[0]
    assert row["value"] == pytest.approx(vs_last) and f"${t.loc['T1', 'quota']:,.0f}" in row["detail"]


# --- 80/20 ----------------------------------------------------------------------------------------


def test_pareto_overall_and_per_territory(accounts, bookings, territories):
    review = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient())
    summary = review.pareto_summary.set_index("scope")
    # overall revenue 500, 300, 140, 100 of 1040: top 20% of 4 accounts = 0.8 account = 0.8 x 500
    assert summary.loc[R.ALL_ACCOUNTS, "top_share_pct"] == pytest.approx(0.8 * 500 / 1040 * 100)
    # T1: 500 and 100 -> top 20% = 0.4 account = 0.4 x 500 / 600
    assert summary.loc["T1", "top_share_pct"] == pytest.approx(0.4 * 500 / 600 * 100)
    assert summary.loc["T2", "revenue"] == 440.0
    curve = review.pareto_curves[review.pareto_curves["scope"] == "T1"]
    assert curve["value_share"].tolist() == pytest.approx([0.0, 500 / 600, 1.0])


# --- no bookings, report and export ---------------------------------------------------------------


def test_review_without_bookings_keeps_workload_flags(accounts, territories):
    empty = pd.DataFrame({"account_id": pd.Series(dtype="string"), "quarter": pd.Series(dtype="string"),
                          "amount": pd.Series(dtype=float)})
    review = R.build_review(accounts, accounts["territory_id"], empty, territories, lenient(max_utilisation_pct=150.0))
    assert not review.has_bookings and review.quota_total == 0
    assert review.table["quota"].isna().all()
    assert set(kinds(review)) == {R.OVER_CAPACITY}


def test_sections_html_is_escaped(accounts, bookings, territories):
    hostile = territories.assign(rep_name=pd.array(["<img src=x onerror=alert(1)>", "Bob"], dtype="string"))
    review = R.build_review(accounts, accounts["territory_id"], bookings, hostile, lenient(max_utilisation_pct=100.0),
                            alignment_name="<b>plan</b>")
    sections = R.review_sections_html(review)
    assert [title for title, _ in sections][0] == "Quarterly review: territories"
    html = "".join(body for _, body in sections)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "accounts farther from the rep's home than 1,000,000 km;" in html  # lenient: far_km alone
    default = "".join(body for _, body in R.review_sections_html(R.build_review(
        accounts, accounts["territory_id"], bookings, territories, R.ReviewSettings())))
    assert ("accounts farther from the rep's home than 2 x the territory's reach (the distance holding 90% of its "
            "workload), and at least 300 km;") in default
    assert "<b>plan</b>" not in html


def test_xlsx_export_holds_the_tables_and_neutralises_formulas(accounts, bookings, territories):
    from openpyxl import load_workbook

    review = R.build_review(accounts, accounts["territory_id"], bookings, territories, lenient(far_km=1.0))
    book = load_workbook(io.BytesIO(R.review_xlsx_bytes(review)))
    assert {"Territories", "Bookings by quarter", "Flags", "Far accounts", "80-20 summary", "Settings"} <= set(
        book.sheetnames)
    sheet = book["Bookings by quarter"]
    assert [c.value for c in sheet[1]] == ["territory_id"] + [f"{q}_usd" for q in QUARTERS]
    assert [c.value for c in sheet[2]] == ["T1", *T1_BY_QUARTER]
    names = [row[1].value for row in book["Far accounts"].iter_rows(min_row=2)]
    assert "=Delta" in names
    cell = next(row[1] for row in book["Far accounts"].iter_rows(min_row=2) if row[1].value == "=Delta")
    assert cell.data_type == "s"  # typed text, never a formula


@pytest.mark.parametrize(("text", "amount"), [("31192503", 31_192_503.0), ("31,192,503", 31_192_503.0),
                                               ("$31,192,503", 31_192_503.0), ("31.2M", 31_200_000.0),
                                               ("450k", 450_000.0), ("12 USD", 12.0)])
def test_parse_usd_reads_amounts_as_people_type_them(text, amount):
    assert R.parse_usd(text) == amount


@pytest.mark.parametrize("text", ["", "abc", "-5", "1,2,3", "12,34", "3M5"])
def test_parse_usd_names_what_it_cannot_read(text):
    with pytest.raises(ParameterError, match="is not an amount in USD; write it like 31,192,503"):
        R.parse_usd(text)
def test_the_quota_blend_can_follow_the_forecast():
    """#19, item 2: with forecast weight f the bookings side is (1 - f) x recent share + f x forecast share."""
    from territory.planning.forecast import forecast_bookings

    quarters = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    # T1 books 100 a quarter, flat; T2 grows 20% a quarter (exactly log-linear, so the model wins the
    # backtest and is the forecast): the forecast gives T2 a larger share than its past year
    amounts = {"a": [100.0] * 8, "b": [float(np.expm1(np.log(50.0) + np.log(1.2) * i)) for i in range(8)]}
    bookings = pd.DataFrame([{"account_id": a, "quarter": q, "amount": v[i]}
                             for a, v in amounts.items() for i, q in enumerate(quarters)])
    accounts = pd.DataFrame({"account_id": ["a", "b"], "territory_id": ["T1", "T2"], "potential": [0.0, 0.0]})
    plain = R.build_review(accounts, accounts["territory_id"], bookings, settings=R.ReviewSettings(quota_total=1000))
    blended = R.build_review(accounts, accounts["territory_id"], bookings,
                             settings=R.ReviewSettings(quota_total=1000, forecast_weight=1.0))
    shown = forecast_bookings(plain.bookings)
    assert shown.method == "model"
    forecast = shown.territories.set_index("territory_id")["value"]
    recent_share = plain.table.set_index("territory_id")["trailing_4q"] / plain.table["trailing_4q"].sum()
    assert plain.table.set_index("territory_id")["quota_share_pct"].to_dict() == pytest.approx(
        (recent_share * 100).to_dict())
    assert blended.table.set_index("territory_id")["quota_share_pct"].to_dict() == pytest.approx(
        (forecast / forecast.sum() * 100).to_dict())
    assert blended.table["quota"].sum() == 1000
    assert blended.table.set_index("territory_id").loc["T2", "quota"] > plain.table.set_index("territory_id").loc[
        "T2", "quota"]
    with pytest.raises(ParameterError, match="forecast_weight"):
        R.build_review(accounts, accounts["territory_id"], bookings, settings=R.ReviewSettings(forecast_weight=1.5))


def test_each_territory_carries_its_level_path(accounts, territories, bookings) -> None:
    """#15: the review lists where each territory sits, and its display table (the report's appendix,
    'Everything in one table') shows it under the levels' names."""
    with_district = territories.assign(district=pd.array(["Coast", None], dtype="string"))
    review = R.build_review(accounts, accounts["territory_id"], bookings, with_district)
    assert review.table["level_path"].tolist() == ["North › Coast", "South › (none)"]
    assert review.level_header == "Region › District"
    shown = R.display_table(review)
    assert shown.columns[:3].tolist() == ["Territory", "Rep", "Region › District"]
    assert "<td>North › Coast</td>" in R.review_sections_html(review)[0][1]
    only_region = R.build_review(accounts, accounts["territory_id"], bookings, territories)
    assert only_region.table["level_path"].tolist() == ["North", "South"] and only_region.level_header == "Region"
    bare = R.build_review(accounts, accounts["territory_id"], bookings)
    assert bare.level_header == "" and "Region › District" not in R.display_table(bare).columns
