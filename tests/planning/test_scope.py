"""Scope (#15, item 2): only the in-scope territories are balanced, among themselves; the rest is
returned exactly as it came in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.balance import BalanceParams
from territory.errors import ParameterError
from territory.planning.scope import balance_in_scope, parse_scope, scope_ids


def two_regions() -> tuple[pd.DataFrame, pd.DataFrame]:
    """West: W1 (20 accounts) | W2 (8 accounts) side by side, unequal; East: E1 | E2, unequal too.
    W2 is a half-time rep, so the West's targets are 2/3 and 1/3 of the West's own total."""
    rng = np.random.default_rng(3)
    rows = []
    for region, lon0, sizes in (("W", -120.0, (20, 8)), ("E", -75.0, (5, 25))):
        column = 0
        for t, size in enumerate(sizes, start=1):
            for i in range(size):
                rows.append({"account_id": f"{region}{t}-{i:02d}", "territory_id": f"{region}{t}",
                             "latitude": 40.0 + (i % 5) * 0.1 + rng.uniform(-0.01, 0.01),
                             "longitude": lon0 + (column + i // 5) * 0.1 + rng.uniform(-0.01, 0.01),
                             "workload_hours": 10.0, "revenue": 1000.0})
            column += (size + 4) // 5
    accounts = pd.DataFrame(rows)
    territories = pd.DataFrame({"territory_id": ["W1", "W2", "E1", "E2"], "region": ["West", "West", "East", "East"],
                                "district": ["Coast", "Inland", "North", "South"],
                                "capacity_fte": [1.0, 0.5, 1.0, 1.0]})
    return accounts, territories


def test_outside_the_scope_everything_is_bit_identical_and_inside_moves_only_among_the_scope():
    accounts, territories = two_regions()
    before = accounts.copy()
    result = balance_in_scope(accounts, BalanceParams(tolerance=0.05), territories, (("region", "West"),))
    pd.testing.assert_frame_equal(accounts, before)  # the input is not touched
    west = accounts["territory_id"].isin(["W1", "W2"]).to_numpy()
    after = result.assignment
    outside = after.loc[~west]
    assert outside["territory_id"].tolist() == accounts.loc[~west, "territory_id"].tolist()
    assert outside["previous_territory_id"].tolist() == accounts.loc[~west, "territory_id"].tolist()
    assert not outside["moved"].any() and (outside["reason"] == "").all()
    assert set(after.loc[west, "territory_id"]) == {"W1", "W2"}
    assert after.loc[west, "moved"].sum() > 0, "the West was out of balance: something must move"
    # Targets are the West's own total (280 h) by capacity: 2/3 and 1/3 within +/-5%.
    loads = accounts.loc[west, "workload_hours"].groupby(after.loc[west, "territory_id"].to_numpy()).sum()
    assert abs(loads["W1"] / (280 * 2 / 3) - 1) <= 0.05 + 1e-9
    assert abs(loads["W2"] / (280 / 3) - 1) <= 0.05 + 1e-9
    assert result.notes[0].code == "scope" and result.notes[0].data["territories"] == ("W1", "W2")


def test_scope_choices_add_up_and_name_districts():
    _, territories = two_regions()
    assert scope_ids(territories, (("district", "Coast"), ("district", "South"))) == ["W1", "E2"]
    assert scope_ids(territories, (("region", "East"),)) == ["E1", "E2"]


def test_bad_scopes_say_what_is_wrong():
    accounts, territories = two_regions()
    with pytest.raises(ParameterError, match="region=NAME or district=NAME"):
        parse_scope("team=West")
    with pytest.raises(ParameterError, match="regions in the file: East, West"):
        balance_in_scope(accounts, BalanceParams(), territories, (("region", "North"),))
    with pytest.raises(ParameterError, match="no district column"):
        balance_in_scope(accounts, BalanceParams(), territories.drop(columns="district"), (("district", "Coast"),))


def test_hiring_inside_a_scope_adds_a_territory_with_an_id_no_one_has_and_leaves_the_rest():
    accounts, territories = two_regions()
    result = balance_in_scope(accounts, BalanceParams(n_territories=3), territories, (("region", "West"),))
    west = accounts["territory_id"].isin(["W1", "W2"]).to_numpy()
    new = set(result.assignment.loc[west, "territory_id"]) - {"W1", "W2"}
    assert len(new) == 1 and not new & set(territories["territory_id"])
    assert (result.assignment.loc[~west, "territory_id"] == accounts.loc[~west, "territory_id"]).all()
    row = result.territories.set_index("territory_id").loc[new.pop()]
    assert (row["rep_name"], row["region"], row["capacity_fte"]) == ("New hire", "West", 1.0)


def test_within_each_region_no_territory_mixes_regions_and_each_region_meets_its_own_targets():
    from territory.planning.scope import balance_within

    accounts, territories = two_regions()
    result = balance_within(accounts, BalanceParams(tolerance=0.05), territories, "region")
    region_of = territories.set_index("territory_id")["region"]
    before = accounts["territory_id"].map(region_of)
    after = result.assignment["territory_id"].map(region_of)
    assert (before == after).all(), "an account never changes region"
    assert result.assignment.groupby("territory_id").apply(
        lambda rows: rows.index.map(before).nunique()).max() == 1, "a territory holds one region only"
    loads = accounts["workload_hours"].groupby(result.assignment["territory_id"]).sum()
    targets = {"W1": 280 * 2 / 3, "W2": 280 / 3, "E1": 150, "E2": 150}  # each region's own total by capacity
    for territory, target in targets.items():
        assert abs(loads[territory] / target - 1) <= 0.05 + 1e-9, territory
    assert result.notes[0].code == "within" and [g["name"] for g in result.notes[0].data["groups"]] == ["East", "West"]
    assert result.assignment["moved"].sum() > 0


def test_within_refuses_what_it_cannot_do():
    from territory.planning.scope import balance_within

    accounts, territories = two_regions()
    with pytest.raises(ParameterError, match="leave the number of territories unset"):
        balance_within(accounts, BalanceParams(n_territories=4), territories, "region")
    with pytest.raises(ParameterError, match="needs a territories/reps file with a district column"):
        balance_within(accounts, BalanceParams(), territories.drop(columns="district"), "district")
    blank = accounts.assign(territory_id=accounts["territory_id"].where(accounts.index > 0))
    with pytest.raises(ParameterError, match="1 accounts have no territory, so no region"):
        balance_within(blank, BalanceParams(), territories, "region")


def test_within_deviations_measure_each_region_against_its_own_total():
    """By hand: West W1 20 accounts, W2 (0.5 FTE) 8: the West's 280 h split 2/3 : 1/3 gives targets
    186.7 and 93.3, so W1 at 200 h is +7.1% and W2 at 80 h -14.3%. East E1 5, E2 25 accounts: targets
    150 h each, E2 at 250 h is +66.7%. Nothing moved (the alignment is its own previous)."""
    from territory.planning.scope import within_deviations

    accounts, territories = two_regions()
    labels = accounts["territory_id"]
    table = within_deviations(accounts, labels, labels, territories, "region")
    assert table["name"].tolist() == ["East", "West"]
    assert table["territories"].tolist() == [2, 2] and table["accounts"].tolist() == [30, 28]
    assert table["max_deviation_pct"].round(1).tolist() == [66.7, 14.3]
    assert table["moved_accounts"].tolist() == [0, 0]
