"""Capacity planning (#15, item 5): reps needed = workload / (hours per FTE x utilisation), by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from territory.errors import ParameterError
from territory.planning.capacity import capacity_plan, status_of

REPS = pd.DataFrame({
    "territory_id": ["T1", "T2", "T3", "T4"],
    "region": ["West", "West", "East", "East"],
    "district": ["Coast", "Inland", "North", "North"],
    "capacity_fte": [1.0, 0.5, 1.0, 1.0],
})
# T1: 1,000 h; T2: 600 h; T3: 500 h; T4: 300 h; one account without a territory (50 h).
ACCOUNTS = pd.DataFrame({"workload_hours": [600.0, 400.0, 600.0, 500.0, 300.0, 50.0]})
LABELS = pd.Series(["T1", "T1", "T2", "T3", "T4", None])


def row(plan, level: str, name: str) -> dict:
    table = plan.levels.set_index(["level", "name"])
    return table.loc[(level, name)].to_dict()


def test_reps_needed_by_hand_at_1000_hours_and_80_percent():
    plan = capacity_plan(ACCOUNTS, LABELS, REPS, hours_per_fte=1000, utilisation=0.8)  # 800 h per FTE
    west = row(plan, "region", "West")
    assert (west["workload_hours"], west["fte"]) == (1600.0, 1.5)
    assert west["fte_needed"] == pytest.approx(1600 / 800) and west["gap"] == pytest.approx(0.5)
    assert west["status"] == "under-staffed"
    east = row(plan, "region", "East")
    assert (east["workload_hours"], east["fte"]) == (800.0, 2.0)
    assert east["fte_needed"] == pytest.approx(1.0) and east["gap"] == pytest.approx(-1.0)
    assert east["status"] == "over-staffed"
    inland = row(plan, "district", "Inland")
    assert inland["fte_needed"] == pytest.approx(600 / 800) and inland["gap"] == pytest.approx(0.25)
    company = row(plan, "company", "All territories")
    assert company["workload_hours"] == 2400.0 and company["fte"] == 3.5 and company["territories"] == 4
    assert company["fte_needed"] == pytest.approx(3.0)
    assert plan.unassigned_workload_hours == 50.0, "an account without a territory is in no level"
    # Each level's rows add up to the company.
    for level in ("region", "district"):
        part = plan.levels[plan.levels["level"] == level]
        assert part["workload_hours"].sum() == company["workload_hours"] and part["fte"].sum() == company["fte"]


def test_json_form_has_the_issue_keys():
    data = capacity_plan(ACCOUNTS, LABELS, REPS, hours_per_fte=1000, utilisation=0.8).to_dict()
    assert data["hours_per_fte"] == 1000.0
    assert set(data["levels"][0]) >= {"level", "name", "workload_hours", "fte", "fte_needed", "gap"}


def test_levels_without_values_are_left_out_and_missing_names_are_grouped():
    reps = REPS.assign(district=pd.NA, region=["West", "West", None, None])
    plan = capacity_plan(ACCOUNTS, LABELS, reps, hours_per_fte=1000)
    assert set(plan.levels["level"]) == {"company", "region"}
    assert row(plan, "region", "(none)")["fte"] == 2.0


def test_status_slack_and_bad_inputs():
    assert (status_of(0.04), status_of(0.06), status_of(-0.06)) == ("on target", "under-staffed", "over-staffed")
    with pytest.raises(ParameterError, match="hours per FTE"):
        capacity_plan(ACCOUNTS, LABELS, REPS, hours_per_fte=0)
    with pytest.raises(ParameterError, match="utilisation"):
        capacity_plan(ACCOUNTS, LABELS, REPS, hours_per_fte=1600, utilisation=1.5)
