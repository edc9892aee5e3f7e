"""``python -m territory capacity``: the reps each region and district needs (#15, item 5)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from territory.cli import main


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse refuses an argument itself
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_levels_on_a_small_file_checked_by_hand(tmp_path, capsys):
    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "latitude": [40.0, 40.1, 34.0],
                             "longitude": [-74.0, -74.1, -118.0], "workload_hours": [900.0, 300.0, 400.0],
                             "territory_id": ["T1", "T1", "T2"]})
    reps = pd.DataFrame({"territory_id": ["T1", "T2"], "region": ["East", "West"], "capacity_fte": [1.0, 0.5]})
    accounts.to_csv(tmp_path / "a.csv", index=False)
    reps.to_csv(tmp_path / "r.csv", index=False)
    code, out, err = run(["capacity", str(tmp_path / "a.csv"), "--reps", str(tmp_path / "r.csv"),
                          "--hours-per-fte", "1000", "--utilisation", "0.8", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["hours_per_fte"] == 1000.0
    levels = {(r["level"], r["name"]): r for r in data["levels"]}
    east = levels[("region", "East")]  # 1,200 h / 800 h per FTE = 1.5 FTE needed, 1 today
    assert (east["workload_hours"], east["fte"], east["fte_needed"], east["gap"]) == (1200.0, 1.0, 1.5, 0.5)
    west = levels[("region", "West")]  # 400 / 800 = 0.5 needed, 0.5 today
    assert (west["fte_needed"], west["gap"], west["status"]) == (0.5, 0.0, "on target")
    assert levels[("company", "All territories")]["fte_needed"] == 2.0


def test_text_table_on_the_sample(capsys):
    code, out, _ = run(["capacity", "--hours-per-fte", "1600", "--utilisation", "0.85"], capsys)
    assert code == 0
    assert "region    West" in out and "district  Pacific" in out


@pytest.mark.parametrize("argv, message", [
    (["capacity"], "--hours-per-fte"),
    (["capacity", "--hours-per-fte", "-5"], "must be above 0"),
    (["capacity", "--hours-per-fte", "1600", "--utilisation", "85"], "at most 1"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, message, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
