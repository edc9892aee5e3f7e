"""Headcount (#15, item 4): the change between two alignments and the territories of an alignment."""

from __future__ import annotations

import pandas as pd

from territory.planning.headcount import alignment_territories, headcount_change

TABLE = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "rep_name": ["Ann", "Bo", "Cy"],
                      "region": ["West", "West", "East"], "capacity_fte": [1.0, 0.5, 1.0]})


def test_added_and_closed_territories_come_from_the_labels_in_natural_order():
    change = headcount_change(pd.Series(["T2", "T10", "T1", None]), pd.Series(["T1", "T11", "T9", "T9"]))
    assert change.before == ("T1", "T2", "T10")
    assert (change.added, change.closed) == (("T9", "T11"), ("T2", "T10"))
    assert change.message() == "Headcount 3 → 3 territories: adds T9, T11; closes T2, T10."
    assert not headcount_change(pd.Series(["T1", "T2"]), pd.Series(["T2", "T1"])).changed


def test_a_new_hire_made_active_joins_the_table_with_its_own_row():
    labels = pd.Series(["T1", "T2", "T3", "T4"])
    result_table = pd.DataFrame({"territory_id": ["T4"], "rep_name": ["New hire"], "region": ["East"],
                                 "capacity_fte": [0.5], "target": [12.0]})
    table = alignment_territories(TABLE, labels, result_table)
    assert table["territory_id"].tolist() == ["T1", "T2", "T3", "T4"]
    assert table.columns.tolist() == TABLE.columns.tolist(), "the result's own columns (target) stay out"
    assert table.iloc[3][["rep_name", "region", "capacity_fte"]].tolist() == ["New hire", "East", 0.5]


def test_a_territory_closed_by_a_result_leaves_the_table_but_a_vacancy_in_the_file_stays():
    labels = pd.Series(["T1", "T3"])
    assert alignment_territories(TABLE, labels, TABLE)["territory_id"].tolist() == ["T1", "T3"]
    assert alignment_territories(TABLE, labels, None)["territory_id"].tolist() == ["T1", "T2", "T3"]


def test_an_unknown_territory_without_a_result_gets_the_default_capacity():
    table = alignment_territories(TABLE, pd.Series(["T1", "T5"]), None)
    assert table.set_index("territory_id").loc["T5", "capacity_fte"] == 1.0
