"""Balancing whole units (#13, item 2): every account of a ZIP, ZIP3, county or state ends in one
territory, the units are what the engine balances, and the ZIP table agrees (item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.balance import BalanceParams
from territory.data.geocode import zip_table
from territory.engine import codes
from territory.errors import ParameterError
from territory.planning.account_types import balance_by_type, counted_mask
from territory.planning.geography import territory_shapes, zip_territory_table
from territory.planning.units import (
    UNIT_TOO_HEAVY,
    UNITS_NOTE,
    balance_by_units,
    keep_units_whole,
    unit_keys,
    unit_problem,
    units_runner,
    zip_area,
)

SHARED_CENTROID = ("00501", "00544")  # Holtsville, NY: two ZIPs the offline table puts on one point


def new_england(seed: int = 5, n_zips: int = 240) -> pd.DataFrame:
    """Accounts in real New England ZIPs (several ZIPs per ZIP3 and county, 1-4 accounts per ZIP),
    placed a little off their ZIP's centroid (as address geocoding would), and a current alignment
    of four territories drawn at random: every unit starts split."""
    rng = np.random.default_rng(seed)
    table = zip_table()
    zips = np.flatnonzero(table.known & np.isfinite(table.latitude))
    zips = zips[(zips >= 1000) & (zips < 7000)]  # MA, RI, NH, ME, VT, CT
    chosen = rng.choice(zips, size=n_zips, replace=False)
    rows = []
    for z in chosen:
        for i in range(int(rng.integers(1, 5))):
            rows.append({"account_id": f"A{z:05d}-{i}", "postal_code": f"{z:05d}",
                         "latitude": table.latitude[z] + rng.normal(0, 0.02),
                         "longitude": table.longitude[z] + rng.normal(0, 0.02),
                         "state": table.state[z], "workload_hours": float(rng.integers(5, 40)),
                         "revenue": float(rng.integers(1, 50) * 1000),
                         "territory_id": f"T{int(rng.integers(1, 5))}"})
    return pd.DataFrame(rows)


def assert_units_whole(accounts: pd.DataFrame, labels: pd.Series, units: str) -> None:
    keys = unit_keys(accounts, units)
    per_unit = labels.groupby(keys.to_numpy(dtype=object, na_value=None), dropna=True).nunique()
    assert per_unit.max() == 1, f"split {units}: {per_unit[per_unit > 1].index[:5].tolist()}"


# --- unit keys and the units' table -------------------------------------------------------------------


def test_zips_on_one_centroid_are_one_unit_named_after_the_lowest():
    low, high = SHARED_CENTROID
    assert zip_area()[int(high)] == int(low)
    frame = pd.DataFrame({"postal_code": [low, high, "02139"], "country": ["US", "US", "US"]})
    assert unit_keys(frame, "zip").tolist() == [f"ZIP {low}", f"ZIP {low}", "ZIP 02139"]


def test_accounts_outside_the_us_or_without_a_zip_have_no_unit():
    frame = pd.DataFrame({"postal_code": ["02139", "10115", None, "abc"], "country": ["US", "DE", "US", "US"],
                          "state": ["MA", None, None, None]})
    assert unit_keys(frame, "zip").isna().tolist() == [False, True, True, True]
    assert unit_keys(frame, "state").tolist() == ["State MA", pd.NA, pd.NA, pd.NA]


def test_a_unit_sums_its_measures_and_sits_at_its_workload_weighted_centre():
    frame = pd.DataFrame({
        "account_id": ["a", "b", "c", "d"], "postal_code": ["02139", "02139", "02139", "10001"],
        "latitude": [42.0, 42.0, 42.0, 40.75], "longitude": [-71.0, -72.0, -71.0, -74.0],
        "workload_hours": [30.0, 10.0, 0.0, 5.0], "revenue": [1.0, 2.0, np.nan, 4.0],
        "territory_id": ["T2", "T1", "T1", "T3"], "industry": ["Retail", "Energy", "Energy", "Retail"],
    })
    problem = unit_problem(frame, "zip")
    table = problem.accounts.set_index("account_id")
    assert table.loc["ZIP 02139", "workload_hours"] == 40.0
    assert table.loc["ZIP 02139", "revenue"] == 3.0
    # three quarters of the workload at -71, a quarter at -72: the centre is near -71.25
    assert table.loc["ZIP 02139", "longitude"] == pytest.approx(-71.25, abs=0.01)
    # T2 holds 30 h of the 40, though T1 has more accounts; Retail likewise
    assert table.loc["ZIP 02139", "territory_id"] == "T2"
    assert table.loc["ZIP 02139", "industry"] == "Retail"
    assert problem.size.tolist() == [3, 1] and problem.without_key == 0


def test_a_locked_account_holds_its_whole_unit_and_two_different_locks_are_an_error_naming_it():
    frame = pd.DataFrame({
        "account_id": ["a", "b", "c"], "postal_code": ["02139", "02139", "02139"],
        "latitude": [42.36] * 3, "longitude": [-71.1] * 3, "workload_hours": [30.0, 10.0, 5.0],
        "territory_id": ["T2", "T1", "T3"], "locked": [False, True, False],
    })
    table = unit_problem(frame, "zip").accounts
    assert table["territory_id"].tolist() == ["T1"] and table["locked"].tolist() == [True]
    frame.loc[2, "locked"] = True
    with pytest.raises(ParameterError, match=r"ZIP 02139 has locked accounts in different territories \(b in T1; "
                                             r"c in T3\)"):
        unit_problem(frame, "zip")


# --- balancing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("units", ["zip", "zip3", "county"])
def test_generated_units_start_split_and_end_whole_and_balanced(units):
    accounts = new_england()
    keys = unit_keys(accounts, units)
    assert accounts["territory_id"].groupby(keys).nunique().max() > 1, "the start must split units"
    assert keys.value_counts().max() > 1
    result = balance_by_units(accounts, BalanceParams(n_territories=4, tolerance=0.1), None, units)
    labels = result.assignment["territory_id"]
    assert_units_whole(accounts, labels, units)
    loads = accounts["workload_hours"].groupby(labels.to_numpy()).sum()
    if units != "county":  # counties are coarse here: a few hold a tenth of the load
        assert result.feasible and (loads / loads.mean() - 1).abs().max() <= 0.1
    # moves are counted on accounts, against each account's own territory today
    moved = result.assignment["moved"].to_numpy()
    assert (moved == (labels != accounts["territory_id"]).to_numpy()).all()
    note = result.note(codes.MOVES)
    assert note.data["accounts"] == int(moved.sum()) and note.data["of"] == len(accounts)
    # every moved account says why; one that only followed its unit says so
    assert (result.assignment.loc[moved, "reason"].str.len() > 0).all()


def test_the_sample_by_zip_keeps_every_zip_whole_within_5_percent_and_agrees_with_the_zip_table(sample):
    result = balance_by_units(sample.accounts, BalanceParams(), sample.territories, "zip")
    labels = result.assignment["territory_id"]
    assert labels.groupby(sample.accounts["postal_code"]).nunique().max() == 1
    target = result.territories.set_index("territory_id")["target"]
    assert result.feasible and (result.load / target - 1).abs().max() <= 0.05
    table = zip_territory_table(territory_shapes(sample.accounts, labels, "zip")).set_index("postal_code")
    row = table["territory_id"].reindex(sample.accounts["postal_code"]).to_numpy()
    assert (row == labels.to_numpy()).all()
    head = result.note(UNITS_NOTE)
    assert head.data["without_unit"] == 0 and head.data["count"] == len(set(unit_keys(sample.accounts, "zip")))


@pytest.mark.parametrize("units", ["zip", "zip3", "county"])
def test_on_generated_data_off_the_centroids_the_zip_table_gives_every_account_its_territory(units):
    accounts = new_england(seed=9)
    result = balance_by_units(accounts, BalanceParams(n_territories=4, tolerance=0.1), None, units)
    labels = result.assignment["territory_id"]
    table = zip_territory_table(territory_shapes(accounts, labels, units)).set_index("postal_code")
    row = table["territory_id"].reindex(accounts["postal_code"]).to_numpy()
    assert (row == labels.to_numpy()).all()


def test_zip3_alignment_gives_every_zip_of_a_zip3_with_accounts_its_territory():
    accounts = new_england(seed=11)
    result = balance_by_units(accounts, BalanceParams(n_territories=4, tolerance=0.1), None, "zip3")
    labels = result.assignment["territory_id"]
    table = zip_territory_table(territory_shapes(accounts, labels, "zip3"))
    unit_territory = labels.groupby(accounts["postal_code"].str[:3]).first()
    mine = table[table["postal_code"].str[:3].isin(unit_territory.index) & (table["basis"] == "cell")]
    expected = unit_territory.reindex(mine["postal_code"].str[:3]).to_numpy()
    # ZIPs on a centroid shared with another ZIP3 follow that cell's lowest ZIP: allow those few
    assert (mine["territory_id"].to_numpy() == expected).mean() >= 0.99
    assert len(mine) > accounts["postal_code"].nunique()  # ZIPs without accounts are covered too


def test_a_state_heavier_than_the_band_is_named_with_its_numbers(sample):
    result = balance_by_units(sample.accounts, BalanceParams(), sample.territories, "state")
    assert not result.feasible
    note = result.note(UNIT_TOO_HEAVY)
    assert note is not None and note.warning
    heaviest = note.data["heavy"][0]
    workload = sample.accounts.groupby("state")["workload_hours"].sum()
    assert heaviest["unit"] == f"State {workload.idxmax()}"
    assert heaviest["load"] == pytest.approx(workload.max())
    assert heaviest["load"] > note.data["upper"]
    assert f"State {workload.idxmax()}" in note.text and "h" in note.text
    assert result.note(codes.ACCOUNT_TOO_HEAVY) is None, "the engine's note named a unit as an account"
    assert_units_whole(sample.accounts, result.assignment["territory_id"], "state")


def test_accounts_without_a_unit_stay_units_of_their_own_and_the_result_says_how_many():
    accounts = new_england(seed=2, n_zips=60)
    accounts.loc[accounts.index[:5], "postal_code"] = None
    result = balance_by_units(accounts, BalanceParams(n_territories=3, tolerance=0.15), None, "zip3")
    assert result.note(UNITS_NOTE).data["without_unit"] == 5
    assert "5 accounts without a ZIP3" in result.note(UNITS_NOTE).text


@pytest.mark.parametrize(("params", "match"), [
    (BalanceParams(balance_on="accounts"), "number of accounts"),
    (BalanceParams(move_budget_accounts=10), "move budget in accounts"),
    (BalanceParams(industry_teams=("Retail",)), "industry teams"),
    (BalanceParams(n_territories=300), "at least as many ZIP3s"),
])
def test_what_units_cannot_do_is_refused_with_a_clear_message(params, match):
    with pytest.raises(ParameterError, match=match):
        balance_by_units(new_england(n_zips=60), params, None, "zip3")


def test_account_units_are_the_engine_itself(sample):
    calls = []
    balance_by_units(sample.accounts, BalanceParams(), None, "account", runner=lambda *args: calls.append(args))
    assert len(calls) == 1 and calls[0][0] is sample.accounts


def test_an_account_geocoded_into_another_zips_area_still_gives_its_own_zip_its_territory():
    """a1's address lies in 02142's area but its ZIP is 02139: by ZIP units, 02139 is a1's territory's
    (by location alone, 02142's cell would hold it and 02139 would take its neighbour's territory)."""
    table = zip_table()
    where = {z: (table.latitude[int(z)], table.longitude[int(z)]) for z in ("02139", "02142")}
    accounts = pd.DataFrame({
        "account_id": ["a1", "a2", "a3"], "postal_code": ["02139", "02142", "02142"],
        "latitude": [where["02142"][0]] * 3, "longitude": [where["02142"][1]] * 3,
    })
    labels = pd.Series(["T1", "T2", "T2"], index=accounts.index)
    rows = {units: zip_territory_table(territory_shapes(accounts, labels, units)).set_index("postal_code")
            ["territory_id"] for units in ("account", "zip")}
    assert rows["account"]["02139"] == "T2"  # what placing by location gives
    assert rows["zip"][["02139", "02142"]].tolist() == ["T1", "T2"]


def test_accounts_shown_apart_by_type_follow_their_unit():
    accounts = new_england(seed=4)
    accounts["account_type"] = np.where(np.arange(len(accounts)) % 4 == 0, "Partner", "Customer")
    counted = ("Customer",)
    result = balance_by_type(accounts, BalanceParams(n_territories=4, tolerance=0.1), None, counted,
                             runner=units_runner("zip3"))
    keys = unit_keys(accounts, "zip3")
    assert result.assignment["territory_id"].groupby(keys).nunique().max() > 1, "partners kept their old territory"
    mask = counted_mask(accounts, counted)
    whole = keep_units_whole(accounts, mask, result, "zip3").assignment
    assert_units_whole(accounts, whole["territory_id"], "zip3")
    assert (whole["moved"] == (whole["territory_id"] != accounts["territory_id"])).all()
    assert whole.loc[mask, "territory_id"].equals(result.assignment.loc[mask, "territory_id"])
