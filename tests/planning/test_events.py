"""Staffing events: a rep leaves (dissolve into neighbours), a new hire (carve from the most loaded).

Hand-made grids of equal accounts make the expected hand-over exact: three 5x5 blocks side by side
(T1 | T2 | T3); when T2's rep leaves, T1 and T3 can absorb half each and be exactly on target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.errors import ParameterError
from territory.geo import count_pieces, delaunay_neighbors
from territory.planning.events import new_hire, next_territory_id, rep_leaves


def grid_accounts(blocks, rows: int = 5, spacing: float = 0.1, seed: int = 0, lat0: float = 40.0):
    """Accounts on a jittered grid; ``blocks`` = [(territory_id, first column, number of columns)]."""
    rng = np.random.default_rng(seed)
    records = []
    for territory, first, width in blocks:
        for x in range(first, first + width):
            for y in range(rows):
                records.append(
                    {
                        "latitude": lat0 + y * spacing + rng.uniform(-0.005, 0.005),
                        "longitude": -100.0 + x * spacing + rng.uniform(-0.005, 0.005),
                        "workload_hours": 1.0,
                        "revenue": 100.0,
                        "potential": 250.0,
                        "industry": "Retail",
                        "territory_id": territory,
                    }
                )
    frame = pd.DataFrame(records)
    frame.insert(0, "account_id", [f"A{i:03d}" for i in range(len(frame))])
    return frame


def loads(assignment: pd.DataFrame, accounts: pd.DataFrame) -> dict[str, float]:
    return accounts["workload_hours"].groupby(assignment["territory_id"].astype(str)).sum().to_dict()


def neighbours_of(accounts: pd.DataFrame, labels: pd.Series, territory: str) -> set[str]:
    """Territories that share a Delaunay edge with ``territory`` under ``labels``."""
    adjacency = delaunay_neighbors(accounts["latitude"], accounts["longitude"]).tocoo()
    labels = labels.astype(str).to_numpy()
    touching = (labels[adjacency.row] == territory) & (labels[adjacency.col] != territory)
    return set(labels[adjacency.col[touching]])


@pytest.fixture
def row_of_three() -> pd.DataFrame:
    return grid_accounts([("T1", 0, 5), ("T2", 5, 5), ("T3", 10, 5)])


def test_rep_leaves_moves_only_the_leaving_territorys_accounts_to_its_neighbours(row_of_three):
    accounts = row_of_three
    result = rep_leaves(accounts, accounts["territory_id"], "T2")
    assignment = result.assignment

    was_t2 = (accounts["territory_id"] == "T2").to_numpy()
    assert assignment["moved"].to_numpy().tolist() == was_t2.tolist()  # exactly T2's 25 accounts
    assert set(assignment["territory_id"]) == {"T1", "T3"}
    assert set(assignment.loc[was_t2, "territory_id"]) <= neighbours_of(accounts, accounts["territory_id"], "T2")
    assert result.feasible
    # 75 hours over two territories: 37.5 each; whole accounts give 37 / 38 (1.3% off)
    assert sorted(loads(assignment, accounts).values()) == [37.0, 38.0]
    # both stay in one piece on the neighbour graph
    adjacency = delaunay_neighbors(accounts["latitude"], accounts["longitude"])
    assert count_pieces(adjacency, assignment["territory_id"]).to_dict() == {"T1": 1, "T3": 1}


def test_rep_leaves_explains_each_move_and_keeps_the_previous_territory(row_of_three):
    accounts = row_of_three
    assignment = rep_leaves(accounts, accounts["territory_id"], "T2").assignment
    moved = assignment[assignment["moved"]]
    assert (moved["previous_territory_id"] == "T2").all()
    assert moved["reason"].str.startswith("T2's rep left; ").all()
    assert moved["reason"].str.contains("nearest neighbouring territory with room").all()
    assert (assignment.loc[~assignment["moved"], "reason"] == "").all()


def two_by_two() -> pd.DataFrame:
    """T1 T2 on top of T3 T4: when T1 leaves, T4 (diagonal) cannot take any of its accounts directly."""
    top = grid_accounts([("T1", 0, 5), ("T2", 5, 5)], seed=1)
    bottom = grid_accounts([("T3", 0, 5), ("T4", 5, 5)], seed=2, lat0=39.5)
    frame = pd.concat([top, bottom], ignore_index=True)
    frame["account_id"] = [f"B{i:03d}" for i in range(len(frame))]
    return frame


def test_rep_leaves_without_rebalance_reports_the_neighbour_left_off_target():
    accounts = two_by_two()
    result = rep_leaves(accounts, accounts["territory_id"], "T1", rebalance=False)
    assert not result.feasible
    assert result.assignment["moved"].sum() == 25  # still only T1's accounts
    assert loads(result.assignment, accounts)["T4"] == 25.0  # T4 got nothing: 25% under 33.3
    assert any("off target" in message for message in result.messages)


def test_rep_leaves_moves_others_only_as_far_as_balance_needs():
    accounts = two_by_two()
    result = rep_leaves(accounts, accounts["territory_id"], "T1")
    assignment = result.assignment
    was_t1 = (accounts["territory_id"] == "T1").to_numpy()
    others_moved = int((assignment["moved"].to_numpy() & ~was_t1).sum())

    assert result.feasible
    assert assignment["moved"].to_numpy()[was_t1].all()
    target = 100 / 3
    assert all(abs(load / target - 1) <= 0.05 + 1e-9 for load in loads(assignment, accounts).values())
    # T4 (25 h) needs 31.7 h to enter the band: 7 h from T1's corner or passed on by T2 / T3, not a
    # reshuffle of the 75 that stay
    assert others_moved <= 16
    assert loads(assignment, accounts)["T4"] >= target * 0.95 - 1e-9


def test_rep_leaves_rejects_unknown_or_last_territory(row_of_three):
    accounts = row_of_three
    with pytest.raises(ParameterError, match="T9"):
        rep_leaves(accounts, accounts["territory_id"], "T9")
    single = accounts.assign(territory_id="T1")
    with pytest.raises(ParameterError, match="only territory"):
        rep_leaves(single, single["territory_id"], "T1")


def test_rep_leaves_needs_a_complete_alignment(row_of_three):
    accounts = row_of_three.copy()
    accounts.loc[0, "territory_id"] = None
    with pytest.raises(ParameterError, match="no current territory"):
        rep_leaves(accounts, accounts["territory_id"], "T2")


@pytest.fixture
def one_overloaded() -> pd.DataFrame:
    """T1 holds 50 accounts, T2 and T3 hold 25: with a 4th rep every target is 25."""
    return grid_accounts([("T1", 0, 10), ("T2", 10, 5), ("T3", 15, 5)])


def test_new_hire_carves_from_the_most_loaded_territory_only(one_overloaded):
    accounts = one_overloaded
    result = new_hire(accounts, accounts["territory_id"])
    assignment = result.assignment

    assert result.feasible
    assert set(assignment["territory_id"]) == {"T1", "T2", "T3", "T4"}
    moved = assignment[assignment["moved"]]
    assert (moved["previous_territory_id"] == "T1").all()
    assert (moved["territory_id"] == "T4").all()
    assert loads(assignment, accounts) == {"T1": 25.0, "T2": 25.0, "T3": 25.0, "T4": 25.0}
    adjacency = delaunay_neighbors(accounts["latitude"], accounts["longitude"])
    assert (count_pieces(adjacency, assignment["territory_id"]) == 1).all()


def test_new_hire_reason_names_the_donor_and_its_overload(one_overloaded):
    accounts = one_overloaded
    result = new_hire(accounts, accounts["territory_id"], new_territory_id="T21")
    reasons = set(result.assignment.loc[result.assignment["moved"], "reason"])
    assert reasons == {"new territory T21 carved from T1, which was 100% over target"}
    table = result.territories.set_index("territory_id")
    assert table.loc["T21", "rep_name"] == "New hire"
    assert table.loc["T21", "capacity_fte"] == 1.0


def test_new_hire_takes_only_excess_from_several_donors():
    # T1 and T2 are both 50% over the 4-rep target of 30 (45 each), T3 is at 30: T4 takes 15 + 15.
    accounts = grid_accounts([("T1", 0, 9), ("T2", 9, 9), ("T3", 18, 6)])
    result = new_hire(accounts, accounts["territory_id"])
    assert result.feasible
    assert loads(result.assignment, accounts) == {"T1": 30.0, "T2": 30.0, "T3": 30.0, "T4": 30.0}
    donors = result.assignment.loc[result.assignment["moved"], "previous_territory_id"]
    assert donors.value_counts().to_dict() == {"T1": 15, "T2": 15}
    assert not (result.assignment["moved"] & (accounts["territory_id"] == "T3")).any()


def test_new_hire_rebalances_only_as_far_as_needed_when_carving_is_not_enough():
    # 30 / 20 / 10 accounts, 4 reps -> 15 each: T4 takes T1's and T2's excess, T3 still needs 5 more,
    # so at least 20 accounts must move; the stability-1 clean-up moves accounts only to a bordering
    # territory, so T3's 5 are passed on through its neighbour: a few more than 20.
    accounts = grid_accounts([("T1", 0, 6), ("T2", 6, 4), ("T3", 10, 2)])
    greedy_only = new_hire(accounts, accounts["territory_id"], rebalance=False)
    assert not greedy_only.feasible
    assert loads(greedy_only.assignment, accounts)["T3"] == 10.0

    result = new_hire(accounts, accounts["territory_id"])
    assert result.feasible
    assert loads(result.assignment, accounts) == {"T1": 15.0, "T2": 15.0, "T3": 15.0, "T4": 15.0}
    assert 20 <= int(result.assignment["moved"].sum()) <= 26
    carved = result.assignment[result.assignment["reason"].str.startswith("new territory T4 carved from")]
    assert set(carved["previous_territory_id"]) <= {"T1", "T2"}  # only territories that were over target


def test_new_hire_rejects_an_existing_id(one_overloaded):
    with pytest.raises(ParameterError, match="already exists"):
        new_hire(one_overloaded, one_overloaded["territory_id"], new_territory_id="T2")


def test_events_are_deterministic(one_overloaded):
    first = new_hire(one_overloaded, one_overloaded["territory_id"]).assignment
    second = new_hire(one_overloaded, one_overloaded["territory_id"]).assignment
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [(["T01", "T02", "T20"], "T21"), (["T1", "T2"], "T3"), (["HC-1", "T07", "T08"], "T09"), (["North"], "T02")],
)
def test_next_territory_id_follows_the_existing_style(existing, expected):
    assert next_territory_id(existing) == expected


def test_rep_leaves_places_an_account_without_coordinates(row_of_three):
    accounts = row_of_three.copy()
    lost = accounts.index[accounts["territory_id"] == "T2"][0]
    accounts.loc[lost, ["latitude", "longitude"]] = np.nan
    result = rep_leaves(accounts, accounts["territory_id"], "T2")
    assert result.assignment.loc[lost, "territory_id"] in {"T1", "T3"}
    assert "T2's rep left; no neighbouring account" in result.assignment.loc[lost, "reason"]


def test_new_hire_grows_from_the_home_base_with_the_given_capacity():
    # T1 | T2 | T3, each 5x5; the new rep lives at the far east edge of T3, not in the most loaded T1.
    accounts = grid_accounts([("T1", 0, 7), ("T2", 7, 4), ("T3", 11, 4)])
    territories = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "region": ["West", "West", "East"],
                                "district": ["W1", "W2", "E1"], "capacity_fte": [1.0, 1.0, 1.0]})
    home = (40.2, -100.0 + 14 * 0.1)
    result = new_hire(accounts, None, territories, capacity_fte=0.5, home=home, rebalance=False)
    after = result.assignment["territory_id"]
    carved = accounts.loc[(after == "T4").to_numpy()]
    assert len(carved) > 0 and set(carved["territory_id"]) == {"T3"}, "carved where the rep lives"
    row = result.territories.set_index("territory_id").loc["T4"]
    assert (row["capacity_fte"], row["region"], row["district"]) == (0.5, "East", "E1")
    assert (row["home_latitude"], row["home_longitude"]) == home
    assert "0.5 FTE" in result.notes[0].text and "home base" in result.notes[0].text


def test_new_hire_rejects_a_home_base_that_is_not_a_place():
    accounts = grid_accounts([("T1", 0, 5), ("T2", 5, 5)])
    with pytest.raises(ParameterError, match="home base"):
        new_hire(accounts, None, capacity_fte=1.0, home=(float("nan"), -100.0))
